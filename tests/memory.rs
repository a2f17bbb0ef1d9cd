//! Resource limits: under a small `--memory-limit`, a large sort and a large aggregation spill
//! to the spill directory and finish with correct results; a stage whose plan cannot spill fails
//! with a resources-exhausted error naming the stage, and its published table keeps the previous
//! release's content. The process is never killed: every run here returns an exit code.

mod util;

use std::sync::Arc;

use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use util::{Project, pretty, query_dir};

const PIPELINE: &str = "name: memory
warehouse: ./warehouse
sources:
  - name: ods_event
    location: data/ods/ods_event
    partitions: {ds: date}
stages:
  - name: dwd_event_sorted
    layer: dwd
    sql: sql/dwd/dwd_event_sorted.sql
  - name: dws_key_totals
    layer: dws
    sql: sql/dws/dws_key_totals.sql
  - name: dws_event_text
    layer: dws
    sql: sql/dws/dws_event_text.sql
";

/// Rows `from..to`: id i, key `k{i % 100000}`, amount `i % 1000`.
fn land(p: &Project, ds: &str, from: i64, to: i64) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("amount", DataType::Float64, false),
    ]));
    let b = util::batch(
        schema,
        vec![
            Arc::new(Int64Array::from((from..to).collect::<Vec<_>>())),
            Arc::new(StringArray::from(
                (from..to)
                    .map(|i| format!("k{:06}", i % 100_000))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                (from..to).map(|i| (i % 1000) as f64).collect::<Vec<_>>(),
            )),
        ],
    );
    p.write_parquet(&format!("data/ods/ods_event/ds={ds}/part-0.parquet"), &b);
}

fn project() -> Project {
    let p = Project::new();
    p.write("pipelines/memory.yaml", PIPELINE);
    // A sort of every row, with a wide padding column so it outgrows the limit.
    p.write(
        "sql/dwd/dwd_event_sorted.sql",
        "SELECT key, id, amount, repeat('x', 200) AS pad\nFROM ods_event\nWHERE ds <= $ds\nORDER BY key, id\n",
    );
    // An aggregation with 100,000 groups.
    p.write(
        "sql/dws/dws_key_totals.sql",
        "SELECT key, COUNT(*) AS n, SUM(amount) AS total\nFROM dwd_event_sorted\nGROUP BY key\n",
    );
    // One aggregate state that holds every row's text: it cannot spill.
    p.write(
        "sql/dws/dws_event_text.sql",
        "SELECT COUNT(*) AS events, LENGTH(string_agg(key || pad, ',')) AS chars\nFROM dwd_event_sorted\n",
    );
    p
}

/// The run record of the newest run, as JSON.
fn last_record(p: &Project) -> serde_json::Value {
    let dir = p.path().join("warehouse/_meta/runs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    serde_json::from_slice(&std::fs::read(files.last().unwrap()).unwrap()).unwrap()
}

fn stage<'a>(record: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    record["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == name)
        .unwrap_or_else(|| panic!("no stage {name} in {record}"))
}

/// The rows of `query` over a published DWS table.
async fn table(wh: &std::path::Path, name: &str, query: &str) -> String {
    pretty(&query_dir(&wh.join("dws").join(name), query).await)
}

/// Land rows `0..rows` for the 20th, run it with the default memory settings, and return what
/// `read` finds published.
async fn first_release(
    p: &Project,
    rows: i64,
    read: impl std::future::Future<Output = String>,
) -> String {
    land(p, "2026-11-20", 0, rows);
    let out = p.strata(&["run", "--ds", "2026-11-20", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    read.await
}

/// Land rows `from..300000` for the 21st and run it with a 64 MB memory limit.
fn small_run(p: &Project, from: i64, extra: &[&str]) -> util::Output {
    land(p, "2026-11-21", from, 300_000);
    let mut args = vec!["run", "--ds", "2026-11-21", "--memory-limit", "64MB"];
    args.extend_from_slice(extra);
    p.strata(&args)
}

#[tokio::test]
async fn small_memory_limit_spills_or_fails_cleanly() {
    let p = project();
    let wh = p.path().join("warehouse");
    let text_table = || table(&wh, "dws_event_text", "SELECT events, chars FROM t");
    let before = first_release(&p, 150_000, text_table()).await;
    // 150,000 texts of 7 + 200 characters and 149,999 commas.
    assert!(before.contains("| 150000 | 31199999 |"), "{before}");

    let spill = p.path().join("spill");
    let out = small_run(&p, 150_000, &["--spill-dir", spill.to_str().unwrap()]);
    let all = format!("{}{}", out.stdout, out.stderr);
    // The text stage failed; the run says so with its own exit code, it was not killed.
    assert_eq!(out.code, 2, "{all}");

    // The sort and the aggregation spilled and finished.
    let record = last_record(&p);
    for name in ["dwd_event_sorted", "dws_key_totals"] {
        let s = stage(&record, name);
        assert_eq!(s["status"], "succeeded", "{s}");
    }
    let sorted = stage(&record, "dwd_event_sorted");
    assert!(
        sorted["output"]["spilled_bytes"].as_u64().unwrap() > 0,
        "the sort of 300,000 rows spilled under 64 MB: {sorted}"
    );
    assert!(all.contains("spilled"), "{all}");
    // Each key k appears three times (i = k, k + 100000, k + 200000), each time with amount
    // k % 1000: 100,000 groups of n = 3, and the totals add up to 3 * 100 * (0 + ... + 999).
    let totals = pretty(
        &query_dir(
            &wh.join("dws/dws_key_totals"),
            "SELECT COUNT(*) AS keys, MIN(n) AS lo, MAX(n) AS hi, SUM(total) AS total FROM t",
        )
        .await,
    );
    assert!(
        totals.contains("| 100000 | 3  | 3  | 149850000.0 |"),
        "{totals}"
    );

    // The text aggregate could not spill: a resources-exhausted error naming the stage.
    let failed = stage(&record, "dws_event_text");
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.starts_with("stage `dws_event_text` (sql/dws/dws_event_text.sql) failed"),
        "{error}"
    );
    assert!(error.contains("Resources exhausted"), "{error}");
    assert!(all.contains("FAILED  dws_event_text"), "{all}");
    // Its table still holds the previous release's rows.
    assert_eq!(text_table().await, before);
    // Spill files are removed when the run ends.
    let left: Vec<_> = walk(&spill);
    assert!(left.is_empty(), "spill files left behind: {left:?}");
}

/// DataFusion's window operators buffer their whole input without reserving it from the pool,
/// so the memory limit cannot stop them; the resident-memory ceiling does, and the stage fails
/// with an error naming it while its published table keeps the previous release's rows.
#[tokio::test]
async fn a_stage_past_the_memory_ceiling_is_stopped() {
    let p = project();
    // The window stage runs before the aggregation, which must still run once memory is back.
    let stages = PIPELINE.split_once("stages:").unwrap().1;
    p.write(
        "pipelines/memory.yaml",
        &PIPELINE.replace(
            stages,
            "\n  - name: dwd_event_sorted\n    layer: dwd\n    sql: sql/dwd/dwd_event_sorted.sql\n  - name: dws_event_window\n    layer: dws\n    sql: sql/dws/dws_event_window.sql\n  - name: dws_key_totals\n    layer: dws\n    sql: sql/dws/dws_key_totals.sql\n",
        ),
    );
    // Eight copies of every row, with its padding, under one window: the operator holds them all.
    p.write(
        "sql/dws/dws_event_window.sql",
        "SELECT e.id, e.key, e.pad, v.n, COUNT(*) OVER () AS events\nFROM dwd_event_sorted e\nCROSS JOIN (VALUES (1), (2), (3), (4), (5), (6), (7), (8)) AS v(n)\n",
    );
    let wh = p.path().join("warehouse");
    let window = || {
        table(
            &wh,
            "dws_event_window",
            "SELECT COUNT(*) AS n, MAX(events) AS events FROM t",
        )
    };
    let before = first_release(&p, 1000, window()).await;
    assert!(before.contains("| 8000 | 8000   |"), "{before}");

    let out = small_run(&p, 1000, &["--memory-ceiling", "300MB"]);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code, 2, "{all}");
    let record = last_record(&p);
    for name in ["dwd_event_sorted", "dws_key_totals"] {
        let s = stage(&record, name);
        assert_eq!(s["status"], "succeeded", "{s}");
    }
    let failed = stage(&record, "dws_event_window");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.starts_with(
            "stage `dws_event_window` (sql/dws/dws_event_window.sql) failed: resources exhausted: the process reached "
        ),
        "{error}"
    );
    assert!(error.contains("over its ceiling of 300.0 MB"), "{error}");
    assert_eq!(window().await, before);
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries {
            let path = e.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// `strata -v run` over a small landing with `extra` arguments and environment (no memory limit
/// inherited), returning the exit code and the allocator each process image logged, in order.
fn allocators(p: &Project, extra: &[&str], env: &[(&str, &str)]) -> (i32, Vec<String>, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.args(["-v", "run"])
        .args(if extra.contains(&"--from") {
            &[][..]
        } else {
            &["--ds", "2026-11-20"][..]
        })
        .args(extra)
        .current_dir(p.path())
        .env_remove("STRATA_MEMORY_LIMIT")
        .env_remove("STRATA_ALLOCATOR")
        .env_remove("STRATA_LOG")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let seen = stderr
        .lines()
        .filter(|l| l.contains("memory allocator"))
        .map(|l| {
            l.rsplit("allocator=")
                .next()
                .unwrap()
                .trim()
                .trim_matches('"')
                .to_string()
        })
        .collect();
    (out.status.code().unwrap_or(-1), seen, stderr)
}

#[test]
fn an_explicit_memory_limit_maps_large_blocks_on_their_own() {
    let p = project();
    land(&p, "2026-11-20", 0, 1_000);
    // No limit: mimalloc throughout.
    let (code, seen, err) = allocators(&p, &[], &[]);
    assert_eq!((code, seen), (0, vec!["mimalloc".to_string()]), "{err}");
    // A limit on the command line is known after parsing: the process starts again in place.
    let (code, seen, err) = allocators(&p, &["--force", "--memory-limit", "512MB"], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(seen, ["mimalloc", "split"], "{err}");
    // In the environment it is known before the first allocation: no second start.
    let (code, seen, err) = allocators(&p, &["--force"], &[("STRATA_MEMORY_LIMIT", "512MB")]);
    assert_eq!((code, seen), (0, vec!["split".to_string()]), "{err}");
    // An explicit choice wins over the limit.
    let env = [("STRATA_ALLOCATOR", "mimalloc")];
    let (code, seen, err) = allocators(&p, &["--force", "--memory-limit", "512MB"], &env);
    assert_eq!((code, seen), (0, vec!["mimalloc".to_string()]), "{err}");
    let env = [("STRATA_ALLOCATOR", "system")];
    let (code, seen, err) = allocators(&p, &["--force", "--memory-limit", "512MB"], &env);
    assert_eq!((code, seen), (0, vec!["system".to_string()]), "{err}");
    // A dry run reads no data: it is not started again.
    let (code, seen, err) = allocators(&p, &["--dry-run", "--memory-limit", "512MB"], &[]);
    assert_eq!((code, seen), (0, vec!["mimalloc".to_string()]), "{err}");
    // The pipeline's own limit counts as explicit.
    let yaml = PIPELINE.replace(
        "warehouse: ./warehouse\n",
        "warehouse: ./warehouse\nengine: {memory_limit: 512MB}\n",
    );
    p.write("pipelines/memory.yaml", &yaml);
    let (code, seen, err) = allocators(&p, &["--force"], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(seen, ["mimalloc", "split"], "{err}");
    // A run over several dates starts again before it logs or draws anything.
    let dates = ["--from", "2026-11-20", "--to", "2026-11-20", "--force"];
    let (code, seen, err) = allocators(&p, &dates, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(seen, ["mimalloc", "split"], "{err}");
    assert_eq!(err.matches("runs over several dates").count(), 1, "{err}");
    // An unknown name is refused before anything runs, naming the variable.
    let (code, _, err) = allocators(&p, &[], &[("STRATA_ALLOCATOR", "jemalloc")]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("STRATA_ALLOCATOR") && err.contains("jemalloc"),
        "{err}"
    );
}
