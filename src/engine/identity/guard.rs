//! The shared-key guard (DOMAIN.md, "Identity resolution": "any key shared by more records than
//! a configurable limit whose other attributes disagree" is not used for linking).
//!
//! A key held by more than `max_records_per_key` records links only the holders that agree with
//! its reference holder, the one that ranks first as an anchor (the oldest record when the
//! anchor order is the landing date). So a record that arrives later and disagrees is left out,
//! instead of breaking up a customer whose records agree, and thirty strangers who typed the
//! same generic name link nobody. The key is `accepted` for the holders it links and `refused`
//! (`shared_by_too_many`) for the others.
//!
//! When two records disagree ([`agree`]):
//! - e-mails (for a phone or name key): both carry e-mails and share no e-mail identity; the
//!   identity of an address at a company's own domain is the domain (`buyer1@hengrui.cn` and
//!   `boss@hengrui.cn` agree), at a public mail provider the whole address;
//! - phones (for an e-mail key; for a name key when the e-mails do not already agree): both
//!   carry phones and share none;
//! - names (for a phone or e-mail key): both carry company names and no two of them are related
//!   (neither contains the other: `恒瑞科技` and `上海恒瑞科技` are related), or both carry
//!   person names and share none. A person's name never contradicts a company name (a contact
//!   of the company).

/// A record's attributes: indexes of its key groups, by kind.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    pub phones: Vec<usize>,
    pub emails: Vec<usize>,
    /// Company names (`n:`).
    pub names: Vec<usize>,
    /// Person names (`h:`), which never link but tell people apart.
    pub people: Vec<usize>,
}

/// The kind of a match key from its prefix: `p`, `e`, `n`, `h` (a person's name), or `o`.
pub fn kind(key: &str) -> char {
    match key.get(..2) {
        Some("p:") => 'p',
        Some("e:") => 'e',
        Some("n:") => 'n',
        Some("h:") => 'h',
        _ => 'o',
    }
}

/// Mail providers whose addresses belong to individuals: there the whole address identifies,
/// elsewhere the domain (the company's own).
const PUBLIC_MAIL_DOMAINS: &[&str] = &[
    "qq.com",
    "163.com",
    "126.com",
    "yeah.net",
    "sina.com",
    "sina.cn",
    "sohu.com",
    "139.com",
    "189.cn",
    "wo.cn",
    "aliyun.com",
    "foxmail.com",
    "tom.com",
    "21cn.com",
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "proton.me",
    "protonmail.com",
    "mail.com",
    "yandex.com",
];

/// What an e-mail key says about who holds it: its domain at a company domain, else the address.
fn email_identity(key: &str) -> &str {
    let address = key.get(2..).unwrap_or_default();
    match address.rsplit_once('@') {
        Some((_, domain)) if !PUBLIC_MAIL_DOMAINS.contains(&domain) => domain,
        _ => address,
    }
}

/// Do records `a` and `b` agree on the attributes other than a key of kind `key_kind`? See the
/// module docs. `values` resolves a key-group index to its key text.
pub fn agree<'v>(
    key_kind: char,
    a: &Attributes,
    b: &Attributes,
    values: &dyn Fn(usize) -> &'v str,
) -> bool {
    let shared = |x: &[usize], y: &[usize]| x.iter().any(|i| y.contains(i));
    let emails_agree = !a.emails.is_empty()
        && !b.emails.is_empty()
        && a.emails.iter().any(|&i| {
            b.emails
                .iter()
                .any(|&j| email_identity(values(i)) == email_identity(values(j)))
        });
    let both = |x: &[usize], y: &[usize]| !x.is_empty() && !y.is_empty();
    if key_kind != 'e' && both(&a.emails, &b.emails) && !emails_agree {
        return false;
    }
    let phones_conflict = both(&a.phones, &b.phones) && !shared(&a.phones, &b.phones);
    if (key_kind == 'e' || (key_kind == 'n' && !emails_agree)) && phones_conflict {
        return false;
    }
    if key_kind == 'n' {
        return true;
    }
    let related = |x: usize, y: usize| {
        let (x, y) = (&values(x)[2..], &values(y)[2..]);
        x.contains(y) || y.contains(x)
    };
    let names_conflict = both(&a.names, &b.names)
        && !a
            .names
            .iter()
            .any(|&x| b.names.iter().any(|&y| related(x, y)));
    let people_conflict = both(&a.people, &b.people) && !shared(&a.people, &b.people);
    !names_conflict && !people_conflict
}

/// The holders of an over-limit key of kind `key_kind` that it may link: the reference holder
/// (the first of `holders` by `rank`) and every holder that agrees with it, in `holders` order.
pub fn linkable<'v>(
    key_kind: char,
    holders: &[usize],
    attrs: &[Attributes],
    rank: &[usize],
    values: &dyn Fn(usize) -> &'v str,
) -> Vec<usize> {
    let Some(&reference) = holders.iter().min_by_key(|&&h| rank[h]) else {
        return Vec::new();
    };
    holders
        .iter()
        .copied()
        .filter(|&h| h == reference || agree(key_kind, &attrs[reference], &attrs[h], values))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUES: &[&str] = &[
        "n:恒瑞科技",
        "n:上海恒瑞科技",
        "h:张伟",
        "h:王芳",
        "e:buyer1@hengrui.cn",
        "e:boss@hengrui.cn",
        "e:someone@else.cn",
        "e:a@qq.com",
        "e:b@qq.com",
        "p:+8613900000001",
        "p:+8613900000002",
        "n:华信电子",
    ];

    fn at(indexes: &[usize]) -> Attributes {
        let mut a = Attributes::default();
        for &i in indexes {
            match kind(VALUES[i]) {
                'p' => a.phones.push(i),
                'e' => a.emails.push(i),
                'n' => a.names.push(i),
                'h' => a.people.push(i),
                _ => {}
            }
        }
        a
    }

    fn agrees(key_kind: char, a: &[usize], b: &[usize]) -> bool {
        agree(key_kind, &at(a), &at(b), &|i| VALUES[i])
    }

    #[test]
    fn names_related_agree_unrelated_disagree() {
        assert!(agrees('p', &[0], &[1]));
        assert!(!agrees('p', &[0], &[11]));
        assert!(agrees('p', &[0], &[]));
        // People: different people disagree, a person and a company do not.
        assert!(!agrees('p', &[2], &[3]));
        assert!(agrees('p', &[0], &[2]));
        // A name key does not compare names.
        assert!(agrees('n', &[2], &[3]));
    }

    #[test]
    fn mail_at_one_company_domain_agrees() {
        assert!(agrees('p', &[4], &[5]));
        assert!(!agrees('p', &[4], &[6]));
        assert!(!agrees('p', &[7], &[8]));
        assert!(agrees('p', &[7], &[7]));
    }

    #[test]
    fn phones_decide_for_e_mails_and_for_names_without_agreeing_mail() {
        assert!(!agrees('e', &[9], &[10]));
        assert!(agrees('e', &[9], &[9]));
        assert!(!agrees('n', &[9], &[10]));
        assert!(agrees('n', &[9, 4], &[10, 5]));
        assert!(!agrees('n', &[9, 7], &[10, 8]));
    }

    #[test]
    fn the_oldest_holder_is_the_reference() {
        let attrs = vec![at(&[4]), at(&[5]), at(&[6]), at(&[])];
        let values = |i: usize| VALUES[i];
        // Record 2 ranks first: only those agreeing with it (itself, and 3 with no e-mail).
        assert_eq!(
            linkable('p', &[0, 1, 2, 3], &attrs, &[1, 2, 0, 3], &values),
            vec![2, 3]
        );
        assert_eq!(
            linkable('p', &[0, 1, 2, 3], &attrs, &[0, 1, 2, 3], &values),
            vec![0, 1, 3]
        );
    }
}
