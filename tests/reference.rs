//! The commented reference pipeline in docs/ is parsed by the real loader, so the documented
//! format and the parser cannot drift apart.

use std::path::Path;

use strata::model::{self, Layer, Materialization, types::VarValue};

#[test]
fn reference_pipeline_parses_with_every_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = root.join("docs/pipeline-reference.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let p = model::parse(&text, &file, root, &|_| Ok("SELECT 1 AS x".to_string()))
        .unwrap_or_else(|e| panic!("{}", strata::report::render_error(&e)));
    assert_eq!(p.name, "reference");
    assert_eq!(p.warehouse.keep_releases, 3);
    assert_eq!(p.timezone, chrono_tz::Asia::Shanghai);
    assert_eq!(p.engine.memory_limit, Some(4 << 30));
    assert_eq!(p.engine.target_partitions, Some(2));
    assert_eq!(p.sources[0].partitions.len(), 1);
    assert_eq!(p.sources[0].columns.as_ref().unwrap().len(), 3);
    assert_eq!(p.sources[0].key, vec!["order_id".to_string()]);
    assert_eq!(
        p.sources[0].naive_timestamps,
        Some(chrono_tz::Asia::Shanghai)
    );
    assert_eq!(p.sources[0].checks.len(), 1);
    assert_eq!(p.sources[1].encoding, encoding_rs::UTF_8);
    assert_eq!(p.vars[0].default, VarValue::Float(100000.0));
    assert_eq!(p.vars[1].default, VarValue::Int(12));
    assert_eq!(p.stages[0].layer, Layer::Dwd);
    assert_eq!(p.stages[0].materialization, Materialization::Table);
    assert_eq!(p.stages[0].columns.as_ref().unwrap().len(), 2);
    assert_eq!(p.stages[0].checks.len(), 2);
    assert!(p.stages[0].summary.is_some());
    let churn = p.stages[1].model.as_ref().expect("a model stage");
    assert_eq!(churn.id, vec!["customer_id".to_string()]);
    match &churn.algorithm {
        model::Algorithm::RandomForest(f) => {
            assert_eq!((f.trees, f.max_depth, f.min_leaf, f.seed), (150, 8, 5, 7));
            assert_eq!(f.min_auc, Some(0.7));
            assert_eq!(f.baseline.as_deref(), Some("recency_days"));
        }
        other => panic!("expected a random forest, got {other:?}"),
    }
    match &p.stages[2].model.as_ref().expect("a model stage").algorithm {
        model::Algorithm::Ets(e) => {
            assert_eq!((e.horizon, e.backtest, e.season_length), (3, 6, 12));
            assert_eq!(e.levels, vec![0.8, 0.95]);
        }
        other => panic!("expected ETS, got {other:?}"),
    }
    assert_eq!(p.intents.labels.len(), 3);
    assert_eq!(p.pii.hash_key_env, "STRATA_PII_KEY");
    assert_eq!(p.identity.max_records_per_key, 8);
    assert_eq!(p.identity.placeholder_phones, vec!["139 0000 1111"]);
    assert_eq!(p.identity.placeholder_emails.len(), 2);
    assert_eq!(p.identity.placeholder_names, vec!["暂无名称"]);
}

#[test]
fn readme_quotes_the_reference_pipeline() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let reference = std::fs::read_to_string(root.join("docs/pipeline-reference.yaml")).unwrap();
    assert!(
        readme.contains(reference.trim()),
        "README.md must quote docs/pipeline-reference.yaml verbatim"
    );
}
