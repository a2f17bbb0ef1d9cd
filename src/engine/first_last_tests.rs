//! Tests of strata's `first_value`/`last_value` aggregates (`first_last.rs`): a fixture whose
//! answers are worked out by hand, the same queries on random data against DataFusion's own
//! implementation (a different algorithm), every handled type, and the accumulator's API with
//! partial emission.
use std::sync::Arc;

use datafusion::arrow::array::{AsArray, BooleanArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{Field, Int64Type, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::execution::FunctionRegistry;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::physical_expr::PhysicalSortExpr;
use datafusion::physical_expr::expressions::col;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::*;

/// `t(g, v, o1, o2, f)`; each row is `(g, v, o1, o2, f)`.
type Fixture<'a> = [(
    &'a str,
    Option<&'a str>,
    Option<i64>,
    Option<i64>,
    Option<bool>,
)];

const FIXTURE: &Fixture = &[
    ("a", Some("a1"), Some(3), Some(1), Some(true)),
    ("a", Some("a2"), Some(1), Some(2), Some(false)),
    ("a", None, Some(1), Some(1), Some(true)),
    ("a", Some("a4"), None, Some(5), Some(true)),
    ("b", Some("b1"), Some(10), Some(1), None),
    ("b", Some("b2"), Some(2), Some(0), Some(true)),
    ("b", Some("b7"), Some(9), Some(9), Some(true)),
    ("c", None, Some(1), Some(1), Some(true)),
];

const QUERY: &str = "SELECT g,
      first_value(v ORDER BY o1 ASC NULLS LAST, o2 ASC NULLS LAST) AS q1,
      last_value(v ORDER BY o1 ASC NULLS LAST, o2 ASC NULLS LAST) IGNORE NULLS AS q2,
      first_value(v ORDER BY o1 DESC NULLS FIRST, o2 ASC NULLS LAST) FILTER (WHERE f) AS q3,
      last_value(v ORDER BY o1 ASC NULLS LAST, o2 ASC NULLS LAST) AS q4
    FROM t GROUP BY g ORDER BY g";

/// Worked out by hand from FIXTURE. q1: a's smallest (o1, o2) is (1, 1), a NULL value; b's is
/// (2, 0) = b2. q2: a's largest key among non-NULL values is (NULL, 5) = a4 (NULLS LAST); b's
/// is (10, 1) = b1. q3: among rows whose filter is TRUE (b1's is NULL, so skipped), a's largest
/// o1 with NULL first is a4, b's is 9 = b7. q4: as q2, and c's only row is NULL.
const EXPECTED: &str = "\
+---+----+----+----+----+
| g | q1 | q2 | q3 | q4 |
+---+----+----+----+----+
| a |    | a4 | a4 | a4 |
| b | b2 | b1 | b7 | b1 |
| c |    |    |    |    |
+---+----+----+----+----+";

fn batch(rows: &Fixture) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Utf8, false),
        Field::new("v", DataType::Utf8, true),
        Field::new("o1", DataType::Int64, true),
        Field::new("o2", DataType::Int64, true),
        Field::new("f", DataType::Boolean, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(rows.iter().map(|r| r.1).collect::<StringArray>()),
            Arc::new(rows.iter().map(|r| r.2).collect::<Int64Array>()),
            Arc::new(rows.iter().map(|r| r.3).collect::<Int64Array>()),
            Arc::new(rows.iter().map(|r| r.4).collect::<BooleanArray>()),
        ],
    )
    .unwrap()
}

/// A session over `rows` cut into batches of `chunk` rows dealt round-robin to `partitions`;
/// `ours` registers strata's functions; `skip_partial` makes every aggregate skip its partial
/// phase (the `convert_to_state` path).
fn session(
    rows: &Fixture,
    chunk: usize,
    partitions: usize,
    ours: bool,
    skip_partial: bool,
) -> SessionContext {
    limited_session(rows, chunk, partitions, ours, skip_partial, None)
}

/// [`session`] with a memory pool of `limit` bytes.
fn limited_session(
    rows: &Fixture,
    chunk: usize,
    partitions: usize,
    ours: bool,
    skip_partial: bool,
    limit: Option<usize>,
) -> SessionContext {
    let mut config = SessionConfig::new().with_target_partitions(partitions);
    if skip_partial {
        let o = &mut config.options_mut().execution;
        o.skip_partial_aggregation_probe_rows_threshold = 1;
        o.skip_partial_aggregation_probe_ratio_threshold = 0.0;
    }
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(limit) = limit {
        // strata's pool (what a run with --memory-limit uses).
        runtime = runtime.with_memory_pool(Arc::new(super::super::pool::HeadroomPool::new(limit)));
        // The sort of the result reserves this much for merging its spill files.
        config.options_mut().execution.sort_spill_reservation_bytes = limit / 8;
    }
    let ctx = SessionContext::new_with_config_rt(config, runtime.build_arc().unwrap());
    if ours {
        register(&ctx);
    }
    let batches: Vec<RecordBatch> = rows.chunks(chunk).map(batch).collect();
    let mut parts = vec![Vec::new(); partitions];
    for (i, b) in batches.into_iter().enumerate() {
        parts[i % partitions].push(b);
    }
    let table = MemTable::try_new(batch(&rows[..0]).schema(), parts).unwrap();
    ctx.register_table("t", Arc::new(table)).unwrap();
    ctx
}

async fn run(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

#[tokio::test]
async fn hand_computed_fixture_in_any_partitioning() {
    for (chunk, partitions) in [(8, 1), (2, 1), (1, 3), (3, 2)] {
        for skip_partial in [false, true] {
            let ctx = session(FIXTURE, chunk, partitions, true, skip_partial);
            assert_eq!(
                run(&ctx, QUERY).await,
                EXPECTED,
                "chunk {chunk}, {partitions} partitions, skip partial {skip_partial}"
            );
        }
    }
}

#[tokio::test]
async fn the_registered_aggregates_are_strata_s_and_windows_stay_datafusion_s() {
    let ctx = session(FIXTURE, 2, 2, true, false);
    for name in ["first_value", "last_value"] {
        let f = ctx.udaf(name).unwrap();
        assert!(
            f.inner().downcast_ref::<OrderedFirstLast>().is_some(),
            "{name}"
        );
    }
    // A window call: each row gets its partition's first row by o1 DESC NULLS LAST, o2.
    let sql = "SELECT DISTINCT g, first_value(v) OVER (PARTITION BY g
        ORDER BY o1 DESC NULLS LAST, o2) AS w FROM t ORDER BY g";
    let expected = "\
+---+----+
| g | w  |
+---+----+
| a | a1 |
| b | b1 |
| c |    |
+---+----+";
    assert_eq!(run(&ctx, sql).await, expected);
}

/// A deterministic pseudo-random sequence (64-bit LCG, Knuth's MMIX constants); also used by
/// `rank_tests.rs`.
pub(crate) struct Lcg(pub u64);
impl Lcg {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[tokio::test]
async fn random_data_matches_datafusion_s_implementation() {
    let mut rng = Lcg(7);
    let names: Vec<String> = (0..400).map(|i| format!("g{i}")).collect();
    let values: Vec<String> = (0..50).map(|i| format!("value {i}")).collect();
    let rows: Vec<_> = (0..6000i64)
        .map(|id| {
            let g = names[rng.below(400) as usize].as_str();
            let v = (rng.below(5) != 0).then(|| values[rng.below(50) as usize].as_str());
            let o1 = (rng.below(6) != 0).then(|| rng.below(20) as i64);
            // o2 is unique, so no two rows of a group tie and the answer is unique.
            let f = (rng.below(7) != 0).then(|| rng.below(2) == 0);
            (g, v, o1, Some(id), f)
        })
        .collect();
    for (chunk, partitions, skip_partial) in [(500, 1, false), (97, 3, false), (256, 2, true)] {
        let ours = session(&rows, chunk, partitions, true, skip_partial);
        let theirs = session(&rows, chunk, partitions, false, skip_partial);
        let (a, b) = (run(&ours, QUERY).await, run(&theirs, QUERY).await);
        assert_eq!(a.lines().count(), 404);
        assert_eq!(a, b, "chunk {chunk}, {partitions} partitions");
    }
}

#[tokio::test]
async fn a_spilling_aggregation_gives_the_same_groups() {
    // 200,000 groups of two rows under strata's pool of 24 MiB: the aggregation spills its
    // state and merges it back; the groups come out as DataFusion's implementation gives them
    // without a limit.
    const LIMIT: usize = 24 << 20;
    const GROUPS: i64 = 200_000;
    let names: Vec<String> = (0..GROUPS).map(|i| format!("customer {i:06}")).collect();
    let mut rng = Lcg(3);
    let rows: Vec<_> = (0..2 * GROUPS)
        .map(|id| {
            let g = names[(id % GROUPS) as usize].as_str();
            let v = (rng.below(5) != 0).then(|| names[rng.below(GROUPS as u64) as usize].as_str());
            let o1 = (rng.below(6) != 0).then(|| rng.below(20) as i64);
            (g, v, o1, Some(id), Some(rng.below(3) != 0))
        })
        .collect();
    let limited = limited_session(&rows, 1000, 1, true, false, Some(LIMIT));
    let free = session(&rows, 1000, 1, false, false);
    let sql = format!("EXPLAIN ANALYZE {QUERY}");
    let plan = run(&limited, &sql).await;
    assert!(
        !plan.contains(
            "spill_count=0, spilled_bytes=0.0 B, spilled_rows=0, aggregate_arguments_time"
        ),
        "{plan}"
    );
    let (a, b) = (run(&limited, QUERY).await, run(&free, QUERY).await);
    assert_eq!(a.lines().count(), GROUPS as usize + 4);
    assert_eq!(a, b);
}

#[tokio::test]
async fn every_handled_type_comes_back_with_its_type_and_bits() {
    let casts = [
        "CAST(o1 % 2 = 0 AS BOOLEAN)",
        "CAST(o1 AS TINYINT)",
        "CAST(o1 AS SMALLINT)",
        "CAST(o1 AS INT)",
        "CAST(o1 AS INT UNSIGNED)",
        "CAST(o1 AS BIGINT UNSIGNED)",
        "CAST(o1 AS FLOAT) / 3",
        "CASE WHEN o1 = 1 THEN CAST('NaN' AS DOUBLE) WHEN o1 = 2 THEN -0.0 ELSE o1 / 7.0 END",
        "CAST(o1 AS DECIMAL(20, 4)) / 3",
        "CAST(o1 AS DECIMAL(40, 2))",
        "arrow_cast(o1, 'Decimal32(5, 1)')",
        "arrow_cast(o1, 'Decimal64(12, 3)')",
        "CAST('2026-11-29' AS DATE) + CAST(o1 AS INT)",
        "arrow_cast(o1 * 86400000, 'Date64')",
        "arrow_cast(o1 * 1000000, 'Timestamp(Microsecond, Some(\"Asia/Shanghai\"))')",
        "arrow_cast(o1, 'Timestamp(Second, None)')",
        "arrow_cast(o1, 'Time64(Microsecond)')",
        "arrow_cast(CAST(o1 AS INT), 'Time32(Second)')",
        "arrow_cast(o1, 'Duration(Millisecond)')",
        "v",
        "arrow_cast(v, 'LargeUtf8')",
        "arrow_cast(v, 'Utf8View')",
        "CAST(v AS BYTEA)",
        "arrow_cast(CAST(v AS BYTEA), 'BinaryView')",
        "arrow_cast(CAST(v AS BYTEA), 'LargeBinary')",
    ];
    let ours = session(FIXTURE, 3, 2, true, false);
    let theirs = session(FIXTURE, 3, 2, false, false);
    for expr in casts {
        let sql = format!(
            "SELECT g, first_value({expr} ORDER BY o2 DESC NULLS LAST, o1) AS x,
               last_value({expr} ORDER BY o2 DESC NULLS LAST, o1) AS y,
               arrow_typeof(first_value({expr} ORDER BY o2)) AS t
             FROM t GROUP BY g ORDER BY g"
        );
        let a = ours.sql(&sql).await.unwrap().collect().await.unwrap();
        let b = theirs.sql(&sql).await.unwrap().collect().await.unwrap();
        assert_eq!(a, b, "{expr}");
        assert_eq!(a[0].schema(), b[0].schema(), "{expr}");
    }
}

/// The accumulator itself for `first_value(v ORDER BY o DESC)` over `(v Utf8, o Int64)`.
fn accumulator(first: bool) -> FirstLastGroups {
    let schema = Schema::new(vec![
        Field::new("v", DataType::Utf8, true),
        Field::new("o", DataType::Int64, true),
    ]);
    let order = [PhysicalSortExpr::new(
        col("o", &schema).unwrap(),
        SortOptions {
            descending: true,
            nulls_first: false,
        },
    )];
    let exprs = [col("v", &schema).unwrap()];
    let fields = [Arc::new(schema.field(0).clone())];
    let args = AccumulatorArgs {
        return_field: Arc::new(Field::new("f", DataType::Utf8, true)),
        schema: &schema,
        ignore_nulls: false,
        order_bys: &order,
        is_reversed: false,
        name: "f",
        is_distinct: false,
        exprs: &exprs,
        expr_fields: &fields,
    };
    FirstLastGroups::try_new(&args, first).unwrap()
}

fn strings(a: &ArrayRef) -> Vec<Option<&str>> {
    a.as_string::<i32>().iter().collect()
}

#[test]
fn partial_emission_and_merge() {
    let mut acc = accumulator(true);
    let v: ArrayRef = Arc::new(StringArray::from(vec![
        Some("x"),
        Some("y"),
        None,
        Some("z"),
    ]));
    let o: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(5), Some(7), None]));
    // Groups 0, 1, 0, 3 (group 2 never gets a row).
    acc.update_batch(&[v, o], &[0, 1, 0, 3], None, 4).unwrap();
    let v: ArrayRef = Arc::new(StringArray::from(vec![Some("w"), Some("u")]));
    let o: ArrayRef = Arc::new(Int64Array::from(vec![Some(6), Some(9)]));
    // A later, smaller key does not replace group 0's 7 (descending); 9 replaces group 1's 5.
    acc.update_batch(&[v, o], &[0, 1], None, 4).unwrap();

    let state = acc.state(EmitTo::First(3)).unwrap();
    assert_eq!(strings(&state[0]), [None, Some("u"), None]);
    let orders: Vec<_> = state[1].as_primitive::<Int64Type>().iter().collect();
    assert_eq!(orders, [Some(7), Some(9), None]);
    let is_set: Vec<_> = state[2].as_boolean().iter().collect();
    assert_eq!(is_set, [Some(true), Some(true), Some(false)]);
    // The group left over (formerly 3) is now group 0: its only row has a NULL key.
    let before = acc.size();
    assert_eq!(strings(&acc.evaluate(EmitTo::All).unwrap()), [Some("z")]);
    // Emitting everything frees the groups' memory (a spilling aggregation relies on it).
    assert!(acc.size() < before, "{} >= {before}", acc.size());
    assert_eq!(acc.size(), acc.keys.size() + acc.values.size());

    // Merging the emitted state into groups 1, 0, 1 of a fresh accumulator: group 1 gets row
    // 0's NULL value (row 2 is not set, so its NULL key does not count), group 0 gets u.
    let mut merged = accumulator(true);
    merged.merge_batch(&state, &[1, 0, 1], 2).unwrap();
    assert_eq!(
        strings(&merged.evaluate(EmitTo::All).unwrap()),
        [Some("u"), None]
    );
}

#[test]
fn last_value_replaces_on_a_larger_key_only_and_reclaims_its_arena() {
    let mut acc = accumulator(false);
    // One group, 4,000 batches of one row whose key decreases under DESC: every row replaces
    // the stored one (last_value keeps the largest key under the ordering, i.e. the smallest o).
    for i in 0..4000i64 {
        let v: ArrayRef = Arc::new(StringArray::from(vec![format!("{:0>400}", i)]));
        let o: ArrayRef = Arc::new(Int64Array::from(vec![-i]));
        acc.update_batch(&[v, o], &[0], None, 1).unwrap();
    }
    // 4,000 superseded values of ~400 bytes were written; compaction keeps the arena near 1 MiB
    // plus one live value.
    assert!(acc.arena.len() < (1 << 20) + 1024, "{}", acc.arena.len());
    let out = acc.evaluate(EmitTo::All).unwrap();
    assert_eq!(strings(&out), [Some(format!("{:0>400}", 3999).as_str())]);
}
