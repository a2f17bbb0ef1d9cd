//! Which match keys may link records (DOMAIN.md, "Identity resolution": "a value that identifies
//! nobody is never a match key").
//!
//! A key is refused when it identifies nobody ([`super::junk`]: placeholders, junk names,
//! default nicknames), when it is a person's name (a customer is a company; two people called
//! 张伟 are not one customer), or when more than `max_records_per_key` records hold it and their
//! other attributes disagree ([`disagree`]). A person's name still counts as an attribute of its
//! record when the guard compares records.

use std::collections::BTreeSet;

/// A record's attributes, as normalized match-key values by kind.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    pub phones: Vec<usize>,
    pub emails: Vec<usize>,
    /// Company names and (refused) person names.
    pub names: Vec<usize>,
}

/// The kind of a match key from its prefix: `p`, `e`, `n`, or `o` (an override).
pub fn kind(key: &str) -> char {
    match key.get(..2) {
        Some("p:") => 'p',
        Some("e:") => 'e',
        Some("n:") => 'n',
        _ => 'o',
    }
}

/// Do the records holding a key of kind `key_kind` disagree on their other attributes?
///
/// The rule (the contract says "whose other attributes disagree" and leaves the comparison to
/// the implementation): a phone's holders disagree when they carry two different e-mails, an
/// e-mail's holders when they carry two different phones, and either's when two of their names
/// are unrelated (neither contains the other: `恒瑞科技` and `上海恒瑞科技` are related, `张伟`
/// and `王芳` are not). A company name over the limit is never refused by this rule: one company
/// has many contacts with different phones and e-mails, and junk or person names are refused
/// before. `values` resolves an attribute index to its key text (`n:...`).
pub fn disagree<'v>(
    key_kind: char,
    holders: &[usize],
    attrs: &[Attributes],
    values: &dyn Fn(usize) -> &'v str,
) -> bool {
    if key_kind == 'n' {
        return false;
    }
    let distinct = |pick: fn(&Attributes) -> &Vec<usize>| -> BTreeSet<usize> {
        holders
            .iter()
            .flat_map(|&h| pick(&attrs[h]).iter().copied())
            .collect()
    };
    let other_kind = if key_kind == 'p' {
        distinct(|a| &a.emails)
    } else {
        distinct(|a| &a.phones)
    };
    if other_kind.len() > 1 {
        return true;
    }
    let names: Vec<&str> = distinct(|a| &a.names)
        .into_iter()
        .map(|i| values(i).get(2..).unwrap_or_default())
        .collect();
    // Many different names among one key's holders are unrelated however they compare.
    const MANY: usize = 64;
    if names.len() > MANY {
        return true;
    }
    names.iter().enumerate().any(|(i, a)| {
        names[i + 1..]
            .iter()
            .any(|b| !a.contains(b) && !b.contains(a))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(phones: &[usize], emails: &[usize], names: &[usize]) -> Attributes {
        Attributes {
            phones: phones.to_vec(),
            emails: emails.to_vec(),
            names: names.to_vec(),
        }
    }

    const VALUES: &[&str] = &["n:恒瑞科技", "n:上海恒瑞科技", "n:张伟", "n:王芳"];

    #[test]
    fn related_names_agree_unrelated_ones_disagree() {
        let values = |i: usize| VALUES[i];
        let same = [
            attrs(&[], &[], &[0]),
            attrs(&[], &[], &[1]),
            attrs(&[], &[], &[]),
        ];
        assert!(!disagree('p', &[0, 1, 2], &same, &values));
        let people = [attrs(&[], &[], &[2]), attrs(&[], &[], &[3])];
        assert!(disagree('p', &[0, 1], &people, &values));
        assert!(disagree('e', &[0, 1], &people, &values));
        assert!(!disagree('n', &[0, 1], &people, &values));
    }

    #[test]
    fn the_other_kind_of_contact_decides() {
        let values = |i: usize| VALUES[i];
        // Two e-mails (10, 11) among a phone's holders; one phone (20) among an e-mail's.
        let a = [attrs(&[20], &[10], &[]), attrs(&[20], &[11], &[])];
        assert!(disagree('p', &[0, 1], &a, &values));
        assert!(!disagree(
            'e',
            &[0, 1],
            &[attrs(&[20], &[], &[]), attrs(&[20], &[], &[])],
            &values
        ));
    }
}
