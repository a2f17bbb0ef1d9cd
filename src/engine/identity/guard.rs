//! The shared-key guard (DOMAIN.md, "Identity resolution": "any key shared by more records than
//! a configurable limit whose other attributes disagree" is not used for linking).
//!
//! A key held by more than `max_records_per_key` records links only holders that agree
//! ([`agreeing_groups`]): in order of age (anchor rank) each holder joins the first group all of
//! whose members it agrees with, or starts one; each group of two or more is linked, the others
//! are left out. So thirty strangers who typed the same generic name link nobody, a reseller's
//! phone on ten companies links none of them, and nine accounts that agree stay one customer.
//! The key is `accepted` for the holders it links and `refused` (`shared_by_too_many`) for the
//! others. A company name held by fewer records is split the same way under a weaker rule: two
//! holders disagree only when both their phones and their e-mails contradict
//! (`contacts_disagree`).
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
    "vip.qq.com",
    "163.com",
    "vip.163.com",
    "126.com",
    "vip.126.com",
    "188.com",
    "yeah.net",
    "sina.com",
    "sina.cn",
    "sina.com.cn",
    "vip.sina.com",
    "sohu.com",
    "vip.sohu.com",
    "139.com",
    "189.cn",
    "wo.cn",
    "aliyun.com",
    "foxmail.com",
    "tom.com",
    "21cn.com",
    "263.net",
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "live.cn",
    "msn.com",
    "yahoo.com",
    "yahoo.com.cn",
    "yahoo.com.hk",
    "icloud.com",
    "me.com",
    "proton.me",
    "protonmail.com",
    "mail.com",
    "yandex.com",
    "hotmail.com.hk",
    "netvigator.com",
    "wo.com.cn",
    "sogou.com",
    "china.com",
    "88.com",
    "2980.com",
    "eyou.com",
    "yandex.ru",
    "yahoo.co.jp",
    "hotmail.co.uk",
    "outlook.jp",
    "naver.com",
    "daum.net",
];

/// Whether `domain` is a public mail provider's (addresses there belong to individuals).
pub fn is_public_mail_domain(domain: &str) -> bool {
    PUBLIC_MAIL_DOMAINS.contains(&domain)
}

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

/// How far [`agreeing_groups`] compares: with at most this many members of a group, and at most
/// this many groups (a key held by thousands of disagreeing records links none of them).
const COMPARED_MEMBERS: usize = 16;
const MAX_GROUPS: usize = 64;

/// The holders of a key of kind `key_kind` split into groups that agree within themselves: in
/// `rank` order (oldest first), each holder joins the first group all of whose (first
/// [`COMPARED_MEMBERS`]) members it agrees with, or starts a new one. The key links the members
/// of each group of two or more, and nobody else. With `weak`, two records disagree only when
/// both their phones and their e-mails contradict (the rule for a company name held by a few
/// records: a company's contacts differ in one or the other, strangers of one name in both).
pub fn agreeing_groups<'v>(
    key_kind: char,
    holders: &[usize],
    attrs: &[Attributes],
    rank: &[usize],
    values: &dyn Fn(usize) -> &'v str,
    weak: bool,
) -> Vec<Vec<usize>> {
    let mut ordered = holders.to_vec();
    ordered.sort_by_key(|&h| rank[h]);
    let agrees = |a: usize, b: usize| {
        if weak {
            !contacts_contradict(&attrs[a], &attrs[b], values)
        } else {
            agree(key_kind, &attrs[a], &attrs[b], values)
        }
    };
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for h in ordered {
        let home = groups
            .iter()
            .position(|g| g.iter().take(COMPARED_MEMBERS).all(|&m| agrees(m, h)));
        match home {
            Some(i) => groups[i].push(h),
            None if groups.len() < MAX_GROUPS => groups.push(vec![h]),
            None => {}
        }
    }
    groups
}

/// Both the phones and the e-mails of two records contradict (each carries some, none shared).
fn contacts_contradict<'v>(
    a: &Attributes,
    b: &Attributes,
    values: &dyn Fn(usize) -> &'v str,
) -> bool {
    let both = |x: &[usize], y: &[usize]| !x.is_empty() && !y.is_empty();
    let phones = both(&a.phones, &b.phones) && !a.phones.iter().any(|i| b.phones.contains(i));
    let emails = both(&a.emails, &b.emails)
        && !a.emails.iter().any(|&i| {
            b.emails
                .iter()
                .any(|&j| email_identity(values(i)) == email_identity(values(j)))
        });
    phones && emails
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
    fn holders_split_into_groups_that_agree() {
        // 0 and 1 at one company domain, 2 elsewhere, 3 without mail: 3 joins the first group.
        let attrs = vec![at(&[4]), at(&[5]), at(&[6]), at(&[])];
        let values = |i: usize| VALUES[i];
        let groups = agreeing_groups('p', &[0, 1, 2, 3], &attrs, &[0, 1, 2, 3], &values, false);
        assert_eq!(groups, vec![vec![0, 1, 3], vec![2]]);
        // The stranger is the oldest: the company's records still form their group.
        let groups = agreeing_groups('p', &[0, 1, 2, 3], &attrs, &[1, 2, 0, 3], &values, false);
        assert_eq!(groups, vec![vec![2, 3], vec![0, 1]]);
        // Weak: different phones with a shared company domain agree; different phones and
        // different private mailboxes do not.
        let attrs = vec![at(&[9, 4]), at(&[10, 5]), at(&[9, 7]), at(&[10, 8])];
        let groups = agreeing_groups('n', &[0, 1], &attrs, &[0, 1, 2, 3], &values, true);
        assert_eq!(groups, vec![vec![0, 1]]);
        let groups = agreeing_groups('n', &[2, 3], &attrs, &[0, 1, 2, 3], &values, true);
        assert_eq!(groups, vec![vec![2], vec![3]]);
    }
}
