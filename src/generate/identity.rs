//! Identity of a real customer and how each source writes it down.
//!
//! Invariants (what makes deduplication solvable yet realistic):
//! - A company's normalized name (width folded, spaces removed, branch aliases mapped to
//!   `<城市>分公司`, the suffixes 有限公司/股份有限公司/集团 removed) is the same for every
//!   spelling produced by [`CompanyName::variant`], and the population gives each real customer
//!   its own `(city, brand, word)` so different customers do not share it.
//! - Phones are unique per real customer: mobile numbers come from an affine bijection of a
//!   per-customer slot, landlines from another; every format normalizes to the same E.164.
//! - E-mails are unique per real customer (the population checks them); variants differ only in
//!   letter case and surrounding spaces.

use super::names::{
    BRAND_CHARS, CITIES, GIVEN_NAMES, INDUSTRIES, LEGAL_SUFFIXES, MOBILE_PREFIXES, SURNAMES,
};
use super::rng::Rng;

/// The parts of a real company's name; rendering is deterministic from these.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CompanyName {
    /// Index into `CITIES` of the head office (prefix or bracket).
    pub city: u8,
    /// Two indexes into `BRAND_CHARS`.
    pub brand: [u8; 2],
    /// Index into `INDUSTRIES`.
    pub industry: u8,
    /// Index into the industry's words.
    pub word: u8,
    /// `恒瑞科技（上海）` instead of `上海恒瑞科技`.
    pub bracket: bool,
    /// Index into `LEGAL_SUFFIXES`.
    pub suffix: u8,
    /// Index into `CITIES` of the branch this customer is, if it is a branch office.
    pub branch: Option<u8>,
}

/// How a branch is written.
#[derive(Clone, Copy)]
enum BranchSpelling {
    /// 北京分公司
    Office,
    /// BJ分部
    Abbr,
    /// 北京分部
    Division,
}

impl CompanyName {
    /// Brand plus industry word: `恒瑞科技` (the short name sales use).
    pub fn short(&self) -> String {
        let word = INDUSTRIES[self.industry as usize].words[self.word as usize];
        format!(
            "{}{}{}",
            BRAND_CHARS[self.brand[0] as usize].0, BRAND_CHARS[self.brand[1] as usize].0, word
        )
    }

    /// A key that is equal exactly when two companies share their normalized name base.
    pub fn identity_key(&self) -> u64 {
        u64::from(self.city)
            | u64::from(self.brand[0]) << 8
            | u64::from(self.brand[1]) << 16
            | u64::from(self.industry) << 24
            | u64::from(self.word) << 32
    }

    /// The canonical legal name: `上海恒瑞科技有限公司` (+ `北京分公司` for a branch).
    pub fn legal(&self) -> String {
        self.render(
            LEGAL_SUFFIXES[self.suffix as usize].0,
            false,
            BranchSpelling::Office,
            Spacing::None,
        )
    }

    /// The name as another person or system might write it. With probability `p` the spelling
    /// differs from [`Self::legal`] (suffix dropped or changed, branch alias, half-width brackets,
    /// full-width Latin letters, stray spaces); the normalized name never changes.
    pub fn variant(&self, rng: &mut Rng, p: f64) -> String {
        if !rng.chance(p) {
            return self.legal();
        }
        let legal_suffix = LEGAL_SUFFIXES[self.suffix as usize].0;
        let suffix = match rng.below(4) {
            0 => "",
            1 if legal_suffix == "有限公司" => "股份有限公司",
            1 => "有限公司",
            2 if legal_suffix == "集团有限公司" => "集团",
            _ => legal_suffix,
        };
        let half_brackets = self.bracket && rng.chance(0.6);
        let branch = match rng.below(3) {
            0 => BranchSpelling::Office,
            1 => BranchSpelling::Abbr,
            _ => BranchSpelling::Division,
        };
        let spacing = match rng.below(5) {
            0 => Spacing::BeforeSuffix,
            1 => Spacing::Around,
            2 => Spacing::Ideographic,
            _ => Spacing::None,
        };
        let mut name = self.render(suffix, half_brackets, branch, spacing);
        if rng.chance(0.5) {
            name = to_full_width_ascii(&name);
        }
        name
    }

    fn render(
        &self,
        suffix: &str,
        half_brackets: bool,
        branch: BranchSpelling,
        spacing: Spacing,
    ) -> String {
        let city = CITIES[self.city as usize].name;
        let core = if self.bracket {
            let (open, close) = if half_brackets {
                ("(", ")")
            } else {
                ("（", "）")
            };
            format!("{}{open}{city}{close}", self.short())
        } else {
            format!("{city}{}", self.short())
        };
        let sep = match spacing {
            Spacing::BeforeSuffix if !suffix.is_empty() => " ",
            Spacing::Ideographic if !suffix.is_empty() => "\u{3000}",
            _ => "",
        };
        let branch = match self.branch {
            None => String::new(),
            Some(b) => {
                let c = &CITIES[b as usize];
                match branch {
                    BranchSpelling::Office => format!("{}分公司", c.name),
                    BranchSpelling::Abbr => format!("{}分部", c.abbr),
                    BranchSpelling::Division => format!("{}分部", c.name),
                }
            }
        };
        let name = format!("{core}{sep}{suffix}{branch}");
        match spacing {
            Spacing::Around => format!(" {name} "),
            _ => name,
        }
    }
}

/// Where stray spaces go.
#[derive(Clone, Copy)]
enum Spacing {
    None,
    BeforeSuffix,
    Around,
    Ideographic,
}

/// ASCII letters and digits to their full-width forms (Ａ, ３); other characters unchanged.
pub(crate) fn to_full_width_ascii(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// The contact's name: surname then given name.
pub(crate) fn contact_name(surname: u8, given: u8) -> String {
    format!(
        "{}{}",
        SURNAMES[surname as usize].0, GIVEN_NAMES[given as usize].0
    )
}

/// Multiplier of the mobile-number bijection (a prime, so coprime to the modulus).
const MOBILE_MUL: u128 = 2_654_435_761;
/// Multiplier of the landline bijection (coprime to 80,000,000).
const LANDLINE_MUL: u128 = 39_916_801;

/// The 11 digits of mobile number `slot`: an affine bijection of the slot over all
/// (prefix, 8 digits) pairs, so slots below 2.6 billion never share a number.
pub(crate) fn mobile_digits(slot: u64, salt: u64) -> String {
    let n = MOBILE_PREFIXES.len() as u128;
    let modulus = n * 100_000_000;
    let y = (u128::from(slot) * MOBILE_MUL + u128::from(salt)) % modulus;
    format!("{}{:08}", MOBILE_PREFIXES[(y % n) as usize], y / n)
}

/// Area code and 8-digit number of customer `slot`'s landline (unique per slot below 80 million).
pub(crate) fn landline_parts(city: u8, slot: u64, salt: u64) -> (&'static str, String) {
    let number =
        20_000_000 + (u128::from(slot) * LANDLINE_MUL + u128::from(salt % 80_000_000)) % 80_000_000;
    (CITIES[city as usize].area, number.to_string())
}

/// A mobile number written in one of the common ways (`+86 138 0013 8000`, `138-0013-8000`,
/// `13800138000`, ...); plain 11 digits unless `vary`.
pub(crate) fn format_mobile(digits: &str, rng: &mut Rng, vary: bool) -> String {
    if !vary || digits.len() != 11 {
        return digits.to_string();
    }
    let (a, b, c) = (&digits[..3], &digits[3..7], &digits[7..]);
    match rng.below(5) {
        0 => format!("+86 {a} {b} {c}"),
        1 => format!("{a}-{b}-{c}"),
        2 => format!("+86{digits}"),
        3 => format!("{a} {b} {c}"),
        _ => format!("86-{digits}"),
    }
}

/// A landline written as `(010) 6552-1234`, `010-65521234`, `+86 10 6552 1234` or `0571 8823 4455`.
pub(crate) fn format_landline(area: &str, number: &str, rng: &mut Rng, vary: bool) -> String {
    let (a, b) = number.split_at(4);
    if !vary {
        return format!("({area}) {a}-{b}");
    }
    match rng.below(4) {
        0 => format!("({area}) {a}-{b}"),
        1 => format!("{area}-{number}"),
        2 => format!("+86 {} {a} {b}", area.trim_start_matches('0')),
        _ => format!("{area} {a} {b}"),
    }
}

/// An e-mail as typed: letter case changed or spaces around it with probability `p`.
pub(crate) fn email_variant(email: &str, rng: &mut Rng, p: f64) -> String {
    if !rng.chance(p) {
        return email.to_string();
    }
    match rng.below(4) {
        0 => email.to_uppercase(),
        1 => {
            let mut out = String::with_capacity(email.len());
            let mut upper_next = true;
            for c in email.chars() {
                out.push(if upper_next {
                    c.to_ascii_uppercase()
                } else {
                    c
                });
                upper_next = matches!(c, '.' | '@');
            }
            out
        }
        2 => format!(" {email}"),
        _ => format!("{} ", email.to_uppercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::rng::{Stream, key, rng};
    use super::*;

    fn sample() -> CompanyName {
        CompanyName {
            city: 1,
            brand: [0, 1],
            industry: 0,
            word: 6,
            bracket: true,
            suffix: 0,
            branch: Some(0),
        }
    }

    #[test]
    fn legal_name_reads_naturally() {
        let c = CompanyName {
            bracket: false,
            branch: None,
            word: 0,
            ..sample()
        };
        assert_eq!(c.legal(), "上海恒瑞科技有限公司");
        assert_eq!(sample().legal(), "恒瑞IT服务（上海）有限公司北京分公司");
    }

    #[test]
    fn variants_differ_from_legal_name_but_keep_their_parts() {
        let c = sample();
        let mut r = rng(key(3, Stream::Shape, 1, 2));
        let variants: Vec<String> = (0..200).map(|_| c.variant(&mut r, 1.0)).collect();
        assert!(variants.iter().any(|v| v.contains("BJ分部")));
        assert!(variants.iter().any(|v| v.contains("(上海)")));
        assert!(variants.iter().any(|v| v.contains("ＩＴ")));
        assert!(variants.iter().any(|v| !v.contains("有限公司")));
        assert!(variants.iter().all(|v| v.contains("恒瑞")));
    }

    #[test]
    fn phones_are_unique_per_slot() {
        let mut seen = std::collections::BTreeSet::new();
        for slot in 0..50_000u64 {
            assert!(seen.insert(mobile_digits(slot, 12345)));
        }
        let (area, number) = landline_parts(0, 7, 1);
        assert_eq!(area, "010");
        assert_eq!(number.len(), 8);
    }
}
