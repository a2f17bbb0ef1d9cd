//! The DWS and ADS layers of the bundled pipeline on a hand-built fixture of 15 customers, run by
//! the real binary for ds = 2026-11-21. Every expected value below is worked out by hand from the
//! fixture (the arithmetic is in the comments) and compared with the Parquet the binary wrote,
//! read back by an independent DataFusion context.
//!
//! The customers. B1..B13 buy (CRM record C01..C13 plus an ERP record E01..E13 with the same
//! company name and phone, so each pair merges into one customer); P1 = C14 and P2 = C15 never
//! buy. Ages are days before ds ("age 30" = 2026-10-22); all events happen at 10:00 Shanghai time
//! unless a timestamp is written out.
//!
//! | cust | paid orders (age: CNY category)                      | R   | F | M (365d) |
//! |------|------------------------------------------------------|-----|---|----------|
//! | B1   | 0:5000 软, 30:5000 硬, 60 软, 90 硬, 120 软, 150 硬    | 0   | 6 | 30000    |
//! | B2   | 40:45000 软, 100:USD 4000 软 (=28400), 400:30000 硬   | 40  | 2 | 73400    |
//! | B3   | 5:2000 服                                            | 5   | 1 | 2000     |
//! | B4   | 20:12000 软, 41:12000 硬, 65:12000 服                 | 20  | 3 | 36000    |
//! | B5   | 10:1500 软, 200:2500 硬                               | 10  | 2 | 4000     |
//! | B6   | 80:1200 硬, 100:800 服                                | 80  | 2 | 2000     |
//! | B7   | 60, 150, 180: 3000 软 each                            | 60  | 3 | 9000     |
//! | B8   | 250:60000 硬, 400:39999.99 硬                         | 250 | 1 | 60000    |
//! | B9   | 150 软, 160 软, 179 硬, 300 硬: 3000 each              | 150 | 4 | 12000    |
//! | B10  | 120:3000 服                                           | 120 | 1 | 3000     |
//! | B11  | 300:1000 软                                           | 300 | 1 | 1000     |
//! | B12  | 250 软, 260 服, 270 软, 280 服, 290 软: 9000 each      | 250 | 5 | 45000    |
//! | B13  | 365:20000 硬, 500:80000 硬                            | 365 | 0 | 0        |
//!
//! Not counted: B1's refunded order (age 5), B2's cancelled order (age 10).

mod util;

use util::crm_fixture::{
    COMPETITOR_SIGNAL, CONTRACT, CRM_CUSTOMER, DS, ERP_CUSTOMER, INTERACTION, LEAD, ORDER,
    PRODUCT_USAGE, SHOP_CUSTOMER, SURVEY, assert_ads_schemas, file_schema_lines, land_rows, rows,
    warehouse_context,
};
use util::ods::crm_project;

#[rustfmt::skip]
fn fixture() -> util::Project {
    let p = crm_project();
    land_rows(&p, "ods_crm_customer", CRM_CUSTOMER, &[
        // crm_id, company_name, contact_name, phone, email, industry, province, city, company_size, customer_type, owner_rep, contact_birthday, created_at, updated_at
        &["C01", "星河科技有限公司", "张三", "13800000001", "c01@example.com", "制造", "北京", "北京", "200-999", "活跃客户", "R1", "1990-11-28", "2024-01-05T02:00:00Z", "2024-01-05T02:00:00Z"],
        &["C02", "云帆贸易有限公司", "李四", "13800000002", "c02@example.com", "制造", "上海", "上海", "1000+", "活跃客户", "R2", "NULL", "2024-01-05T02:00:00Z", "2024-01-05T02:00:00Z"],
        &["C03", "青松软件有限公司", "王五", "13800000003", "c03@example.com", "零售", "北京", "北京", "1-49", "新客户", "R1", "NULL", "2024-01-05T02:00:00Z", "2024-01-05T02:00:00Z"],
        &["C04", "海川物流有限公司", "赵六", "13800000004", "c04@example.com", "零售", "NULL", "杭州", "50-199", "活跃客户", "R2", "NULL", "2024-01-05T02:00:00Z", "2024-01-05T02:00:00Z"],
        &["C05", "金石建材有限公司", "钱七", "13800000005", "c05@example.com", "NULL", "广东", "广州", "50-199", "活跃客户", "R1", "1980-11-21", "2024-01-05T02:00:00Z", "2024-01-05T02:00:00Z"],
        &["C06", "明月食品有限公司", "孙八", "13800000006", "c06@example.com", "制造", "北京", "北京", "200-999", "NULL", "R2", "NULL", "2024-01-05T02:00:00Z", "2024-01-05T02:00:00Z"],
        &["C07", "远山医疗有限公司", "周九", "13800000007", "c07@example.com", "零售", "上海", "上海", "NULL", "沉睡客户", "R1", "NULL", "2024-01-05T02:00:00Z", "2024-01-05T02:00:00Z"],
        &["C08", "长河能源有限公司", "吴十", "13800000008", "c08@example.com", "制造", "广东", "深圳", "1000+", "活跃客户", "R2", "NULL", "2024-01-05T02:00:00Z", "2024-01-05T02:00:00Z"],
        &["C09", "碧波教育有限公司", "郑一", "13800000009", "c09@example.com", "服务", "北京", "北京", "1-49", "NULL", "R1", "NULL", "2024-01-05T02:00:00Z", "2024-01-05T02:00:00Z"],
        &["C10", "晨光传媒有限公司", "冯二", "13800000010", "c10@example.com", "服务", "上海", "上海", "50-199", "NULL", "R2", "NULL", "2024-01-05T02:00:00Z", "2024-01-05T02:00:00Z"],
        &["C11", "飞鸿电子有限公司", "陈三", "13800000011", "c11@example.com", "制造", "北京", "北京", "200-999", "NULL", "R1", "NULL", "2024-01-05T02:00:00Z", "2024-01-05T02:00:00Z"],
        &["C12", "瑞丰农业有限公司", "褚四", "13800000012", "c12@example.com", "零售", "广东", "广州", "50-199", "NULL", "R2", "NULL", "2024-01-05T02:00:00Z", "2024-01-05T02:00:00Z"],
        &["C13", "恒通机械有限公司", "卫五", "13800000013", "c13@example.com", "服务", "NULL", "天津", "1000+", "NULL", "R1", "NULL", "2024-01-05T02:00:00Z", "2024-01-05T02:00:00Z"],
        &["C14", "白云咨询有限公司", "蒋六", "13800000014", "c14@example.com", "NULL", "北京", "北京", "1-49", "潜在客户", "R2", "1985-11-24", "2024-01-05T02:00:00Z", "2024-01-05T02:00:00Z"],
        // P2 was first seen 59 days before ds: too new for no_interaction_60d.
        &["C15", "绿洲环保有限公司", "沈七", "13800000015", "c15@example.com", "服务", "上海", "上海", "NULL", "潜在客户", "R1", "NULL", "t-59", "t-59"],
    ]);
    // Same name and phone (written differently) as the CRM record: one customer each.
    land_rows(&p, "ods_erp_customer", ERP_CUSTOMER, &[
        &["E01", "星河科技有限公司", "NULL", "138-0000-0001", "NULL", "NULL", "2024-06-01T02:00:00Z"],
        &["E02", "云帆贸易有限公司", "NULL", "138-0000-0002", "NULL", "NULL", "2024-06-01T02:00:00Z"],
        &["E03", "青松软件有限公司", "NULL", "138-0000-0003", "NULL", "NULL", "2024-06-01T02:00:00Z"],
        &["E04", "海川物流有限公司", "NULL", "138-0000-0004", "NULL", "NULL", "2024-06-01T02:00:00Z"],
        &["E05", "金石建材有限公司", "NULL", "138-0000-0005", "NULL", "NULL", "2024-06-01T02:00:00Z"],
        &["E06", "明月食品有限公司", "NULL", "138-0000-0006", "NULL", "NULL", "2024-06-01T02:00:00Z"],
        &["E07", "远山医疗有限公司", "NULL", "138-0000-0007", "NULL", "NULL", "2024-06-01T02:00:00Z"],
        &["E08", "长河能源有限公司", "NULL", "138-0000-0008", "NULL", "NULL", "2024-06-01T02:00:00Z"],
        &["E09", "碧波教育有限公司", "NULL", "138-0000-0009", "NULL", "NULL", "2024-06-01T02:00:00Z"],
        &["E10", "晨光传媒有限公司", "NULL", "138-0000-0010", "NULL", "NULL", "2024-06-01T02:00:00Z"],
        &["E11", "飞鸿电子有限公司", "NULL", "138-0000-0011", "NULL", "NULL", "2024-06-01T02:00:00Z"],
        &["E12", "瑞丰农业有限公司", "NULL", "138-0000-0012", "NULL", "NULL", "2024-06-01T02:00:00Z"],
        &["E13", "恒通机械有限公司", "NULL", "138-0000-0013", "NULL", "NULL", "2024-06-01T02:00:00Z"],
    ]);
    land_rows(&p, "ods_shop_customer", SHOP_CUSTOMER, &[]);
    land_rows(&p, "ods_order", ORDER, &[
        // order_id, source_system, source_customer_id, order_time, amount, currency, product_category, status, updated_at
        &["O0101", "erp", "E01", "t-0", "5000.00", "CNY", "软件", "paid", "t-0"],
        &["O0102", "erp", "E01", "t-30", "5000.00", "CNY", "硬件", "paid", "t-30"],
        &["O0103", "erp", "E01", "t-60", "5000.00", "CNY", "软件", "paid", "t-60"],
        &["O0104", "erp", "E01", "t-90", "5000.00", "CNY", "硬件", "paid", "t-90"],
        &["O0105", "erp", "E01", "t-120", "5000.00", "CNY", "软件", "paid", "t-120"],
        &["O0106", "erp", "E01", "t-150", "5000.00", "CNY", "硬件", "paid", "t-150"],
        &["O0107", "erp", "E01", "t-5", "9999.00", "CNY", "软件", "refunded", "t-5"],
        &["O0201", "erp", "E02", "t-40", "45000.00", "CNY", "软件", "paid", "t-40"],
        &["O0202", "erp", "E02", "t-100", "4000.00", "USD", "软件", "paid", "t-100"],
        &["O0203", "erp", "E02", "t-400", "30000.00", "CNY", "硬件", "paid", "t-400"],
        &["O0204", "erp", "E02", "t-10", "1000.00", "CNY", "软件", "cancelled", "t-10"],
        &["O0301", "erp", "E03", "t-5", "2000.00", "CNY", "服务", "paid", "t-5"],
        &["O0401", "erp", "E04", "t-20", "12000.00", "CNY", "软件", "paid", "t-20"],
        &["O0402", "erp", "E04", "t-41", "12000.00", "CNY", "硬件", "paid", "t-41"],
        &["O0403", "erp", "E04", "t-65", "12000.00", "CNY", "服务", "paid", "t-65"],
        &["O0501", "erp", "E05", "t-10", "1500.00", "CNY", "软件", "paid", "t-10"],
        &["O0502", "erp", "E05", "t-200", "2500.00", "CNY", "硬件", "paid", "t-200"],
        &["O0601", "erp", "E06", "t-80", "1200.00", "CNY", "硬件", "paid", "t-80"],
        &["O0602", "erp", "E06", "t-100", "800.00", "CNY", "服务", "paid", "t-100"],
        &["O0701", "erp", "E07", "t-60", "3000.00", "CNY", "软件", "paid", "t-60"],
        &["O0702", "erp", "E07", "t-150", "3000.00", "CNY", "软件", "paid", "t-150"],
        &["O0703", "erp", "E07", "t-180", "3000.00", "CNY", "软件", "paid", "t-180"],
        &["O0801", "erp", "E08", "t-250", "60000.00", "CNY", "硬件", "paid", "t-250"],
        &["O0802", "erp", "E08", "t-400", "39999.99", "CNY", "硬件", "paid", "t-400"],
        &["O0901", "erp", "E09", "t-150", "3000.00", "CNY", "软件", "paid", "t-150"],
        &["O0902", "erp", "E09", "t-160", "3000.00", "CNY", "软件", "paid", "t-160"],
        &["O0903", "erp", "E09", "t-179", "3000.00", "CNY", "硬件", "paid", "t-179"],
        &["O0904", "erp", "E09", "t-300", "3000.00", "CNY", "硬件", "paid", "t-300"],
        &["O1001", "erp", "E10", "t-120", "3000.00", "CNY", "服务", "paid", "t-120"],
        &["O1101", "erp", "E11", "t-300", "1000.00", "CNY", "软件", "paid", "t-300"],
        &["O1201", "erp", "E12", "t-250", "9000.00", "CNY", "软件", "paid", "t-250"],
        &["O1202", "erp", "E12", "t-260", "9000.00", "CNY", "服务", "paid", "t-260"],
        &["O1203", "erp", "E12", "t-270", "9000.00", "CNY", "软件", "paid", "t-270"],
        &["O1204", "erp", "E12", "t-280", "9000.00", "CNY", "服务", "paid", "t-280"],
        &["O1205", "erp", "E12", "t-290", "9000.00", "CNY", "软件", "paid", "t-290"],
        &["O1301", "erp", "E13", "t-365", "20000.00", "CNY", "硬件", "paid", "t-365"],
        &["O1302", "erp", "E13", "t-500", "80000.00", "CNY", "硬件", "paid", "t-500"],
    ]);
    // Leads (3-7-21): L1 (B1, R1) meets every step; L2 (B10, R1) misses every step: thanks 4h
    // late, needs_analysis by e-mail (not a call, meeting or visit), solution after 22 days;
    // L3 (P2, R2, five days ago) thanked within the hour, the rest still open; L4 (B3, R2) first
    // contact at 22:00 on ds, thanked at 22:30, but its 3-hour deadline (01:00 on the 22nd) has
    // not passed by the end of ds.
    land_rows(&p, "ods_lead", LEAD, &[
        &["L1", "C01", "R1", "2026-10-01T02:00:00Z"],
        &["L2", "C10", "R1", "2026-10-05T02:00:00Z"],
        &["L3", "C15", "R2", "2026-11-16T02:00:00Z"],
        &["L4", "C03", "R2", "2026-11-21T14:00:00Z"],
    ]);
    land_rows(&p, "ods_interaction", INTERACTION, &[
        // interaction_id, crm_id, channel, direction, purpose, occurred_at, rep_id, opened, content
        &["I01", "C01", "email", "out", "thanks", "2026-10-01T04:00:00Z", "R1", "true", "感谢您的时间"],
        &["I02", "C01", "meeting", "out", "needs_analysis", "2026-10-07T02:00:00Z", "R1", "NULL", "讨论API集成需求"],
        &["I03", "C01", "email", "out", "solution", "2026-10-21T02:00:00Z", "R1", "false", "方案与报价"],
        &["I04", "C01", "call", "out", "care", "t-1", "R1", "NULL", "询问折扣"],
        &["I05", "C02", "call", "out", "care", "t-364", "R2", "NULL", "NULL"],
        &["I06", "C03", "chat", "in", "other", "t-2", "R1", "NULL", "功能咨询"],
        &["I07", "C03", "email", "out", "thanks", "2026-11-21T14:30:00Z", "R2", "NULL", "感谢"],
        &["I08", "C04", "call", "out", "care", "t-35", "R2", "NULL", "维护计划"],
        &["I09", "C05", "visit", "out", "care", "t-30", "R1", "NULL", "培训安排"],
        &["I10", "C06", "email", "out", "care", "t-40", "R2", "true", "NULL"],
        &["I11", "C07", "call", "out", "care", "t-60", "R1", "NULL", "NULL"],
        &["I12", "C09", "call", "out", "care", "t-59", "R1", "NULL", "NULL"],
        &["I13", "C10", "email", "out", "thanks", "2026-10-05T06:00:00Z", "R1", "false", "NULL"],
        &["I14", "C10", "email", "out", "needs_analysis", "2026-10-07T02:00:00Z", "R1", "true", "NULL"],
        &["I15", "C10", "call", "out", "solution", "2026-10-27T02:00:00Z", "R1", "NULL", "NULL"],
        &["I16", "C10", "ticket", "in", "NULL", "t-3", "NULL", "NULL", "系统故障"],
        &["I17", "C11", "chat", "in", "other", "t-10", "R1", "NULL", "NULL"],
        &["I18", "C12", "call", "out", "care", "t-90", "R2", "NULL", "NULL"],
        &["I19", "C15", "email", "out", "thanks", "2026-11-16T03:00:00Z", "R2", "true", "感谢"],
    ]);
    land_rows(&p, "ods_survey", SURVEY, &[
        // response_id, crm_id, survey_type, score, submitted_at, comment
        &["S01", "C01", "NPS", "9", "t-2", "NULL"],
        &["S02", "C02", "NPS", "10", "t-3", "NULL"],
        &["S03", "C05", "NPS", " 8", "t-4", "NULL"],
        // 16:30 UTC on Oct 31 is 00:30 on Nov 1 in Shanghai: a November answer.
        &["S04", "C06", "NPS", "7", "2026-10-31T16:30:00Z", "NULL"],
        &["S05", "C07", "NPS", "6", "t-6", "NULL"],
        &["S06", "C13", "NPS", "0", "t-7", "NULL"],
        &["S07", "C03", "NPS", "N/A", "t-8", "NULL"],
        &["S08", "C01", "CSAT", "4", "t-2", "NULL"],
        &["S09", "C05", "CSAT", "3", "t-4", "NULL"],
        &["S10", "C12", "CSAT", "5", "t-9", "NULL"],
        &["S11", "C14", "CSAT", "1", "t-10", "NULL"],
        &["S12", "C01", "NPS", "5", "2026-10-10T02:00:00Z", "NULL"],
        &["S13", "C04", "NPS", "9", "2026-10-12T02:00:00Z", "NULL"],
        &["S14", "C04", "CSAT", "2", "2026-10-12T03:00:00Z", "NULL"],
        &["S15", "C09", "CSAT", "11", "2026-10-15T02:00:00Z", "NULL"],
        &["S16", "C09", "NPS", "9", "2026-10-20T02:00:00Z", "NULL"],
    ]);
    land_rows(&p, "ods_contract", CONTRACT, &[
        // contract_id, crm_id, start_date, end_date, annual_value, renewed_from, signed_at
        &["K04", "C04", "d-359", "d+5", "10000.00", "NULL", "2025-11-20T02:00:00Z"],
        &["K05", "C05", "2026-01-20", "d+59", "10000.00", "NULL", "2026-01-10T02:00:00Z"],
        &["K06", "C06", "2026-01-21", "d+60", "10000.00", "NULL", "2026-01-10T02:00:00Z"],
        &["K12", "C12", "2025-12-02", "d+10", "10000.00", "NULL", "2025-11-25T02:00:00Z"],
        &["K13", "C13", "2025-11-22", "d-0", "10000.00", "NULL", "2025-11-15T02:00:00Z"],
        // K13's renewal, signed three days ago, starts tomorrow: not active yet.
        &["K13R", "C13", "d+1", "d+366", "10000.00", "K13", "t-3"],
        &["K20", "C01", "2025-10-01", "2026-09-30", "20000.00", "NULL", "2025-09-20T02:00:00Z"],
        &["K21", "C01", "2026-10-01", "2027-09-30", "22000.00", "K20", "2026-09-20T02:00:00Z"],
        &["K22", "C02", "2025-09-16", "2026-09-15", "15000.00", "NULL", "2025-09-10T02:00:00Z"],
        &["K23", "C02", "2025-11-29", "d+7", "15000.00", "NULL", "2025-11-20T02:00:00Z"],
    ]);
    land_rows(&p, "ods_product_usage", PRODUCT_USAGE, &[
        // crm_id, usage_date, active_users, events
        &["C03", "d-5", "5", "70"],
        &["C03", "d-35", "5", "100"],
        &["C10", "d-29", "5", "71"],
        &["C10", "d-30", "5", "100"],
        &["C10", "d-60", "5", "500"],
        &["C12", "d-45", "5", "200"],
        &["C08", "d-10", "5", "10"],
        &["C08", "d-40", "5", "50"],
        &["C11", "d-1", "5", "50"],
    ]);
    land_rows(&p, "ods_competitor_signal", COMPETITOR_SIGNAL, &[
        &["G1", "C01", "竞品A", "trial", "t-29"],
        &["G2", "C04", "竞品B", "trial", "t-30"],
        &["G3", "C04", "竞品A", "quote", "t-1"],
        &["G4", "C12", "竞品C", "trial", "t-10"],
    ]);
    p
}

/// The crm_id of each row's customer instead of its opaque customer_id.
const CRM: &str = "JOIN dwd_customer_source_map m ON m.customer_id = x.customer_id \
                   AND m.source_system = 'crm'";

#[tokio::test]
async fn dws_and_ads_match_hand_computed_values() {
    let p = fixture();
    let out = p.strata(&["run", "pipelines/crm.yaml", "--ds", DS]);
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    for stage in [
        "dws_customer_snapshot",
        "dws_customer_monthly",
        "dws_lead_followup",
        "ads_rfm_score",
        "ads_churn_warning",
        "ads_customer_profile",
        "ads_followup_compliance",
        "ads_followup_reminder",
        "ads_nps_csat_monthly",
        "ads_customer_health_monthly",
    ] {
        assert!(
            out.stderr.contains(&format!("ok      {stage}")),
            "{stage} did not succeed:\n{}",
            out.stderr
        );
    }
    let wh = p.path().join("warehouse");
    assert_ads_schemas(&wh, DS);
    let ctx = warehouse_context(&wh).await;

    // 15 customers: the 13 CRM+ERP pairs merged, P1 and P2 alone.
    assert_eq!(
        rows(&ctx, "SELECT COUNT(*) FROM dwd_customer").await,
        ["15"]
    );

    // ---- dws_customer_snapshot, a few customers ----
    // B1: paid orders at ages 0,30,60,90,120,150 -> 30d: {0} = 1; 90d: {0,30,60} = 3 (90 is out);
    // 180d and 365d: 6. Interactions at ages 51 (I01), 45 (I02), 31 (I03), 1 (I04): 7d 1, 30d 1,
    // 60d 4. E-mails out in 90 days: I01 opened, I03 not -> 1/2. Active contract K21 ends
    // 2027-09-30. Latest signal: the trial at age 29 = 2026-10-23.
    // B4: the trial at age 30 (2026-10-22) and the quote at age 1 (2026-11-20), the latest.
    // B10: interactions at ages 47, 45, 25, 3 -> 60d 4; e-mails out I13 (not opened) and I14
    // (opened) -> 0.5; the inbound ticket I16 is a complaint. Usage: 71 at age 29 in (ds-30, ds],
    // 100 at age 30 in (ds-60, ds-30], 500 at age 60 in neither.
    // amount_30d_cny is an exact DECIMAL sum (DOMAIN.md money rule), printed with its two
    // decimals: B1 5000.00 (the order at age 0), B4 12000.00 (age 20), B10 none -> 0.00.
    assert_eq!(
        rows(&ctx, &format!(
            "SELECT m.source_customer_id, x.orders_30d, x.orders_90d, x.orders_180d, x.orders_365d, \
             x.amount_30d_cny, x.categories_365d, x.interactions_7d, x.interactions_30d, \
             x.interactions_60d, x.email_open_rate_90d, x.complaints_90d, x.usage_30d, \
             x.usage_prev_30d, x.active_contract_end_date, x.latest_competitor_signal_date, \
             x.latest_competitor_signal_type, x.last_competitor_trial_date \
             FROM dws_customer_snapshot x {CRM} \
             WHERE x.ds = DATE '{DS}' AND m.source_customer_id IN ('C01', 'C04', 'C10') \
             ORDER BY 1"
        )).await,
        [
            "C01 | 1 | 3 | 6 | 6 | 5000.00 | 2 | 1 | 1 | 4 | 0.5 | 0 | 0 | 0 | 2027-09-30 | 2026-10-23 | trial | 2026-10-23",
            "C04 | 1 | 3 | 3 | 3 | 12000.00 | 3 | 0 | 0 | 1 | NULL | 0 | 0 | 0 | 2026-11-26 | 2026-11-20 | quote | 2026-10-22",
            "C10 | 0 | 0 | 1 | 1 | 0.00 | 1 | 1 | 2 | 4 | 0.5 | 1 | 71 | 100 | NULL | NULL | NULL | NULL",
        ]
    );

    // ---- ads_rfm_score ----
    // r_norm = max(0, 1 - R/365), f_norm = min(F/12, 1), m_norm = min(M/50000, 1):
    //   B1  1            6/12=0.5       30000/50000=0.6   score 2.1/3 = 0.7
    //   B2  325/365=0.890411  2/12=0.166667  1 (73400 > 50000)  2.057078/3 = 0.685693
    //   B3  360/365=0.986301  1/12=0.083333  0.04         1.109635/3 = 0.369878
    //   B4  345/365=0.945205  0.25           0.72         1.915205/3 = 0.638402
    //   B5  355/365=0.972603  0.166667       0.08         1.219269/3 = 0.406423
    //   B6  285/365=0.780822  0.166667       0.04         0.987489/3 = 0.329163
    //   B7  305/365=0.835616  0.25           0.18         1.265616/3 = 0.421872
    //   B8  115/365=0.315068  0.083333       1 (60000)    1.398402/3 = 0.466134
    //   B9  215/365=0.589041  0.333333       0.24         1.162374/3 = 0.387458
    //   B10 245/365=0.671233  0.083333       0.06         0.814566/3 = 0.271522
    //   B11 65/365=0.178082   0.083333       0.02         0.281416/3 = 0.093805
    //   B12 115/365=0.315068  5/12=0.416667  0.9          1.631735/3 = 0.543912
    //   B13 max(0, 1-365/365)=0; its orders are 365 and 500 days old: F=0, M=0 -> 0
    //   P1, P2 no orders: 0
    // Quintiles over the N=13 buyers, q = 1 + floor(5*(rank-1)/13): rank 1-3 -> 1, 4-6 -> 2,
    // 7-8 -> 3, 9-11 -> 4, 12-13 -> 5.
    //   recency, worst first: B13 365 (1), B11 300 (2), B8 250 and B12 250 tie at rank 3 -> both
    //   q1 (B12 alone at rank 4 would be q2), B9 150 (5) q2, B10 120 (6) q2, B6 80 (7) q3,
    //   B7 60 (8) q3, B2 40 (9) q4, B4 20 (10) q4, B5 10 (11) q4, B3 5 (12) q5, B1 0 (13) q5.
    //   frequency ascending: B13 0 (1) q1; F=1: B3,B8,B10,B11 tie at rank 2 -> q1; F=2: B2,B5,B6
    //   rank 6 -> 1+floor(25/13) = q2 (positions 7, 8 would be q3); F=3: B4,B7 rank 9 -> q4;
    //   B9 F=4 rank 11 -> q4; B12 F=5 rank 12 -> q5; B1 F=6 rank 13 -> q5.
    //   monetary ascending: B13 0 (1), B11 1000 (2), B3 2000 and B6 2000 tie at rank 3 -> q1;
    //   B10 3000 (5) q2, B5 4000 (6) q2, B7 9000 (7) q3, B9 12000 (8) q3, B1 30000 (9) q4,
    //   B4 36000 (10) q4, B12 45000 (11) q4, B8 60000 (12) q5, B2 73400 (13) q5.
    // Segments (first rule that holds): B1 r5 f+m=9 Champions; B4 r4 f+m=8 Champions; B2 r4
    // f+m=7 Loyal; B7 r3 f+m=7 Loyal; B3 r5 f=1 New; B5 r4 f=2 f+m=4 Promising; B8 r1 f+m=6,
    // B9 r2 f+m=7, B12 r1 f+m=9 At Risk; B6 r3 f+m=3 Needs Attention; B10 r2 f+m=3 Hibernating;
    // B11, B13 r1 f+m=2 Lost; P1, P2 Prospect.
    // Value tier over all 15 by score: B1 (rank 1, p=0), B2 (2, 1/15), B4 (3, 2/15) 高价值;
    // B12 (4, p=3/15=0.2, not < 0.2) 潜力型, then B8 B7 B5 B9 B3 B6 B10 B11 (rank 12, p=11/15)
    // 潜力型; B13, P1, P2 tie at score 0, rank 13, p=12/15=0.8 (not < 0.8) 低活跃.
    // High activity (>= 3 paid orders in (ds-180, ds]): B1 6; B4 3 (ages 20, 41, 65); B9 3
    // (150, 160, 179); B7 only 2 (age 180 is outside).
    // Wake-up (no interaction in (ds-365, ds], lifetime >= 100000): B13 none and 20000+80000 =
    // 100000 -> true; B8 none but 60000+39999.99 < 100000 -> false; B2 lifetime 103400 but an
    // interaction at age 364 -> false.
    assert_eq!(
        rows(&ctx, &format!(
            "SELECT m.source_customer_id, x.recency_days, x.frequency_365d, round(x.monetary_365d, 2), \
             round(x.r_norm, 6), round(x.f_norm, 6), round(x.m_norm, 6), round(x.rfm_score, 6), \
             x.r_quintile, x.f_quintile, x.m_quintile, x.value_tier, x.rfm_segment, \
             x.high_activity_value, x.wake_up_plan \
             FROM ads_rfm_score x {CRM} WHERE x.ds = DATE '{DS}' ORDER BY 1"
        )).await,
        [
            "C01 | 0 | 6 | 30000.0 | 1.0 | 0.5 | 0.6 | 0.7 | 5 | 5 | 4 | 高价值 | Champions | true | false",
            "C02 | 40 | 2 | 73400.0 | 0.890411 | 0.166667 | 1.0 | 0.685693 | 4 | 2 | 5 | 高价值 | Loyal | false | false",
            "C03 | 5 | 1 | 2000.0 | 0.986301 | 0.083333 | 0.04 | 0.369878 | 5 | 1 | 1 | 潜力型 | New | false | false",
            "C04 | 20 | 3 | 36000.0 | 0.945205 | 0.25 | 0.72 | 0.638402 | 4 | 4 | 4 | 高价值 | Champions | true | false",
            "C05 | 10 | 2 | 4000.0 | 0.972603 | 0.166667 | 0.08 | 0.406423 | 4 | 2 | 2 | 潜力型 | Promising | false | false",
            "C06 | 80 | 2 | 2000.0 | 0.780822 | 0.166667 | 0.04 | 0.329163 | 3 | 2 | 1 | 潜力型 | Needs Attention | false | false",
            "C07 | 60 | 3 | 9000.0 | 0.835616 | 0.25 | 0.18 | 0.421872 | 3 | 4 | 3 | 潜力型 | Loyal | false | false",
            "C08 | 250 | 1 | 60000.0 | 0.315068 | 0.083333 | 1.0 | 0.466134 | 1 | 1 | 5 | 潜力型 | At Risk | false | false",
            "C09 | 150 | 4 | 12000.0 | 0.589041 | 0.333333 | 0.24 | 0.387458 | 2 | 4 | 3 | 潜力型 | At Risk | true | false",
            "C10 | 120 | 1 | 3000.0 | 0.671233 | 0.083333 | 0.06 | 0.271522 | 2 | 1 | 2 | 潜力型 | Hibernating | false | false",
            "C11 | 300 | 1 | 1000.0 | 0.178082 | 0.083333 | 0.02 | 0.093805 | 1 | 1 | 1 | 潜力型 | Lost | false | false",
            "C12 | 250 | 5 | 45000.0 | 0.315068 | 0.416667 | 0.9 | 0.543912 | 1 | 5 | 4 | 潜力型 | At Risk | false | false",
            "C13 | 365 | 0 | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 | 1 | 1 | 1 | 低活跃 | Lost | false | true",
            "C14 | NULL | 0 | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 | NULL | NULL | NULL | 低活跃 | Prospect | false | false",
            "C15 | NULL | 0 | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 | NULL | NULL | NULL | 低活跃 | Prospect | false | false",
        ]
    );

    // ---- ads_churn_warning ----
    // B1: trial at age 29 (in (ds-30, ds]) -> red alone; last interaction age 1; nearest contract
    //     end >= ds is K21's 2027-09-30 (K20 ended 2026-09-30).
    // B2: last interaction age 364 -> no_interaction_60d; K23 ends ds+7 < ds+60 with no
    //     interaction in 30 days, but B2 is 高价值, so no renewal_risk.
    // B3: usage 70 vs 100 -> 100*(70-100)/100 = -30 <= -30 -> usage_drop alone; last
    //     interaction I07 at 22:30 on ds -> 0 days.
    // B5: K05 ends ds+59 < ds+60, last interaction exactly 30 days ago (none in (ds-30, ds]),
    //     潜力型 -> renewal_risk alone.
    // B7: last interaction exactly 60 days ago -> no_interaction_60d alone.
    // B8: no interaction ever, first seen 2024 -> no_interaction_60d; usage 10 vs 50 ->
    //     100*(10-50)/50 = -80 -> usage_drop; orange (highest).
    // B12: trial at age 10; last interaction age 90; K12 ends ds+10; 潜力型; usage 0 vs 200 ->
    //     -100: all four reasons, red.
    // B13: no interaction; K13 ends on ds itself; 低活跃 -> no renewal_risk -> orange.
    // P1: no interaction, first seen 2024 -> orange, days NULL.
    // No warning: B4 (trial at age 30 is outside the window; 高价值 with K04 ending ds+5),
    // B6 (K06 ends ds+60, not before it), B9 (last interaction 59 days ago), B10 (-29%),
    // B11 (no usage in (ds-60, ds-30]: change NULL), P2 (first seen 59 days ago).
    assert_eq!(
        rows(&ctx, &format!(
            "SELECT m.source_customer_id, x.warning_level, x.reasons, x.usage_30d, x.usage_prev_30d, \
             round(x.usage_change_pct, 6), x.days_since_interaction, x.contract_end_date, \
             x.recommended_action \
             FROM ads_churn_warning x {CRM} WHERE x.ds = DATE '{DS}' ORDER BY 1"
        )).await,
        [
            "C01 | red | competitor_trial | 0 | 0 | NULL | 1 | 2027-09-30 | 启动高管挽留流程",
            "C02 | orange | no_interaction_60d | 0 | 0 | NULL | 364 | 2026-11-28 | 分配客户成功经理介入",
            "C03 | yellow | usage_drop_30pct | 70 | 100 | -30.0 | 0 | NULL | 触发自动关怀邮件",
            "C05 | orange | renewal_risk | 0 | 0 | NULL | 30 | 2027-01-19 | 分配客户成功经理介入",
            "C07 | orange | no_interaction_60d | 0 | 0 | NULL | 60 | NULL | 分配客户成功经理介入",
            "C08 | orange | no_interaction_60d,usage_drop_30pct | 10 | 50 | -80.0 | NULL | NULL | 分配客户成功经理介入",
            "C12 | red | competitor_trial,no_interaction_60d,renewal_risk,usage_drop_30pct | 0 | 200 | -100.0 | 90 | 2026-12-01 | 启动高管挽留流程",
            "C13 | orange | no_interaction_60d | 0 | 0 | NULL | NULL | 2026-11-21 | 分配客户成功经理介入",
            "C14 | orange | no_interaction_60d | 0 | 0 | NULL | NULL | NULL | 分配客户成功经理介入",
        ]
    );

    // ---- ads_customer_profile ----
    // Identity: the CRM name (first source), masked contact data, both source records.
    assert_eq!(
        rows(&ctx, &format!(
            "SELECT m.source_customer_id, x.company_name, x.contact_name_masked, x.phone_masked, \
             x.email_masked, x.industry, x.province, x.city, x.company_size, x.source_ids \
             FROM ads_customer_profile x {CRM} \
             WHERE x.ds = DATE '{DS}' AND m.source_customer_id IN ('C01', 'C04', 'C14') ORDER BY 1"
        )).await,
        [
            "C01 | 星河科技有限公司 | 张* | 138****0001 | c***@example.com | 制造 | 北京 | 北京 | 200-999 | crm:C01,erp:E01",
            "C04 | 海川物流有限公司 | 赵* | 138****0004 | c***@example.com | 零售 | NULL | 杭州 | 50-199 | crm:C04,erp:E04",
            "C14 | 白云咨询有限公司 | 蒋* | 138****0014 | c***@example.com | NULL | 北京 | 北京 | 1-49 | crm:C14",
        ]
    );
    // customer_type: P1, P2 no paid order -> 潜在客户; B3 first paid order 5 days ago -> 新客户;
    // last paid order within 90 days (B1 0, B2 40, B4 20, B5 10, B6 80, B7 60) -> 活跃客户;
    // the rest (B8 250, B9 150, B10 120, B11 300, B12 250, B13 365) -> 沉睡客户.
    // latest_nps: the latest valid NPS answer (B1: 9 on Nov 19 beats 5 on Oct 10; B3's 'N/A'
    // is invalid). csat_avg_90d: B1 4, B4 2 (Oct 12), B5 3, B12 5, P1 1; B9's '11' is invalid.
    // interactions_30d counts ages 0..29: B3 I06 + I07 = 2, B10 I15 (age 25) + I16 = 2.
    // top_intent_90d: B1 其他 (I01), 技术 (I02 'API'), 价格 (I03 报价, I04 折扣) -> 价格;
    // B3 技术 (功能) and 其他 tie 1:1 -> 其他 (the label that sorts first); B4 维护 -> 服务;
    // B5 培训 -> 服务; empty content -> 其他; B12's only interaction is 90 days old -> NULL.
    assert_eq!(
        rows(&ctx, &format!(
            "SELECT m.source_customer_id, x.customer_type, x.first_order_date, x.last_order_date, \
             x.lifetime_orders, round(x.lifetime_amount_cny, 2), round(x.rfm_score, 6), x.value_tier, \
             x.rfm_segment, x.latest_nps, x.csat_avg_90d, x.last_interaction_date, \
             x.interactions_30d, x.top_intent_90d, x.warning_level \
             FROM ads_customer_profile x {CRM} WHERE x.ds = DATE '{DS}' ORDER BY 1"
        )).await,
        [
            "C01 | 活跃客户 | 2026-06-24 | 2026-11-21 | 6 | 30000.0 | 0.7 | 高价值 | Champions | 9 | 4.0 | 2026-11-20 | 1 | 价格 | red",
            "C02 | 活跃客户 | 2025-10-17 | 2026-10-12 | 3 | 103400.0 | 0.685693 | 高价值 | Loyal | 10 | NULL | 2025-11-22 | 0 | NULL | orange",
            "C03 | 新客户 | 2026-11-16 | 2026-11-16 | 1 | 2000.0 | 0.369878 | 潜力型 | New | NULL | NULL | 2026-11-21 | 2 | 其他 | yellow",
            "C04 | 活跃客户 | 2026-09-17 | 2026-11-01 | 3 | 36000.0 | 0.638402 | 高价值 | Champions | 9 | 2.0 | 2026-10-17 | 0 | 服务 | NULL",
            "C05 | 活跃客户 | 2026-05-05 | 2026-11-11 | 2 | 4000.0 | 0.406423 | 潜力型 | Promising | 8 | 3.0 | 2026-10-22 | 0 | 服务 | orange",
            "C06 | 活跃客户 | 2026-08-13 | 2026-09-02 | 2 | 2000.0 | 0.329163 | 潜力型 | Needs Attention | 7 | NULL | 2026-10-12 | 0 | 其他 | NULL",
            "C07 | 活跃客户 | 2026-05-25 | 2026-09-22 | 3 | 9000.0 | 0.421872 | 潜力型 | Loyal | 6 | NULL | 2026-09-22 | 0 | 其他 | orange",
            "C08 | 沉睡客户 | 2025-10-17 | 2026-03-16 | 2 | 99999.99 | 0.466134 | 潜力型 | At Risk | NULL | NULL | NULL | 0 | NULL | orange",
            "C09 | 沉睡客户 | 2026-01-25 | 2026-06-24 | 4 | 12000.0 | 0.387458 | 潜力型 | At Risk | 9 | NULL | 2026-09-23 | 0 | 其他 | NULL",
            "C10 | 沉睡客户 | 2026-07-24 | 2026-07-24 | 1 | 3000.0 | 0.271522 | 潜力型 | Hibernating | NULL | NULL | 2026-11-18 | 2 | 其他 | NULL",
            "C11 | 沉睡客户 | 2026-01-25 | 2026-01-25 | 1 | 1000.0 | 0.093805 | 潜力型 | Lost | NULL | NULL | 2026-11-11 | 1 | 其他 | NULL",
            "C12 | 沉睡客户 | 2026-02-04 | 2026-03-16 | 5 | 45000.0 | 0.543912 | 潜力型 | At Risk | NULL | 5.0 | 2026-08-23 | 0 | NULL | red",
            "C13 | 沉睡客户 | 2025-07-09 | 2025-11-21 | 2 | 100000.0 | 0.0 | 低活跃 | Lost | 0 | NULL | NULL | 0 | NULL | orange",
            "C14 | 潜在客户 | NULL | NULL | 0 | 0.0 | 0.0 | 低活跃 | Prospect | NULL | 1.0 | NULL | 0 | NULL | orange",
            "C15 | 潜在客户 | NULL | NULL | 0 | 0.0 | 0.0 | 低活跃 | Prospect | NULL | NULL | 2026-11-16 | 1 | 其他 | NULL",
        ]
    );

    // ---- ads_nps_csat_monthly ----
    // Valid answers (S07 'N/A' and S15 '11' are rejected in DWD):
    //   Oct: NPS B1 5, B4 9, B9 9; CSAT B4 2.
    //   Nov: NPS B1 9, B2 10, B5 8, B6 7 (00:30 on Nov 1), B7 6, B13 0; CSAT B1 4, B5 3, B12 5, P1 1.
    // Tiers: B1 B2 B4 高价值; B5 B6 B7 B9 B12 潜力型; B13 P1 低活跃. Industry NULL (B5, P1) and
    // province NULL (B4, B13) show as 未知. nps = 100*(promoters-detractors)/responses:
    //   Oct all: (2-1)/3 = 33.333333; Nov all: (2-2)/6 = 0; Nov 制造 (9,10,7): 2/3 = 66.666667;
    //   Nov 潜力型 (8,7,6): -1/3 = -33.333333; Nov 北京 (9,7): 1/2 = 50.
    // csat = 100*satisfied(4,5)/responses, csat_avg = mean: Nov all (4,3,5,1): 50, 13/4 = 3.25;
    //   Nov 北京 (4,1): 50, 2.5; Nov 广东 (3,5): 50, 4; Nov 未知 industry (3,1): 0, 2.
    assert_eq!(
        rows(&ctx,
            "SELECT month, dimension, dimension_value, nps_responses, promoters, passives, detractors, \
             round(nps, 6), csat_responses, csat_satisfied, round(csat, 6), round(csat_avg, 6) \
             FROM ads_nps_csat_monthly ORDER BY month, dimension, dimension_value"
        ).await,
        [
            "2026-10-01 | all | all | 3 | 2 | 0 | 1 | 33.333333 | 1 | 0 | 0.0 | 2.0",
            "2026-10-01 | industry | 制造 | 1 | 0 | 0 | 1 | -100.0 | 0 | 0 | NULL | NULL",
            "2026-10-01 | industry | 服务 | 1 | 1 | 0 | 0 | 100.0 | 0 | 0 | NULL | NULL",
            "2026-10-01 | industry | 零售 | 1 | 1 | 0 | 0 | 100.0 | 1 | 0 | 0.0 | 2.0",
            "2026-10-01 | province | 北京 | 2 | 1 | 0 | 1 | 0.0 | 0 | 0 | NULL | NULL",
            "2026-10-01 | province | 未知 | 1 | 1 | 0 | 0 | 100.0 | 1 | 0 | 0.0 | 2.0",
            "2026-10-01 | value_tier | 潜力型 | 1 | 1 | 0 | 0 | 100.0 | 0 | 0 | NULL | NULL",
            "2026-10-01 | value_tier | 高价值 | 2 | 1 | 0 | 1 | 0.0 | 1 | 0 | 0.0 | 2.0",
            "2026-11-01 | all | all | 6 | 2 | 2 | 2 | 0.0 | 4 | 2 | 50.0 | 3.25",
            "2026-11-01 | industry | 制造 | 3 | 2 | 1 | 0 | 66.666667 | 1 | 1 | 100.0 | 4.0",
            "2026-11-01 | industry | 服务 | 1 | 0 | 0 | 1 | -100.0 | 0 | 0 | NULL | NULL",
            "2026-11-01 | industry | 未知 | 1 | 0 | 1 | 0 | 0.0 | 2 | 0 | 0.0 | 2.0",
            "2026-11-01 | industry | 零售 | 1 | 0 | 0 | 1 | -100.0 | 1 | 1 | 100.0 | 5.0",
            "2026-11-01 | province | 上海 | 2 | 1 | 0 | 1 | 0.0 | 0 | 0 | NULL | NULL",
            "2026-11-01 | province | 北京 | 2 | 1 | 1 | 0 | 50.0 | 2 | 1 | 50.0 | 2.5",
            "2026-11-01 | province | 广东 | 1 | 0 | 1 | 0 | 0.0 | 2 | 1 | 50.0 | 4.0",
            "2026-11-01 | province | 未知 | 1 | 0 | 0 | 1 | -100.0 | 0 | 0 | NULL | NULL",
            "2026-11-01 | value_tier | 低活跃 | 1 | 0 | 0 | 1 | -100.0 | 1 | 0 | 0.0 | 1.0",
            "2026-11-01 | value_tier | 潜力型 | 3 | 0 | 2 | 1 | -33.333333 | 2 | 1 | 50.0 | 4.0",
            "2026-11-01 | value_tier | 高价值 | 2 | 2 | 0 | 0 | 100.0 | 1 | 1 | 100.0 | 4.0",
        ]
    );

    // ---- ads_followup_compliance ----
    // Oct/R1: L1 met all three, L2 missed all three; all deadlines passed -> 1 of 2 each, 0.5.
    // Nov/R2: L3's 3-hour deadline passed and was met; L4's (01:00 on Nov 22) has not -> 1/1.
    // No 7-day deadline has passed (L3's is Nov 23) -> 0 and NULL; both 21-day deadlines are
    // after ds -> solution 0, NULL, pending 2.
    assert_eq!(
        rows(&ctx,
            "SELECT month, rep_id, leads, thanks_3h, thanks_3h_rate, needs_7d, needs_7d_rate, \
             solution_21d, solution_21d_rate, pending FROM ads_followup_compliance ORDER BY month, rep_id"
        ).await,
        [
            "2026-10-01 | R1 | 2 | 1 | 0.5 | 1 | 0.5 | 1 | 0.5 | 0",
            "2026-11-01 | R2 | 2 | 1 | 1.0 | 0 | NULL | 0 | NULL | 2",
        ]
    );

    // ---- ads_followup_reminder: due in [2026-11-21, 2026-11-28) ----
    // Birthdays: B5 11-21 (on ds), P1 11-24; B1's 11-28 is the first day outside the window.
    // Repurchase (>= 3 paid orders, last + round((last-first)/(n-1))): B7 ages 60,150,180 ->
    // (180-60)/2 = 60 -> 2026-09-22 + 60 = 2026-11-21; B4 ages 20,41,65 -> 45/2 = 22.5 -> 23 ->
    // 2026-11-01 + 23 = 2026-11-24. Not due: B1 (150/5 = 30 -> ds+30), B2 (360/2 = 180 ->
    // 2026-10-12 + 180), B9 (150/3 = 50 -> ds-100), B12 (40/4 = 10 -> ds-240).
    // Renewal: K04 ends 2026-11-26, K13 ends on ds; K23 (ds+7) and K12 (ds+10) are outside.
    // Campaigns (data/seeds/campaigns.csv): CP2611B starts 2026-11-26 for the tier 高价值, which
    // is B1 B2 B4 here (C01 C02 C04); CP2611A (11-24) targets top categories 软件许可 and
    // SaaS订阅, which no customer here buys; CP2612C starts after the window.
    assert_eq!(
        rows(
            &ctx,
            &format!(
                "SELECT m.source_customer_id, x.reminder_type, x.due_date, x.owner_rep, x.detail \
             FROM ads_followup_reminder x {CRM} WHERE x.ds = DATE '{DS}' ORDER BY 1, 2, 3"
            )
        )
        .await,
        [
            "C01 | campaign | 2026-11-26 | R1 | 活动 CP2611B 高价值客户年终答谢会 开始",
            "C02 | campaign | 2026-11-26 | R2 | 活动 CP2611B 高价值客户年终答谢会 开始",
            "C04 | campaign | 2026-11-26 | R2 | 活动 CP2611B 高价值客户年终答谢会 开始",
            "C04 | renewal | 2026-11-26 | R2 | 合同 K04 到期",
            "C04 | repurchase | 2026-11-24 | R2 | 上次下单 2026-11-01, 平均间隔 23 天",
            "C05 | birthday | 2026-11-21 | R1 | 联系人生日 11-21",
            "C07 | repurchase | 2026-11-21 | R1 | 上次下单 2026-09-22, 平均间隔 60 天",
            "C13 | renewal | 2026-11-21 | R1 | 合同 K13 到期",
            "C14 | birthday | 2026-11-24 | R2 | 联系人生日 11-24",
        ]
    );

    // ---- ads_customer_preference: paid spend per category in (ds-365, ds] ----
    // B1 (C01): 软件 t-0, t-60, t-120 and 硬件 t-30, t-90, t-150 at 5000.00 each (the refunded
    // O0107 does not count): 15000 and 15000, shares 0.5; equal spends rank by name, and 硬件
    // (U+786C) sorts before 软件 (U+8F6F), so 硬件 is the top. B4 (C04): 软件, 硬件 and 服务 at
    // 12000 each: a third each, 服务 (U+670D) first; it bought all three categories any
    // customer here buys, so it has no next category.
    assert_eq!(
        rows(
            &ctx,
            &format!(
                "SELECT m.source_customer_id, x.product_category, x.spend_cny, round(x.spend_share, 6), \
                 x.category_rank, x.is_top_category, x.next_category \
             FROM ads_customer_preference x {CRM} WHERE x.ds = DATE '{DS}' \
               AND m.source_customer_id IN ('C01', 'C04') ORDER BY 1, 5"
            )
        )
        .await
        .iter()
        .map(|r| r.rsplit_once(" | ").map(|(head, next)| if r.starts_with("C01") { head.to_string() } else { format!("{head} | {next}") }).unwrap_or_default())
        .collect::<Vec<_>>(),
        [
            "C01 | 硬件 | 15000.0 | 0.5 | 1 | true",
            "C01 | 软件 | 15000.0 | 0.5 | 2 | false",
            "C04 | 服务 | 12000.0 | 0.333333 | 1 | true | NULL",
            "C04 | 硬件 | 12000.0 | 0.333333 | 2 | false | NULL",
            "C04 | 软件 | 12000.0 | 0.333333 | 3 | false | NULL",
        ]
    );

    // ---- ads_customer_health_monthly ----
    // Months with a paid order, interaction or survey answer, or a contract ending, up to Nov 2026
    // (none in 2025-08, 2025-09, 2025-12, 2026-04). Active customers (paid order or interaction
    // in the month): 2025-07 B13; 2025-10 B2 B8; 2025-11 B13 (order on 11-21) and B2 (call on
    // 11-22); 2026-01 B9 B11; 2026-02 B12; 2026-03 B8 B12; 2026-05 B5 B7 B9; 2026-06 B1 B7 B9;
    // 2026-07 B1 B10; 2026-08 B1 B2 B6 B12 (call); 2026-09 B1 B4 B6 B7 B9 (call on 09-23);
    // 2026-10 B1 B2 B4 B5 B6 B10; 2026-11 B1 B3 B4 B5 B10 B11 P2.
    // Renewal: Sep: K20 (renewed by K21) and K22 (not) -> 1/2; Nov: only K13 has ended by ds
    // (K04 and K23 end after ds: no outcome yet) and K13R renews it -> 1/1.
    // Cross-sell over paid orders in the 365 days to the month's end (ds for Nov):
    //   2025-07 (ages 478..842): B13 one category -> 0/1.
    //   2026-09 (ages 52..416): 12 buyers (all but B3); >= 2 categories: B1, B2 (软 at 100, 硬 at
    //     400), B6, B9, B12 -> 5/12 = 0.416667.
    //   2026-10 (ages 21..385): 12 buyers; B1, B4 (硬 41, 服 65), B6, B9, B12 -> 5/12.
    //   2026-11 (ages 0..364): 12 buyers (B13's 365 is out); B1, B4, B5 (软 10, 硬 200), B6, B9,
    //     B12 -> 6/12 = 0.5.
    // NPS and CSAT are the 'all' rows above.
    assert_eq!(
        rows(
            &ctx,
            "SELECT month, active_customers FROM ads_customer_health_monthly ORDER BY month"
        )
        .await,
        [
            "2025-07-01 | 1",
            "2025-10-01 | 2",
            "2025-11-01 | 2",
            "2026-01-01 | 2",
            "2026-02-01 | 1",
            "2026-03-01 | 2",
            "2026-05-01 | 3",
            "2026-06-01 | 3",
            "2026-07-01 | 2",
            "2026-08-01 | 4",
            "2026-09-01 | 5",
            "2026-10-01 | 6",
            "2026-11-01 | 7",
        ]
    );
    assert_eq!(
        rows(&ctx,
            "SELECT month, active_customers, round(nps, 6), round(csat, 6), round(renewal_rate, 6), \
             round(cross_sell_rate, 6) FROM ads_customer_health_monthly \
             WHERE month IN (DATE '2025-07-01', DATE '2026-09-01', DATE '2026-10-01', DATE '2026-11-01') \
             ORDER BY month"
        ).await,
        [
            "2025-07-01 | 1 | NULL | NULL | NULL | 0.0",
            "2026-09-01 | 5 | NULL | NULL | 0.5 | 0.416667",
            "2026-10-01 | 6 | 33.333333 | 0.0 | NULL | 0.416667",
            "2026-11-01 | 7 | 0.0 | 50.0 | 1.0 | 0.5",
        ]
    );

    // ---- dws_lead_followup, per lead ----
    assert_eq!(
        rows(&ctx,
            "SELECT lead_id, first_contact_month, thanks_3h_met, thanks_3h_due, needs_7d_met, \
             needs_7d_due, solution_21d_met, solution_21d_due FROM dws_lead_followup ORDER BY lead_id"
        ).await,
        [
            "L1 | 2026-10-01 | true | true | true | true | true | true",
            "L2 | 2026-10-01 | false | true | false | true | false | true",
            "L3 | 2026-11-01 | true | true | false | false | false | false",
            "L4 | 2026-11-01 | true | false | false | false | false | false",
        ]
    );

    assert_no_raw_contact_data(&wh).await;
}

/// Personal data stays in DWD: no DWS or ADS table has a raw phone, e-mail or contact name
/// column, and none of the fixture's raw values appears in any of their cells.
async fn assert_no_raw_contact_data(wh: &std::path::Path) {
    let ctx = warehouse_context(wh).await;
    for layer in ["dws", "ads"] {
        for table in std::fs::read_dir(wh.join(layer)).unwrap() {
            let dir = table.unwrap().path();
            for column in file_schema_lines(&dir) {
                let name = column.split(':').next().unwrap();
                assert!(
                    !["phone", "email", "contact_name", "mobile", "tel"].contains(&name),
                    "{dir:?} has the raw column {name}"
                );
            }
            let table = dir.file_name().unwrap().to_string_lossy().into_owned();
            let text = rows(&ctx, &format!("SELECT * FROM {table}"))
                .await
                .join("\n");
            for raw in ["13800000001", "+8613800000001", "c01@example.com", "张三"] {
                assert!(!text.contains(raw), "{table} contains {raw}");
            }
        }
    }
}
