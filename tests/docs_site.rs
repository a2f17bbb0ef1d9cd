//! `strata docs`: after runs of the bundled pipeline on the sample, the site is written, served by
//! `strata docs --serve`, and driven in headless Chromium (`tests/docs_browser.py`, Selenium with
//! Debian's chromium and chromedriver installed by `scripts/browser.sh`): the DAG shows every
//! stage in its layer band, a click opens a table page with its columns and lineage, the charts
//! of the recent runs render, and the search box finds a column.
//!
//! With STRATA_DOCS_SCREENSHOTS=DIR the test also saves the screenshots kept in `docs/img/`.

mod util;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use util::crm_fixture::copy_tree;
use util::ods::crm_project;
use util::{python, repo_root};

struct Server(std::process::Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_docs_site_renders_and_navigates_in_a_browser() {
    let p = crm_project();
    copy_tree(&repo_root().join("data/ods"), &p.path().join("data/ods"));
    // Two dates: two runs build ads_rfm_score (a partitioned stage), so its chart has two bars.
    let out = p.strata(&["run", "--from", "2026-11-20", "--to", "2026-11-21", "-q"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    let out = p.strata(&["docs", "--out", "site", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let done: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    // 15 sources and seeds + 46 stages, one page each, plus the index.
    assert_eq!(done["pages"], 62, "{done}");
    assert_eq!(done["runs"], 2, "{done}");
    let site = p.path().join("site");
    // The site opens from disk: no reference to any network resource.
    for page in ["index.html", "tables/ads_rfm_score.html"] {
        let html = std::fs::read_to_string(site.join(page)).unwrap();
        for remote in [
            "src=\"http",
            "href=\"http",
            "src=\"//",
            "href=\"//",
            "url(http",
        ] {
            assert!(!html.contains(remote), "{page} loads {remote}...");
        }
    }

    let driver = Command::new("bash")
        .arg(repo_root().join("scripts/browser.sh"))
        .output()
        .expect("run scripts/browser.sh");
    assert!(
        driver.status.success(),
        "scripts/browser.sh: {}",
        String::from_utf8_lossy(&driver.stderr)
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["docs", "--out", "site", "--serve", "--port", "0"])
        .current_dir(p.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let server = Server(child);
    let url = loop {
        let line = lines.next().expect("strata docs --serve ended").unwrap();
        if let Some(rest) = line.strip_prefix("serving ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };

    let stages: Vec<String> = std::fs::read_dir(repo_root().join("sql"))
        .unwrap()
        .flatten()
        .flat_map(|layer| std::fs::read_dir(layer.path()).unwrap().flatten())
        .map(|f| f.path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(stages.len(), 46);
    // By hand from the SQL: monetary_365d is CAST(dws_customer_rfm_base.monetary_365d AS DOUBLE);
    // that sums dwd_order.amount_cny (a CASE on order_date) = round(ods_order.amount *
    // seed_fx_rates.rate_to_cny, 2).
    let expect = serde_json::json!({
        "stages": stages,
        "rfm_runs": 2,
        "monetary_origins": ["dws_customer_rfm_base.monetary_365d"],
        "monetary_sources": ["ods_order.amount", "ods_order.order_time", "seed_fx_rates.rate_to_cny"],
    });
    let mut cmd = Command::new(python());
    cmd.arg(repo_root().join("tests/docs_browser.py"))
        .arg(&url)
        .arg(expect.to_string());
    if let Ok(dir) = std::env::var("STRATA_DOCS_SCREENSHOTS") {
        cmd.arg(dir);
    }
    let out = cmd.output().unwrap();
    drop(server);
    assert!(
        out.status.success(),
        "browser check failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["dag_nodes"], 61, "{summary}");
    assert_eq!(summary["rfm_columns"], 16, "{summary}");
    assert_eq!(summary["chart_bars"], 2, "{summary}");
    assert_eq!(
        summary["after_enter"], "ads_rfm_score.html#col-monetary_365d",
        "{summary}"
    );
}

#[test]
fn column_descriptions_reach_the_page_and_bad_forms_are_located() {
    let p = util::mini::mini_project();
    let yaml = util::mini::PIPELINE.replace(
        "    sql: sql/ads/ads_city_sales.sql\n",
        "    sql: sql/ads/ads_city_sales.sql\n    columns:\n      city: {type: string, description: \"The customer's latest city <as landed>\"}\n      customers: bigint\n      paid_amount: double\n",
    );
    p.write("pipelines/mini.yaml", &yaml);
    let out = p.strata(&["docs", "--out", "site"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let html = std::fs::read_to_string(p.path().join("site/tables/ads_city_sales.html")).unwrap();
    // Escaped, in the description cell of the column's row.
    assert!(
        html.contains("<tr id=\"col-city\"><td><code>city</code></td><td><code>string</code></td><td>The customer&#39;s latest city &lt;as landed&gt;</td>"),
        "{html}"
    );
    // Before any run: the page says there is no history rather than drawing empty charts.
    assert!(html.contains("No recorded run built this table"), "{html}");

    let bad = yaml.replace("description: \"The", "descripton: \"The");
    p.write("pipelines/mini.yaml", &bad);
    let out = p.strata(&["validate"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("unknown key `descripton`")
            && out.stderr.contains("did you mean `description`?"),
        "{}",
        out.stderr
    );
    let bad = yaml.replace("{type: string, description:", "{description:");
    p.write("pipelines/mini.yaml", &bad);
    let out = p.strata(&["validate"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("missing required key `type`"),
        "{}",
        out.stderr
    );
}
