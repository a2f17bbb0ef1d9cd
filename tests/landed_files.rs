//! Files as real tools land them (pandas/pyarrow, Spark, JDBC exports, Excel): read right, or
//! refused naming file, column, directory or line, with the previous release byte-identical.
//!
//! The project is small: orders (declared columns, key `order_id`) and a CSV rate seed feed one
//! DWD stage. Expected values are computed by hand in each test.

mod util;

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Decimal128Array, Int32Array, Int64Array, NullArray, StringArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use util::{Project, pretty, query_dir};

const PIPELINE: &str = r#"
name: landed
warehouse: ./warehouse
timezone: Asia/Shanghai
sources:
  - name: ods_order
    location: data/ods/ods_order
    partitions: {ds: date}
    key: [order_id]
    columns:
      order_id: string
      amount: decimal(18,2)
      currency: string
      qty: int
      note: string
      order_time: timestamp
  - name: seed_fx
    location: data/seeds/fx.csv
    format: csv
    key: [currency]
    columns:
      currency: string
      rate: decimal(18,4)
      label: string
    checks:
      - unique: [currency]
      - expression: "rate > 0 AND CAST(rate AS DOUBLE) < 1e9"
        name: rate_is_finite_and_positive
stages:
  - name: dwd_order
    layer: dwd
    sql: sql/dwd_order.sql
"#;

const SQL: &str = "SELECT o.order_id, o.amount * f.rate AS amount_cny, o.qty, o.note, \
business_date(o.order_time) AS order_date, f.label, o.ds\nFROM ods_order o\n\
LEFT JOIN seed_fx f ON f.currency = o.currency\nWHERE o.ds <= $ds\n";

fn project() -> Project {
    let p = Project::new();
    p.write("pipelines/landed.yaml", PIPELINE);
    p.write("sql/dwd_order.sql", SQL);
    p.write(
        "data/seeds/fx.csv",
        "currency,rate,label\nCNY,1,人民币\nUSD,7.2,美元\n",
    );
    p
}

fn utc(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .timestamp_micros()
}

/// The plain orders file: lower-case names and exactly the declared types.
fn orders(names: [&str; 6]) -> (Arc<Schema>, Vec<ArrayRef>) {
    let schema = Arc::new(Schema::new(vec![
        Field::new(names[0], DataType::Utf8, true),
        Field::new(names[1], DataType::Decimal128(18, 2), true),
        Field::new(names[2], DataType::Utf8, true),
        Field::new(names[3], DataType::Int32, true),
        Field::new(names[4], DataType::Utf8, true),
        Field::new(
            names[5],
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["O1", "O2"])),
        Arc::new(
            Decimal128Array::from(vec![10050, 200])
                .with_precision_and_scale(18, 2)
                .unwrap(),
        ),
        Arc::new(StringArray::from(vec!["USD", "CNY"])),
        Arc::new(Int32Array::from(vec![1, 2])),
        Arc::new(StringArray::from(vec![Some("a"), None])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![
                utc("2026-11-20T02:00:00Z"),
                utc("2026-11-20T15:59:59Z"),
            ])
            .with_timezone("UTC"),
        ),
    ];
    (schema, cols)
}

/// The fields of a schema, to change one of them.
fn fields_of(s: &Schema) -> Vec<Field> {
    s.fields().iter().map(|f| f.as_ref().clone()).collect()
}

const LOWER: [&str; 6] = [
    "order_id",
    "amount",
    "currency",
    "qty",
    "note",
    "order_time",
];

fn land(p: &Project, ds: &str, file: &str, schema: Arc<Schema>, cols: Vec<ArrayRef>) {
    let b = util::batch(schema, cols);
    p.write_parquet(&format!("data/ods/ods_order/ds={ds}/{file}"), &b);
}

/// The published rows of dwd_order, sorted.
async fn published(p: &Project) -> String {
    pretty(
        &query_dir(
            &p.path().join("warehouse/dwd/dwd_order"),
            "SELECT order_id, CAST(amount_cny AS VARCHAR) AS amount_cny, qty, note, \
             CAST(order_date AS VARCHAR) AS order_date, label FROM t ORDER BY order_id",
        )
        .await,
    )
}

/// Every file of the current release with its bytes, to prove a refused run changed nothing.
fn release_bytes(p: &Project) -> Vec<(String, Vec<u8>)> {
    let root = std::fs::canonicalize(p.path().join("warehouse/current")).unwrap();
    let mut out = Vec::new();
    let mut todo = vec![root.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let rel = path.strip_prefix(&root).unwrap().display().to_string();
                out.push((rel, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out.push(("current ->".into(), root.display().to_string().into_bytes()));
    out
}

/// A project with a good release for 2026-11-20; returns the release's bytes.
fn with_release() -> (Project, Vec<(String, Vec<u8>)>) {
    let p = project();
    let (s, c) = orders(LOWER);
    land(&p, "2026-11-20", "part-0.parquet", s, c);
    let out = p.strata(&["run", "--ds", "2026-11-20", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let bytes = release_bytes(&p);
    (p, bytes)
}

/// Hand-computed: O1 100.50 USD x 7.2 = 723.6000 on 2026-11-20 (02:00Z is 10:00 Shanghai);
/// O2 2.00 CNY x 1 = 2.0000, 15:59:59Z is 23:59:59 Shanghai, still the 20th.
const EXPECTED: &str = "\
+----------+------------+-----+------+------------+--------+
| order_id | amount_cny | qty | note | order_date | label  |
+----------+------------+-----+------+------------+--------+
| O1       | 723.600000 | 1   | a    | 2026-11-20 | 美元   |
| O2       | 2.000000   | 2   |      | 2026-11-20 | 人民币 |
+----------+------------+-----+------+------------+--------+";

fn refused(p: &Project, before: &[(String, Vec<u8>)], ds: &str, wants: &[&str]) -> String {
    let out = p.strata(&["run", "--ds", ds]);
    assert_eq!(
        out.code, 1,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    for w in wants {
        assert!(
            out.stderr.contains(w),
            "`{w}` missing from:\n{}",
            out.stderr
        );
    }
    assert!(release_bytes(p) == before, "the release changed");
    out.stderr
}

/// The run record of the latest run.
fn last_record(p: &Project) -> serde_json::Value {
    let dir = p.path().join("warehouse/_meta/runs");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    serde_json::from_slice(&std::fs::read(files.last().unwrap()).unwrap()).unwrap()
}

#[tokio::test]
async fn the_plain_file_reads_as_declared() {
    let (p, _) = with_release();
    assert_eq!(published(&p).await, EXPECTED);
}

#[tokio::test]
async fn upper_case_column_names_read_as_the_declared_columns() {
    let p = project();
    let (s, c) = orders([
        "ORDER_ID",
        "Amount",
        " CURRENCY ",
        "QTY",
        "NOTE",
        "ORDER_TIME",
    ]);
    land(&p, "2026-11-20", "part-0.parquet", s, c);
    let out = p.strata(&["run", "--ds", "2026-11-20", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(published(&p).await, EXPECTED);
    let anomalies = last_record(&p)["source_anomalies"].to_string();
    assert!(
        anomalies.contains("file column is named `ORDER_ID`"),
        "{anomalies}"
    );
}

#[tokio::test]
async fn columns_differing_only_in_case_and_missing_keys_are_refused() {
    let (p, before) = with_release();
    let (mut s, mut c) = orders(LOWER);
    let mut fields = fields_of(&s);
    fields.push(Field::new("Order_Id", DataType::Utf8, true));
    c.push(Arc::new(StringArray::from(vec!["X1", "X2"])));
    s = Arc::new(Schema::new(fields));
    land(&p, "2026-11-21", "part-0.parquet", s, c);
    refused(
        &p,
        &before,
        "2026-11-21",
        &["ds=2026-11-21/part-0.parquet", "`order_id` and `Order_Id`"],
    );

    // A file without the key column: refused before anything runs, naming file and column.
    let (s, c) = orders(["id", "amount", "currency", "qty", "note", "order_time"]);
    land(&p, "2026-11-21", "part-0.parquet", s, c);
    refused(
        &p,
        &before,
        "2026-11-21",
        &[
            "ds=2026-11-21/part-0.parquet",
            "key column `order_id` is missing",
        ],
    );

    // A non-key column may be missing: it reads as NULL (note is NULL for both orders).
    let (s, c) = orders(LOWER);
    let keep = [0usize, 1, 2, 3, 5];
    let fields: Vec<Field> = keep.iter().map(|i| s.field(*i).clone()).collect();
    let cols: Vec<ArrayRef> = keep.iter().map(|i| c[*i].clone()).collect();
    land(
        &p,
        "2026-11-21",
        "part-0.parquet",
        Arc::new(Schema::new(fields)),
        cols,
    );
    let out = p.strata(&["run", "--ds", "2026-11-21", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let notes = query_dir(
        &p.path().join("warehouse/dwd/dwd_order"),
        "SELECT COUNT(*) AS n FROM t WHERE note IS NULL",
    )
    .await;
    // O2 of the 20th has no note; both orders of the 21st miss the column: 3 NULLs of 4 rows.
    assert!(pretty(&notes).contains("| 3 |"), "{}", pretty(&notes));
}

/// Naive timestamps written in Shanghai time: refused without `naive_timestamps`, read in that
/// zone with it.
#[tokio::test]
async fn naive_timestamps_are_refused_unless_their_zone_is_declared() {
    let (p, before) = with_release();
    let (s, mut c) = orders(LOWER);
    let mut fields = fields_of(&s);
    fields[5] = Field::new(
        "order_time",
        DataType::Timestamp(TimeUnit::Nanosecond, None),
        true,
    );
    // Local wall-clock times: 2026-11-21 07:30 and 2026-11-21 23:30 in Shanghai. Read as UTC
    // the second would fall on the 22nd in Shanghai.
    let local = |t: &str| {
        chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
            .timestamp_nanos_opt()
            .unwrap()
    };
    c[5] = Arc::new(TimestampNanosecondArray::from(vec![
        local("2026-11-21 07:30"),
        local("2026-11-21 23:30"),
    ]));
    let mut renamed = c.clone();
    renamed[0] = Arc::new(StringArray::from(vec!["O3", "O4"]));
    land(
        &p,
        "2026-11-21",
        "part-0.parquet",
        Arc::new(Schema::new(fields)),
        renamed,
    );
    let err = refused(
        &p,
        &before,
        "2026-11-21",
        &[
            "ds=2026-11-21/part-0.parquet",
            "column `order_time`",
            "without a time zone",
            "naive_timestamps: Asia/Shanghai",
        ],
    );
    assert!(err.contains("hint:"), "{err}");

    let yaml = PIPELINE.replace(
        "    key: [order_id]\n",
        "    key: [order_id]\n    naive_timestamps: Asia/Shanghai\n",
    );
    p.write("pipelines/landed.yaml", &yaml);
    let out = p.strata(&["run", "--ds", "2026-11-21", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dates = pretty(
        &query_dir(
            &p.path().join("warehouse/dwd/dwd_order"),
            "SELECT order_id, CAST(order_date AS VARCHAR) AS d FROM t WHERE order_id IN ('O3','O4') ORDER BY 1",
        )
        .await,
    );
    assert_eq!(
        dates,
        "+----------+------------+\n| order_id | d          |\n+----------+------------+\n| O3       | 2026-11-21 |\n| O4       | 2026-11-21 |\n+----------+------------+"
    );
}

/// Zoned timestamps of any unit read as the same instant; integer widths, decimals and
/// null-typed columns are converted when lossless and refused when not.
#[tokio::test]
async fn types_from_other_writers() {
    let (p, _) = with_release();
    let (s, c) = orders(LOWER);
    let mut fields = fields_of(&s);
    let mut cols = c.clone();
    // Milliseconds with a +08:00 zone; qty as int64 within range; note of Arrow type null;
    // amount as decimal(10,1) (fewer digits: widened).
    fields[5] = Field::new(
        "order_time",
        DataType::Timestamp(TimeUnit::Millisecond, Some("+08:00".into())),
        true,
    );
    cols[5] = Arc::new(
        TimestampMillisecondArray::from(vec![
            utc("2026-11-20T02:00:00Z") / 1000,
            utc("2026-11-20T15:59:59Z") / 1000,
        ])
        .with_timezone("+08:00"),
    );
    fields[3] = Field::new("qty", DataType::Int64, true);
    cols[3] = Arc::new(Int64Array::from(vec![1, 2]));
    fields[4] = Field::new("note", DataType::Null, true);
    cols[4] = Arc::new(NullArray::new(2));
    fields[1] = Field::new("amount", DataType::Decimal128(10, 1), true);
    cols[1] = Arc::new(
        Decimal128Array::from(vec![1005, 20])
            .with_precision_and_scale(10, 1)
            .unwrap(),
    );
    land(
        &p,
        "2026-11-20",
        "part-0.parquet",
        Arc::new(Schema::new(fields.clone())),
        cols.clone(),
    );
    let out = p.strata(&["run", "--ds", "2026-11-20", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The same as the plain file, except the note of O1 which this file does not carry.
    assert_eq!(
        published(&p).await,
        EXPECTED.replace("| 1   | a    |", "| 1   |      |")
    );
    let before = release_bytes(&p);

    // More scale than declared: refused, not rounded.
    let mut f2 = fields.clone();
    let mut c2 = cols.clone();
    f2[1] = Field::new("amount", DataType::Decimal128(18, 4), true);
    c2[1] = Arc::new(
        Decimal128Array::from(vec![1005001, 20000])
            .with_precision_and_scale(18, 4)
            .unwrap(),
    );
    land(
        &p,
        "2026-11-21",
        "part-0.parquet",
        Arc::new(Schema::new(f2)),
        c2,
    );
    refused(
        &p,
        &before,
        "2026-11-21",
        &[
            "ds=2026-11-21/part-0.parquet",
            "column `amount`",
            "4 decimal places do not fit in 2",
        ],
    );

    // An int64 value that does not fit the declared int: refused, naming file and column.
    let mut f3 = fields.clone();
    let mut c3 = cols.clone();
    f3[3] = Field::new("qty", DataType::Int64, true);
    c3[3] = Arc::new(Int64Array::from(vec![1, 3_000_000_000]));
    land(
        &p,
        "2026-11-21",
        "part-0.parquet",
        Arc::new(Schema::new(f3)),
        c3,
    );
    refused(
        &p,
        &before,
        "2026-11-21",
        &[
            "ds=2026-11-21/part-0.parquet",
            "column `qty`",
            "does not fit",
        ],
    );
}

/// Spark and Hive leftovers are skipped; a partition directory that is not a date, and a date
/// directory without data, are named.
#[tokio::test]
async fn hadoop_directory_conventions() {
    let (p, before) = with_release();
    let day = p.path().join("data/ods/ods_order/ds=2026-11-21");
    std::fs::create_dir_all(day.join("_temporary/0")).unwrap();
    std::fs::write(day.join("_SUCCESS"), b"").unwrap();
    std::fs::write(day.join("_temporary/0/part-0.parquet"), b"half written").unwrap();
    std::fs::write(day.join(".part-0.parquet.crc"), b"crc").unwrap();
    // Only leftovers for the 21st: the message says the directory holds no data file.
    refused(
        &p,
        &before,
        "2026-11-21",
        &["partition directory", "ds=2026-11-21", "holds no data file"],
    );
    let (s, mut c) = orders(LOWER);
    c[0] = Arc::new(StringArray::from(vec!["O5", "O6"]));
    land(&p, "2026-11-21", "part-0.parquet", s.clone(), c.clone());
    let out = p.strata(&["run", "--ds", "2026-11-21", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let n = pretty(
        &query_dir(
            &p.path().join("warehouse/dwd/dwd_order"),
            "SELECT COUNT(*) AS n FROM t",
        )
        .await,
    );
    assert!(n.contains("| 4 |"), "{n}");
    let anomalies = last_record(&p)["source_anomalies"].to_string();
    assert!(anomalies.contains("not data"), "{anomalies}");
    let before = release_bytes(&p);

    // An empty directory for the run's date says so too.
    std::fs::create_dir_all(p.path().join("data/ods/ods_order/ds=2026-11-22")).unwrap();
    refused(
        &p,
        &before,
        "2026-11-22",
        &["ds=2026-11-22", "holds no data file"],
    );

    // A backup directory beside the real one: refused at preflight, naming it.
    land(&p, "2026-11-20.bak", "part-0.parquet", s, c);
    refused(
        &p,
        &before,
        "2026-11-21",
        &["ds=2026-11-20.bak", "is not a date"],
    );
}

#[tokio::test]
async fn csv_seeds_in_gbk_are_refused_by_line_unless_declared() {
    let (p, before) = with_release();
    // "美元" in GBK is C3 C0 D4 AA; the file is otherwise ASCII.
    let gbk: &[u8] = b"currency,rate,label\r\nCNY,1,RMB\r\nUSD,7.2,\xC3\xC0\xD4\xAA\r\n";
    std::fs::write(p.path().join("data/seeds/fx.csv"), gbk).unwrap();
    refused(
        &p,
        &before,
        "2026-11-20",
        &["data/seeds/fx.csv", "line 3", "encoding: gbk"],
    );
    let yaml = PIPELINE.replace("    format: csv\n", "    format: csv\n    encoding: gbk\n");
    p.write("pipelines/landed.yaml", &yaml);
    let out = p.strata(&["run", "--ds", "2026-11-20", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        published(&p).await.contains("美元"),
        "{}",
        published(&p).await
    );

    // UTF-8 with a byte-order mark and CRLF line ends, upper-case header.
    p.write("pipelines/landed.yaml", PIPELINE);
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice("CURRENCY,Rate,LABEL\r\nCNY,1,人民币\r\nUSD,7.2,美元\r\n".as_bytes());
    std::fs::write(p.path().join("data/seeds/fx.csv"), bom).unwrap();
    let out = p.strata(&["run", "--ds", "2026-11-20", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(published(&p).await, EXPECTED);
}

#[tokio::test]
async fn source_checks_stop_the_run_before_any_stage() {
    let (p, before) = with_release();
    // A duplicated currency: the join would double its orders.
    p.write(
        "data/seeds/fx.csv",
        "currency,rate,label\nCNY,1,a\nUSD,7.2,b\nUSD,7.3,c\n",
    );
    refused(
        &p,
        &before,
        "2026-11-20",
        &["source `seed_fx`", "unique", "USD"],
    );
    // A rate that is not a number: refused naming its line.
    p.write(
        "data/seeds/fx.csv",
        "currency,rate,label\nCNY,1,a\nJPY,nan,b\n",
    );
    refused(
        &p,
        &before,
        "2026-11-20",
        &[
            "data/seeds/fx.csv",
            "line 3",
            "value `nan` of column `rate`",
        ],
    );
    // Zero is a number, but not a rate.
    p.write(
        "data/seeds/fx.csv",
        "currency,rate,label\nCNY,1,a\nJPY,0,b\n",
    );
    refused(
        &p,
        &before,
        "2026-11-20",
        &["rate_is_finite_and_positive", "1 of 2 rows"],
    );
}

/// The bundled rate table: `JPY,nan` (today it would turn every JPY order into NaN, and NaN
/// spend scores as the maximum in RFM) and a repeated currency stop the run before any stage.
#[test]
fn the_bundled_rate_table_is_checked_before_any_stage() {
    let p = Project::new();
    for dir in ["pipelines", "sql", "data"] {
        util::crm_fixture::copy_tree(&util::repo_root().join(dir), &p.path().join(dir));
    }
    let rates = p.path().join("data/seeds/fx_rates.csv");
    let good = std::fs::read_to_string(&rates).unwrap();
    let lines = good.lines().count();
    std::fs::write(&rates, format!("{}JPY,nan\n", good.replace("JPY,", "XJP,"))).unwrap();
    let out = p.strata(&["run", "pipelines/crm.yaml", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let line = format!("line {}", lines + 1);
    for want in [
        "data/seeds/fx_rates.csv",
        line.as_str(),
        "`nan`",
        "rate_to_cny",
    ] {
        assert!(
            out.stderr.contains(want),
            "`{want}` missing from {}",
            out.stderr
        );
    }
    std::fs::write(&rates, format!("{good}USD,7.3\n")).unwrap();
    let out = p.strata(&["run", "pipelines/crm.yaml", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for want in ["source `seed_fx_rates`", "unique", "USD"] {
        assert!(
            out.stderr.contains(want),
            "`{want}` missing from {}",
            out.stderr
        );
    }
    // Refused before any stage: nothing was published.
    assert!(!p.path().join("warehouse/current").exists());
}

/// Wall-clock times that happen twice or never where the clocks change are refused, naming the
/// value: they name no single instant.
#[tokio::test]
async fn wall_clock_times_at_clock_changes_are_refused() {
    let (p, before) = with_release();
    let yaml = PIPELINE.replace(
        "    key: [order_id]\n",
        "    key: [order_id]\n    naive_timestamps: America/New_York\n",
    );
    p.write("pipelines/landed.yaml", &yaml);
    let naive = |t: &str| {
        chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
            .timestamp_micros()
    };
    for (value, why) in [
        ("2026-11-01 01:30", "happens twice"),
        ("2026-03-08 02:30", "does not exist"),
    ] {
        let (s, mut c) = orders(LOWER);
        let mut fields = fields_of(&s);
        fields[5] = Field::new(
            "order_time",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            true,
        );
        c[5] = Arc::new(TimestampMicrosecondArray::from(vec![
            naive("2026-11-20 09:00"),
            naive(value),
        ]));
        land(
            &p,
            "2026-11-21",
            "part-0.parquet",
            Arc::new(Schema::new(fields)),
            c,
        );
        refused(
            &p,
            &before,
            "2026-11-21",
            &[
                "ds=2026-11-21/part-0.parquet",
                "column `order_time`",
                value,
                why,
            ],
        );
    }
}

/// A key column without a single value: pandas' all-None column (Arrow `null`), or a typed
/// column whose statistics count only nulls.
#[tokio::test]
async fn key_columns_without_values_are_refused() {
    let (p, before) = with_release();
    for null_typed in [true, false] {
        let (s, mut c) = orders(LOWER);
        let mut fields = fields_of(&s);
        if null_typed {
            fields[0] = Field::new("order_id", DataType::Null, true);
            c[0] = Arc::new(NullArray::new(2));
        } else {
            c[0] = Arc::new(StringArray::from(vec![None::<&str>, None]));
        }
        land(
            &p,
            "2026-11-21",
            "part-0.parquet",
            Arc::new(Schema::new(fields)),
            c,
        );
        refused(
            &p,
            &before,
            "2026-11-21",
            &[
                "ds=2026-11-21/part-0.parquet",
                "key column `order_id` holds no value",
            ],
        );
    }
}

#[tokio::test]
async fn csv_values_are_exact_and_lines_are_physical() {
    let (p, before) = with_release();
    // More places than the declared decimal(18,4): refused, not rounded.
    p.write(
        "data/seeds/fx.csv",
        "currency,rate,label\nCNY,1,a\nUSD,7.123456789,b\n",
    );
    refused(
        &p,
        &before,
        "2026-11-20",
        &["line 3", "`7.123456789`", "9 decimal places"],
    );
    // A blank line and a quoted label over two lines come before the bad value on line 6.
    p.write(
        "data/seeds/fx.csv",
        "currency,rate,label\r\nCNY,1,\"two\r\nlines\"\r\n\r\nUSD,7.2,b\r\nEUR,abc,c\r\n",
    );
    refused(
        &p,
        &before,
        "2026-11-20",
        &["line 6", "`abc`", "is not a decimal(18,4)"],
    );
    // Spaces around text values are trimmed (and noted): `USD ` still joins USD orders.
    p.write(
        "data/seeds/fx.csv",
        "currency,rate,label\nCNY ,1, 人民币\n USD,7.2,美元 \n",
    );
    let out = p.strata(&["run", "--ds", "2026-11-20", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(published(&p).await, EXPECTED);
    let anomalies = last_record(&p)["source_anomalies"].to_string();
    assert!(anomalies.contains("spaces trimmed"), "{anomalies}");
}

#[tokio::test]
async fn directory_names_are_shown_as_they_are_and_deeper_files_noted() {
    let (p, before) = with_release();
    let (s, c) = orders(LOWER);
    land(
        &p,
        "2026-11-20 00%3A00",
        "part-0.parquet",
        s.clone(),
        c.clone(),
    );
    refused(
        &p,
        &before,
        "2026-11-21",
        &["ds=2026-11-20 00%3A00`", "is not a date"],
    );
    std::fs::remove_dir_all(p.path().join("data/ods/ods_order/ds=2026-11-20 00%3A00")).unwrap();
    let mut c2 = c.clone();
    c2[0] = Arc::new(StringArray::from(vec!["O7", "O8"]));
    land(&p, "2026-11-21/hour=03", "part-0.parquet", s, c2);
    let out = p.strata(&["run", "--ds", "2026-11-21", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let anomalies = last_record(&p)["source_anomalies"].to_string();
    assert!(
        anomalies.contains("below the declared partitions"),
        "{anomalies}"
    );
}

#[test]
fn querying_an_unreadable_source_names_its_problem() {
    let (p, _) = with_release();
    p.write("data/seeds/fx.csv", "currency,rate,label\nJPY,nan,a\n");
    let out = p.strata(&["sql", "SELECT * FROM seed_fx"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("data/seeds/fx.csv") && out.stderr.contains("line 2"),
        "{}",
        out.stderr
    );
    let out = p.strata(&["show", "seed_fx"]);
    assert!(out.stderr.contains("line 2"), "{}", out.stderr);
}
