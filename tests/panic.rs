//! A panic inside the query engine is caught at the stage boundary and reported as an error
//! naming the stage; nothing is written.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use strata::engine::{self, EngineSettings, Params, stage::run_stage};
use strata::error::StrataError;
use strata::model::{self, Layer, Materialization, Stage};
use strata::storage::Warehouse;

#[tokio::test]
async fn engine_panic_becomes_a_stage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.yaml");
    let pipeline = model::parse("name: p\n", &file, dir.path(), &|_| Ok(String::new())).unwrap();
    let wh = Warehouse::open(&dir.path().join("wh").display().to_string(), dir.path()).unwrap();
    let ctx = engine::session(&EngineSettings::machine_defaults(), Some(&wh), &pipeline).unwrap();
    let boom = create_udf(
        "boom",
        vec![DataType::Int64],
        DataType::Int64,
        Volatility::Volatile,
        Arc::new(
            |_args: &[ColumnarValue]| -> datafusion::error::Result<ColumnarValue> {
                panic!("boom inside a function")
            },
        ),
    );
    ctx.register_udf(boom);
    let stage = Stage {
        name: "dwd_boom".into(),
        layer: Layer::Dwd,
        sql_path: dir.path().join("x.sql"),
        sql_display: "sql/dwd/dwd_boom.sql".into(),
        sql: "SELECT boom(CAST(1 AS BIGINT)) AS x".into(),
        materialization: Materialization::Table,
        depends_on: vec![],
        description: None,
        tags: vec![],
        checks: vec![],
        summary: None,
        columns: None,
        column_docs: Vec::new(),
        model: None,
        at: strata::diag::Location::file_start("p.yaml"),
    };
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
    let params = Params {
        ds: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        vars: vec![],
    };
    let err = run_stage(&ctx, &wh, "run1", &stage, &schema, &params)
        .await
        .unwrap_err();
    match &err {
        StrataError::StagePanic { stage, message } => {
            assert_eq!(stage, "dwd_boom");
            assert!(message.contains("boom inside a function"), "{message}");
        }
        other => panic!("expected a stage panic, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("stage `dwd_boom` panicked inside the query engine")
    );
}
