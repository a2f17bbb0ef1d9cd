//! OpenLineage: a run of a `strata init` project writes START and COMPLETE/FAIL events per stage
//! under `_meta/openlineage/`, POSTs the same events to `OPENLINEAGE_URL`, and every event loads
//! into the openlineage-python client's model classes (`tests/openlineage_check.py`).

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use util::{Project, python, repo_root};

/// Request lines and bodies received, in arrival order.
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A minimal HTTP endpoint on loopback that answers 200 and keeps every request body.
fn receiver() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let keep = keep.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut length = 0usize;
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).unwrap();
                        if h.trim().is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    keep.lock().unwrap().push((
                        request_line.trim().to_string(),
                        String::from_utf8(body).unwrap(),
                    ));
                    conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .unwrap();
                }
            });
        }
    });
    (url, got)
}

fn strata(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The events of the only run under `_meta/openlineage/`, loaded by the Python client.
fn checked_events(warehouse: &Path) -> (std::path::PathBuf, Vec<Value>) {
    let root = warehouse.join("_meta/openlineage");
    let runs: Vec<_> = std::fs::read_dir(&root).unwrap().flatten().collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let dir = runs[0].path();
    let out = Command::new(python())
        .arg(repo_root().join("tests/openlineage_check.py"))
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the OpenLineage client refused an event:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (dir, v.as_array().unwrap().clone())
}

fn find<'a>(events: &'a [Value], job: &str, kind: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["job"] == job && e["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} event of {job}: {events:#?}"))
}

#[test]
fn a_run_emits_events_the_openlineage_client_loads_and_the_endpoint_receives() {
    let p = Project::new();
    assert_eq!(p.strata(&["init", "shop"]).code, 0);
    let dir = p.path().join("shop");
    let (url, got) = receiver();
    let (code, text) = strata(
        &dir,
        &["run", "--ds", "2026-11-21"],
        &[("OPENLINEAGE_URL", &url)],
    );
    assert_eq!(code, 0, "{text}");
    let (events_dir, events) = checked_events(&dir.join("warehouse"));

    // Order: the pipeline's START first, its COMPLETE last; each stage's checks (run on its staged
    // output) between the stage's START and its end.
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["job"].as_str().unwrap(),
                e["type"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "shop START",
            "shop.dwd_order START",
            "shop.dwd_order.checks START",
            "shop.dwd_order.checks COMPLETE",
            "shop.dwd_order COMPLETE",
            "shop.dws_customer_sales START",
            "shop.dws_customer_sales.checks START",
            "shop.dws_customer_sales.checks COMPLETE",
            "shop.dws_customer_sales COMPLETE",
            "shop.ads_top_customers START",
            "shop.ads_top_customers.checks START",
            "shop.ads_top_customers.checks COMPLETE",
            "shop.ads_top_customers COMPLETE",
            "shop COMPLETE",
        ]
    );
    let parent = &events[0]["run_id"];
    for e in &events[1..events.len() - 1] {
        assert_eq!(&e["parent_run_id"], parent, "{e:#}");
    }
    let start = find(&events, "shop.ads_top_customers", "START");
    let done = find(&events, "shop.ads_top_customers", "COMPLETE");
    assert_eq!(start["run_id"], done["run_id"]);
    // By hand from the sample (see tests/scaffold.rs): 4 orders, C1 and C3 ranked.
    assert_eq!(find(&events, "shop.dwd_order", "COMPLETE")["rows"], 4);
    assert_eq!(done["rows"], 2);
    assert_eq!(done["inputs"], serde_json::json!(["dws_customer_sales"]));
    // sales_rank = RANK() OVER (ORDER BY paid_amount DESC); order_date = business_date(order_time).
    assert_eq!(
        done["lineage"]["sales_rank"],
        serde_json::json!(["dws_customer_sales.paid_amount AGGREGATION"])
    );
    let dwd = find(&events, "shop.dwd_order", "COMPLETE");
    assert_eq!(
        dwd["lineage"]["order_date"],
        serde_json::json!(["ods_order.order_time TRANSFORMATION"])
    );
    // The checks are a job of their own whose input, the checked table, carries the assertions.
    let checks = find(&events, "shop.dwd_order.checks", "COMPLETE");
    assert_eq!(checks["inputs"], serde_json::json!(["dwd_order"]));
    assert_eq!(
        checks["assertions"],
        serde_json::json!([
            ["unique(order_id)", true],
            ["not_null(order_id,customer_id,order_date)", true]
        ])
    );

    // The endpoint received the same events, at the OpenLineage API path.
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), events.len(), "{got:?}");
    // Posted one after another, in the order the events happened (the files' sequence numbers).
    let mut names: Vec<_> = std::fs::read_dir(&events_dir)
        .unwrap()
        .flatten()
        .map(|f| f.path())
        .collect();
    names.sort();
    let files: Vec<Value> = names
        .iter()
        .map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())
        .collect();
    let posted: Vec<Value> = got
        .iter()
        .map(|(line, body)| {
            assert!(line.starts_with("POST /api/v1/lineage "), "{line}");
            serde_json::from_str(body).unwrap()
        })
        .collect();
    assert_eq!(files, posted);
    // The nominal time is the start of the business day 2026-11-21 in Asia/Shanghai.
    assert_eq!(
        files[0]["run"]["facets"]["nominalTime"]["nominalStartTime"],
        "2026-11-20T16:00:00Z"
    );
}

#[test]
fn a_failing_stage_and_an_unreachable_endpoint() {
    let p = Project::new();
    assert_eq!(p.strata(&["init", "shop"]).code, 0);
    let dir = p.path().join("shop");
    let (code, text) = strata(
        &dir,
        &[
            "new",
            "stage",
            "dws_status_code",
            "--layer",
            "dws",
            "--from",
            "dwd_order",
        ],
        &[],
    );
    assert_eq!(code, 0, "{text}");
    // A cast that fails on the data (not while planning): no status is an integer.
    std::fs::write(
        dir.join("sql/dws/dws_status_code.sql"),
        "SELECT order_id, CAST(status AS INT) AS code FROM dwd_order\n",
    )
    .unwrap();
    // Nothing listens on port 9 of loopback: sending fails, the run does not.
    let (code, text) = strata(
        &dir,
        &["run", "--ds", "2026-11-21"],
        &[("OPENLINEAGE_URL", "http://127.0.0.1:9")],
    );
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains(
            "could not send 16 of 16 OpenLineage events to http://127.0.0.1:9/api/v1/lineage"
        ),
        "{text}"
    );
    // One warning for the run, not one per event.
    assert_eq!(text.matches("OpenLineage events").count(), 1, "{text}");
    let (_, events) = checked_events(&dir.join("warehouse"));
    let failed = find(&events, "shop.dws_status_code", "FAIL");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("Cannot cast string"),
        "{failed:#}"
    );
    assert_eq!(events.last().unwrap()["type"], "FAIL");
    assert_eq!(events.last().unwrap()["job"], "shop");
}
