//! Reruns are bit-identical (DOMAIN.md, determinism): the bundled pipeline on the committed
//! sample for the same ds, at `engine.target_partitions` 1, 2 and 4, publishes the same content
//! in every table. A table's content hash covers its schema and its rows in a canonical order
//! (each row as text, the rows sorted), with every floating-point value written as its bit
//! pattern, so a difference in the last bit of one DOUBLE changes the hash.

mod util;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

use util::crm_fixture::{DS, copy_tree};
use util::ods::crm_project;

/// One cell as text; floats as the hex of their bits.
fn cell(column: &dyn Array, formatter: &ArrayFormatter, row: usize) -> String {
    if column.is_null(row) {
        return "NULL".into();
    }
    match column.data_type() {
        DataType::Float64 => format!(
            "f64:{:016x}",
            column.as_primitive::<Float64Type>().value(row).to_bits()
        ),
        DataType::Float32 => format!(
            "f32:{:08x}",
            column.as_primitive::<Float32Type>().value(row).to_bits()
        ),
        _ => formatter.value(row).to_string(),
    }
}

fn parquet_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            parquet_files(&path, out);
        } else if name.ends_with(".parquet") {
            out.push(path);
        }
    }
}

/// The content hash of one published table: schema lines, then its sorted row lines (each row
/// prefixed with the partition directory it lives in).
fn table_hash(table_dir: &Path) -> (usize, String) {
    let mut files = Vec::new();
    parquet_files(table_dir, &mut files);
    let options = FormatOptions::default().with_null("NULL");
    let mut schema = Vec::new();
    let mut lines = Vec::new();
    for file in files {
        let partition = file
            .parent()
            .unwrap()
            .strip_prefix(table_dir)
            .unwrap()
            .display()
            .to_string();
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch: RecordBatch = batch.unwrap();
            let fields: Vec<String> = batch
                .schema()
                .fields()
                .iter()
                .map(|f| format!("{}: {}", f.name(), f.data_type()))
                .collect();
            if schema.is_empty() {
                schema = fields;
            } else {
                assert_eq!(schema, fields, "{file:?}: schema differs between files");
            }
            let formatters: Vec<ArrayFormatter> = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
                .collect();
            for row in 0..batch.num_rows() {
                let cells: Vec<String> = batch
                    .columns()
                    .iter()
                    .zip(&formatters)
                    .map(|(c, f)| cell(c.as_ref(), f, row))
                    .collect();
                lines.push(format!("{partition}|{}", cells.join("\u{1f}")));
            }
        }
    }
    lines.sort();
    let mut hasher = Sha256::new();
    for line in schema.iter().chain(&lines) {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    (lines.len(), hex::encode(hasher.finalize()))
}

/// Every published table of `root` (`<root>/<layer>/<table>`) with its row count and hash.
fn warehouse_hashes(root: &Path) -> BTreeMap<String, (usize, String)> {
    let mut out = BTreeMap::new();
    for layer in ["dwd", "dws", "ads"] {
        for t in std::fs::read_dir(root.join(layer)).unwrap() {
            let dir = t.unwrap().path();
            let name = format!("{layer}/{}", dir.file_name().unwrap().to_string_lossy());
            out.insert(name, table_hash(&dir));
        }
    }
    out
}

/// The bundled pipeline on the committed sample with `engine.target_partitions` set.
fn run_sample(partitions: usize) -> BTreeMap<String, (usize, String)> {
    let p = crm_project();
    copy_tree(
        &util::repo_root().join("data/ods"),
        &p.path().join("data/ods"),
    );
    let pipeline = p.path().join("pipelines/crm.yaml");
    let text = std::fs::read_to_string(&pipeline).unwrap();
    let engine = "engine:\n  parquet_compression: zstd(1)\n";
    assert!(
        text.contains(engine),
        "the bundled pipeline's engine section moved"
    );
    let text = text.replace(
        engine,
        &format!("{engine}  target_partitions: {partitions}\n"),
    );
    std::fs::write(&pipeline, text).unwrap();
    let out = p.strata(&["run", "pipelines/crm.yaml", "--ds", DS]);
    assert_eq!(
        out.code, 0,
        "target_partitions {partitions}:\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    warehouse_hashes(&p.path().join("warehouse"))
}

#[test]
fn reruns_at_1_2_and_4_partitions_publish_identical_tables() {
    let one = run_sample(1);
    // Every stage of the bundled pipeline published a table, and the ADS reports have rows.
    let stages = std::fs::read_to_string(util::repo_root().join("pipelines/crm.yaml"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("  - name: "))
        .filter(|n| ["dwd_", "dws_", "ads_"].iter().any(|l| n.starts_with(l)))
        .count();
    assert_eq!(one.len(), stages, "{:?}", one.keys().collect::<Vec<_>>());
    for table in [
        "ads/ads_rfm_score",
        "ads/ads_customer_profile",
        "dwd/dwd_order",
    ] {
        assert!(one[table].0 > 0, "{table} is empty");
    }
    for partitions in [2, 4] {
        let other = run_sample(partitions);
        let differing: Vec<&String> = one
            .keys()
            .filter(|t| other.get(*t) != Some(&one[*t]))
            .collect();
        assert!(
            differing.is_empty() && other.len() == one.len(),
            "target_partitions {partitions} differs from 1 in {differing:?}"
        );
    }
}

#[test]
fn the_hash_sees_the_last_bit_of_a_double() {
    use std::sync::Arc;

    use datafusion::arrow::array::Float64Array;
    use datafusion::arrow::datatypes::{Field, Schema};

    let write = |dir: &Path, v: f64| {
        std::fs::create_dir_all(dir).unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Float64Array::from(vec![v]))])
                .unwrap();
        let file = std::fs::File::create(dir.join("part-0.parquet")).unwrap();
        let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    };
    let tmp = tempfile::tempdir().unwrap();
    let sum: f64 = 0.1 + 0.2;
    let next = f64::from_bits(sum.to_bits() + 1);
    write(&tmp.path().join("a"), sum);
    write(&tmp.path().join("b"), next);
    write(&tmp.path().join("c"), 0.1_f64 + 0.2);
    assert_ne!(
        table_hash(&tmp.path().join("a")),
        table_hash(&tmp.path().join("b"))
    );
    assert_eq!(
        table_hash(&tmp.path().join("a")),
        table_hash(&tmp.path().join("c"))
    );
}
