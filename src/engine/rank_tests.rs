//! Tests of the numbering operator (`rank.rs`): a fixture with peers and NULLs whose numbers are
//! worked out by hand, in several batch sizes and partitionings; the windows it leaves to
//! DataFusion; random data against DataFusion's own window operator (a different algorithm).
use datafusion::arrow::array::{Int64Array, StringArray};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_plan::displayable;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::*;
use crate::engine::first_last::tests::Lcg;

/// `t(g, o, x)`, `x` unique.
type Rows<'a> = [(Option<&'a str>, Option<i64>, i64)];

const FIXTURE: &Rows = &[
    (Some("a"), Some(5), 1),
    (Some("a"), Some(3), 2),
    (Some("a"), Some(5), 3),
    (Some("a"), None, 4),
    (Some("a"), Some(3), 5),
    (Some("a"), Some(1), 6),
    (Some("b"), None, 7),
    (Some("b"), None, 8),
    (Some("c"), Some(2), 9),
    (None, Some(1), 10),
    (None, Some(1), 11),
];

const QUERY: &str = "SELECT x, g, o,
      ROW_NUMBER() OVER (PARTITION BY g ORDER BY o DESC NULLS LAST, x) AS rn,
      RANK() OVER (PARTITION BY g ORDER BY o DESC NULLS LAST) AS rk,
      DENSE_RANK() OVER (PARTITION BY g ORDER BY o DESC NULLS LAST) AS dr
    FROM t ORDER BY x";

/// By hand: in `a`, o DESC NULLS LAST is 5 (x 1, 3), 3 (x 2, 5), 1 (x 6), NULL (x 4); row
/// numbers follow x within equal o; RANK skips after peers (1, 1, 3, 3, 5, 6), DENSE_RANK does
/// not (1, 1, 2, 2, 3, 4). `b`'s two NULLs are peers; the NULL partition is a partition.
const EXPECTED: &str = "\
+----+---+---+----+----+----+
| x  | g | o | rn | rk | dr |
+----+---+---+----+----+----+
| 1  | a | 5 | 1  | 1  | 1  |
| 2  | a | 3 | 3  | 3  | 2  |
| 3  | a | 5 | 2  | 1  | 1  |
| 4  | a |   | 6  | 6  | 4  |
| 5  | a | 3 | 4  | 3  | 2  |
| 6  | a | 1 | 5  | 5  | 3  |
| 7  | b |   | 1  | 1  | 1  |
| 8  | b |   | 2  | 1  | 1  |
| 9  | c | 2 | 1  | 1  | 1  |
| 10 |   | 1 | 1  | 1  | 1  |
| 11 |   | 1 | 2  | 1  | 1  |
+----+---+---+----+----+----+";

/// A session over `rows` cut into `chunk`-row batches dealt to `partitions`, whose sorts emit
/// batches of `batch` rows; `ours` adds strata's physical rules.
fn session(
    rows: &Rows,
    chunk: usize,
    partitions: usize,
    batch: usize,
    ours: bool,
) -> SessionContext {
    let config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_batch_size(batch);
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features();
    if ours {
        state = state.with_physical_optimizer_rules(super::super::shared::optimizer_rules());
    }
    let ctx = SessionContext::new_with_state(state.build());
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Utf8, true),
        Field::new("o", DataType::Int64, true),
        Field::new("x", DataType::Int64, false),
    ]));
    let to_batch = |rows: &Rows| {
        RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(rows.iter().map(|r| r.0).collect::<StringArray>()),
                Arc::new(rows.iter().map(|r| r.1).collect::<Int64Array>()),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2))),
            ],
        )
        .unwrap()
    };
    let mut parts = vec![Vec::new(); partitions];
    for (i, b) in rows.chunks(chunk).map(to_batch).enumerate() {
        parts[i % partitions].push(b);
    }
    let table = MemTable::try_new(Arc::clone(&schema), parts).unwrap();
    ctx.register_table("t", Arc::new(table)).unwrap();
    ctx
}

/// The query's result as a table, and its physical plan.
async fn run(ctx: &SessionContext, sql: &str) -> (String, String) {
    let df = ctx.sql(sql).await.unwrap();
    let plan = df.clone().create_physical_plan().await.unwrap();
    let plan = displayable(plan.as_ref()).indent(true).to_string();
    let batches = df.collect().await.unwrap();
    (pretty_format_batches(&batches).unwrap().to_string(), plan)
}

#[tokio::test]
async fn hand_computed_numbers_in_any_batching() {
    for (chunk, partitions, batch) in [(11, 1, 8192), (2, 1, 1), (3, 3, 2), (1, 2, 3)] {
        let ctx = session(FIXTURE, chunk, partitions, batch, true);
        let (table, plan) = run(&ctx, QUERY).await;
        assert_eq!(
            table, EXPECTED,
            "chunk {chunk}, {partitions} partitions, batch {batch}"
        );
        assert_eq!(plan.matches("RankExec").count(), 2, "{plan}");
        assert!(!plan.contains("WindowAggExec"), "{plan}");
    }
}

#[tokio::test]
async fn other_windows_stay_datafusion_s() {
    let ctx = session(FIXTURE, 3, 2, 8192, true);
    for (sql, expected) in [
        // An aggregate window: a running sum over a's x by o DESC NULLS LAST, x.
        (
            "SELECT x, SUM(x) OVER (PARTITION BY g ORDER BY o DESC NULLS LAST, x) AS s
             FROM t WHERE g = 'a' ORDER BY x",
            [(1, 1), (2, 6), (3, 4), (4, 21), (5, 11), (6, 17)],
        ),
        // No PARTITION BY: one numbering of all rows (left to DataFusion).
        (
            "SELECT x, ROW_NUMBER() OVER (ORDER BY x DESC) AS s FROM t WHERE x <= 6 ORDER BY x",
            [(1, 6), (2, 5), (3, 4), (4, 3), (5, 2), (6, 1)],
        ),
    ] {
        let (table, plan) = run(&ctx, sql).await;
        assert!(!plan.contains("RankExec"), "{plan}");
        let rows: Vec<(i64, i64)> = table
            .lines()
            .skip(3)
            .filter(|l| l.starts_with("| "))
            .map(|l| {
                let cells: Vec<i64> = l.split('|').filter_map(|c| c.trim().parse().ok()).collect();
                (cells[0], cells[1])
            })
            .collect();
        assert_eq!(rows, expected, "{sql}");
    }
}

#[tokio::test]
async fn random_data_matches_datafusion_s_window() {
    let mut rng = Lcg(11);
    let names: Vec<String> = (0..300).map(|i| format!("g{i}")).collect();
    let rows: Vec<_> = (0..5000i64)
        .map(|x| {
            let g = (rng.below(50) != 0).then(|| names[rng.below(300) as usize].as_str());
            let o = (rng.below(8) != 0).then(|| rng.below(6) as i64);
            (g, o, x)
        })
        .collect();
    for (chunk, partitions, batch) in [(5000, 1, 8192), (333, 3, 100), (97, 2, 7)] {
        let (ours, plan) = run(&session(&rows, chunk, partitions, batch, true), QUERY).await;
        let (theirs, _) = run(&session(&rows, chunk, partitions, batch, false), QUERY).await;
        assert!(plan.contains("RankExec"), "{plan}");
        assert_eq!(ours.lines().count(), 5004);
        assert_eq!(
            ours, theirs,
            "chunk {chunk}, {partitions} partitions, batch {batch}"
        );
    }
}
