//! A small fixture for the value and version rules of DOMAIN.md (blank keys, survey scores,
//! the latest version and its ties, exact money, `first_seen_at`, `value_tier` ties), run through
//! the whole bundled pipeline for [`DS`] = 2026-11-21.
//!
//! Customers (nine):
//! - C1..C5 CRM only. C1 has the interactions, surveys, lead and contract. C2 lands again on the
//!   21st with a NULL updated_at and city Shanghai (must not replace Beijing); C5 too, in a file
//!   that has no updated_at column at all. C3 lands twice on
//!   the 20th, in two files, with the same updated_at: city Xian and city Chengdu.
//! - E1, E2, E3 ERP only, the buyers (all orders at 10:00 Shanghai on the 20th, recency 1 day).
//! - E9 ERP only, no order, no interaction: lands on 2026-09-01 (updated_at 2026-09-01 02:00Z,
//!   province 四川) and again on 2026-11-20 (updated_at 2026-11-20 02:00Z, province 重庆).
//! - Blank ids: a CRM record with crm_id '', an ERP record with erp_code '  ', a shop record with
//!   shop_uid U+3000 (ideographic space). They are not customers: null_key rejects.
//!
//! Orders (amount, currency, status):
//! - E1: OA 0.15 USD, OB 0.25 EUR, OC 1.50 HKD, paid. OG and OH are re-sent with the same
//!   updated_at on the same landing day in two files (`tie-0`, `tie-1`): OG paid / refunded;
//!   OH cancelled + refunded / paid.
//! - E2: OD 0.10 CNY and OE 0.20 CNY, paid; OI refunded on the 20th (updated_at 03:00Z), landed
//!   again on the 21st as paid with a NULL updated_at.
//! - E3: OF 0.30 CNY, paid.
//! - Blank keys: five orders with order_id '' and one with ' U+3000 ' (E1, paid, 50.00 CNY); OJ
//!   with source_customer_id U+00A0 (no-break space).
//!
//! `swapped` exchanges the contents of `tie-0` and `tie-1` of every tied landing (orders,
//! interactions, CRM customers), so a test can check that the file order decides nothing.

use super::Project;
use super::crm_fixture::{
    COMPETITOR_SIGNAL, CONTRACT, CRM_CUSTOMER, DS, ERP_CUSTOMER, INTERACTION, LEAD, ORDER,
    PRODUCT_USAGE, SHOP_CUSTOMER, SURVEY, land_rows_at,
};
use super::ods::crm_project;

const D20: &str = "2026-11-20";

/// Land `first` in `tie-0` and `second` in `tie-1` (or the other way round when `swapped`).
fn land_pair(
    p: &Project,
    table: &str,
    layout: &[(&str, super::crm_fixture::Kind)],
    ds: &str,
    swapped: bool,
    first: &[&[&str]],
    second: &[&[&str]],
) {
    let (a, b) = if swapped {
        (second, first)
    } else {
        (first, second)
    };
    land_rows_at(p, table, layout, ds, "tie-0", a);
    land_rows_at(p, table, layout, ds, "tie-1", b);
}

#[rustfmt::skip]
pub fn rules_project(swapped: bool) -> Project {
    let p = crm_project();
    let created = "2024-01-05T02:00:00Z";
    let upd = "2026-11-20T01:00:00Z";
    let crm = |id: &'static str, name: &'static str, phone: &'static str, city: &'static str,
               updated: &'static str| -> [&'static str; 14] {
        [id, name, "张三", phone, "NULL", "制造", "北京", city, "1-49", "NULL", "R1", "NULL",
         created, updated]
    };
    // crm_id, company_name, contact_name, phone, email, industry, province, city, company_size,
    // customer_type, owner_rep, contact_birthday, created_at, updated_at
    land_rows_at(&p, "ods_crm_customer", CRM_CUSTOMER, D20, "part-0", &[
        &crm("C1", "甲一科技有限公司", "13800000101", "Beijing", upd),
        &crm("C2", "甲二科技有限公司", "13800000102", "Beijing", upd),
        &crm("C4", "甲四科技有限公司", "13800000104", "Beijing", upd),
        &crm("C5", "甲五科技有限公司", "13800000105", "Beijing", upd),
        &crm("", "空号科技有限公司", "13800000199", "Beijing", upd),
    ]);
    // C3's two versions tie on updated_at and ds: the smallest remaining columns win (city
    // 'Chengdu' < 'Xian'), whichever file holds which.
    land_pair(&p, "ods_crm_customer", CRM_CUSTOMER, D20, swapped,
        &[&crm("C3", "甲三科技有限公司", "13800000103", "Xian", upd)],
        &[&crm("C3", "甲三科技有限公司", "13800000103", "Chengdu", upd)]);
    land_rows_at(&p, "ods_crm_customer", CRM_CUSTOMER, DS, "part-0", &[
        &crm("C2", "甲二科技有限公司", "13800000102", "Shanghai", "NULL"),
    ]);
    // C5 lands again on the 21st in a file written without the updated_at column (city
    // Shanghai): it reads as NULL, older than the version of the 20th.
    let without_updated_at = &CRM_CUSTOMER[..CRM_CUSTOMER.len() - 1];
    let c5 = crm("C5", "甲五科技有限公司", "13800000105", "Shanghai", "NULL");
    land_rows_at(&p, "ods_crm_customer", without_updated_at, DS, "part-1", &[&c5[..13]]);
    // erp_code, legal_name, short_name, tel, industry, province, updated_at
    land_rows_at(&p, "ods_erp_customer", ERP_CUSTOMER, "2026-09-01", "part-0", &[
        &["E9", "乙九物流有限公司", "NULL", "13800000209", "NULL", "四川", "2026-09-01T02:00:00Z"],
    ]);
    land_rows_at(&p, "ods_erp_customer", ERP_CUSTOMER, D20, "part-0", &[
        &["E1", "乙一物流有限公司", "NULL", "13800000201", "NULL", "NULL", upd],
        &["E2", "乙二物流有限公司", "NULL", "13800000202", "NULL", "NULL", upd],
        &["E3", "乙三物流有限公司", "NULL", "13800000203", "NULL", "NULL", upd],
        &["E9", "乙九物流有限公司", "NULL", "13800000209", "NULL", "重庆", "2026-11-20T02:00:00Z"],
        &["  ", "空码物流有限公司", "NULL", "13800000299", "NULL", "NULL", upd],
    ]);
    // shop_uid, display_name, mobile, email, city, registered_at, updated_at
    land_rows_at(&p, "ods_shop_customer", SHOP_CUSTOMER, D20, "part-0", &[
        &["\u{3000}", "空店", "13800000399", "NULL", "NULL", created, upd],
    ]);

    // order_id, source_system, source_customer_id, order_time, amount, currency,
    // product_category, status, updated_at
    let at = "2026-11-20T02:00:00Z";
    let o = |id: &'static str, cust: &'static str, amount: &'static str, cur: &'static str,
             status: &'static str, updated: &'static str| -> [&'static str; 9] {
        [id, "erp", cust, at, amount, cur, "软件", status, updated]
    };
    land_rows_at(&p, "ods_order", ORDER, D20, "part-0", &[
        &o("OA", "E1", "0.15", "USD", "paid", at),
        &o("OB", "E1", "0.25", "EUR", "paid", at),
        &o("OC", "E1", "1.50", "HKD", "paid", at),
        &o("OD", "E2", "0.10", "CNY", "paid", at),
        &o("OE", "E2", "0.20", "CNY", "paid", at),
        &o("OF", "E3", "0.30", "CNY", "paid", at),
        &o("OI", "E2", "0.40", "CNY", "refunded", "2026-11-20T03:00:00Z"),
        &o("", "E1", "50.00", "CNY", "paid", at),
        &o("", "E1", "50.00", "CNY", "paid", at),
        &o("", "E1", "50.00", "CNY", "paid", at),
        &o("", "E1", "50.00", "CNY", "paid", at),
        &o("", "E1", "50.00", "CNY", "paid", at),
        &o(" \u{3000} ", "E1", "50.00", "CNY", "paid", at),
        &o("OJ", "\u{a0}", "50.00", "CNY", "paid", at),
    ]);
    let resent = "2026-11-21T01:00:00Z";
    land_pair(&p, "ods_order", ORDER, DS, swapped,
        &[&o("OG", "E1", "100.00", "CNY", "paid", resent),
          &o("OH", "E1", "100.00", "CNY", "cancelled", resent),
          &o("OH", "E1", "100.00", "CNY", "refunded", resent),
          &o("OI", "E2", "0.40", "CNY", "paid", "NULL")],
        &[&o("OG", "E1", "100.00", "CNY", "refunded", resent),
          &o("OH", "E1", "100.00", "CNY", "paid", resent)]);

    // interaction_id, crm_id, channel, direction, purpose, occurred_at, rep_id, opened, content
    land_pair(&p, "ods_interaction", INTERACTION, DS, swapped,
        &[&["I1", "C1", "email", "out", "thanks", "t-1", "R1", "true", "感谢"],
          &["I3", "C1", "email", "out", "care", "t-2", "R1", "NULL", "NULL"],
          &["", "C1", "call", "out", "care", "t-1", "R1", "NULL", "NULL"],
          &["I2", " ", "call", "out", "care", "t-1", "R1", "NULL", "NULL"]],
        &[&["I3", "C1", "call", "out", "care", "t-2", "R1", "NULL", "NULL"]]);
    // crm_id, usage_date, active_users, events
    land_rows_at(&p, "ods_product_usage", PRODUCT_USAGE, DS, "part-0", &[
        &["C1", "d-1", "3", "10"],
        &["", "d-1", "1", "1"],
    ]);
    // response_id, crm_id, survey_type, score, submitted_at, comment
    let sv = |id: &'static str, kind: &'static str, score: &'static str| -> [&'static str; 6] {
        [id, "C1", kind, score, "t-1", "NULL"]
    };
    land_rows_at(&p, "ods_survey", SURVEY, DS, "part-0", &[
        &sv("S1", "NPS", "\u{ff19}"),
        &sv("S2", "NPS", " 9\u{a0}"),
        &sv("S3", "NPS", "+9"),
        &sv("S4", "NPS", "4.0"),
        &sv("S5", "NPS", "11"),
        &sv("S6", "NPS", "N/A"),
        &sv("S7", "NPS", "-1"),
        &sv("S8", "CSAT", "\u{3000}\u{ff15}"),
        &sv("S9", "CSAT", "0"),
        &sv("S10", "NPS", ""),
        &sv("S11", "NPS", "\u{3000}\u{ff11}\u{ff10}"),
        &sv("\u{2003}", "NPS", "9"),
    ]);
    // contract_id, crm_id, start_date, end_date, annual_value, renewed_from, signed_at
    land_rows_at(&p, "ods_contract", CONTRACT, DS, "part-0", &[
        &["K1", "C1", "d-100", "d+200", "1200.00", "NULL", "t-100"],
        &["", "C1", "d-100", "d+200", "1200.00", "NULL", "t-100"],
    ]);
    // lead_id, crm_id, rep_id, first_contact_at
    land_rows_at(&p, "ods_lead", LEAD, DS, "part-0", &[
        &["L1", "C1", "R1", "t-10"],
        &["", "C1", "R1", "t-10"],
    ]);
    // signal_id, crm_id, competitor, signal_type, detected_at
    land_rows_at(&p, "ods_competitor_signal", COMPETITOR_SIGNAL, DS, "part-0", &[
        &["G1", "", "竞品A", "trial", "t-3"],
    ]);
    p
}
