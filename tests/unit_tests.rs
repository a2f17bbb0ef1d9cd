//! `strata test`: the bundled pipeline's stage unit tests pass, and the runner itself compares,
//! reports and refuses as documented (on the mini pipeline, expectations computed by hand).

mod util;

use util::mini::mini_project;

const CITY_TEST: &str = r#"# ads_city_sales groups today's customer sales by city.
stage: ads_city_sales
tests:
  - name: sums_by_city
    ds: 2026-11-21
    given:
      dwd_customer:
        - {customer_id: C1, city: Beijing}
        - {customer_id: C2, city: Beijing}
        - {customer_id: C3, city: Shanghai}
      dws_customer_sales:
        - {ds: 2026-11-21, customer_id: C1, paid_orders: 1, paid_amount: 100.5}
        - {ds: 2026-11-21, customer_id: C2, paid_orders: 2, paid_amount: 20.25}
        - {ds: 2026-11-21, customer_id: C3, paid_orders: 3, paid_amount: 0.3333333333}
        - {ds: 2026-11-20, customer_id: C3, paid_orders: 9, paid_amount: 1000}
    expect:
      - {city: Shanghai, customers: 1, paid_amount: 0.33}
      - {city: Beijing, customers: 2, paid_amount: 120.75}
"#;

#[test]
fn the_bundled_unit_tests_pass() {
    let p = util::ods::crm_project();
    util::crm_fixture::copy_tree(
        &util::repo_root().join("tests/stages"),
        &p.path().join("tests/stages"),
    );
    let out = p.strata(&["test", "--format", "json"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let files = std::fs::read_dir(util::repo_root().join("tests/stages"))
        .unwrap()
        .count();
    assert!(files >= 6, "{files} unit test files");
    assert_eq!(v["failed"], 0, "{v:#}");
    assert!(v["passed"].as_u64().unwrap() >= files as u64, "{v:#}");
}

#[test]
fn matching_rows_pass_in_any_order_and_floats_compare_to_the_written_decimals() {
    let p = mini_project();
    p.write("tests/stages/ads_city_sales.yaml", CITY_TEST);
    let out = p.strata(&["test"]);
    // Beijing: 100.5 + 20.25 = 120.75 over 2 customers; Shanghai: 0.3333333333 written as 0.33;
    // the 2026-11-20 row is another day's and not counted.
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("PASS  ads_city_sales › sums_by_city"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("1 passed, 0 failed"), "{}", out.stdout);
}

#[test]
fn a_wrong_expectation_prints_a_row_diff_and_fails() {
    let p = mini_project();
    let wrong = CITY_TEST.replace(
        "customers: 2, paid_amount: 120.75",
        "customers: 2, paid_amount: 120.6",
    ) + "    ordered: true\n";
    p.write("tests/stages/ads_city_sales.yaml", &wrong);
    let out = p.strata(&["test"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let s = &out.stdout;
    assert!(s.contains("FAIL  ads_city_sales › sums_by_city"), "{s}");
    // 120.75 is not 120.6 to one decimal; with `ordered: true` a row in another place also
    // fails, so the Beijing line is reported missing with its place in the file whatever order
    // the GROUP BY gives.
    assert!(
        s.contains("- {city: Beijing, customers: 2, paid_amount: 120.6}  (tests/stages/ads_city_sales.yaml:18:9)"),
        "{s}"
    );
    assert!(
        s.contains("+ {city: Beijing, customers: 2, paid_amount: 120.75}"),
        "{s}"
    );
    assert!(s.contains("0 passed, 1 failed"), "{s}");
}

#[test]
fn bad_test_files_and_values_are_located() {
    let p = mini_project();
    p.write(
        "tests/stages/ads_city_sales.yaml",
        "stage: ads_city_sale\ntests:\n  - name: a\n    expct: []\n",
    );
    let out = p.strata(&["test"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("tests/stages/ads_city_sales.yaml:4:5: unknown key `expct`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `expect`?"),
        "{}",
        out.stderr
    );

    p.write(
        "tests/stages/ads_city_sales.yaml",
        "stage: ads_city_sale\ntests:\n  - name: a\n    expect: []\n",
    );
    let out = p.strata(&["test"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("tests/stages/ads_city_sales.yaml:1:8")
            && out.stderr.contains("did you mean `ads_city_sales`?"),
        "{}",
        out.stderr
    );

    // A value that is not of its column's type, and a table the stage does not read.
    let bad = CITY_TEST.replace("paid_orders: 2,", "paid_orders: two,");
    p.write("tests/stages/ads_city_sales.yaml", &bad);
    let out = p.strata(&["test"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("tests/stages/ads_city_sales.yaml:13:58: `two` is not a valid bigint for column `paid_orders`"),
        "{}",
        out.stdout
    );
    let bad = CITY_TEST.replace("      dwd_customer:\n", "      dwd_order:\n");
    p.write("tests/stages/ads_city_sales.yaml", &bad);
    let out = p.strata(&["test"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains(
            "tests/stages/ads_city_sales.yaml:7:7: stage `ads_city_sales` does not read `dwd_order`"
        ),
        "{}",
        out.stdout
    );
    // A test of a stage that reads $ds must say which day.
    let bad = CITY_TEST.replace("    ds: 2026-11-21\n", "");
    p.write("tests/stages/ads_city_sales.yaml", &bad);
    let out = p.strata(&["test"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("the stage reads $ds; set `ds:` in the test"),
        "{}",
        out.stdout
    );
}

/// A unit test file for the `strata init` project's dwd_order / dws_customer_sales stages.
fn init_project_with(tests: &str) -> (util::Project, std::path::PathBuf) {
    let p = util::Project::new();
    assert_eq!(p.strata(&["init", "shop"]).code, 0);
    let dir = p.path().join("shop");
    std::fs::write(dir.join("tests/stages/extra.yaml"), tests).unwrap();
    (p, dir)
}

fn strata_in(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), text)
}

#[test]
fn values_keep_their_written_form_and_lossy_ones_are_refused() {
    // dwd_order: order_date = business_date(order_time) in Asia/Shanghai; 16:30Z is 00:30 on the
    // next day there. `007` stays text in a string column; 1.0 is compared to one decimal.
    let (_p, dir) = init_project_with(
        r#"stage: dwd_order
tests:
  - name: text_and_zones
    ds: 2026-11-21
    given:
      ods_order:
        - {order_id: 007, customer_id: C1, amount: 10.50, status: paid, order_time: "2026-11-20T16:30:00Z", updated_at: "2026-11-20T16:30:00Z", ds: 2026-11-20}
    expect:
      - {order_id: "007", order_date: 2026-11-21, amount: 10.5}
"#,
    );
    let (code, out) = strata_in(&dir, &["test", "dwd_order"]);
    assert_eq!(code, 0, "{out}");

    // A decimal with more decimals than the column keeps is refused, not rounded.
    let (_p, dir) = init_project_with(
        r#"stage: dwd_order
tests:
  - name: rounding
    ds: 2026-11-21
    given:
      ods_order:
        - {order_id: O1, customer_id: C1, amount: 0.005, status: paid, order_time: "2026-11-20T01:00:00Z", ds: 2026-11-20}
    expect: []
"#,
    );
    let (code, out) = strata_in(&dir, &["test", "dwd_order"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "extra.yaml:7:51: `0.005` has more decimals than column `amount` (decimal(18,2)) keeps"
        ),
        "{out}"
    );

    // A timestamp without a zone is refused (the source declares no naive_timestamps).
    let (_p, dir) = init_project_with(
        r#"stage: dwd_order
tests:
  - name: naive
    ds: 2026-11-21
    given:
      ods_order:
        - {order_id: O1, customer_id: C1, order_time: "2026-11-20T16:30:00", ds: 2026-11-20}
    expect: []
"#,
    );
    let (code, out) = strata_in(&dir, &["test", "dwd_order"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("`2026-11-20T16:30:00` has no time zone"),
        "{out}"
    );
}

#[test]
fn rows_pair_by_matching_and_order_only_differences_say_so() {
    // dws_customer_sales over C1 (1.00 paid) and C3 (1.00 paid). The first expected row names
    // only the amount: a greedy pairing would give it C1 and then miss C1 for the second row.
    let (_p, dir) = init_project_with(
        r#"stage: dws_customer_sales
tests:
  - name: matching
    ds: 2026-11-21
    given:
      dwd_order:
        - {order_id: O1, customer_id: C1, amount: 1.00, status: paid, order_date: 2026-11-20}
        - {order_id: O3, customer_id: C3, amount: 1.00, status: paid, order_date: 2026-11-20}
    expect:
      - {paid_amount: 1}
      - {customer_id: C1, paid_amount: 1}
  - name: order
    ds: 2026-11-21
    ordered: true
    given:
      dwd_order:
        - {order_id: O1, customer_id: C1, amount: 1.00, status: paid, order_date: 2026-11-20}
    expect:
      - {customer_id: C1, paid_orders: 1}
      - {customer_id: C1, paid_orders: 1}
  - name: expect_nothing
    ds: 2026-11-21
    given:
      dwd_order:
        - {order_id: O1, customer_id: C1, amount: 1.00, status: paid, order_date: 2026-11-20}
    expect: []
"#,
    );
    let (code, out) = strata_in(&dir, &["test", "dws_customer_sales"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("PASS  dws_customer_sales › matching"), "{out}");
    // One output row for two expected: the missing one is named; nothing about order.
    assert!(out.contains("FAIL  dws_customer_sales › order"), "{out}");
    // With no expected columns, the produced row is shown whole.
    assert!(
        out.contains("+ {ds: 2026-11-21, customer_id: C1, paid_orders: 1, paid_amount: 1.00}"),
        "{out}"
    );

    // Unknown stage, a stage without tests, and a duplicate name across files.
    let (code, out) = strata_in(&dir, &["test", "dws_customer_sale"]);
    assert_eq!(code, 1);
    assert!(out.contains("did you mean `dws_customer_sales`?"), "{out}");
    let (code, out) = strata_in(&dir, &["test", "ads_top_customers"]);
    assert_eq!(code, 1);
    assert!(out.contains("it has no unit tests"), "{out}");
    std::fs::write(
        dir.join("tests/stages/more.yaml"),
        "stage: dws_customer_sales\ntests:\n  - name: matching\n    ds: 2026-11-21\n    expect: []\n",
    )
    .unwrap();
    let (code, out) = strata_in(&dir, &["test"]);
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "tests/stages/more.yaml:3:11: duplicate unit test of `dws_customer_sales` `matching`"
        ),
        "{out}"
    );
}
