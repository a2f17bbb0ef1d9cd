//! Hostile and broken input: broken Parquet, schema drift, missing input, confinement,
//! injection, the personal-data gate. Each asserts the message names the right subject and that
//! the previous release is untouched.

mod util;

use std::path::Path;

use util::mini::mini_project;
use util::{Project, pretty, query_dir};

/// The current release id and the ADS content, to compare before and after a failed run.
async fn release_state(wh: &Path) -> (std::path::PathBuf, String) {
    let link = std::fs::read_link(wh.join("current")).unwrap();
    let ads = pretty(
        &query_dir(
            &wh.join("ads/ads_city_sales"),
            "SELECT * FROM t ORDER BY city",
        )
        .await,
    );
    (link, ads)
}

/// A good run for the 20th, then return the project and its release state.
async fn published() -> (Project, (std::path::PathBuf, String)) {
    let p = mini_project();
    let out = p.strata(&["run", "--ds", "2026-11-20", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let state = release_state(&p.path().join("warehouse")).await;
    (p, state)
}

fn valid_parquet_bytes(p: &Project) -> Vec<u8> {
    std::fs::read(
        p.path()
            .join("data/ods/ods_order/ds=2026-11-21/part-0.parquet"),
    )
    .unwrap()
}

#[tokio::test]
async fn broken_parquet_files_are_named_and_nothing_is_published() {
    let (p, before) = published().await;
    let good = valid_parquet_bytes(&p);
    let mut footer = good.clone();
    let n = footer.len();
    footer[n - 6..n - 4].copy_from_slice(&[0xff, 0x7f]); // metadata length far too large
    let mut magic = good.clone();
    magic[n - 1] = b'X';
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() / 2].to_vec()),
        (
            "random",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
                .collect(),
        ),
        ("zero", Vec::new()),
        ("text", b"order_id,amount\nO9,1.00\n".to_vec()),
        ("footer", footer),
        ("magic", magic),
    ];
    for (name, bytes) in cases {
        let rel = format!("data/ods/ods_order/ds=2026-11-21/{name}.parquet");
        std::fs::write(p.path().join(&rel), &bytes).unwrap();
        let out = p.strata(&["run", "--ds", "2026-11-21"]);
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "source `ods_order`: file `{rel}`: not a readable Parquet file"
            )),
            "{name}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        assert_eq!(
            release_state(&p.path().join("warehouse")).await,
            before,
            "{name}"
        );
        std::fs::remove_file(p.path().join(&rel)).unwrap();
    }
    assert_eq!(p.strata(&["run", "--ds", "2026-11-21", "-q"]).code, 0);
}

#[tokio::test]
async fn schema_drift() {
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let (p, before) = published().await;
    // A new column is accepted, a missing nullable column reads as NULL.
    let extra = Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Utf8, false),
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, true),
    ]));
    let b = util::batch(
        extra,
        vec![
            Arc::new(StringArray::from(vec!["O7"])),
            Arc::new(StringArray::from(vec!["C1"])),
            Arc::new(StringArray::from(vec!["paid"])),
            Arc::new(StringArray::from(vec!["app"])),
        ],
    );
    p.write_parquet("data/ods/ods_order/ds=2026-11-21/drift.parquet", &b);
    let out = p.strata(&["run", "--ds", "2026-11-21", "--select", "dwd_order"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let o7 = pretty(
        &query_dir(
            &p.path().join("warehouse/dwd/dwd_order"),
            "SELECT order_id, amount, order_date FROM t WHERE order_id = 'O7'",
        )
        .await,
    );
    assert!(o7.contains("| O7       |        |            |"), "{o7}");
    std::fs::remove_file(
        p.path()
            .join("data/ods/ods_order/ds=2026-11-21/drift.parquet"),
    )
    .unwrap();
    let before = (
        std::fs::read_link(p.path().join("warehouse/current")).unwrap(),
        before.1,
    );

    // A changed type is named with file, column, expected and found type, whichever file is
    // listed first.
    let changed = Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Utf8, false),
        Field::new("amount", DataType::Utf8, false),
    ]));
    let b = util::batch(
        changed,
        vec![
            Arc::new(StringArray::from(vec!["O8"])),
            Arc::new(StringArray::from(vec!["12.5 yuan"])),
        ],
    );
    for name in ["a_first", "z_last"] {
        let rel = format!("data/ods/ods_order/ds=2026-11-21/{name}.parquet");
        p.write_parquet(&rel, &b);
        let out = p.strata(&["run", "--ds", "2026-11-21"]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "source `ods_order`: file `{rel}`: column `amount` has type Utf8, expected Float64"
            )),
            "{}",
            out.stderr
        );
        assert_eq!(
            std::fs::read_link(p.path().join("warehouse/current")).unwrap(),
            before.0
        );
        std::fs::remove_file(p.path().join(&rel)).unwrap();
    }
}

#[tokio::test]
async fn missing_input_is_named_unless_optional() {
    let (p, before) = published().await;
    // Nothing landed for the 23rd.
    let out = p.strata(&["run", "--ds", "2026-11-23"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "error: source `ods_order` has no partition for ds 2026-11-23 at `data/ods/ods_order`"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(release_state(&p.path().join("warehouse")).await, before);
    // An empty source.
    std::fs::remove_dir_all(p.path().join("data/ods/ods_order")).unwrap();
    let out = p.strata(&["run", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("source `ods_order` has no data landed on or before 2026-11-21"),
        "{}",
        out.stderr
    );
    assert_eq!(release_state(&p.path().join("warehouse")).await, before);
}

#[test]
fn locations_stay_under_their_roots() {
    let p = mini_project();
    std::os::unix::fs::symlink("/etc", p.path().join("data/escape")).unwrap();
    let base = util::mini::PIPELINE;
    for (location, refusal) in [
        ("../outside", "`../outside` escapes its root `.`"),
        ("/etc", "`/etc` escapes its root `.`"),
        (
            "data/%2e%2e/%2e%2e/etc",
            "`data/%2e%2e/%2e%2e/etc` holds a percent-encoded `.`, `/` or `\\`",
        ),
        ("data/escape", "`data/escape` escapes its root `.`"),
    ] {
        p.write(
            "pipelines/mini.yaml",
            &base.replace(
                "location: data/ods/ods_order",
                &format!("location: {location}"),
            ),
        );
        let out = p.strata(&["validate"]);
        assert_eq!(out.code, 1, "{location}: {}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("`location` location {refusal}")),
            "{location}: {}",
            out.stderr
        );
    }
    p.write(
        "pipelines/mini.yaml",
        &base.replace("sql/ads/ads_city_sales.sql", "../ads.sql"),
    );
    let out = p.strata(&["validate"]);
    assert!(
        out.stderr
            .contains("`sql` location `../ads.sql` escapes its root `.`"),
        "{}",
        out.stderr
    );
    // Stage SQL cannot read files by path or write anywhere.
    p.write("pipelines/mini.yaml", base);
    for sql in [
        "SELECT * FROM '/etc/passwd'",
        "COPY (SELECT 1) TO '/tmp/x.parquet'",
        "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
    ] {
        p.write("sql/ads/ads_city_sales.sql", sql);
        let out = p.strata(&["validate"]);
        assert_eq!(out.code, 1, "{sql}: {}", out.stderr);
        assert!(
            out.stderr
                .starts_with("error: sql/ads/ads_city_sales.sql:1:"),
            "{sql}: {}",
            out.stderr
        );
    }
}

#[tokio::test]
async fn vars_and_ds_arrive_as_plain_values() {
    let p = mini_project();
    let pipeline =
        util::mini::PIPELINE.replace("  min_amount: 0.0\n", "  min_amount: 0.0\n  label: x\n");
    p.write(
        "pipelines/mini.yaml",
        &format!("{pipeline}  - name: ads_echo\n    layer: ads\n    sql: sql/ads/ads_echo.sql\n"),
    );
    p.write("sql/ads/ads_echo.sql", "SELECT $label AS label, $ds AS d, COUNT(*) AS n FROM dwd_order WHERE status = $label OR $label = $label\n");
    for value in [
        "'; DROP TABLE dwd_order; --",
        "' OR 1=1 --",
        "a\"b\\c",
        "\u{2018}quoted\u{2019}",
        "$ds",
    ] {
        let out = p.strata(&[
            "run",
            "--ds",
            "2026-11-21",
            "-q",
            "--var",
            &format!("label={value}"),
        ]);
        assert_eq!(out.code, 0, "{value}: {}", out.stderr);
        let got = query_dir(
            &p.path().join("warehouse/ads/ads_echo"),
            "SELECT label, n FROM t",
        )
        .await;
        let labels = datafusion::arrow::compute::cast(
            got[0].column(0),
            &datafusion::arrow::datatypes::DataType::Utf8,
        )
        .unwrap();
        let labels = labels
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
            .unwrap();
        assert_eq!(labels.value(0), value);
        // Every order still there: nothing was dropped or filtered by the value.
        assert!(pretty(&got).contains("| 3 |"), "{}", pretty(&got));
    }
}

#[tokio::test]
async fn personal_data_in_ads_blocks_publication() {
    let (p, before) = published().await;
    p.write("sql/ads/ads_city_sales.sql",
        "SELECT c.city, COUNT(*) AS customers, SUM(s.paid_amount) AS paid_amount, '13800138000' AS contact\nFROM dws_customer_sales s\nJOIN dwd_customer c ON c.customer_id = s.customer_id\nWHERE s.ds = $ds\nGROUP BY c.city\n");
    let out = p.strata(&["run", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains("personal_data_gate"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("column `contact` has 2 value(s) shaped like a phone"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("13800138000"),
        "samples are masked: {}",
        out.stdout
    );
    assert_eq!(release_state(&p.path().join("warehouse")).await.1, before.1);
    p.write("sql/ads/ads_city_sales.sql",
        "SELECT c.city, COUNT(*) AS customers, SUM(s.paid_amount) AS paid_amount, MAX(c.customer_id) AS email\nFROM dws_customer_sales s\nJOIN dwd_customer c ON c.customer_id = s.customer_id\nWHERE s.ds = $ds\nGROUP BY c.city\n");
    let out = p.strata(&["run", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("column `email` is personal data by its name"),
        "{}",
        out.stdout
    );
}

/// A flipped bit inside a data page of a file with page checksums passes the footer check, so
/// the engine meets it mid-stage. The stage fails naming the source, the file, the row group
/// and the column; the run publishes nothing.
#[tokio::test]
async fn a_damaged_data_page_is_named_and_nothing_is_published() {
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

    let p = Project::new();
    p.write(
        "pipelines/pages.yaml",
        "name: pages\nwarehouse: ./warehouse\nsources:\n  - name: ods_t\n    location: data/ods/ods_t\n    partitions: {ds: date}\nstages:\n  - name: dwd_t\n    layer: dwd\n    sql: sql/dwd/dwd_t.sql\n",
    );
    p.write(
        "sql/dwd/dwd_t.sql",
        "SELECT id, name, amount FROM ods_t WHERE ds <= $ds\n",
    );
    let good = std::fs::read(util::repo_root().join("tests/fixtures/checksummed.parquet")).unwrap();
    let landed = |ds: &str, bytes: &[u8]| {
        let rel = format!("data/ods/ods_t/ds={ds}/part-0.parquet");
        std::fs::create_dir_all(p.path().join(&rel).parent().unwrap()).unwrap();
        std::fs::write(p.path().join(&rel), bytes).unwrap();
        rel
    };
    landed("2026-11-20", &good);
    let out = p.strata(&["run", "--ds", "2026-11-20", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let wh = p.path().join("warehouse");
    let rows =
        || async { pretty(&query_dir(&wh.join("dwd/dwd_t"), "SELECT COUNT(*) AS n FROM t").await) };
    let before = rows().await;
    assert!(before.contains("| 2000 |"), "{before}");

    // The middle of the `amount` column's first data page, located from the file's own footer.
    let reader = SerializedFileReader::new(bytes::Bytes::from(good.clone())).unwrap();
    let amount = reader.metadata().row_group(0).column(2);
    assert_eq!(amount.column_path().string(), "amount");
    let start = amount.data_page_offset() as usize;
    let end = (amount.byte_range().0 + amount.byte_range().1) as usize;
    let mut damaged = good.clone();
    damaged[(start + end) / 2] ^= 0x10;
    let rel = landed("2026-11-21", &damaged);

    let out = p.strata(&["run", "--ds", "2026-11-21"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains(&format!(
            "source `ods_t`: file `{rel}` is damaged: row group 0, column `amount`: "
        )),
        "{all}"
    );
    assert!(all.contains("Page CRC checksum mismatch"), "{all}");
    assert!(!all.contains("panicked"), "{all}");
    assert_eq!(rows().await, before, "the published table is untouched");

    // Landed again intact, the same run succeeds and reads both days.
    landed("2026-11-21", &good);
    assert_eq!(p.strata(&["run", "--ds", "2026-11-21", "-q"]).code, 0);
    assert!(rows().await.contains("| 4000 |"));
}
