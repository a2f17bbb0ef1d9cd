//! Phone numbers as match keys (DOMAIN.md, "Identity resolution"): E.164 `+86` followed by the
//! national number without the trunk `0`; NULL whenever the text does not hold one number
//! beyond doubt. A number is only ever read from digits the text holds in that order; a typo
//! never becomes another valid number.
//!
//! How a field is read:
//! 1. Widths folded, invisible characters (zero-width spaces, BOM) dropped, every space a space.
//! 2. An extension is cut off at its mark once a digit has been seen: `转`, `分机`, `内线`
//!    (and their traditional forms), `#`, and `ext`, `extension` or `x` as a whole word or
//!    right after a digit (the `x` of `fax` is no mark; a `#` before the number is no mark).
//! 3. A short ordinal label (`No.1`, `Nr 2`, `№3`) is dropped with its number.
//! 4. The rest splits into runs of digits and number punctuation (spaces, dashes, dots,
//!    brackets, `+`); any other character (a letter, `:`, `/`, `;`, `,`, Chinese text) ends a run.
//!    The first run that reads as a valid number wins, so `Tel/Fax: 010-65521234`,
//!    `13912345678; 801` and `139 1234 5678 / 801` all read the first number.
//! 5. Within a run, when the digits before the last group already make a complete number, the
//!    last group is an extension if a dash separates it (`010-65521234-801`, `0941-8123456-9`),
//!    and the run is NULL otherwise (`13912345678 801`: in doubt).
//! 6. Country prefixes `+86`, `0086` and `86` (with more than 11 digits) are dropped; another
//!    country (`+1`, `00...`) is NULL. Then a mobile is 11 digits `1[3-9]...`; a landline needs
//!    the trunk `0` or a country prefix and is `10` or `2x` plus 8 digits, or a three-digit area
//!    code `3xx`..`9xx` plus 7 or 8 digits. Anything else (`+86 139 1234 567`) is NULL.

use super::normalize::{fold_width, is_invisible};

/// Where an extension starts, once a digit has been seen. `ext`, `extension` and `x` count only
/// as whole words or right after a digit (see [`extension_start`]).
const EXTENSION_MARKS: &[&str] = &[
    "转",
    "轉",
    "分机",
    "分機",
    "内线",
    "內線",
    "#",
    "extension",
    "ext",
    "x",
];

/// E.164 for Chinese numbers: `+86` followed by the national number without trunk `0`.
pub fn normalize_phone(text: &str) -> Option<String> {
    let cleaned: String = text
        .chars()
        .filter(|c| !is_invisible(*c))
        .map(fold_width)
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect::<String>()
        .to_lowercase();
    let main = drop_ordinal_labels(&cleaned[..extension_start(&cleaned)]);
    main.split(|c: char| !(c.is_ascii_digit() || is_number_punctuation(c)))
        .find_map(read_run)
}

/// Spaces, dashes, dots, brackets and `+` written inside a number.
fn is_number_punctuation(c: char) -> bool {
    c == ' ' || is_dash(c) || matches!(c, '.' | '(' | ')' | '[' | ']' | '+')
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// The byte offset where the extension starts (or the text's length): the first extension mark
/// after a digit. `x`, `ext` and `extension` must not touch a letter on either side, except
/// that a digit may stand right before them (`13912345678x801`).
fn extension_start(text: &str) -> usize {
    let mut seen_digit = false;
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if seen_digit {
            let rest = &text[i..];
            let mark = EXTENSION_MARKS.iter().find(|m| {
                rest.starts_with(**m)
                    && (!m.is_ascii()
                        || **m == "#"
                        || (!prev.is_some_and(|p| p.is_ascii_alphabetic())
                            && !rest[m.len()..]
                                .chars()
                                .next()
                                .is_some_and(|n| n.is_ascii_alphabetic())))
            });
            if mark.is_some() {
                return i;
            }
        }
        seen_digit |= c.is_ascii_digit();
        prev = Some(c);
    }
    text.len()
}

/// `no.1`, `nr 2`, `№3`: a label and its one- or two-digit number, replaced by `;` so that the
/// label's number never joins the phone number after it. `no.` before a longer number
/// (`Tel No. 010-65521234`) is left alone.
fn drop_ordinal_labels(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let at_word_start = !out
            .chars()
            .next_back()
            .is_some_and(|p| p.is_ascii_alphabetic());
        let label = ["no", "nr", "№"]
            .iter()
            .find(|l| at_word_start && rest.starts_with(**l))
            .map(|l| &rest[l.len()..]);
        if let Some(after) = label {
            let after_label = after.trim_start_matches([' ', '.', ':', '#']);
            let digits = after_label.len()
                - after_label
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            let next = after_label[digits..].chars().next();
            let label_number = (1..=2).contains(&digits)
                && !after.starts_with(|c: char| c.is_ascii_alphabetic())
                && !next.is_some_and(|n| n.is_ascii_digit() || is_dash(n));
            if label_number {
                out.push(';');
                rest = &after_label[digits..];
                continue;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// One run of digits and number punctuation (see the module docs, steps 5 and 6).
fn read_run(run: &str) -> Option<String> {
    // Digit groups, each with whether a dash stands before it.
    let mut groups: Vec<(bool, &str)> = Vec::new();
    let mut dash = false;
    let mut start = None;
    for (i, c) in run.char_indices().chain([(run.len(), ' ')]) {
        match (c.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                groups.push((dash, &run[s..i]));
                (start, dash) = (None, false);
            }
            _ => {}
        }
        dash |= is_dash(c);
    }
    let international = run.trim_start_matches([' ', '(', '[']).starts_with('+');
    let joined = |gs: &[(bool, &str)]| gs.iter().map(|(_, g)| *g).collect::<String>();
    if let [head @ .., (dash_before, last)] = groups.as_slice()
        && !head.is_empty()
        && let Some(number) = national_number(international, &joined(head))
    {
        // A complete number with one more group: an extension after a dash, else in doubt.
        return (*dash_before && last.len() <= 6).then_some(number);
    }
    national_number(international, &joined(&groups))
}

/// `+86...` from all the digits of one number, with or without a country prefix.
fn national_number(plus: bool, digits: &str) -> Option<String> {
    let mut digits = digits;
    let mut international = false;
    if let Some(rest) = digits.strip_prefix("0086") {
        (digits, international) = (rest, true);
    } else if plus {
        (digits, international) = (digits.strip_prefix("86")?, true);
    } else if digits.starts_with("00") {
        return None;
    } else if digits.starts_with("86") && digits.len() > 11 {
        (digits, international) = (&digits[2..], true);
    }
    let (national, trunk) = match digits.strip_prefix('0') {
        Some(rest) => (rest, true),
        None => (digits, false),
    };
    let bytes = national.as_bytes();
    let len = bytes.len();
    let is_mobile = len == 11 && bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1]);
    let is_landline = (trunk || international)
        && match bytes.first() {
            Some(b'1') => bytes.get(1) == Some(&b'0') && len == 10,
            Some(b'2') => len == 10,
            Some(b'3'..=b'9') => len == 10 || len == 11,
            _ => false,
        };
    (is_mobile || is_landline).then(|| format!("+86{national}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(raw: &str) -> Option<String> {
        normalize_phone(raw)
    }

    #[test]
    fn phones_normalize_to_e164() {
        for raw in [
            "+86 138 0013 8000",
            "138-0013-8000",
            "13800138000",
            "８６13800138000",
            "0086 138 0013 8000",
            "86-138-0013-8000",
            "(+86) 13800138000",
            "+86 (0) 138 0013 8000",
            "tel:+86-138-0013-8000",
            "138\u{A0}0013\u{A0}8000",
            "138\u{200B}0013\u{FEFF}8000",
            "１３８００１３８０００",
        ] {
            assert_eq!(n(raw).as_deref(), Some("+8613800138000"), "{raw}");
        }
        assert_eq!(n("(010) 6552-1234").as_deref(), Some("+861065521234"));
        assert_eq!(n("+86 (0)10 6552 1234").as_deref(), Some("+861065521234"));
        assert_eq!(n("0941-8123456").as_deref(), Some("+869418123456"));
        assert_eq!(n("0941-81234569").as_deref(), Some("+8694181234569"));
        assert_eq!(n("12345"), None);
        assert_eq!(n(""), None);
    }

    #[test]
    fn extensions_are_cut_off() {
        for raw in [
            "139-1234-5678 转 801",
            "139 1234 5678 ext. 801",
            "13912345678x801",
            "13912345678 x 801",
            "13912345678 #801",
            "+86 139 1234 5678 分机801",
            "13912345678 EXT 801",
            "13912345678 extension 801",
            "13912345678-801",
            "139-1234-5678-801",
            "139 1234 5678 / 801",
            "13912345678; 801",
            "13912345678，801",
            "13912345678内线801",
            "13912345678 內線 801",
            "tel:+86-139-1234-5678;ext=801",
        ] {
            assert_eq!(n(raw).as_deref(), Some("+8613912345678"), "{raw}");
        }
        for raw in [
            "(010) 6552-1234 转 23",
            "+86 10 6552 1234",
            "010-65521234-801",
            "(010)65521234-801",
            "010-6552-1234-801",
            "010-65521234 內線801",
        ] {
            assert_eq!(n(raw).as_deref(), Some("+861065521234"), "{raw}");
        }
        // A dash and one digit after a complete landline: an extension, never the joined number
        // (`0941-81234569` is another valid number).
        assert_eq!(n("0941-8123456-9").as_deref(), Some("+869418123456"));
        assert_ne!(n("0941-8123456-9"), n("0941-81234569"));
    }

    #[test]
    fn labels_before_the_number_are_no_extension() {
        let mobile = Some("+8613912345678");
        for raw in [
            "fax 13912345678",
            "Fax: 139 1234 5678",
            "No.1 13912345678",
            "NO. 2: 13912345678",
            "№3 13912345678",
            "手机#13912345678",
            "手机：13912345678",
            "Tel 13912345678 Fax 13812345678",
        ] {
            assert_eq!(n(raw).as_deref(), mobile, "{raw}");
        }
        for raw in [
            "Tel/Fax: 010-65521234",
            "Tel No. 010-65521234",
            "电话 010-65521234 传真 010-65521235",
        ] {
            assert_eq!(n(raw).as_deref(), Some("+861065521234"), "{raw}");
        }
    }

    #[test]
    fn doubtful_numbers_are_null() {
        for raw in [
            // Ten digits after +86 starting 13: a mobile missing a digit, not a landline.
            "+86 139 1234 567",
            "+861391234567",
            "1391234567",
            // A complete number and a group without a dash: extension or typo, in doubt.
            "13912345678 801",
            "0941 8123456 9",
            // Two numbers joined by a dash.
            "010-65521234-65521235",
            // An extension mark with no complete number before it.
            "139 1234 转 5678",
            // Letters typed for digits split the number; no part of it is a number.
            "139O1234567",
            "O10-65521234",
            // Landlines need the trunk 0 or a country prefix, and a 2-digit area code 8 digits.
            "65521234",
            "1065521234",
            "(021) 5555 666",
            // Another country.
            "+1 415 555 0100",
            "001 415 555 0100",
            // A label's number never joins the phone number.
            "No.1 3912345678",
            "#1 13912345678",
            "fax",
        ] {
            assert_eq!(n(raw), None, "{raw}");
        }
    }
}
