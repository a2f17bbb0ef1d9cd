//! `strata init` makes a project that validates, runs and passes its unit test at once;
//! `strata new stage` adds a SQL file and a pipeline entry that keep the project valid.

mod util;

use strata::app::scaffold::insert_stage;
use util::Project;

#[test]
fn an_initialized_project_runs_and_its_numbers_are_right() {
    let p = Project::new();
    let out = p.strata(&["init", "shop"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dir = p.path().join("shop");
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        (
            o.status.code(),
            text,
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let (code, _, err) = run(&["validate"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = run(&["run", "--ds", "2026-11-21"]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("3 succeeded, 0 unchanged, 0 failed"), "{out}");
    let (code, out, err) = run(&["test"]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
    // By hand from the sample: C1 paid O1 (100.00; O3 was cancelled); C2's O2 was refunded on
    // the second landing day; C3's O4 (80.00) was paid at 00:30 on 2026-11-21 in Shanghai.
    let (code, out, err) = run(&[
        "sql",
        "SELECT customer_id, CAST(paid_amount AS VARCHAR) AS amount, sales_rank FROM ads_top_customers ORDER BY sales_rank",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            {"customer_id": "C1", "amount": "100.00", "sales_rank": 1},
            {"customer_id": "C3", "amount": "80.00", "sales_rank": 2}
        ])
    );
    // The project's pipeline is named after its directory.
    assert!(dir.join("pipelines/shop.yaml").is_file());

    let (code, _, err) = run(&[
        "new",
        "stage",
        "dws_order_days",
        "--layer",
        "dws",
        "--from",
        "dwd_order",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(dir.join("sql/dws/dws_order_days.sql").is_file());
    let (code, out, err) = run(&["plan", "--ds", "2026-11-21"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("dws_order_days"), "{out}");
    let (code, _, err) = run(&[
        "new", "stage", "ads_x", "--layer", "ads", "--from", "dwd_ordr",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("did you mean `dwd_order`?"), "{err}");
    let (code, _, err) = run(&[
        "new",
        "stage",
        "dwd_x",
        "--layer",
        "dwd",
        "--from",
        "ads_top_customers",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("above dwd"), "{err}");
    let (code, _, err) = run(&["new", "stage", "dws_order_days", "--layer", "dws"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("exists"), "{err}");

    let out = p.strata(&["init", "shop"]);
    assert_eq!(
        out.code, 1,
        "a non-empty directory is refused: {}",
        out.stderr
    );
}

#[test]
fn new_entries_go_at_the_end_of_the_stages_list_in_its_indentation() {
    let entry = "- name: dws_b\n  layer: dws\n  sql: sql/dws/dws_b.sql\n";
    // Items indented by two, a comment above the next top-level key stays with that key.
    let text = "name: p\nstages:\n  - name: dwd_a\n    layer: dwd\n\n# the dictionary\nintents:\n  x: [y]\n";
    assert_eq!(
        insert_stage(text, entry),
        "name: p\nstages:\n  - name: dwd_a\n    layer: dwd\n  - name: dws_b\n    layer: dws\n    sql: sql/dws/dws_b.sql\n\n# the dictionary\nintents:\n  x: [y]\n"
    );
    // Items at column 0, stages last.
    let text = "name: p\nstages:\n- name: dwd_a\n  layer: dwd\n";
    assert_eq!(
        insert_stage(text, entry),
        "name: p\nstages:\n- name: dwd_a\n  layer: dwd\n- name: dws_b\n  layer: dws\n  sql: sql/dws/dws_b.sql\n"
    );
    // No stages key yet.
    assert_eq!(
        insert_stage("name: p", entry),
        "name: p\nstages:\n  - name: dws_b\n    layer: dws\n    sql: sql/dws/dws_b.sql\n"
    );
}

#[test]
fn new_stage_handles_partitioned_stages_and_unusual_pipeline_files() {
    let p = Project::new();
    assert_eq!(p.strata(&["init", "shop"]).code, 0);
    let dir = p.path().join("shop");
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    // Partitioned over a table without ds: the run date is added; over a partitioned stage: its
    // own partition is read. Both keep the project valid.
    let (code, err) = run(&[
        "new",
        "stage",
        "dws_p1",
        "--layer",
        "dws",
        "--partitioned",
        "--from",
        "dwd_order",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let sql = std::fs::read_to_string(dir.join("sql/dws/dws_p1.sql")).unwrap();
    assert!(sql.contains("SELECT $ds AS ds, *\nFROM dwd_order"), "{sql}");
    let (code, err) = run(&[
        "new",
        "stage",
        "ads_p2",
        "--layer",
        "ads",
        "--partitioned",
        "--from",
        "dws_customer_sales",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let sql = std::fs::read_to_string(dir.join("sql/ads/ads_p2.sql")).unwrap();
    assert!(
        sql.contains("FROM dws_customer_sales\nWHERE ds = $ds"),
        "{sql}"
    );
    assert_eq!(run(&["validate"]).0, Some(0));
    // SQL keywords and `this` are refused as names.
    let (code, err) = run(&["new", "stage", "select", "--layer", "dws"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("SQL keyword"), "{err}");

    // An empty flow list (`stages: []`, also with a quoted key) becomes a block list; a
    // non-empty one is refused, untouched; a file ending in `...` and CRLF line ends work.
    let file = dir.join("pipelines/shop.yaml");
    let original = std::fs::read_to_string(&file).unwrap();
    let head = original.split("stages:").next().unwrap().to_string();
    std::fs::write(&file, head.clone() + "\"stages\": []\n").unwrap();
    let (code, err) = run(&["new", "stage", "dws_f", "--layer", "dws"]);
    assert_eq!(code, Some(0), "{err}");
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(
        after.ends_with("stages:\n  - name: dws_f\n    layer: dws\n    sql: sql/dws/dws_f.sql\n"),
        "{after}"
    );
    let flow = head + "stages: [{name: dws_f, layer: dws, sql: sql/dws/dws_f.sql}]\n";
    std::fs::write(&file, &flow).unwrap();
    let (code, err) = run(&["new", "stage", "dws_g", "--layer", "dws"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("flow-style list"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), flow);
    let crlf = original.replace('\n', "\r\n") + "...\r\n";
    std::fs::write(&file, &crlf).unwrap();
    let (code, err) = run(&[
        "new",
        "stage",
        "dws_c",
        "--layer",
        "dws",
        "--from",
        "dwd_order",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(
        !after.replace("\r\n", "").contains('\n'),
        "a bare LF crept in"
    );
    assert!(
        after.ends_with(
            "  - name: dws_c\r\n    layer: dws\r\n    sql: sql/dws/dws_c.sql\r\n...\r\n"
        ),
        "{after}"
    );
    assert_eq!(run(&["validate"]).0, Some(0));
}
