//! Canary: a secret in the environment and a canary phone, e-mail and name in the ODS data.
//! After a full run of the bundled pipeline with debug logs, no log line, run record, check
//! result or ADS value contains any of them, while DWD (where personal data may live) does.

mod util;

use util::ods::{Col, crm_project, land};

const SECRET: &str = "canary-secret-9f8e7d6c";
const PHONE_DIGITS: &str = "19988887777";
const EMAIL: &str = "canary.leak@example.org";
const NAME: &str = "金丝雀";

fn contains_canary(text: &str) -> Option<&'static str> {
    [SECRET, PHONE_DIGITS, "199 8888 7777", EMAIL, NAME]
        .into_iter()
        .find(|c| text.contains(c))
}

/// Every string value of every table under `dir`, as text.
async fn all_values(dir: &std::path::Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let table = e.unwrap().path();
        if !table.is_dir() {
            continue;
        }
        let batches = util::query_dir(&table, "SELECT * FROM t").await;
        out.push_str(&util::pretty(&batches));
    }
    out
}

#[tokio::test]
async fn no_secret_or_personal_data_leaks() {
    let p = crm_project();
    let out = p.strata(&[
        "generate",
        "crm",
        "--customers",
        "300",
        "--days",
        "90",
        "--end-date",
        "2026-11-21",
        "--seed",
        "7",
        "--out",
        "data/ods",
        "--truth",
        "data/truth",
        "-q",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    land(
        &p,
        "ods_crm_customer",
        "2026-11-21",
        vec![
            ("crm_id", Col::Str(vec![Some("C9999999")])),
            ("company_name", Col::Str(vec![Some("灰雀测试有限公司")])),
            ("contact_name", Col::Str(vec![Some(NAME)])),
            ("phone", Col::Str(vec![Some("+86 199 8888 7777")])),
            ("email", Col::Str(vec![Some(EMAIL)])),
            ("industry", Col::Str(vec![Some("软件")])),
            ("province", Col::Str(vec![Some("北京市")])),
            ("city", Col::Str(vec![Some("北京")])),
            ("company_size", Col::Str(vec![None])),
            ("customer_type", Col::Str(vec![None])),
            ("owner_rep", Col::Str(vec![Some("R1")])),
            ("contact_birthday", Col::Date(vec![Some("1990-11-25")])),
            ("created_at", Col::Ts(vec![Some("2026-01-01T00:00:00Z")])),
            ("updated_at", Col::Ts(vec![Some("2026-11-21T01:00:00Z")])),
        ],
    );
    // A stage that uses the keyed hash, so the secret is really in use.
    let yaml = std::fs::read_to_string(p.path().join("pipelines/crm.yaml")).unwrap();
    p.write("pipelines/crm.yaml", &format!(
        "{yaml}  - name: dwd_contact_key\n    layer: dwd\n    sql: sql/dwd/dwd_contact_key.sql\n"
    ));
    p.write(
        "sql/dwd/dwd_contact_key.sql",
        "SELECT customer_id, pii_hash(phone) AS phone_key FROM dwd_customer\n",
    );
    let out = p.strata_env(
        &[
            "run",
            "pipelines/crm.yaml",
            "--ds",
            "2026-11-21",
            "-vv",
            "--log-format",
            "json",
        ],
        &[("STRATA_PII_KEY", SECRET)],
    );
    let logs = format!("{}\n{}", out.stdout, out.stderr);
    assert!(out.code == 0 || out.code == 1, "{logs}");
    assert_eq!(contains_canary(&logs), None, "logs leak");
    let wh = p.path().join("warehouse");
    let tail: String = logs
        .lines()
        .filter(|l| !l.starts_with('{'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(wh.join("dwd/dwd_contact_key").exists(), "{tail}");
    // The canary did reach DWD, so the checks below are meaningful.
    let dwd = util::pretty(
        &util::query_dir(
            &wh.join("dwd/dwd_customer"),
            &format!("SELECT phone FROM t WHERE email = '{EMAIL}'"),
        )
        .await,
    );
    assert!(dwd.contains("+8619988887777"), "{dwd}");
    let keys = util::pretty(
        &util::query_dir(
            &wh.join("dwd/dwd_contact_key"),
            "SELECT phone_key FROM t LIMIT 1",
        )
        .await,
    );
    assert!(keys.len() > 64, "{keys}");
    for record in std::fs::read_dir(wh.join("_meta/runs")).unwrap() {
        let text = std::fs::read_to_string(record.unwrap().path()).unwrap();
        assert_eq!(contains_canary(&text), None, "run record leaks");
    }
    let checks =
        util::pretty(&util::query_dir(&wh.join("_meta/check_results"), "SELECT * FROM t").await);
    assert_eq!(contains_canary(&checks), None, "check results leak");
    let ads = all_values(&wh.join("ads")).await;
    assert!(!ads.is_empty());
    assert_eq!(contains_canary(&ads), None, "ADS leaks");
    let dws = all_values(&wh.join("dws")).await;
    assert_eq!(contains_canary(&dws), None, "DWS leaks");
}
