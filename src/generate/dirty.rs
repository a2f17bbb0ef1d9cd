//! Rates of each kind of dirty data the generator produces (DOMAIN.md, "Dirty data").
//!
//! Every rate is a probability in `[0, 1]` applied per record (or per customer where said).
//! [`DirtyRates::clean`] turns all dirt off: then no fact is rejected by the acceptance rules,
//! every copy of a customer spells its name, phone and e-mail the canonical way, and no
//! customer record lands twice.

use super::GenerateError;
use super::hostile::HostileRates;

/// Probabilities of each kind of dirty data.
#[derive(Clone, Debug, PartialEq)]
pub struct DirtyRates {
    /// A customer record's company name is spelled differently from the legal name (suffix
    /// dropped or changed, branch alias such as BJ分部, half-width brackets, full-width
    /// letters, stray spaces). Per source record.
    pub name_variant: f64,
    /// A phone is written in a non-canonical format (`+86 138 0013 8000`, `138-0013-8000`, ...).
    /// Per record version.
    pub phone_format: f64,
    /// A customer who is in the shop uses a second mobile there, different from the CRM phone
    /// (the copies then still share the e-mail or the name). Per shop record.
    pub second_mobile: f64,
    /// A customer opens a second shop account. Per shop customer.
    pub second_shop_account: f64,
    /// An e-mail differs in letter case or has surrounding spaces. Per record version.
    pub email_variant: f64,
    /// CRM `company_size` left empty. Per CRM record version.
    pub missing_company_size: f64,
    /// `industry` left empty (CRM and ERP). Per record version.
    pub missing_industry: f64,
    /// CRM `customer_type` left empty. Per CRM record version.
    pub missing_customer_type: f64,
    /// Sales typed `新客户` for a company created over a year before. Per CRM record version.
    pub wrong_customer_type: f64,
    /// A customer record lands again later with a newer `updated_at` and edited fields (and,
    /// with this probability squared, a third time). Per customer record.
    pub customer_relanding: f64,
    /// The same order row lands twice (identical). Per order.
    pub duplicate_order: f64,
    /// An order lands again later with a newer `updated_at` and a changed status. Per order.
    pub order_status_change: f64,
    /// The order's customer id exists in no source (reject `orphan_customer`). Per order.
    pub orphan_order: f64,
    /// The order amount is negative (reject `negative_amount`). Per order.
    pub negative_amount: f64,
    /// The order time lies after the landing date (reject `future_event`). Per order.
    pub future_order: f64,
    /// The order currency is not in the fx table (reject `unknown_currency`). Per order.
    pub unknown_currency: f64,
    /// A survey score is blank, non-numeric, fractional or out of range (reject
    /// `invalid_score`). Per survey response.
    pub invalid_score: f64,
    /// A valid survey score is typed with surrounding spaces (`' 9'`, `'10 '`): still valid
    /// after trimming. Per survey response.
    pub padded_score: f64,
    /// An interaction or survey has no `crm_id` (reject `null_key`). Per record.
    pub null_customer_ref: f64,
    /// An interaction or survey has a `crm_id` that no CRM record has (reject
    /// `orphan_customer`). Per record.
    pub unknown_customer_ref: f64,
    /// Identifiers as real CRMs and shops hold them (the hostile profile; off by default).
    pub hostile: HostileRates,
}

impl Default for DirtyRates {
    fn default() -> Self {
        Self {
            name_variant: 0.6,
            phone_format: 0.5,
            second_mobile: 0.1,
            second_shop_account: 0.03,
            email_variant: 0.15,
            missing_company_size: 0.12,
            missing_industry: 0.06,
            missing_customer_type: 0.05,
            wrong_customer_type: 0.05,
            customer_relanding: 0.3,
            duplicate_order: 0.01,
            order_status_change: 0.03,
            orphan_order: 0.003,
            negative_amount: 0.002,
            future_order: 0.002,
            unknown_currency: 0.002,
            invalid_score: 0.05,
            padded_score: 0.05,
            null_customer_ref: 0.004,
            unknown_customer_ref: 0.004,
            hostile: HostileRates::off(),
        }
    }
}

impl DirtyRates {
    /// No dirt at all.
    pub fn clean() -> Self {
        Self {
            name_variant: 0.0,
            phone_format: 0.0,
            second_mobile: 0.0,
            second_shop_account: 0.0,
            email_variant: 0.0,
            missing_company_size: 0.0,
            missing_industry: 0.0,
            missing_customer_type: 0.0,
            wrong_customer_type: 0.0,
            customer_relanding: 0.0,
            duplicate_order: 0.0,
            order_status_change: 0.0,
            orphan_order: 0.0,
            negative_amount: 0.0,
            future_order: 0.0,
            unknown_currency: 0.0,
            invalid_score: 0.0,
            padded_score: 0.0,
            null_customer_ref: 0.0,
            unknown_customer_ref: 0.0,
            hostile: HostileRates::off(),
        }
    }

    /// The default dirt plus the hostile identifiers of [`HostileRates::hostile`].
    pub fn hostile() -> Self {
        Self {
            hostile: HostileRates::hostile(),
            ..Self::default()
        }
    }

    /// Each rate with its field name, for validation and reporting.
    pub(crate) fn named(&self) -> [(&'static str, f64); 20] {
        [
            ("dirty.name_variant", self.name_variant),
            ("dirty.phone_format", self.phone_format),
            ("dirty.second_mobile", self.second_mobile),
            ("dirty.second_shop_account", self.second_shop_account),
            ("dirty.email_variant", self.email_variant),
            ("dirty.missing_company_size", self.missing_company_size),
            ("dirty.missing_industry", self.missing_industry),
            ("dirty.missing_customer_type", self.missing_customer_type),
            ("dirty.wrong_customer_type", self.wrong_customer_type),
            ("dirty.customer_relanding", self.customer_relanding),
            ("dirty.duplicate_order", self.duplicate_order),
            ("dirty.order_status_change", self.order_status_change),
            ("dirty.orphan_order", self.orphan_order),
            ("dirty.negative_amount", self.negative_amount),
            ("dirty.future_order", self.future_order),
            ("dirty.unknown_currency", self.unknown_currency),
            ("dirty.invalid_score", self.invalid_score),
            ("dirty.padded_score", self.padded_score),
            ("dirty.null_customer_ref", self.null_customer_ref),
            ("dirty.unknown_customer_ref", self.unknown_customer_ref),
        ]
    }

    /// Every rate must be a probability.
    pub(crate) fn validate(&self) -> Result<(), GenerateError> {
        if !(2..=30).contains(&self.hostile.max_chain) {
            return Err(GenerateError::InvalidOptions {
                option: "hostile.max_chain",
                reason: format!("{} is not in 2..=30", self.hostile.max_chain),
            });
        }
        for (option, rate) in self.named().into_iter().chain(self.hostile.named()) {
            if !(0.0..=1.0).contains(&rate) {
                return Err(GenerateError::InvalidOptions {
                    option,
                    reason: format!("{rate} is not a probability in [0, 1]"),
                });
            }
        }
        Ok(())
    }
}
