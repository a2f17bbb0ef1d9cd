//! Identity resolution of the bundled pipeline on hand-made records (issue 12's examples). Every
//! expected clustering below is worked out by hand from the fixture.

mod util;

use std::collections::{BTreeMap, BTreeSet};

use util::crm_fixture::{CRM_CUSTOMER, ERP_CUSTOMER, SHOP_CUSTOMER, land_rows, lines};
use util::query_dir;

fn crm(id: &str, company: &str, phone: &str, email: &str) -> Vec<String> {
    [
        id,
        company,
        "张三",
        phone,
        email,
        "软件",
        "北京市",
        "北京",
        "1-49",
        "NULL",
        "R1",
        "NULL",
        "t-400",
        "t-10",
    ]
    .map(str::to_string)
    .to_vec()
}

fn shop(id: &str, display: &str, mobile: &str, email: &str) -> Vec<String> {
    [id, display, mobile, email, "NULL", "t-300", "t-10"]
        .map(str::to_string)
        .to_vec()
}

fn land(
    p: &util::Project,
    table: &str,
    layout: &[(&str, util::crm_fixture::Kind)],
    rows: &[Vec<String>],
) {
    let refs: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    let slices: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
    land_rows(p, table, layout, &slices);
}

/// The fixture; the comment of each group says how it must resolve.
fn fixture() -> util::Project {
    let p = util::ods::crm_project();
    land(
        &p,
        "ods_crm_customer",
        CRM_CUSTOMER,
        &[
            // C1 with an extension on its phone; the shop account S1 has the bare mobile.
            crm("C1", "上海恒瑞科技有限公司", "139-1234-5678 转 801", "NULL"),
            // C2 in traditional characters; ERP E1 in simplified with another legal form.
            crm("C2", "深圳華信電子貿易有限公司", "NULL", "NULL"),
            // C3 and S3 share the name but a steward keeps them apart (cannot_link).
            crm("C3", "北京远航物流有限公司", "NULL", "NULL"),
            // C4 and S4 share nothing but a steward joins them (must_link).
            crm("C4", "广州星河文化传媒有限公司", "020-8888 1234", "NULL"),
        ],
    );
    land(
        &p,
        "ods_erp_customer",
        ERP_CUSTOMER,
        &[[
            "E1",
            "深圳华信电子贸易有限责任公司",
            "NULL",
            "NULL",
            "NULL",
            "NULL",
            "t-10",
        ]
        .map(str::to_string)
        .to_vec()],
    );
    let mut shops = vec![
        shop("S1", "恒瑞", "13912345678", "NULL"),
        shop("S3", "北京远航物流", "NULL", "NULL"),
        shop("S4", "老王", "13300000004", "NULL"),
    ];
    // A chain of 16 accounts: K00-K01 share e-mail 0, K01-K02 phone 1, K02-K03 e-mail 2, ...
    let link = |i: usize| {
        if i.is_multiple_of(2) {
            (None, Some(format!("chain{i}@mail.cn")))
        } else {
            (Some(format!("137{:08}", 1000 + i)), None)
        }
    };
    for j in 0..16usize {
        let mut mobile = "NULL".to_string();
        let mut email = "NULL".to_string();
        for i in [j.checked_sub(1), (j < 15).then_some(j)]
            .into_iter()
            .flatten()
        {
            let (m, e) = link(i);
            mobile = m.unwrap_or(mobile);
            email = e.unwrap_or(email);
        }
        shops.push(shop(&format!("K{j:02}"), "微信用户", &mobile, &email));
    }
    for i in 0..10 {
        // Ten strangers with the placeholder mobile, ten with test@test.com, ten called 微信用户.
        shops.push(shop(
            &format!("P{i}"),
            &format!("杭州小店{i}号"),
            "13800000000",
            "NULL",
        ));
        shops.push(shop(
            &format!("T{i}"),
            "个人",
            &format!("136{:08}", 2000 + i),
            "test@test.com",
        ));
        shops.push(shop(
            &format!("W{i}"),
            "微信用户",
            &format!("135{:08}", 3000 + i),
            "NULL",
        ));
    }
    land(&p, "ods_shop_customer", SHOP_CUSTOMER, &shops);
    p.write(
        "data/seeds/identity_overrides.csv",
        "rule,left_system,left_id,right_system,right_id,note\n\
         cannot_link,crm,C3,shop,S3,two companies of one name\n\
         must_link,crm,C4,shop,S4,the owner's own account\n",
    );
    p
}

/// `kind | masked key | records | reason` of every refused key, sorted.
async fn refused_keys(p: &util::Project) -> Vec<String> {
    let sql = "SELECT key_kind, key_masked, records, reason FROM t ORDER BY key_kind, key_masked";
    let dir = p.path().join("warehouse/dwd/dwd_customer_refused_key");
    lines(&query_dir(&dir, sql).await)
}

/// Run the identity stages (source map, steward tables) for `ds`; the run must succeed.
fn run_identity(p: &util::Project, ds: &str) -> util::Output {
    let out = p.strata(&[
        "run",
        "pipelines/crm.yaml",
        "--ds",
        ds,
        "--select",
        "+dwd_customer_source_map",
        "+dwd_customer_link",
        "+dwd_customer_refused_key",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    out
}

#[tokio::test]
async fn issue_12_examples_resolve_as_worked_out_by_hand() {
    let p = fixture();
    run_identity(&p, "2026-11-21");
    let wh = p.path().join("warehouse/dwd");
    let clusters = clusters_of(&customer_ids(&p).await);

    let mut expected: Vec<Vec<String>> = vec![
        vec!["crm:C1".into(), "shop:S1".into()],
        vec!["crm:C2".into(), "erp:E1".into()],
        vec!["crm:C3".into()],
        vec!["shop:S3".into()],
        vec!["crm:C4".into(), "shop:S4".into()],
        (0..16).map(|j| format!("shop:K{j:02}")).collect(),
    ];
    for i in 0..10 {
        for prefix in ["P", "T", "W"] {
            expected.push(vec![format!("shop:{prefix}{i}")]);
        }
    }
    expected.sort();
    assert_eq!(clusters.len(), 36);
    assert_eq!(clusters, expected);

    let refused = refused_keys(&p).await;
    assert_eq!(
        refused,
        vec![
            "email | t***@test.com | 10 | placeholder_email",
            "name | 个人 | 10 | junk_name",
            // Shop display names that do not say they are companies are masked (h: keys).
            "name | 微*** | 26 | junk_name",
            "phone | 138****0000 | 10 | placeholder_phone",
        ]
    );

    // Every merge is explained: 15 links hold the chain together, one the phone with the
    // extension, one the two spellings, one the must_link; the cannot_link split is listed.
    let links = lines(
        &query_dir(
            &wh.join("dwd_customer_link"),
            "SELECT link_kind, key_kind, COUNT(*) FROM t GROUP BY link_kind, key_kind ORDER BY 1, 2",
        )
        .await,
    );
    assert_eq!(
        links,
        vec![
            "link | email | 8",
            "link | name | 1",
            "link | override | 1",
            "link | phone | 8",
            // Refused keys under every customer holding them: the ten T accounts (test@test.com
            // and 个人), the ten P accounts (13800000000), and 微信用户 under the chain's
            // customer and the ten W accounts. The split under both of its customers.
            "refused | email | 10",
            "refused | name | 21",
            "refused | phone | 10",
            "split | name | 2",
        ]
    );

    let chain = lines(
        &query_dir(
            &wh.join("dwd_customer_source_map"),
            "SELECT customer_id FROM t WHERE source_customer_id = 'K07'",
        )
        .await,
    );
    let explained = p.strata(&["explain-customer", &chain[0]]);
    assert_eq!(explained.code, 0, "{}", explained.stderr);
    let rows = |step: &str| {
        let prefix = format!("| {step} ");
        explained
            .stdout
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .count()
    };
    assert_eq!(rows("record"), 16);
    assert_eq!(rows("link"), 15);
    assert!(!explained.stdout.contains("chain"), "keys are masked");
}

#[tokio::test]
async fn the_pipeline_extends_the_junk_lists_and_guards_shared_keys() {
    let p = util::ods::crm_project();
    let yaml = std::fs::read_to_string(p.path().join("pipelines/crm.yaml")).unwrap();
    let yaml = yaml
        .replace("  max_records_per_key: 8\n", "  max_records_per_key: 3\n")
        .replace("    names: []\n", "    names: [暂无名称]\n");
    p.write("pipelines/crm.yaml", &yaml);
    let mut shops = Vec::new();
    for i in 0..4 {
        // Four strangers share one unlisted mobile: more than 3 records, nothing else in common.
        shops.push(shop(
            &format!("G{i}"),
            &format!("甲{i}商行"),
            "13512345678",
            "NULL",
        ));
        // Four accounts of one company share a mobile and the name: both keys are held by more
        // than 3 records, but each is backed by the other.
        shops.push(shop(&format!("H{i}"), "同一商行", "13512340000", "NULL"));
    }
    // The pipeline's own junk name.
    shops.push(shop("N0", "暂无名称", "13600000001", "NULL"));
    shops.push(shop("N1", "暂无名称", "13600000002", "NULL"));
    land(&p, "ods_shop_customer", SHOP_CUSTOMER, &shops);
    run_identity(&p, "2026-11-21");
    let wh = p.path().join("warehouse/dwd");
    let per_prefix = lines(
        &query_dir(
            &wh.join("dwd_customer_source_map"),
            "SELECT left(source_customer_id, 1), COUNT(DISTINCT customer_id) FROM t GROUP BY 1 ORDER BY 1",
        )
        .await,
    );
    assert_eq!(per_prefix, vec!["G | 4", "H | 1", "N | 2"]);
    let refused = lines(
        &query_dir(
            &wh.join("dwd_customer_refused_key"),
            "SELECT key_kind, key_masked, records, reason FROM t ORDER BY key_kind",
        )
        .await,
    );
    assert_eq!(
        refused,
        vec![
            "name | 暂*** | 2 | junk_name",
            // The four holders disagree with each other by name: none is linked.
            "phone | 135****5678 | 4 | shared_by_too_many",
        ]
    );
}

/// Customers of a source map: record -> customer_id.
async fn customer_ids(p: &util::Project) -> BTreeMap<String, String> {
    let wh = p.path().join("warehouse/dwd/dwd_customer_source_map");
    lines(
        &query_dir(
            &wh,
            "SELECT source_system || ':' || source_customer_id, customer_id FROM t",
        )
        .await,
    )
    .into_iter()
    .map(|row| {
        let (r, c) = row.split_once(" | ").unwrap();
        (r.to_string(), c.to_string())
    })
    .collect()
}

/// Groups of records that share a customer_id, sorted.
fn clusters_of(ids: &BTreeMap<String, String>) -> Vec<Vec<String>> {
    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (r, c) in ids {
        groups.entry(c).or_default().push(r.clone());
    }
    let mut out: Vec<Vec<String>> = groups.into_values().collect();
    out.sort();
    out
}

#[tokio::test]
async fn people_resellers_shared_phones_overrides_and_late_records() {
    let p = util::ods::crm_project();
    let yaml = std::fs::read_to_string(p.path().join("pipelines/crm.yaml")).unwrap();
    p.write(
        "pipelines/crm.yaml",
        &yaml.replace(
            "  identity_warn_records: 25\n",
            "  identity_warn_records: 5\n",
        ),
    );
    let companies = [
        "恒瑞科技",
        "华信电子",
        "远航物流",
        "星辰软件",
        "金石机械",
        "天成医药",
        "博雅教育",
        "中科数据",
        "东升建设",
        "万通贸易",
    ];
    let mut shops = vec![
        // Two people called 张伟 and two called 王先生: four customers.
        shop("Z1", "张伟", "13911110001", "NULL"),
        shop("Z2", "张伟", "13911110002", "NULL"),
        shop("Z3", "王先生", "NULL", "wang1@a.cn"),
        shop("Z4", "王先生", "NULL", "wang2@b.cn"),
        // A shop-only customer that a CRM record joins on the next day.
        shop("S", "星河传媒", "13700001111", "NULL"),
    ];
    for (i, company) in companies.iter().enumerate() {
        // A reseller's phone and e-mail on ten end customers: ten customers.
        shops.push(shop(
            &format!("R{i}"),
            company,
            "13912340009",
            "sales@reseller.cn",
        ));
    }
    for i in 0..9 {
        // Nine accounts that share only one phone: one customer.
        shops.push(shop(&format!("A{i}"), "NULL", "13912345000", "NULL"));
    }
    land(&p, "ods_shop_customer", SHOP_CUSTOMER, &shops);
    p.write(
        "data/seeds/identity_overrides.csv",
        "rule,left_system,left_id,right_system,right_id,note\n\
         must_link,crm,NOPE,shop,S,a record that never landed\n\
         cannot_link,shop,Z1,shop,Z1,the same record twice\n",
    );
    let run = |ds: &str| run_identity(&p, ds);
    let day1 = run("2026-11-21");
    let ids1 = customer_ids(&p).await;
    let mut expected: Vec<Vec<String>> = ["Z1", "Z2", "Z3", "Z4", "S"]
        .iter()
        .map(|r| vec![format!("shop:{r}")])
        .chain((0..10).map(|i| vec![format!("shop:R{i}")]))
        .collect();
    expected.push((0..9).map(|i| format!("shop:A{i}")).collect());
    expected.sort();
    assert_eq!(clusters_of(&ids1), expected);

    let refused = refused_keys(&p).await;
    assert_eq!(
        refused,
        vec![
            // The reseller's keys link nobody: its ten holders disagree with each other by name.
            "email | s***@reseller.cn | 10 | shared_by_too_many",
            "name | 张* | 2 | person_name",
            "name | 王** | 2 | person_name",
            "override | cannot_link:shop:Z1|shop:Z1 | 1 | override_same_record",
            "override | must_link:crm:NOPE|shop:S | 1 | override_unknown_record",
            "phone | 139****0009 | 10 | shared_by_too_many",
        ]
    );

    // The accepted phone is explained, and the warn check's sample names the customer by id.
    let a0 = ids1["shop:A0"].clone();
    assert!(day1.stdout.contains(&a0), "{}", day1.stdout);
    let explained = p.strata(&["explain-customer", &a0]);
    assert_eq!(explained.code, 0, "{}", explained.stderr);
    assert!(
        explained.stdout.contains("accepted") && explained.stdout.contains("records_agree"),
        "{}",
        explained.stdout
    );

    // Next day a CRM record joins the shop-only customer; it keeps its id.
    util::crm_fixture::land_rows_at(
        &p,
        "ods_crm_customer",
        CRM_CUSTOMER,
        "2026-11-22",
        "part-0",
        &[&crm("C9", "星河传媒有限公司", "137-0000-1111", "NULL")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()],
    );
    run("2026-11-22");
    let ids2 = customer_ids(&p).await;
    assert_eq!(ids2["crm:C9"], ids1["shop:S"]);
    for (r, id) in &ids1 {
        assert_eq!(&ids2[r], id, "{r} kept its id");
    }
}

fn erp(id: &str, legal: &str, tel: &str) -> Vec<String> {
    [id, legal, "NULL", tel, "NULL", "NULL", "t-10"]
        .map(str::to_string)
        .to_vec()
}

fn land_at(
    p: &util::Project,
    table: &str,
    layout: &[(&str, util::crm_fixture::Kind)],
    ds: &str,
    file: &str,
    rows: &[Vec<String>],
) {
    let refs: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    let slices: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
    util::crm_fixture::land_rows_at(p, table, layout, ds, file, &slices);
}

#[tokio::test]
async fn names_people_bare_forms_late_holders_and_steward_typos() {
    let p = util::ods::crm_project();
    let ds1 = "2026-11-21";
    // People in every spelling: never linked by their names (each pair has its own contacts).
    let mut shops = Vec::new();
    for (i, name) in [
        "Mr Smith",
        "Zhang Wei",
        "张伟（个人）",
        "王芳-个人",
        "LI NA",
    ]
    .iter()
    .enumerate()
    {
        for j in 0..2 {
            shops.push(shop(
                &format!("P{i}{j}"),
                name,
                &format!("1360000{i}{j}00"),
                &format!("p{i}{j}@qq.com"),
            ));
        }
    }
    // A company with nine accounts: the CRM record and eight buyers at its own mail domain.
    for i in 1..=8 {
        shops.push(shop(
            &format!("B{i}"),
            "NULL",
            "13700001111",
            &format!("buyer{i}@hengrui.cn"),
        ));
    }
    land(&p, "ods_shop_customer", SHOP_CUSTOMER, &shops);
    land(
        &p,
        "ods_crm_customer",
        CRM_CUSTOMER,
        &[
            // Real companies whose names start with a surname: linked to their ERP records.
            crm("W1", "万达有限公司", "NULL", "NULL"),
            crm("L1", "李宁体育用品有限公司", "NULL", "NULL"),
            crm(
                "H1",
                "上海恒瑞科技有限公司",
                "13700001111",
                "boss@hengrui.cn",
            ),
        ],
    );
    let mut erps = vec![
        erp("W2", "万达股份有限公司", "NULL"),
        erp("L2", "李宁体育用品股份有限公司", "NULL"),
    ];
    for i in 0..3 {
        // Names with nothing distinctive left: three customers.
        erps.push(erp(
            &format!("X{i}"),
            "北京办事处",
            &format!("01065520{i}00"),
        ));
        erps.push(erp(
            &format!("Y{i}"),
            "Co., Ltd.",
            &format!("02165520{i}00"),
        ));
    }
    land(&p, "ods_erp_customer", ERP_CUSTOMER, &erps);
    p.write(
        "data/seeds/identity_overrides.csv",
        "rule,left_system,left_id,right_system,right_id,note\n\
         Must_Link, CRM ,W1,shop,P00,typed by hand\n\
         merge,crm,L1,erp,L2,not a rule\n",
    );
    let run = |ds: &str| {
        run_identity(&p, ds);
    };
    run(ds1);
    let ids1 = customer_ids(&p).await;
    let together = |ids: &BTreeMap<String, String>, a: &str, b: &str| ids[a] == ids[b];
    for i in 0..5 {
        assert!(
            !together(&ids1, &format!("shop:P{i}0"), &format!("shop:P{i}1")),
            "P{i}"
        );
    }
    // The steward's must_link, typed with odd case and spaces, holds.
    assert!(together(&ids1, "crm:W1", "shop:P00"));
    assert!(together(&ids1, "crm:W1", "erp:W2"));
    assert!(together(&ids1, "crm:L1", "erp:L2"));
    for i in 1..=8 {
        assert!(together(&ids1, "crm:H1", &format!("shop:B{i}")), "B{i}");
    }
    for prefix in ["X", "Y"] {
        let distinct: BTreeSet<&String> =
            (0..3).map(|i| &ids1[&format!("erp:{prefix}{i}")]).collect();
        assert_eq!(distinct.len(), 3, "{prefix}");
    }
    let wh = p.path().join("warehouse/dwd");
    let invalid = lines(
        &query_dir(
            &wh.join("dwd_customer_refused_key"),
            "SELECT key_masked, holders FROM t WHERE reason = 'override_invalid_rule'",
        )
        .await,
    );
    assert_eq!(invalid, vec!["merge:crm:L1|erp:L2 | crm:L1, erp:L2"]);

    // Next day, in a second file of the same partition and a new one: a stranger's account with
    // the company's phone and a private mailbox, and a CRM record created after the shop
    // account it shares a phone with. Nobody changes id; the stranger stays apart.
    land_at(
        &p,
        "ods_shop_customer",
        SHOP_CUSTOMER,
        "2026-11-22",
        "part-0",
        &[
            shop("B99", "NULL", "13700001111", "someone@qq.com"),
            shop("S1", "NULL", "13912398765", "NULL"),
        ],
    );
    land_at(
        &p,
        "ods_crm_customer",
        CRM_CUSTOMER,
        "2026-11-22",
        "part-1",
        &[{
            let mut c = crm("C9", "星河传媒有限公司", "13912398765", "NULL");
            c[12] = "2026-11-22T05:00:00Z".to_string();
            c
        }],
    );
    run("2026-11-22");
    let ids2 = customer_ids(&p).await;
    for (r, id) in &ids1 {
        assert_eq!(&ids2[r], id, "{r} kept its id");
    }
    assert!(!together(&ids2, "shop:B99", "crm:H1"));
    assert!(together(&ids2, "crm:C9", "shop:S1"));
    let explained = p.strata(&["explain-customer", &ids2["shop:B99"]]);
    assert_eq!(explained.code, 0, "{}", explained.stderr);
    assert!(
        explained.stdout.contains("refused") && explained.stdout.contains("shared_by_too_many"),
        "{}",
        explained.stdout
    );
}
