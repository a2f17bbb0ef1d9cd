//! Helpers for tests of the bundled pipeline's DWS and ADS layers: ODS tables written row by row
//! with dates relative to the run date, and an independent reader over a whole warehouse.
//!
//! Row cells are text: `NULL` is a null; in timestamp columns `t-N` is 10:00 Shanghai time
//! (02:00 UTC) on the business date N days before [`DS`]; in date columns `d-N` / `d+N` are the
//! dates N days before / after [`DS`]. Everything else is the literal value.

use std::path::Path;

use chrono::{Duration, NaiveDate};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use super::Project;
use super::ods::{Col, land_file};

/// The run date of the fixtures.
pub const DS: &str = "2026-11-21";

/// A column type of an ODS table.
#[derive(Clone, Copy)]
pub enum Kind {
    Str,
    Ts,
    Date,
    Dec,
    Bool,
    I32,
    I64,
}

use Kind::*;

/// ODS column layouts, as DOMAIN.md and pipelines/crm.yaml declare them.
pub const CRM_CUSTOMER: &[(&str, Kind)] = &[
    ("crm_id", Str),
    ("company_name", Str),
    ("contact_name", Str),
    ("phone", Str),
    ("email", Str),
    ("industry", Str),
    ("province", Str),
    ("city", Str),
    ("company_size", Str),
    ("customer_type", Str),
    ("owner_rep", Str),
    ("contact_birthday", Date),
    ("created_at", Ts),
    ("updated_at", Ts),
];
pub const SHOP_CUSTOMER: &[(&str, Kind)] = &[
    ("shop_uid", Str),
    ("display_name", Str),
    ("mobile", Str),
    ("email", Str),
    ("city", Str),
    ("registered_at", Ts),
    ("updated_at", Ts),
];
pub const ERP_CUSTOMER: &[(&str, Kind)] = &[
    ("erp_code", Str),
    ("legal_name", Str),
    ("short_name", Str),
    ("tel", Str),
    ("industry", Str),
    ("province", Str),
    ("updated_at", Ts),
];
pub const ORDER: &[(&str, Kind)] = &[
    ("order_id", Str),
    ("source_system", Str),
    ("source_customer_id", Str),
    ("order_time", Ts),
    ("amount", Dec),
    ("currency", Str),
    ("product_category", Str),
    ("status", Str),
    ("updated_at", Ts),
];
pub const INTERACTION: &[(&str, Kind)] = &[
    ("interaction_id", Str),
    ("crm_id", Str),
    ("channel", Str),
    ("direction", Str),
    ("purpose", Str),
    ("occurred_at", Ts),
    ("rep_id", Str),
    ("opened", Bool),
    ("content", Str),
];
pub const SURVEY: &[(&str, Kind)] = &[
    ("response_id", Str),
    ("crm_id", Str),
    ("survey_type", Str),
    ("score", Str),
    ("submitted_at", Ts),
    ("comment", Str),
];
pub const CONTRACT: &[(&str, Kind)] = &[
    ("contract_id", Str),
    ("crm_id", Str),
    ("start_date", Date),
    ("end_date", Date),
    ("annual_value", Dec),
    ("renewed_from", Str),
    ("signed_at", Ts),
];
pub const PRODUCT_USAGE: &[(&str, Kind)] = &[
    ("crm_id", Str),
    ("usage_date", Date),
    ("active_users", I32),
    ("events", I64),
];
pub const COMPETITOR_SIGNAL: &[(&str, Kind)] = &[
    ("signal_id", Str),
    ("crm_id", Str),
    ("competitor", Str),
    ("signal_type", Str),
    ("detected_at", Ts),
];
pub const LEAD: &[(&str, Kind)] = &[
    ("lead_id", Str),
    ("crm_id", Str),
    ("rep_id", Str),
    ("first_contact_at", Ts),
];

fn ds() -> NaiveDate {
    NaiveDate::parse_from_str(DS, "%Y-%m-%d").unwrap()
}

/// `d-N` / `d+N` relative to [`DS`], else the text itself.
fn date_text(cell: &str) -> String {
    let offset = |sign: i64, n: &str| {
        (ds() + Duration::days(sign * n.parse::<i64>().unwrap()))
            .format("%Y-%m-%d")
            .to_string()
    };
    if let Some(n) = cell.strip_prefix("d-") {
        offset(-1, n)
    } else if let Some(n) = cell.strip_prefix("d+") {
        offset(1, n)
    } else {
        cell.to_string()
    }
}

/// `t-N`: 02:00 UTC (10:00 in Shanghai) N days before [`DS`], else the text itself.
fn ts_text(cell: &str) -> String {
    match cell.strip_prefix("t-") {
        Some(n) => format!("{}T02:00:00Z", date_text(&format!("d-{n}"))),
        None => cell.to_string(),
    }
}

/// Land `rows` (cells in the order of `layout`) as `data/ods/<table>/ds=<DS>/part-0.parquet`.
pub fn land_rows(p: &Project, table: &str, layout: &[(&str, Kind)], rows: &[&[&str]]) {
    land_rows_at(p, table, layout, DS, "part-0", rows);
}

/// Land `rows` as `data/ods/<table>/ds=<ds>/<file>.parquet`.
pub fn land_rows_at(
    p: &Project,
    table: &str,
    layout: &[(&str, Kind)],
    ds: &str,
    file: &str,
    rows: &[&[&str]],
) {
    for r in rows {
        assert_eq!(
            r.len(),
            layout.len(),
            "{table}: row {r:?} has the wrong width"
        );
    }
    // Cells rewritten to absolute values, kept alive for the borrowed columns below.
    let cells: Vec<Vec<Option<String>>> = layout
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| {
            rows.iter()
                .map(|r| match r[i] {
                    "NULL" => None,
                    c => Some(match kind {
                        Ts => ts_text(c),
                        Date => date_text(c),
                        _ => c.to_string(),
                    }),
                })
                .collect()
        })
        .collect();
    let columns = layout
        .iter()
        .zip(&cells)
        .map(|((name, kind), values)| {
            let text = || values.iter().map(|v| v.as_deref()).collect::<Vec<_>>();
            let col = match kind {
                Str => Col::Str(text()),
                Ts => Col::Ts(text()),
                Date => Col::Date(text()),
                Dec => Col::Dec(text()),
                Bool => Col::Bool(text().iter().map(|v| v.map(|b| b == "true")).collect()),
                I32 => Col::I32(
                    text()
                        .iter()
                        .map(|v| v.map(|x| x.parse().unwrap()))
                        .collect(),
                ),
                I64 => Col::I64(
                    text()
                        .iter()
                        .map(|v| v.map(|x| x.parse().unwrap()))
                        .collect(),
                ),
            };
            (*name, col)
        })
        .collect();
    land_file(p, table, ds, file, columns);
}

/// A copy of the bundled project (pipeline, SQL, sample data) in a throwaway directory.
pub fn bundled_copy() -> Project {
    let p = Project::new();
    for dir in ["pipelines", "sql", "data"] {
        copy_tree(&super::repo_root().join(dir), &p.path().join(dir));
    }
    p
}

/// Copy a directory tree (projects may not reach outside their directory, so no symlinks).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Every published table of the warehouse at `root` (`<root>/<layer>/<table>/`), registered under
/// its own name in a fresh DataFusion context, hive partitions `ds=` as a `DATE` column.
pub async fn warehouse_context(root: &Path) -> SessionContext {
    let ctx = SessionContext::new();
    for layer in ["dwd", "dws", "ads"] {
        let Ok(tables) = std::fs::read_dir(root.join(layer)) else {
            continue;
        };
        for t in tables {
            let t = t.unwrap();
            let dir = t.path();
            let hive = std::fs::read_dir(&dir)
                .unwrap()
                .any(|e| e.unwrap().file_name().to_string_lossy().starts_with("ds="));
            let mut options = ParquetReadOptions::default();
            if hive {
                options = options.table_partition_cols(vec![("ds".to_string(), DataType::Date32)]);
            }
            let name = t.file_name().to_string_lossy().into_owned();
            ctx.register_parquet(&name, &format!("{}/", dir.display()), options)
                .await
                .unwrap();
        }
    }
    ctx
}

/// Rows of `query` as `a | b | c` lines, NULL for nulls.
pub async fn rows(ctx: &SessionContext, query: &str) -> Vec<String> {
    let batches = ctx
        .sql(query)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .collect()
        .await
        .unwrap();
    lines(&batches)
}

pub fn lines(batches: &[RecordBatch]) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in batches {
        let formatters: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..b.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect();
            out.push(cells.join(" | "));
        }
    }
    out
}

/// Column names and Arrow types of a table as `name: Type` lines, read from the footer of one of
/// its Parquet files (the schema the writer stored; hive partition columns are not in files).
pub fn file_schema_lines(table_dir: &Path) -> Vec<String> {
    let file = first_parquet(table_dir).unwrap_or_else(|| panic!("no Parquet under {table_dir:?}"));
    let reader = std::fs::File::open(file).unwrap();
    let builder =
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(reader)
            .unwrap();
    builder
        .schema()
        .fields()
        .iter()
        .map(|f| format!("{}: {}", f.name(), f.data_type()))
        .collect()
}

fn first_parquet(dir: &Path) -> Option<std::path::PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries.iter().find_map(|p| {
        if p.is_dir() {
            first_parquet(p)
        } else {
            (p.extension().is_some_and(|e| e == "parquet")).then(|| p.clone())
        }
    })
}

/// The contract schemas of the ADS tables (DOMAIN.md), in column order, without the hive `ds`
/// column of partitioned tables. DATE = Date32, STRING = Utf8, INT = Int32, BIGINT = Int64,
/// DOUBLE = Float64.
/// A table's name, whether it is partitioned by ds, and its columns with their Arrow types.
pub type TableSchema = (&'static str, bool, &'static [(&'static str, &'static str)]);

pub const ADS_SCHEMAS: &[TableSchema] = &[
    (
        "ads_customer_preference",
        true,
        &[
            ("customer_id", "Utf8"),
            ("product_category", "Utf8"),
            ("spend_cny", "Float64"),
            ("spend_share", "Float64"),
            ("category_rank", "Int32"),
            ("is_top_category", "Boolean"),
            ("next_category", "Utf8"),
        ],
    ),
    (
        "ads_rfm_score",
        true,
        &[
            ("customer_id", "Utf8"),
            ("recency_days", "Int32"),
            ("frequency_365d", "Int64"),
            ("monetary_365d", "Float64"),
            ("r_norm", "Float64"),
            ("f_norm", "Float64"),
            ("m_norm", "Float64"),
            ("rfm_score", "Float64"),
            ("r_quintile", "Int32"),
            ("f_quintile", "Int32"),
            ("m_quintile", "Int32"),
            ("value_tier", "Utf8"),
            ("rfm_segment", "Utf8"),
            ("high_activity_value", "Boolean"),
            ("wake_up_plan", "Boolean"),
        ],
    ),
    (
        "ads_nps_csat_monthly",
        false,
        &[
            ("month", "Date32"),
            ("dimension", "Utf8"),
            ("dimension_value", "Utf8"),
            ("nps_responses", "Int64"),
            ("promoters", "Int64"),
            ("passives", "Int64"),
            ("detractors", "Int64"),
            ("nps", "Float64"),
            ("csat_responses", "Int64"),
            ("csat_satisfied", "Int64"),
            ("csat", "Float64"),
            ("csat_avg", "Float64"),
        ],
    ),
    (
        "ads_churn_warning",
        true,
        &[
            ("customer_id", "Utf8"),
            ("warning_level", "Utf8"),
            ("reasons", "Utf8"),
            ("usage_30d", "Int64"),
            ("usage_prev_30d", "Int64"),
            ("usage_change_pct", "Float64"),
            ("days_since_interaction", "Int32"),
            ("contract_end_date", "Date32"),
            ("recommended_action", "Utf8"),
        ],
    ),
    (
        "ads_customer_profile",
        true,
        &[
            ("customer_id", "Utf8"),
            ("company_name", "Utf8"),
            ("contact_name_masked", "Utf8"),
            ("phone_masked", "Utf8"),
            ("email_masked", "Utf8"),
            ("industry", "Utf8"),
            ("province", "Utf8"),
            ("city", "Utf8"),
            ("company_size", "Utf8"),
            ("customer_type", "Utf8"),
            ("source_ids", "Utf8"),
            ("first_order_date", "Date32"),
            ("last_order_date", "Date32"),
            ("lifetime_orders", "Int64"),
            ("lifetime_amount_cny", "Float64"),
            ("rfm_score", "Float64"),
            ("value_tier", "Utf8"),
            ("rfm_segment", "Utf8"),
            ("latest_nps", "Int32"),
            ("csat_avg_90d", "Float64"),
            ("last_interaction_date", "Date32"),
            ("interactions_30d", "Int64"),
            ("top_intent_90d", "Utf8"),
            ("warning_level", "Utf8"),
        ],
    ),
    (
        "ads_followup_compliance",
        false,
        &[
            ("month", "Date32"),
            ("rep_id", "Utf8"),
            ("leads", "Int64"),
            ("thanks_3h", "Int64"),
            ("thanks_3h_rate", "Float64"),
            ("needs_7d", "Int64"),
            ("needs_7d_rate", "Float64"),
            ("solution_21d", "Int64"),
            ("solution_21d_rate", "Float64"),
            ("pending", "Int64"),
        ],
    ),
    (
        "ads_followup_reminder",
        true,
        &[
            ("customer_id", "Utf8"),
            ("reminder_type", "Utf8"),
            ("due_date", "Date32"),
            ("owner_rep", "Utf8"),
            ("detail", "Utf8"),
        ],
    ),
    (
        "ads_churn_risk",
        true,
        &[
            ("customer_id", "Utf8"),
            ("churn_probability", "Float64"),
            ("risk_band", "Utf8"),
            ("top_feature_1", "Utf8"),
            ("top_feature_2", "Utf8"),
            ("top_feature_3", "Utf8"),
            ("model_id", "Utf8"),
        ],
    ),
    (
        "ads_sales_forecast",
        true,
        &[
            ("category", "Utf8"),
            ("month", "Date32"),
            ("forecast", "Float64"),
            ("lower_80", "Float64"),
            ("upper_80", "Float64"),
            ("lower_95", "Float64"),
            ("upper_95", "Float64"),
            ("model", "Utf8"),
            ("backtest_mape", "Float64"),
            ("backtest_months", "Int64"),
        ],
    ),
    (
        "ads_cs_plan_experiment",
        false,
        &[
            ("plan", "Utf8"),
            ("months_since_start", "Int64"),
            ("customers", "Int64"),
            ("nps_responses", "Int64"),
            ("nps", "Float64"),
            ("nps_low", "Float64"),
            ("nps_high", "Float64"),
            ("renewal_customers", "Int64"),
            ("renewal_rate", "Float64"),
            ("renewal_rate_low", "Float64"),
            ("renewal_rate_high", "Float64"),
            ("nps_diff", "Float64"),
            ("nps_diff_low", "Float64"),
            ("nps_diff_high", "Float64"),
            ("nps_p_value", "Float64"),
            ("renewal_rate_diff", "Float64"),
            ("renewal_rate_diff_low", "Float64"),
            ("renewal_rate_diff_high", "Float64"),
            ("renewal_rate_p_value", "Float64"),
            ("decision", "Utf8"),
        ],
    ),
    (
        "ads_customer_health_monthly",
        false,
        &[
            ("month", "Date32"),
            ("active_customers", "Int64"),
            ("nps", "Float64"),
            ("csat", "Float64"),
            ("renewal_rate", "Float64"),
            ("cross_sell_rate", "Float64"),
        ],
    ),
];

/// Assert that every ADS table of the warehouse at `root` has exactly its contract schema, and
/// that exactly the partitioned ones are stored as hive partitions `ds=<ds>/`. All differences
/// are shown at once.
pub fn assert_ads_schemas(root: &Path, ds: &str) {
    let mut found = Vec::new();
    let mut expected = Vec::new();
    for (table, partitioned, columns) in ADS_SCHEMAS {
        let dir = root.join("ads").join(table);
        expected.push(format!("{table} (partitioned: {partitioned})"));
        expected.extend(columns.iter().map(|(n, t)| format!("  {n}: {t}")));
        found.push(format!(
            "{table} (partitioned: {})",
            dir.join(format!("ds={ds}")).is_dir()
        ));
        found.extend(
            file_schema_lines(&dir)
                .into_iter()
                .map(|c| format!("  {c}")),
        );
    }
    assert_eq!(
        found.join("\n"),
        expected.join("\n"),
        "ADS schemas differ from the contract"
    );
}
