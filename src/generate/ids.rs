//! Identifier formats of every source and fact table.
//!
//! Fact rows keep their ids as numbers and the writer threads format them straight into the
//! Arrow string builders, so the day generator allocates no string per id.

use std::fmt::Write;

/// A kind of identifier and its text format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Id {
    /// CRM customer, `C000123`.
    Crm,
    /// Web-shop account, `S0004567`.
    Shop,
    /// ERP customer, `E00089`.
    Erp,
    /// Sales rep, `R0012`; the number is 0-based and written 1-based.
    Rep,
    /// Order, `O0000000001`.
    Order,
    /// Interaction, `I0000000001`.
    Interaction,
    /// Survey response, `V000000001`.
    Response,
    /// Competitor signal, `G00000001`.
    Signal,
    /// Lead, `L0000001`.
    Lead,
    /// Contract, `CT0000001`.
    Contract,
    /// Customer-success plan assignment, `CSP00000001`.
    Plan,
    /// Real customer in the ground truth, `T000001`; 0-based, written 1-based.
    TrueKey,
}

impl Id {
    /// Append the id with number `no` to `buf`.
    pub fn write(self, buf: &mut String, no: u64) {
        // Writing to a String cannot fail.
        let _ = match self {
            Id::Crm => write!(buf, "C{no:06}"),
            Id::Shop => write!(buf, "S{no:07}"),
            Id::Erp => write!(buf, "E{no:05}"),
            Id::Rep => write!(buf, "R{:04}", no + 1),
            Id::Order => write!(buf, "O{no:010}"),
            Id::Interaction => write!(buf, "I{no:010}"),
            Id::Response => write!(buf, "V{no:09}"),
            Id::Signal => write!(buf, "G{no:08}"),
            Id::Lead => write!(buf, "L{no:07}"),
            Id::Contract => write!(buf, "CT{no:07}"),
            Id::Plan => write!(buf, "CSP{no:08}"),
            Id::TrueKey => write!(buf, "T{:06}", no + 1),
        };
    }

    /// The id with number `no` as a new string.
    pub fn format(self, no: u64) -> String {
        let mut s = String::with_capacity(12);
        self.write(&mut s, no);
        s
    }
}

pub(crate) fn crm_id(no: u32) -> String {
    Id::Crm.format(u64::from(no))
}

pub(crate) fn shop_uid(no: u32) -> String {
    Id::Shop.format(u64::from(no))
}

pub(crate) fn erp_code(no: u32) -> String {
    Id::Erp.format(u64::from(no))
}

pub(crate) fn rep_id(rep: u32) -> String {
    Id::Rep.format(u64::from(rep))
}

pub(crate) fn true_key(key: u32) -> String {
    Id::TrueKey.format(u64::from(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_the_documented_examples() {
        assert_eq!(crm_id(123), "C000123");
        assert_eq!(shop_uid(4567), "S0004567");
        assert_eq!(erp_code(89), "E00089");
        assert_eq!(rep_id(11), "R0012");
        assert_eq!(true_key(0), "T000001");
        assert_eq!(Id::Order.format(1), "O0000000001");
        assert_eq!(Id::Contract.format(7), "CT0000007");
        assert_eq!(Id::Plan.format(1), "CSP00000001");
        assert_eq!(crm_id(1_234_567), "C1234567");
    }
}
