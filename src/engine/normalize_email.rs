//! E-mail addresses as match keys (DOMAIN.md, "Identity resolution"): the bare address, lower
//! case; NULL when the field holds no address beyond doubt. An address is only ever read as it
//! stands in the text: a part of a broken address is never taken for a whole one.
//!
//! How a field is read:
//! 1. Widths folded, invisible characters (zero-width spaces, BOM) dropped, the ideographic
//!    full stops `。` `｡` read as dots and `﹫` as `@`, spaces around `@` removed, Chinese
//!    labels (`邮箱`, `电子邮件`, ...) cut off, lower case.
//! 2. The first address in the text is taken: a local part of letters (any script), digits and
//!    `._%+-`, an `@`, and a domain of ASCII labels with a top-level domain of two or more
//!    letters. Whatever surrounds it (`mailto:`, brackets, quotes, `?subject=`, a trailing `。`
//!    or `;`, a second address) is left behind.
//! 3. A candidate is skipped when it may be a part of a longer, broken address: letters or
//!    digits glued to its end (`zhang@foo.cn2`), a dot and more text after it, a word of Latin
//!    letters or digits next to it across a space (`zhang san@foo.cn`, `zhang@foo.com cn`),
//!    unless that word is a label (`email`, `e-mail`, `mail`, `mailto`) or another address; a
//!    local part mixing Chinese and Latin (`张三zhang@foo.cn`); or an address character glued
//!    to its start (`o'brien@foo.cn`, `a@b@foo.cn`). The next candidate is tried then.

use std::sync::LazyLock;

use regex::Regex;

use super::normalize::{fold_width, is_invisible};

/// A local part, `@` and a domain (the text is lower case already).
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\p{L}\p{N}._%+\-]+@(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,}")
        .expect("the address pattern compiles")
});

static SPACES_AROUND_AT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s*@\s*").expect("the pattern compiles"));

/// Chinese labels typed before an address with no separator (`邮箱zhang@foo.cn`).
const CHINESE_LABELS: &[&str] = &[
    "电子邮箱",
    "电子邮件",
    "邮箱地址",
    "邮件地址",
    "邮箱",
    "邮件",
    "电邮",
    "電子郵箱",
    "電子郵件",
    "郵箱",
    "郵件",
    "電郵",
];

/// Latin labels that may stand before an address with just a space.
const LATIN_LABELS: &[&str] = &["email", "e-mail", "mail", "mailto"];

/// Characters an address may hold that the local part pattern leaves out: glued to the start of
/// a candidate they show it is the tail of a longer address.
const ADDRESS_SPECIALS: &[char] = &[
    '!', '#', '$', '&', '\'', '*', '/', '=', '?', '^', '`', '{', '|', '}', '~', '@',
];

/// The bare address, lower case; NULL when the text holds no address beyond doubt.
pub fn normalize_email(text: &str) -> Option<String> {
    let mut cleaned: String = text
        .chars()
        .filter(|c| !is_invisible(*c))
        .map(fold_width)
        .map(|c| match c {
            '\u{3002}' | '\u{FF61}' | '\u{FE52}' => '.',
            '\u{FE6B}' => '@',
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .collect::<String>()
        .to_lowercase();
    for label in CHINESE_LABELS {
        cleaned = cleaned.replace(label, " ");
    }
    let cleaned = SPACES_AROUND_AT.replace_all(&cleaned, "@");
    ADDRESS.find_iter(&cleaned).find_map(|m| {
        let (before, after) = (&cleaned[..m.start()], &cleaned[m.end()..]);
        let (local, domain) = m.as_str().split_once('@')?;
        let local = local.trim_start_matches('.');
        let mixed = !local.is_ascii() && local.chars().any(|c| c.is_ascii_alphanumeric());
        let whole = !local.is_empty()
            && local.len() <= 64
            && !mixed
            && clean_start(before)
            && clean_end(after);
        whole.then(|| format!("{local}@{domain}"))
    })
}

/// Nothing before the candidate that could belong to it (see the module docs, step 3).
fn clean_start(before: &str) -> bool {
    let mut rev = before.chars().rev();
    match rev.next() {
        None => true,
        Some(' ') => {
            let word = before.trim_end().rsplit(' ').next().unwrap_or("");
            !word.ends_with(|c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c))
                || word.contains('@')
                || LATIN_LABELS.contains(&word)
        }
        Some(c) if ADDRESS_SPECIALS.contains(&c) => {
            c != '@' && !rev.next().is_some_and(|p| p.is_ascii_alphanumeric())
        }
        Some(_) => true,
    }
}

/// Nothing after the candidate that could belong to it (see the module docs, step 3).
fn clean_end(after: &str) -> bool {
    let mut chars = after.chars();
    match chars.next() {
        None => true,
        Some(c) if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '@') => false,
        Some('.') => !chars
            .next()
            .is_some_and(|n| n.is_ascii_alphanumeric() || matches!(n, '-' | '_')),
        Some(' ') => {
            let word = after.trim_start().split(' ').next().unwrap_or("");
            !word.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '.') || word.contains('@')
        }
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(raw: &str) -> Option<String> {
        normalize_email(raw)
    }

    #[test]
    fn emails_normalize() {
        for raw in [
            "  Zhang.San@Example.COM ",
            "mailto:zhang.san@example.com",
            "<zhang.san@example.com>",
            "张三 <Zhang.San@example.com>",
            "zhang.san@example.com.",
            "MAILTO:Zhang.San@Example.com.",
            "\"zhang.san@example.com\"",
            "ｚｈａｎｇ．ｓａｎ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        ] {
            assert_eq!(e(raw).as_deref(), Some("zhang.san@example.com"), "{raw}");
        }
        assert_eq!(e("not an email"), None);
        assert_eq!(e("mailto:"), None);
    }

    #[test]
    fn surrounding_junk_is_left_behind() {
        for raw in [
            "zhang@foo.cn。",
            "zhang@foo.cn;",
            "zhang@foo.cn,",
            "“zhang@foo.cn”",
            "(zhang@foo.cn)",
            "（zhang@foo.cn）",
            "«zhang@foo.cn»",
            "zhang@foo.cn>",
            "> zhang@foo.cn",
            "zhang@foo.cn?subject=hi",
            "mailto:zhang@foo.cn?subject=hi",
            "\u{200B}zhang@foo.cn\u{200D}",
            "zhang\u{2060}@foo.cn\u{FEFF}",
            "zhang@foo。cn",
            "zhang@foo｡cn",
            "zhang @ foo.cn",
            "zhang ＠ foo.cn",
            "e-mail: zhang@foo.cn",
            "Email：zhang@foo.cn",
            "email zhang@foo.cn",
            "邮箱：zhang@foo.cn",
            "邮箱zhang@foo.cn",
            "電子郵件 zhang@foo.cn",
            "张三 zhang@foo.cn",
            "zhang@foo.cn 谢谢",
            "zhang@foo.cn; li@bar.cn",
            "zhang@foo.cn,li@bar.cn",
            "zhang@foo.cn li@bar.cn",
            "ZHANG@FOO.CN / li@bar.cn",
        ] {
            assert_eq!(e(raw).as_deref(), Some("zhang@foo.cn"), "{raw}");
        }
        assert_eq!(e("(zhang@foo16.cn)").as_deref(), Some("zhang@foo16.cn"));
        assert_eq!(
            e("zhang_san+crm@foo.com.cn").as_deref(),
            Some("zhang_san+crm@foo.com.cn")
        );
        assert_eq!(e("张三@公司.cn"), None);
        assert_eq!(e("张三@foo.cn").as_deref(), Some("张三@foo.cn"));
    }

    #[test]
    fn the_first_whole_address_wins() {
        // The first candidate is broken (a space in its local part): the second address is taken.
        assert_eq!(
            e("zhang san@foo.cn; li@bar.cn").as_deref(),
            Some("li@bar.cn")
        );
        assert_eq!(e("zhang@foo.c; li@bar.cn").as_deref(), Some("li@bar.cn"));
    }

    #[test]
    fn broken_addresses_are_null() {
        for raw in [
            // A part of a broken address is another address.
            "zhang san@foo.cn",
            "zhang@foo.com cn",
            "zhang@foo.co m",
            "zhang@foo.cn2",
            "zhang@foo.cn-x",
            "zhang@foo.cn.2",
            "o'brien@foo.cn",
            "a@b@foo.cn",
            "张三zhang@foo.cn",
            // No address at all.
            "zhang@foo",
            "zhang@foo.c",
            "zhang@foo. cn",
            "zhang@",
            "@foo.cn",
            "zhang.foo.cn",
            "",
        ] {
            assert_eq!(e(raw), None, "{raw}");
        }
    }
}
