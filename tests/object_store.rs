//! The same pipeline on an object store (memory://): releases through the JSON pointer,
//! partition replacement, rollback, and reading back with `strata sql`, all in one process.

mod util;

use strata::app::run::{RunRequest, Silent, run};
use strata::settings::Overrides;

#[tokio::test]
async fn mini_pipeline_on_memory_store() {
    let p = util::mini::mini_project();
    let pipeline = p.path().join("pipelines/mini.yaml");
    let overrides = |ds: &str| Overrides {
        ds: Some(ds.into()),
        warehouse: Some("memory://objtest/warehouse".into()),
        memory_limit: Some("1GB".into()),
        ..Overrides::default()
    };
    for ds in ["2026-11-21", "2026-11-22", "2026-11-21"] {
        let request = RunRequest {
            overrides: overrides(ds),
            ..RunRequest::default()
        };
        let o = run(Some(&pipeline), &request, &Silent).await.unwrap();
        assert!(o.succeeded(), "{o:?}");
    }
    assert!(
        !p.path().join("warehouse").exists(),
        "nothing written to the local disk"
    );
    // Two partitions, the 21st rebuilt in place: 2 customers each.
    let q = strata::app::inspect::sql(
        Some(&pipeline),
        &overrides("2026-11-21"),
        "SELECT CAST(ds AS VARCHAR) AS d, COUNT(*) AS n, SUM(paid_amount) AS total FROM dws_customer_sales GROUP BY ds ORDER BY ds",
    )
    .await
    .unwrap();
    assert_eq!(
        util::pretty(&q.batches),
        "+------------+---+--------+\n\
         | d          | n | total  |\n\
         +------------+---+--------+\n\
         | 2026-11-21 | 2 | 170.0  |\n\
         | 2026-11-22 | 2 | 1169.0 |\n\
         +------------+---+--------+"
    );
    let listing = strata::app::inspect::ls(Some(&pipeline), &overrides("2026-11-21"))
        .await
        .unwrap();
    // The 21st after the 22nd is a past date: its partition was unchanged, so no new release,
    // and the full tables stay as of the 22nd.
    assert_eq!(listing.release.as_ref().unwrap().ds, "2026-11-22");
    let back =
        strata::app::inspect::rollback(Some(&pipeline), &overrides("2026-11-21"), None, false)
            .await
            .unwrap();
    assert_eq!(back.ds, "2026-11-21");
}
