//! Tests of the shared-aggregate rule (`shared.rs`): plans and results on small tables whose
//! expected rows are worked out by hand.
use std::sync::Arc;

use datafusion::arrow::array::{Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_plan::collect;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::*;

/// A session with the rule, two partitions, and `t(k, v)` in two batches.
fn session(keys: &[&str]) -> SessionContext {
    let state = SessionStateBuilder::new()
        .with_config(SessionConfig::new().with_target_partitions(2))
        .with_default_features()
        .with_physical_optimizer_rules(optimizer_rules())
        .build();
    let ctx = SessionContext::new_with_state(state);
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, true),
        Field::new("v", DataType::Int64, false),
    ]));
    let batch = |ks: &[&str], from: i64| {
        RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(ks.to_vec())),
                Arc::new(Int64Array::from_iter_values(from..from + ks.len() as i64)),
            ],
        )
        .unwrap()
    };
    let half = keys.len() / 2;
    let table = MemTable::try_new(
        schema.clone(),
        vec![
            vec![batch(&keys[..half], 0)],
            vec![batch(&keys[half..], half as i64)],
        ],
    )
    .unwrap();
    ctx.register_table("t", Arc::new(table)).unwrap();
    ctx
}

/// The shape of dwd_order_latest: keys landed once pass, keys landed more than once are
/// joined with their count.
const TWO_PHASE: &str = "WITH r AS (SELECT k, COUNT(*) AS n FROM t GROUP BY k HAVING COUNT(*) > 1)
    SELECT t.k, r.n FROM r RIGHT JOIN t ON r.k = t.k WHERE r.n IS NULL
    UNION ALL
    SELECT t.k, -1 FROM r JOIN t ON r.k = t.k
    ORDER BY k, n";

async fn run(ctx: &SessionContext, sql: &str) -> (String, Result<String>) {
    let df = ctx.sql(sql).await.unwrap();
    let plan = df.create_physical_plan().await.unwrap();
    let text = displayable(plan.as_ref()).indent(true).to_string();
    let rows = collect(plan, ctx.task_ctx())
        .await
        .map(|b| pretty_format_batches(&b).unwrap().to_string());
    (text, rows)
}

#[tokio::test]
async fn a_cte_aggregated_and_read_twice_runs_once_with_the_same_rows() {
    let ctx = session(&["a", "c", "b", "a", "c", "d", "c", "e", "f", "g"]);
    let (plan, rows) = run(&ctx, TWO_PHASE).await;
    assert!(plan.contains("SharedExec: reader 1 of 2"), "{plan}");
    assert!(plan.contains("SharedExec: reader 2 of 2"), "{plan}");
    // The HAVING is shared too (one reader takes one column of it, the other two), so
    // only the repeated keys are kept for the slower reader.
    let shared: Vec<&str> = plan
        .lines()
        .skip_while(|l| !l.contains("SharedExec"))
        .take_while(|l| !l.contains("AggregateExec"))
        .collect();
    assert!(
        shared
            .iter()
            .any(|l| l.contains("FilterExec: count(Int64(1))@1 > 1")),
        "{plan}"
    );
    // By hand: a twice and c three times (the repeated keys, each row marked -1), b d e f
    // g once (NULL: no count joined). The second reader takes only the key of the CTE.
    let expected = "\
+---+----+
| k | n  |
+---+----+
| a | -1 |
| a | -1 |
| b |    |
| c | -1 |
| c | -1 |
| c | -1 |
| d |    |
| e |    |
| f |    |
| g |    |
+---+----+";
    assert_eq!(rows.unwrap(), expected);
}

#[tokio::test]
async fn an_aggregate_and_its_rollup_joined_back_share_the_aggregate() {
    // The shape of dws_customer_category_spend: spend per key and parity of v, the key's
    // total over `s`, joined back.
    let ctx = session(&["a", "c", "b", "a", "c", "d", "c", "e", "f", "g"]);
    let sql = "WITH s AS (SELECT k, v % 2 AS p, SUM(v) AS x FROM t GROUP BY k, v % 2),
        tot AS (SELECT k, SUM(x) AS total FROM s GROUP BY k)
        SELECT s.k, s.p, s.x, tot.total FROM s JOIN tot ON tot.k = s.k ORDER BY k, p";
    let (plan, rows) = run(&ctx, sql).await;
    assert!(plan.contains("SharedExec: reader 2 of 2"), "{plan}");
    // By hand (v is the row number): a has v 0 and 3, c has 1, 4 and 6, the others one each.
    let expected = "\
+---+---+----+-------+
| k | p | x  | total |
+---+---+----+-------+
| a | 0 | 0  | 3     |
| a | 1 | 3  | 3     |
| b | 0 | 2  | 2     |
| c | 0 | 10 | 11    |
| c | 1 | 1  | 11    |
| d | 1 | 5  | 5     |
| e | 1 | 7  | 7     |
| f | 0 | 8  | 8     |
| g | 1 | 9  | 9     |
+---+---+----+-------+";
    assert_eq!(rows.unwrap(), expected);
}

#[tokio::test]
async fn kept_groups_are_counted_by_their_slices_not_their_buffers() {
    // 100,000 distinct keys, grouped and read twice under a 12 MB pool: the aggregation
    // emits its groups as slices of one set of arrays (per partition 6 slices of 8,192 rows
    // and a short one, 190 KB each, 2.1 MB of buffers each); counted by their whole
    // buffers the kept slices filled the pool and the aggregation was refused.
    let keys: Vec<String> = (0..100_000).map(|i| format!("key-{i:07}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let pool = Arc::new(datafusion::execution::memory_pool::GreedyMemoryPool::new(
        12 << 20,
    ));
    let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
        .with_memory_pool(pool)
        .build_arc()
        .unwrap();
    let state = SessionStateBuilder::new()
        .with_config(SessionConfig::new().with_target_partitions(2))
        .with_runtime_env(runtime)
        .with_default_features()
        .with_physical_optimizer_rules(optimizer_rules())
        .build();
    let ctx = SessionContext::new_with_state(state);
    let donor = session(&keys);
    ctx.register_table("t", donor.table_provider("t").await.unwrap())
        .unwrap();
    let sql = "WITH g AS (SELECT k, COUNT(*) AS n FROM t GROUP BY k)
        SELECT COUNT(*) AS pairs, SUM(a.n + b.n) AS total FROM g a JOIN g b ON a.k = b.k";
    let (plan, rows) = run(&ctx, sql).await;
    assert!(plan.contains("SharedExec"), "{plan}");
    // Every key once on each side: 100,000 pairs, each adding 1 + 1.
    assert!(rows.unwrap().contains("| 100000 | 200000 |"));
}

#[tokio::test]
async fn different_aggregates_are_not_shared() {
    let ctx = session(&["a", "a", "b", "c"]);
    let sql = "SELECT x.k, x.n, y.m FROM
        (SELECT k, COUNT(*) AS n FROM t GROUP BY k) x
        JOIN (SELECT k, MAX(v) AS m FROM t GROUP BY k) y ON x.k = y.k ORDER BY k";
    let (plan, rows) = run(&ctx, sql).await;
    assert!(!plan.contains("SharedExec"), "{plan}");
    // a: rows 0 and 1; b: 2; c: 3 (v is the row number).
    assert!(rows.unwrap().contains("| a | 2 | 1 |"));
}

#[tokio::test]
async fn an_error_reaches_every_reader_and_a_reader_may_stop_early() {
    let ctx = session(&["1", "1", "x", "2"]);
    let failing = "WITH r AS (SELECT k, SUM(CAST(k AS INT)) AS s FROM t GROUP BY k)
        SELECT a.k, a.s, b.s FROM r a JOIN r b ON a.k = b.k";
    let (plan, rows) = run(&ctx, failing).await;
    assert!(plan.contains("SharedExec"), "{plan}");
    let err = rows.unwrap_err().to_string();
    assert!(err.contains("'x'") || err.contains("Cast"), "{err}");
    // One reader takes a single row and stops; the other reads on.
    let ctx = session(&["a", "a", "b", "b", "c", "c"]);
    let early = "WITH r AS (SELECT k, COUNT(*) AS n FROM t GROUP BY k)
        SELECT * FROM (SELECT k FROM r ORDER BY k LIMIT 1)
        UNION ALL SELECT k FROM r ORDER BY k";
    let (_, rows) = run(&ctx, early).await;
    let rows = rows.unwrap();
    assert_eq!(rows.matches("| a |").count(), 2, "{rows}");
    assert_eq!(rows.matches("| c |").count(), 1, "{rows}");
}
