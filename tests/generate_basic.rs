//! The generator's output contract: determinism, exact ODS schemas and layout, complete
//! customer truth, and invalid-row truth that agrees with DOMAIN.md's acceptance rules.

mod generate_support;

use std::collections::{BTreeMap, BTreeSet};

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use generate_support::*;
use strata::generate::{DirtyRates, GenerateError, GenerateOptions, generate_crm};

fn utf8() -> DataType {
    DataType::Utf8
}
fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}
fn money() -> DataType {
    DataType::Decimal128(18, 2)
}

/// DOMAIN.md's ODS section, column by column.
fn expected_columns(table: &str) -> Vec<(&'static str, DataType)> {
    match table {
        "ods_crm_customer" => vec![
            ("crm_id", utf8()),
            ("company_name", utf8()),
            ("contact_name", utf8()),
            ("phone", utf8()),
            ("email", utf8()),
            ("industry", utf8()),
            ("province", utf8()),
            ("city", utf8()),
            ("company_size", utf8()),
            ("customer_type", utf8()),
            ("owner_rep", utf8()),
            ("contact_birthday", DataType::Date32),
            ("created_at", ts()),
            ("updated_at", ts()),
        ],
        "ods_shop_customer" => vec![
            ("shop_uid", utf8()),
            ("display_name", utf8()),
            ("mobile", utf8()),
            ("email", utf8()),
            ("city", utf8()),
            ("registered_at", ts()),
            ("updated_at", ts()),
        ],
        "ods_erp_customer" => vec![
            ("erp_code", utf8()),
            ("legal_name", utf8()),
            ("short_name", utf8()),
            ("tel", utf8()),
            ("industry", utf8()),
            ("province", utf8()),
            ("updated_at", ts()),
        ],
        "ods_order" => vec![
            ("order_id", utf8()),
            ("source_system", utf8()),
            ("source_customer_id", utf8()),
            ("order_time", ts()),
            ("amount", money()),
            ("currency", utf8()),
            ("product_category", utf8()),
            ("status", utf8()),
            ("updated_at", ts()),
        ],
        "ods_interaction" => vec![
            ("interaction_id", utf8()),
            ("crm_id", utf8()),
            ("channel", utf8()),
            ("direction", utf8()),
            ("purpose", utf8()),
            ("occurred_at", ts()),
            ("rep_id", utf8()),
            ("opened", DataType::Boolean),
            ("content", utf8()),
        ],
        "ods_survey" => vec![
            ("response_id", utf8()),
            ("crm_id", utf8()),
            ("survey_type", utf8()),
            ("score", utf8()),
            ("submitted_at", ts()),
            ("comment", utf8()),
        ],
        "ods_contract" => vec![
            ("contract_id", utf8()),
            ("crm_id", utf8()),
            ("start_date", DataType::Date32),
            ("end_date", DataType::Date32),
            ("annual_value", money()),
            ("renewed_from", utf8()),
            ("signed_at", ts()),
        ],
        "ods_product_usage" => vec![
            ("crm_id", utf8()),
            ("usage_date", DataType::Date32),
            ("active_users", DataType::Int32),
            ("events", DataType::Int64),
        ],
        "ods_competitor_signal" => vec![
            ("signal_id", utf8()),
            ("crm_id", utf8()),
            ("competitor", utf8()),
            ("signal_type", utf8()),
            ("detected_at", ts()),
        ],
        "ods_lead" => vec![
            ("lead_id", utf8()),
            ("crm_id", utf8()),
            ("rep_id", utf8()),
            ("first_contact_at", ts()),
        ],
        "ods_cs_plan" => vec![
            ("assignment_id", utf8()),
            ("crm_id", utf8()),
            ("plan", utf8()),
            ("start_date", DataType::Date32),
            ("assigned_at", ts()),
        ],
        other => panic!("unexpected table {other}"),
    }
}

#[test]
fn same_seed_gives_identical_files_and_another_seed_does_not() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let c = tempfile::tempdir().expect("tempdir");
    generate(a.path(), 200, 30, 7, DirtyRates::default());
    generate(b.path(), 200, 30, 7, DirtyRates::default());
    generate(c.path(), 200, 30, 8, DirtyRates::default());
    let (fa, fb, fc) = (files(a.path()), files(b.path()), files(c.path()));
    assert!(
        fa.len() > 100,
        "expected many partition files, got {}",
        fa.len()
    );
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (path, bytes) in &fa {
        assert!(
            fb[path] == *bytes,
            "{} differs between two runs with the same seed",
            path.display()
        );
    }
    let orders = |f: &BTreeMap<std::path::PathBuf, Vec<u8>>| -> Vec<Vec<u8>> {
        f.iter()
            .filter(|(p, _)| p.starts_with("ods/ods_order"))
            .map(|(_, b)| b.clone())
            .collect()
    };
    assert_ne!(
        orders(&fa),
        orders(&fc),
        "a different seed must give different orders"
    );
}

#[test]
fn every_table_has_exactly_its_columns_and_hive_partitions_in_the_window() {
    // 30 days are too few for the plan rollout (it starts 330 to 210 days before the end):
    // ods_cs_plan is empty there and checked on the longer run.
    for (days, empty) in [(30, Some("ods_cs_plan")), (300, None)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let outcome = generate(dir.path(), 200, days, 11, DirtyRates::default());
        check_tables(&dir.path().join("ods"), days, &outcome, empty);
    }
}

fn check_tables(
    ods: &std::path::Path,
    days: u32,
    outcome: &strata::generate::GenerateOutcome,
    empty: Option<&str>,
) {
    let first = epoch_day(end_date()) - days as i32 + 1;
    let last = epoch_day(end_date());
    for table in ODS_TABLES {
        let reported = outcome
            .tables
            .iter()
            .find(|t| t.table == table)
            .expect("outcome lists the table");
        if empty == Some(table) {
            assert!(
                !ods.join(table).exists(),
                "{table} is written in {days} days"
            );
            assert_eq!((reported.rows, reported.files), (0, 0), "{table}");
            continue;
        }
        let parts = partitions(ods, table);
        assert!(
            !parts.is_empty(),
            "{table} has no partitions in {days} days"
        );
        let mut rows = 0;
        for (ds, path) in &parts {
            assert!(
                (first..=last).contains(&epoch_day(*ds)),
                "{table} partition {ds} outside the window"
            );
            assert!(
                path.file_name()
                    .is_some_and(|n| n.to_string_lossy().ends_with(".parquet"))
            );
            let batch = read_file(path);
            assert!(
                batch.num_rows() > 0,
                "{} is an empty partition",
                path.display()
            );
            rows += batch.num_rows() as u64;
            let got: Vec<(String, DataType)> = batch
                .schema()
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().clone()))
                .collect();
            let want: Vec<(String, DataType)> = expected_columns(table)
                .into_iter()
                .map(|(n, t)| (n.to_string(), t))
                .collect();
            assert_eq!(got, want, "{}", path.display());
        }
        assert_eq!(reported.rows, rows, "{table} row count in the outcome");
        assert_eq!(
            reported.files,
            parts.len() as u64,
            "{table} file count in the outcome"
        );
    }
}

#[test]
fn truth_names_every_customer_record_and_every_real_customer() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate(dir.path(), 200, 30, 3, DirtyRates::default());
    let ods = dir.path().join("ods");
    let mut landed = BTreeSet::new();
    for (system, table, col) in [
        ("crm", "ods_crm_customer", "crm_id"),
        ("shop", "ods_shop_customer", "shop_uid"),
        ("erp", "ods_erp_customer", "erp_code"),
    ] {
        for id in read_table(&ods, table).str(col) {
            landed.insert((system.to_string(), id.expect("customer ids are never null")));
        }
    }
    let truth = truth(dir.path(), "customer_truth");
    let named: BTreeSet<(String, String)> = truth
        .iter()
        .map(|(s, id, _)| (s.clone(), id.clone()))
        .collect();
    assert_eq!(
        named.len(),
        truth.len(),
        "each source record appears once in the truth"
    );
    assert_eq!(
        named, landed,
        "truth covers exactly the landed customer records"
    );
    let keys: BTreeSet<&str> = truth.iter().map(|(_, _, k)| k.as_str()).collect();
    assert_eq!(
        keys.len(),
        200,
        "every real customer has at least one source record"
    );
    assert!(keys.iter().all(|k| k.starts_with('T')));
    // Some real customers are known to several sources, so deduplication has work to do.
    let mut per_key: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, k) in &truth {
        *per_key.entry(k).or_default() += 1;
    }
    assert!(per_key.values().filter(|n| **n >= 2).count() > 40);
}

#[test]
fn clean_data_has_no_invalid_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate(dir.path(), 200, 30, 5, DirtyRates::clean());
    assert!(truth(dir.path(), "invalid_rows").is_empty());
    assert_eq!(expected_rejects(&dir.path().join("ods")), BTreeSet::new());
    // And no record lands twice: without dirt every id is unique.
    let orders = read_table(&dir.path().join("ods"), "ods_order").str("order_id");
    let distinct: BTreeSet<_> = orders.iter().collect();
    assert_eq!(distinct.len(), orders.len());
}

#[test]
fn invalid_row_truth_matches_the_acceptance_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Raise the fact dirt so every reason code shows up in a small run.
    let dirty = DirtyRates {
        orphan_order: 0.02,
        negative_amount: 0.02,
        future_order: 0.02,
        unknown_currency: 0.02,
        duplicate_order: 0.05,
        order_status_change: 0.1,
        null_customer_ref: 0.02,
        unknown_customer_ref: 0.02,
        ..DirtyRates::default()
    };
    generate(dir.path(), 300, 60, 9, dirty);
    let truth: BTreeSet<(String, String, String)> =
        truth(dir.path(), "invalid_rows").into_iter().collect();
    let expected = expected_rejects(&dir.path().join("ods"));
    let reasons: BTreeSet<&str> = truth.iter().map(|(_, _, r)| r.as_str()).collect();
    for reason in [
        "null_key",
        "orphan_customer",
        "future_event",
        "negative_amount",
        "unknown_currency",
        "invalid_score",
    ] {
        assert!(reasons.contains(reason), "no {reason} in the truth");
    }
    let missing: Vec<_> = expected.difference(&truth).take(5).collect();
    let extra: Vec<_> = truth.difference(&expected).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing from truth {missing:?}, not rejected {extra:?}"
    );
}

#[test]
fn bad_options_are_reported_with_their_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = GenerateOptions {
        customers: 0,
        days: 10,
        end_date: end_date(),
        seed: 1,
        ods_dir: dir.path().join("ods"),
        truth_dir: dir.path().join("truth"),
        dirty: DirtyRates::default(),
        progress: false,
    };
    let err = generate_crm(&opts).expect_err("zero customers is invalid");
    assert!(
        matches!(
            err,
            GenerateError::InvalidOptions {
                option: "customers",
                ..
            }
        ),
        "{err}"
    );
    opts.customers = 10;
    opts.dirty.negative_amount = 1.5;
    let err = generate_crm(&opts).expect_err("a rate above one is invalid");
    assert!(
        matches!(
            err,
            GenerateError::InvalidOptions {
                option: "dirty.negative_amount",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        !dir.path().join("ods").exists(),
        "nothing is written for invalid options"
    );
}

#[test]
fn tiny_runs_work_and_report_every_table() {
    for (customers, days) in [(1, 1), (3, 2), (25, 7)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let outcome = generate(dir.path(), customers, days, 1, DirtyRates::default());
        let names: Vec<&str> = outcome.tables.iter().map(|t| t.table.as_str()).collect();
        let mut want: Vec<&str> = ODS_TABLES.to_vec();
        want.extend(["customer_truth", "invalid_rows"]);
        assert_eq!(names, want);
        let keys: BTreeSet<String> = truth(dir.path(), "customer_truth")
            .into_iter()
            .map(|(_, _, k)| k)
            .collect();
        assert_eq!(keys.len(), customers);
        for t in &outcome.tables[..ODS_TABLES.len()] {
            let exists = dir.path().join("ods").join(&t.table).exists();
            assert_eq!(
                exists,
                t.rows > 0,
                "{} directory exists exactly when it has rows",
                t.table
            );
        }
    }
}
