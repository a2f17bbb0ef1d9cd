//! Every kind of invalid project gets an exact, located message (snapshots of what users read),
//! and all problems of a project are reported together.

mod util;

use util::Project;

const BASE: &str = r#"name: shop
sources:
  - name: ods_order
    location: data/ods/ods_order
    partitions: {ds: date}
    columns:
      order_id: string
      customer_id: string
      amount: decimal(18,2)
stages:
  - name: dwd_order
    layer: dwd
    sql: sql/dwd/dwd_order.sql
  - name: dws_sales
    layer: dws
    sql: sql/dws/dws_sales.sql
"#;

const DWD: &str = "SELECT order_id, customer_id, amount\nFROM ods_order\nWHERE ds <= $ds\n";
const DWS: &str =
    "SELECT customer_id, SUM(amount) AS total\nFROM dwd_order\nGROUP BY customer_id\n";

fn project(pipeline: &str, dwd: &str, dws: &str) -> Project {
    let p = Project::new();
    p.write("pipelines/shop.yaml", pipeline);
    p.write("sql/dwd/dwd_order.sql", dwd);
    p.write("sql/dws/dws_sales.sql", dws);
    p
}

/// Run `validate` and return its stderr, checking the exit code is 1 (invalid input).
fn invalid(p: &Project, args: &[&str]) -> String {
    let mut all = vec!["validate"];
    all.extend_from_slice(args);
    let out = p.strata(&all);
    assert_eq!(
        out.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    out.stderr
}

#[test]
fn valid_project_passes() {
    let p = project(BASE, DWD, DWS);
    let out = p.strata(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @"pipeline `shop` is valid: 1 sources, 2 stages");
}

#[test]
fn unknown_yaml_key_suggests_the_closest() {
    let yaml = BASE.replace(
        "    sql: sql/dws/dws_sales.sql\n",
        "    sql: sql/dws/dws_sales.sql\n    materialisation: table\n",
    );
    insta::assert_snapshot!(invalid(&project(&yaml, DWD, DWS), &[]));
}

#[test]
fn wrong_value_type() {
    let yaml = BASE.replace(
        "name: shop\n",
        "name: shop\nwarehouse:\n  keep_releases: three\n",
    );
    insta::assert_snapshot!(invalid(&project(&yaml, DWD, DWS), &[]));
}

#[test]
fn missing_sql_file() {
    let yaml = BASE.replace("sql/dws/dws_sales.sql", "sql/dws/dws_salez.sql");
    insta::assert_snapshot!(invalid(&project(&yaml, DWD, DWS), &[]));
}

#[test]
fn unknown_table() {
    let dws = DWS.replace("FROM dwd_order", "FROM dwd_orders");
    insta::assert_snapshot!(invalid(&project(BASE, DWD, &dws), &[]));
}

#[test]
fn unknown_column() {
    let dws =
        "SELECT customer_id,\n       SUM(amout) AS total\nFROM dwd_order\nGROUP BY customer_id\n";
    insta::assert_snapshot!(invalid(&project(BASE, DWD, dws), &[]));
}

#[test]
fn type_error() {
    let dws = "SELECT customer_id, SUM(amount) AS total\nFROM dwd_order\nWHERE amount > DATE '2020-01-01'\nGROUP BY customer_id\n";
    let err = invalid(&project(BASE, DWD, dws), &[]);
    assert!(err.starts_with("error: sql/dws/dws_sales.sql:"), "{err}");
}

#[test]
fn sql_syntax_error() {
    let dws = "SELECT customer_id, SUM(amount) AS total\nFROM dwd_order\nGROUP BY BY customer_id\n";
    insta::assert_snapshot!(invalid(&project(BASE, DWD, dws), &[]));
}

#[test]
fn cycle_is_reported_with_its_path() {
    let yaml = format!(
        "{BASE}  - name: dws_a\n    layer: dws\n    sql: sql/dws/dws_a.sql\n  - name: dws_b\n    layer: dws\n    sql: sql/dws/dws_b.sql\n"
    );
    let p = project(&yaml, DWD, "SELECT * FROM dws_b\n");
    p.write("sql/dws/dws_a.sql", "SELECT * FROM dws_sales\n");
    p.write("sql/dws/dws_b.sql", "SELECT * FROM dws_a\n");
    insta::assert_snapshot!(invalid(&p, &[]));
}

#[test]
fn layer_violation() {
    let yaml = format!("{BASE}  - name: dwd_bad\n    layer: dwd\n    sql: sql/dwd/dwd_bad.sql\n");
    let p = project(&yaml, DWD, DWS);
    p.write("sql/dwd/dwd_bad.sql", "SELECT o.order_id\nFROM dwd_order o\n  JOIN dws_sales s ON s.customer_id = o.customer_id\n");
    insta::assert_snapshot!(invalid(&p, &[]));
}

#[test]
fn non_select_statement() {
    let dws = "INSERT INTO dwd_order\nSELECT * FROM dwd_order\n";
    insta::assert_snapshot!(invalid(&project(BASE, DWD, dws), &[]));
}

#[test]
fn bad_ds() {
    let p = project(BASE, DWD, DWS);
    let out = p.strata(&["run", "--ds", "2026-13-01"]);
    assert_eq!(out.code, 1);
    insta::assert_snapshot!(out.stderr);
}

/// A directory name object stores cannot hold (a control character) is refused naming the
/// source whose path holds it, not the warehouse, with the character's place.
#[test]
fn a_tab_in_the_project_path_is_refused_naming_the_source() {
    let p = project(BASE, DWD, DWS);
    p.nest("tab\tx");
    let out = p.strata_in("tab\tx", &["run", "--ds", "2026-11-21"], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("invalid location of source `")
            && out.stderr.contains("tab%09x")
            && out.stderr.contains("control characters"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_memory_ceiling() {
    let p = project(BASE, DWD, DWS);
    let args = |ceiling| {
        vec![
            "run",
            "--ds",
            "2026-11-21",
            "--memory-limit",
            "1GB",
            "--memory-ceiling",
            ceiling,
        ]
    };
    let out = p.strata(&args("512MB"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    // 1 GB = 1073741824 bytes.
    assert!(
        out.stderr.contains(
            "invalid --memory-ceiling `512MB`: must be above the memory limit (1073741824 bytes)"
        ),
        "{}",
        out.stderr
    );
    let out = p.strata(&args("lots"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("invalid --memory-ceiling `lots`"),
        "{}",
        out.stderr
    );
    // A value from the environment is refused under the variable's name, not the flag's.
    let run = ["run", "--ds", "2026-11-21"];
    for var in ["STRATA_MEMORY_LIMIT", "STRATA_MEMORY_CEILING"] {
        let out = p.strata_env(&run, &[(var, "lots")]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        let expected = format!("invalid {var} `lots`");
        assert!(out.stderr.contains(&expected), "{}", out.stderr);
    }
    assert!(!p.path().join("warehouse").join("current").exists());
}

#[test]
fn bad_var() {
    let p = project(BASE, DWD, DWS);
    let out = p.strata(&["validate", "--var", "nope=1"]);
    assert_eq!(out.code, 1);
    insta::assert_snapshot!(out.stderr);
}

#[test]
fn three_problems_are_reported_together() {
    let yaml = BASE
        .replace("    layer: dwd\n", "    layer: dwd\n    tagz: [x]\n")
        .replace("sql/dws/dws_sales.sql", "sql/dws/missing.sql");
    let dwd = DWD.replace("FROM ods_order", "FROM ods_orderz");
    insta::assert_snapshot!(invalid(&project(&yaml, &dwd, DWS), &[]));
}

#[test]
fn literal_secret_is_rejected() {
    let yaml = BASE.replace("name: shop\n", "name: shop\nvars:\n  api_token: abc123\n");
    let err = invalid(&project(&yaml, DWD, DWS), &[]);
    assert!(
        err.contains("pipelines/shop.yaml:3:3: `api_token` holds a literal secret"),
        "{err}"
    );
    assert!(
        !err.contains("abc123"),
        "the secret must not be echoed: {err}"
    );
}

#[test]
fn plan_is_printed_in_order() {
    let p = project(BASE, DWD, DWS);
    let out = p.strata(&["plan", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
    let out = p.strata(&["plan", "--ds", "2026-11-21", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["stages"][1]["inputs"][0], "dwd_order");
}

#[test]
fn declared_columns_are_a_contract() {
    let yaml = BASE.replace(
        "    sql: sql/dws/dws_sales.sql\n",
        "    sql: sql/dws/dws_sales.sql\n    columns: {customer_id: string, total: int, rank: int}\n",
    );
    insta::assert_snapshot!(invalid(&project(&yaml, DWD, DWS), &[]));
}

#[test]
fn identity_section_is_strict_and_located() {
    let yaml =
        format!("{BASE}identity:\n  max_records_per_key: 0\n  placeholder:\n    phones: []\n");
    let err = invalid(&project(&yaml, DWD, DWS), &[]);
    // BASE has 16 lines: `identity:` is line 17.
    assert!(err.contains("pipelines/shop.yaml:18:24"), "{err}");
    assert!(err.contains("max_records_per_key"), "{err}");
    assert!(err.contains("pipelines/shop.yaml:19:3"), "{err}");
    assert!(err.contains("`placeholders`"), "{err}");
}

#[test]
fn engine_section_is_located() {
    let engine = |body: &str| BASE.replace("name: shop\n", &format!("name: shop\nengine:\n{body}"));
    let err = invalid(
        &project(
            &engine("  kind: spark\n  scheduler: df://sched\n"),
            DWD,
            DWS,
        ),
        &[],
    );
    assert!(
        err.contains(
            "pipelines/shop.yaml:3:9: invalid value `spark` for `kind`: expected `embedded` or `ballista`"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "pipelines/shop.yaml:4:14: invalid value `df://sched` for `scheduler`: no port"
        ),
        "{err}"
    );
    for (url, reason) in [
        ("http://sched:50050", "expected df://host:port"),
        ("df://:50050", "`` is not a host name or address"),
        ("df://sched:0", "`0` is not a port (1 to 65535)"),
        (
            "df://user@sched:50050",
            "`user@sched` is not a host name or address",
        ),
    ] {
        let err = invalid(
            &project(
                &engine(&format!("  kind: ballista\n  scheduler: {url}\n")),
                DWD,
                DWS,
            ),
            &[],
        );
        assert!(
            err.contains(&format!(
                "pipelines/shop.yaml:4:14: invalid value `{url}` for `scheduler`: {reason}"
            )),
            "{err}"
        );
    }
    let err = invalid(
        &project(
            &engine("  kind: embedded\n  scheduler: df://sched:50050\n"),
            DWD,
            DWS,
        ),
        &[],
    );
    assert!(
        err.contains("pipelines/shop.yaml:4:14: invalid value `df://sched:50050` for `scheduler`: a scheduler is only used with `kind: ballista`"),
        "{err}"
    );
    let err = invalid(
        &project(
            &engine("  kind: embedded\n  executor_wait_seconds: 30\n"),
            DWD,
            DWS,
        ),
        &[],
    );
    assert!(
        err.contains("pipelines/shop.yaml:4:26: invalid value `30` for `executor_wait_seconds`: an executor wait is only used with `kind: ballista`"),
        "{err}"
    );
    let ballista = "  kind: ballista\n  scheduler: df://sched:50050\n";
    let err = invalid(
        &project(
            &engine(&format!("{ballista}  executor_wait_seconds: 0\n")),
            DWD,
            DWS,
        ),
        &[],
    );
    assert!(
        err.contains("pipelines/shop.yaml:5:26: invalid value `0` for `executor_wait_seconds`: must be at least 1"),
        "{err}"
    );
    let err = invalid(
        &project(
            &engine(&format!("{ballista}  target_partitions: 1\n")),
            DWD,
            DWS,
        ),
        &[],
    );
    assert!(
        err.contains("invalid engine.target_partitions `1`: the Ballista engine needs at least 2"),
        "{err}"
    );
}

/// A stage the Ballista engine cannot run as the embedded engine does (an uncorrelated scalar
/// subquery) is refused by validation whenever the pipeline's engine is Ballista, in any build
/// and without reaching a scheduler, at the subquery column's alias, with the rewrite; the
/// embedded engine runs it.
#[test]
fn scalar_subqueries_are_refused_when_validating_for_the_cluster() {
    let dws = "SELECT customer_id,\n       (SELECT SUM(amount) AS s FROM dwd_order) AS all_sales\nFROM dwd_order\n";
    let cluster = BASE.replace(
        "name: shop\n",
        "name: shop\nengine:\n  kind: ballista\n  scheduler: df://sched.example:50050\n",
    );
    let err = invalid(&project(&cluster, DWD, dws), &[]);
    assert!(
        err.contains("sql/dws/dws_sales.sql:2:31: a scalar subquery") && err.contains("CROSS JOIN"),
        "{err}"
    );
    let out = project(BASE, DWD, dws).strata(&["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The engine chosen by the environment is the one validated for.
    let out = project(BASE, DWD, dws).strata_env(
        &["validate"],
        &[
            ("STRATA_ENGINE", "ballista"),
            ("STRATA_SCHEDULER", "df://sched.example:50050"),
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("sql/dws/dws_sales.sql:2:31"),
        "{}",
        out.stderr
    );
}

/// Asserts `out` is a refusal (exit 1) whose stderr contains `text`.
#[cfg(not(feature = "ballista"))]
fn exits_1_with(out: &util::Output, text: &str) {
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains(text), "{}", out.stderr);
}

/// The engine is chosen at the edge (`--engine` over STRATA_ENGINE over `engine.kind`, the
/// scheduler likewise), and a build without the Ballista engine refuses it before the lock,
/// publishing nothing.
/// Without the `ballista` feature (tests/ballista_cluster.rs covers the engine with it).
#[cfg(not(feature = "ballista"))]
#[test]
fn the_engine_is_chosen_at_the_edge_and_a_missing_one_is_refused() {
    use datafusion::arrow::array::{Decimal128Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let yaml = BASE.replace(
        "name: shop\n",
        "name: shop\nengine:\n  kind: ballista\n  scheduler: df://sched.example:50050\n",
    );
    let p = project(&yaml, DWD, DWS);
    let schema = std::sync::Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Utf8, false),
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("amount", DataType::Decimal128(18, 2), false),
    ]));
    let orders = util::batch(
        schema,
        vec![
            util::arc(StringArray::from(vec!["O1", "O2"])),
            util::arc(StringArray::from(vec!["C1", "C1"])),
            util::arc(
                Decimal128Array::from(vec![1050, 250])
                    .with_precision_and_scale(18, 2)
                    .unwrap(),
            ),
        ],
    );
    p.write_parquet("data/ods/ods_order/ds=2026-11-21/part-0.parquet", &orders);
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["run", "--ds", "2026-11-21", "-q"];
        all.extend_from_slice(args);
        p.strata_env(&all, env)
    };
    let refused = |out: util::Output, scheduler: &str| {
        exits_1_with(
            &out,
            &format!(
                "error: this build of strata has no ballista engine; the run asks for one (scheduler {scheduler})"
            ),
        );
        exits_1_with(
            &out,
            "hint: the ballista engine is not part of this build; run in this process with `--engine embedded`",
        );
        assert!(!p.path().join("warehouse/current").exists());
        assert!(!p.path().join("warehouse/_meta/lock.json").exists());
    };
    refused(run(&[], &[]), "df://sched.example:50050");
    // The environment's scheduler over the file's, the flag over both.
    refused(
        run(&[], &[("STRATA_SCHEDULER", "df://10.0.0.7:50051")]),
        "df://10.0.0.7:50051",
    );
    refused(
        run(
            &["--scheduler", "df://cli-host:6000"],
            &[("STRATA_SCHEDULER", "df://10.0.0.7:50051")],
        ),
        "df://cli-host:6000",
    );
    let out = run(&[], &[("STRATA_SCHEDULER", "df://10.0.0.7")]);
    exits_1_with(&out, "invalid STRATA_SCHEDULER `df://10.0.0.7`: no port");
    let out = run(&["--engine", "sparkle"], &[]);
    exits_1_with(
        &out,
        "invalid --engine `sparkle`: expected `embedded` or `ballista`",
    );
    // A scheduler on the command line with the embedded engine is a mistake, not ignored.
    let out = run(&["--engine", "embedded", "--scheduler", "df://x:1"], &[]);
    exits_1_with(
        &out,
        "invalid --scheduler `df://x:1`: a scheduler is only used with `--engine ballista`",
    );
    // The embedded engine, from the environment and then from the flag, runs the pipeline.
    // A STRATA_SCHEDULER set for every command does not concern the embedded engine.
    let out = run(
        &[],
        &[
            ("STRATA_ENGINE", "embedded"),
            ("STRATA_SCHEDULER", "garbage"),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(
        &["--engine", "embedded", "--force"],
        &[("STRATA_ENGINE", "ballista")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(p.path().join("warehouse/current").exists());
    // Ballista without any scheduler names the three places to give one.
    let p2 = project(
        &BASE.replace("name: shop\n", "name: shop\nengine:\n  kind: ballista\n"),
        DWD,
        DWS,
    );
    let out = p2.strata(&["run", "--ds", "2026-11-21"]);
    exits_1_with(
        &out,
        "invalid engine.kind `ballista`: the Ballista engine needs its scheduler: `--scheduler df://host:50050`, STRATA_SCHEDULER, or `scheduler:` under `engine:` in the pipeline file",
    );
}
