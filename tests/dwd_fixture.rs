//! The DWD layer of the bundled pipeline on a dozen hand-made records. Every expectation is
//! worked out by hand from the fixture below.

mod util;

use util::ods::{Col, crm_project, land};
use util::{pretty, query_dir};

fn s(v: &[Option<&'static str>]) -> Col<'static> {
    Col::Str(v.to_vec())
}

fn fixture() -> util::Project {
    let p = crm_project();
    // Customer A: CRM legal name with a branch; ERP short spelling with the BJ abbreviation and
    // no suffix (matches by name only); shop spelling with 股份有限公司 and 北京分部 and a dashed
    // mobile (matches by phone).
    // Customer B: two phones; CRM and shop share only the e-mail, in different case and spaces.
    // Customer C: CRM only; lands again on the 21st with a new city (later landing wins).
    land(
        &p,
        "ods_crm_customer",
        "2026-11-20",
        vec![
            ("crm_id", s(&[Some("C1"), Some("C2"), Some("C3")])),
            (
                "company_name",
                s(&[
                    Some("上海恒瑞科技有限公司北京分公司"),
                    Some("杭州云帆网络有限公司"),
                    Some("成都锦程物流集团有限公司"),
                ]),
            ),
            (
                "contact_name",
                s(&[Some("张三"), Some("李四"), Some("王五")]),
            ),
            (
                "phone",
                s(&[
                    Some("+86 138 0013 8000"),
                    Some("13900000001"),
                    Some("13700000003"),
                ]),
            ),
            (
                "email",
                s(&[Some("Zhang@Example.com"), Some(" B@Corp.com "), None]),
            ),
            ("industry", s(&[Some("软件"), Some("互联网"), None])),
            (
                "province",
                s(&[Some("北京市"), Some("浙江省"), Some("四川省")]),
            ),
            ("city", s(&[Some("北京"), Some("杭州"), Some("北京")])),
            ("company_size", s(&[Some("200-999"), None, Some("1-49")])),
            (
                "customer_type",
                s(&[Some("新客户"), None, Some("活跃客户")]),
            ),
            ("owner_rep", s(&[Some("R1"), Some("R2"), Some("R3")])),
            (
                "contact_birthday",
                Col::Date(vec![Some("1980-05-01"), None, None]),
            ),
            ("created_at", Col::Ts(vec![Some("2024-01-01T00:00:00Z"); 3])),
            ("updated_at", Col::Ts(vec![Some("2026-11-20T01:00:00Z"); 3])),
        ],
    );
    land(
        &p,
        "ods_crm_customer",
        "2026-11-21",
        vec![
            ("crm_id", s(&[Some("C3")])),
            ("company_name", s(&[Some("成都锦程物流集团有限公司")])),
            ("contact_name", s(&[Some("王五")])),
            ("phone", s(&[Some("13700000003")])),
            ("email", s(&[None])),
            ("industry", s(&[None])),
            ("province", s(&[Some("四川省")])),
            ("city", s(&[Some("成都")])),
            ("company_size", s(&[Some("1-49")])),
            ("customer_type", s(&[Some("活跃客户")])),
            ("owner_rep", s(&[Some("R3")])),
            ("contact_birthday", Col::Date(vec![None])),
            ("created_at", Col::Ts(vec![Some("2024-01-01T00:00:00Z")])),
            ("updated_at", Col::Ts(vec![Some("2026-11-21T01:00:00Z")])),
        ],
    );
    land(
        &p,
        "ods_erp_customer",
        "2026-11-20",
        vec![
            ("erp_code", s(&[Some("E1")])),
            ("legal_name", s(&[Some("上海恒瑞科技BJ分部")])),
            ("short_name", s(&[Some("恒瑞科技")])),
            ("tel", s(&[None])),
            ("industry", s(&[None])),
            ("province", s(&[None])),
            ("updated_at", Col::Ts(vec![Some("2026-11-20T01:00:00Z")])),
        ],
    );
    land(
        &p,
        "ods_shop_customer",
        "2026-11-20",
        vec![
            ("shop_uid", s(&[Some("S1"), Some("S2")])),
            (
                "display_name",
                s(&[Some(" 上海恒瑞科技股份有限公司北京分部"), Some("云帆")]),
            ),
            ("mobile", s(&[Some("138-0013-8000"), Some("13900000002")])),
            ("email", s(&[None, Some("b@corp.com")])),
            ("city", s(&[None, None])),
            (
                "registered_at",
                Col::Ts(vec![
                    Some("2023-06-01T00:00:00Z"),
                    Some("2025-01-01T00:00:00Z"),
                ]),
            ),
            ("updated_at", Col::Ts(vec![Some("2026-11-20T01:00:00Z"); 2])),
        ],
    );
    // O1 paid by A (ERP); O2 for an ERP code nobody has (orphan); O3 lands paid, then refunded
    // with a later updated_at; O4 at 16:30 UTC on the 20th = 00:30 on the 21st in Shanghai,
    // landed on the 21st (accepted); O5 at 16:30 UTC on the 21st = the 22nd, landed on the 21st
    // (future event).
    let order = |ids: &[&'static str],
                 cust: &[&'static str],
                 times: &[&'static str],
                 status: &[&'static str],
                 upd: &[&'static str]| {
        vec![
            ("order_id", Col::Str(ids.iter().map(|x| Some(*x)).collect())),
            (
                "source_system",
                Col::Str(
                    cust.iter()
                        .map(|c| Some(if c.starts_with('E') { "erp" } else { "shop" }))
                        .collect(),
                ),
            ),
            (
                "source_customer_id",
                Col::Str(cust.iter().map(|x| Some(*x)).collect()),
            ),
            (
                "order_time",
                Col::Ts(times.iter().map(|x| Some(*x)).collect()),
            ),
            ("amount", Col::Dec(vec![Some("100.00"); ids.len()])),
            ("currency", Col::Str(vec![Some("USD"); ids.len()])),
            ("product_category", Col::Str(vec![Some("软件"); ids.len()])),
            (
                "status",
                Col::Str(status.iter().map(|x| Some(*x)).collect()),
            ),
            (
                "updated_at",
                Col::Ts(upd.iter().map(|x| Some(*x)).collect()),
            ),
        ]
    };
    land(
        &p,
        "ods_order",
        "2026-11-20",
        order(
            &["O1", "O2", "O3"],
            &["E1", "E99", "S2"],
            &["2026-11-20T02:00:00Z"; 3],
            &["paid", "paid", "paid"],
            &["2026-11-20T02:00:00Z"; 3],
        ),
    );
    land(
        &p,
        "ods_order",
        "2026-11-21",
        order(
            &["O3", "O4", "O5"],
            &["S2", "S1", "E1"],
            &[
                "2026-11-20T02:00:00Z",
                "2026-11-20T16:30:00Z",
                "2026-11-21T16:30:00Z",
            ],
            &["refunded", "paid", "paid"],
            &["2026-11-21T03:00:00Z"; 3],
        ),
    );
    // The daily sources land something every day.
    land(
        &p,
        "ods_interaction",
        "2026-11-21",
        vec![
            ("interaction_id", s(&[Some("I1")])),
            ("crm_id", s(&[Some("C1")])),
            ("channel", s(&[Some("email")])),
            ("direction", s(&[Some("out")])),
            ("purpose", s(&[Some("thanks")])),
            ("occurred_at", Col::Ts(vec![Some("2026-11-21T02:00:00Z")])),
            ("rep_id", s(&[Some("R1")])),
            ("opened", Col::Bool(vec![Some(true)])),
            ("content", s(&[Some("感谢您的支持")])),
        ],
    );
    land(
        &p,
        "ods_product_usage",
        "2026-11-21",
        vec![
            ("crm_id", s(&[Some("C1")])),
            ("usage_date", Col::Date(vec![Some("2026-11-21")])),
            ("active_users", Col::I32(vec![Some(5)])),
            ("events", Col::I64(vec![Some(120)])),
        ],
    );
    // Survey scores exactly as typed: ' 9' is valid after trimming; '11', '4.0' and 'N/A' are not.
    land(
        &p,
        "ods_survey",
        "2026-11-21",
        vec![
            (
                "response_id",
                s(&[Some("R1"), Some("R2"), Some("R3"), Some("R4")]),
            ),
            (
                "crm_id",
                s(&[Some("C1"), Some("C1"), Some("C2"), Some("C3")]),
            ),
            (
                "survey_type",
                s(&[Some("NPS"), Some("NPS"), Some("CSAT"), Some("NPS")]),
            ),
            (
                "score",
                s(&[Some(" 9"), Some("11"), Some("4.0"), Some("N/A")]),
            ),
            (
                "submitted_at",
                Col::Ts(vec![Some("2026-11-20T05:00:00Z"); 4]),
            ),
            ("comment", s(&[None; 4])),
        ],
    );
    p
}

#[tokio::test]
async fn dwd_tricky_cases() {
    let p = fixture();
    let out = p.strata(&[
        "run",
        "pipelines/crm.yaml",
        "--ds",
        "2026-11-21",
        "--select",
        "+dwd_reconciliation",
        "+dwd_customer",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let wh = p.path().join("warehouse/dwd");

    // A's three records, B's two, C's one: three customers.
    let map = pretty(&query_dir(&wh.join("dwd_customer_source_map"),
        "SELECT COUNT(DISTINCT customer_id) AS customers,
                COUNT(DISTINCT CASE WHEN source_customer_id IN ('C1','E1','S1') THEN customer_id END) AS a_ids,
                COUNT(DISTINCT CASE WHEN source_customer_id IN ('C2','S2') THEN customer_id END) AS b_ids
         FROM t").await);
    assert!(map.contains("| 3         | 1     | 1     |"), "{map}");

    // Survivorship: CRM values win; C's later landing wins; phones are E.164, e-mails trimmed
    // and lower case; source ids list every record.
    let customers = pretty(&query_dir(&wh.join("dwd_customer"),
        "SELECT company_name, phone, email, city, source_ids, customer_type FROM t ORDER BY company_name").await);
    assert_eq!(
        customers,
        "+--------------------------------+----------------+-------------------+------+-----------------------+---------------+\n\
         | company_name                   | phone          | email             | city | source_ids            | customer_type |\n\
         +--------------------------------+----------------+-------------------+------+-----------------------+---------------+\n\
         | 上海恒瑞科技有限公司北京分公司 | +8613800138000 | zhang@example.com | 北京 | crm:C1,erp:E1,shop:S1 | 新客户        |\n\
         | 成都锦程物流集团有限公司       | +8613700000003 |                   | 成都 | crm:C3                | 潜在客户      |\n\
         | 杭州云帆网络有限公司           | +8613900000001 | b@corp.com        | 杭州 | crm:C2,shop:S2        | 潜在客户      |\n\
         +--------------------------------+----------------+-------------------+------+-----------------------+---------------+",
        "{customers}"
    );

    // Orders: O3's later landing (refunded) wins; O4 belongs to the 21st; O2 and O5 rejected.
    // amount_cny is DECIMAL(18,2) (DOMAIN.md money rule): 100.00 USD x 7.10 = 710.00 exactly,
    // printed with its two decimals (it was a DOUBLE printed as 710.0 before).
    let orders = pretty(&query_dir(&wh.join("dwd_order"),
        "SELECT order_id, status, CAST(order_date AS VARCHAR) AS d, amount_cny FROM t ORDER BY order_id").await);
    assert_eq!(
        orders,
        "+----------+----------+------------+------------+\n\
         | order_id | status   | d          | amount_cny |\n\
         +----------+----------+------------+------------+\n\
         | O1       | paid     | 2026-11-20 | 710.00     |\n\
         | O3       | refunded | 2026-11-20 | 710.00     |\n\
         | O4       | paid     | 2026-11-21 | 710.00     |\n\
         +----------+----------+------------+------------+",
        "{orders}"
    );

    let rejects = pretty(
        &query_dir(
            &wh.join("dwd_reject"),
            "SELECT source_table, source_key, reason FROM t ORDER BY source_key",
        )
        .await,
    );
    assert_eq!(
        rejects,
        "+--------------+------------+-----------------+\n\
         | source_table | source_key | reason          |\n\
         +--------------+------------+-----------------+\n\
         | ods_order    | O2         | orphan_customer |\n\
         | ods_order    | O5         | future_event    |\n\
         | ods_survey   | R2         | invalid_score   |\n\
         | ods_survey   | R3         | invalid_score   |\n\
         | ods_survey   | R4         | invalid_score   |\n\
         +--------------+------------+-----------------+",
        "{rejects}"
    );
    let surveys =
        pretty(&query_dir(&wh.join("dwd_survey"), "SELECT response_id, score FROM t").await);
    assert!(surveys.contains("| R1          | 9     |"), "{surveys}");

    // ods_order: 6 landed = 3 accepted + 1 duplicate (O3) + 2 rejected.
    let rec = pretty(&query_dir(&wh.join("dwd_reconciliation"),
        "SELECT source_table, landed, accepted, duplicates, rejected, balanced FROM t
         WHERE source_table IN ('ods_order', 'ods_survey', 'ods_crm_customer') ORDER BY source_table").await);
    assert_eq!(
        rec,
        "+------------------+--------+----------+------------+----------+----------+\n\
         | source_table     | landed | accepted | duplicates | rejected | balanced |\n\
         +------------------+--------+----------+------------+----------+----------+\n\
         | ods_crm_customer | 4      | 3        | 1          | 0        | true     |\n\
         | ods_order        | 6      | 3        | 1          | 2        | true     |\n\
         | ods_survey       | 4      | 1        | 0          | 3        | true     |\n\
         +------------------+--------+----------+------------+----------+----------+",
        "{rec}"
    );
}
