//! `strata docs`: a static documentation site of the pipeline, readable from disk with no
//! network, and `--serve` to browse it on localhost.
//!
//! The site has an index with the DAG drawn by layer (each layer a band, each table a link) and a
//! search box over tables and columns, and one page per source and stage: description,
//! materialization, location, columns (type, description from the pipeline's `columns:` form,
//! column lineage and the source columns each comes from), checks, upstream and downstream
//! tables, the SQL, and, read from the warehouse's `_meta/runs/` when there is one, the row
//! counts and check results of the recent runs as small charts. Everything is written by strata
//! itself (HTML, inline SVG, a small stylesheet and script): no CDN, no framework.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::lineage::{Direction, LineageGraph, graph_of};
use super::load_project;
use super::records::{self, RunRecord};
use crate::error::{Result, StrataError};
use crate::model::Layer;
use crate::settings::Overrides;
use crate::storage::Warehouse;

/// How many recent runs the charts show.
pub const HISTORY_RUNS: usize = 30;

/// One table of the site: everything its page shows.
#[derive(Debug, Clone, Serialize)]
pub struct TableDoc {
    pub name: String,
    /// `source`, `seed` or `stage`.
    pub kind: &'static str,
    pub layer: Layer,
    pub description: Option<String>,
    pub materialization: Option<String>,
    pub location: String,
    pub sql: Option<String>,
    /// The SQL file, relative to the project.
    pub sql_file: Option<String>,
    pub columns: Vec<ColumnDoc>,
    /// Declared checks: name, kind, severity, detail.
    pub checks: Vec<[String; 4]>,
    pub upstream: Vec<String>,
    pub downstream: Vec<String>,
    /// Recent runs that built this table, oldest first.
    pub history: Vec<RunPoint>,
}

/// A column with its lineage.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnDoc {
    pub name: String,
    pub data_type: String,
    pub description: Option<String>,
    /// Immediate origins: `(table, column, derivation)`.
    pub origins: Vec<(String, String, &'static str)>,
    /// The source (or seed) columns at the end of every upstream path: `table.column`.
    pub sources: Vec<String>,
}

/// One run of a table: its date, rows written (none when it did not build) and check results.
#[derive(Debug, Clone, Serialize)]
pub struct RunPoint {
    pub run_id: String,
    pub ds: String,
    pub status: String,
    pub rows: Option<u64>,
    /// Check name and status (`pass`, `warn`, `fail`, `error`).
    pub checks: Vec<(String, String)>,
}

/// The whole site's content.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub pipeline: String,
    pub description: Option<String>,
    pub tables: Vec<TableDoc>,
    /// How many runs the history was read from (0 without a warehouse).
    pub runs: usize,
}

/// What `strata docs` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct DocsOutcome {
    pub out: PathBuf,
    pub pages: usize,
    pub runs: usize,
}

/// Collect the site's content: validate, compute lineage, read recent run records.
///
/// # Errors
/// The pipeline's validation problems.
pub async fn site(given: Option<&Path>, overrides: &Overrides) -> Result<Site> {
    let (project, settings, schemas) = super::validated(given, overrides).await?;
    let pipeline = &project.pipeline;
    let lineage = graph_of(pipeline, &settings, &schemas).await?;
    // The warehouse is optional: docs of a project that never ran have no history.
    let runs = match Warehouse::open_read_only(&settings.warehouse, &pipeline.project_dir) {
        Ok(wh) => records::list(&wh, HISTORY_RUNS).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let mut tables = Vec::new();
    for (name, t) in &lineage.tables {
        let stage = pipeline.stage(name);
        let source = pipeline.source(name);
        let docs = stage
            .map(|s| &s.column_docs)
            .or(source.map(|s| &s.column_docs));
        let columns = t
            .columns
            .iter()
            .map(|c| ColumnDoc {
                name: c.name.clone(),
                data_type: c.data_type.clone(),
                description: docs
                    .and_then(|d| d.iter().find(|(n, _)| n == &c.name))
                    .map(|(_, d)| d.clone()),
                origins: c
                    .origins
                    .iter()
                    .map(|o| (o.table.clone(), o.column.clone(), o.derivation.as_str()))
                    .collect(),
                sources: leaves(&lineage, name, &c.name),
            })
            .collect();
        let checks = stage
            .map(|s| &s.checks)
            .or(source.map(|s| &s.checks))
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        let detail = serde_json::to_value(&c.kind)
                            .map(|v| rule_text(&v))
                            .unwrap_or_default();
                        [
                            c.name.clone(),
                            c.kind.kind_name().to_string(),
                            format!("{:?}", c.severity).to_lowercase(),
                            detail,
                        ]
                    })
                    .collect()
            })
            .unwrap_or_default();
        let upstream = project
            .plan
            .stages
            .iter()
            .find(|s| &s.name == name)
            .map(|s| s.inputs.iter().map(|i| i.table.clone()).collect())
            .unwrap_or_default();
        let downstream = project
            .plan
            .stages
            .iter()
            .filter(|s| s.inputs.iter().any(|i| &i.table == name))
            .map(|s| s.name.clone())
            .collect();
        let (kind, layer, location) = match (stage, source) {
            (Some(s), _) => (
                "stage",
                s.layer,
                format!(
                    "{}/{}/{}/",
                    settings.warehouse.trim_end_matches('/'),
                    s.layer,
                    s.name
                ),
            ),
            (None, Some(s)) => (
                if s.format == crate::model::SourceFormat::Csv {
                    "seed"
                } else {
                    "source"
                },
                Layer::Ods,
                s.location.clone(),
            ),
            (None, None) => continue,
        };
        tables.push(TableDoc {
            name: name.clone(),
            kind,
            layer,
            description: stage
                .and_then(|s| s.description.clone())
                .or_else(|| source.and_then(|s| s.description.clone())),
            materialization: stage.map(|s| format!("{:?}", s.materialization).to_lowercase()),
            location,
            sql: stage.map(|s| s.sql.clone()),
            sql_file: stage.map(|s| s.sql_display.display().to_string()),
            columns,
            checks,
            upstream,
            downstream,
            history: history(&runs, name),
        });
    }
    Ok(Site {
        pipeline: pipeline.name.clone(),
        description: pipeline.description.clone(),
        tables,
        runs: runs.len(),
    })
}

/// A check's arguments as `key: value` lines (`columns: a, b`; a query as written); the kind
/// itself is shown beside it.
fn rule_text(kind: &serde_json::Value) -> String {
    use serde_json::Value;
    let args = match kind {
        Value::Object(o) => o.values().next().cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let plain = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    match &args {
        Value::Object(o) => o
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}: {}", plain(v)))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => plain(other),
    }
}

/// The source columns every upstream path of `table.column` ends at.
fn leaves(g: &LineageGraph, table: &str, column: &str) -> Vec<String> {
    fn walk(n: &super::lineage::LineageNode, out: &mut Vec<String>, root: bool) {
        if n.children.is_empty() && !root {
            out.push(format!("{}.{}", n.table, n.column));
        }
        for c in &n.children {
            walk(c, out, false);
        }
    }
    let mut out = Vec::new();
    walk(&g.tree(table, column, Direction::Upstream), &mut out, true);
    out.sort();
    out.dedup();
    out
}

/// The runs that executed `table`, oldest first, with its rows and check results.
fn history(runs: &[RunRecord], table: &str) -> Vec<RunPoint> {
    let mut out: Vec<RunPoint> = runs
        .iter()
        .filter_map(|r| {
            let stage = r.stages.iter().find(|s| s["stage"] == table)?;
            let status = stage["status"].as_str().unwrap_or("").to_string();
            if status == "unchanged" || status == "skipped" {
                return None;
            }
            Some(RunPoint {
                run_id: r.run_id.clone(),
                ds: r.ds.clone(),
                status,
                rows: stage["output"]["rows"].as_u64(),
                checks: stage["checks"]
                    .as_array()
                    .map(|cs| {
                        cs.iter()
                            .map(|c| {
                                (
                                    c["check"].as_str().unwrap_or("").to_string(),
                                    c["status"].as_str().unwrap_or("").to_string(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect();
    out.reverse();
    out
}

/// `strata docs [--out DIR]`: write the site (default: `target/docs` in the project directory).
///
/// # Errors
/// As [`site`]; `Io` when a file cannot be written.
pub async fn build(
    given: Option<&Path>,
    overrides: &Overrides,
    out: Option<&Path>,
) -> Result<DocsOutcome> {
    let site = site(given, overrides).await?;
    let out = match out {
        Some(p) => p.to_path_buf(),
        None => load_project(given)?
            .pipeline
            .project_dir
            .join("target")
            .join("docs"),
    };
    let files = super::docs_html::render(&site);
    for (rel, text) in &files {
        let path = out.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| StrataError::Io {
                operation: "create directory",
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, text).map_err(|source| StrataError::Io {
            operation: "write",
            path: path.clone(),
            source,
        })?;
    }
    Ok(DocsOutcome {
        out,
        pages: files.iter().filter(|(p, _)| p.ends_with(".html")).count(),
        runs: site.runs,
    })
}

/// Serve `dir` on `127.0.0.1:port` until the process is stopped. Only files under `dir` are
/// served; `..` and absolute paths are refused.
///
/// # Errors
/// `Io` when the port cannot be bound.
pub fn serve(dir: &Path, port: u16, ready: impl FnOnce(&str)) -> Result<()> {
    use std::io::{BufRead, BufReader, Write};
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|source| StrataError::Io {
            operation: "listen on",
            path: PathBuf::from(format!("127.0.0.1:{port}")),
            source,
        })?;
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    ready(&format!("http://{addr}/"));
    let types: BTreeMap<&str, &str> = [
        ("html", "text/html; charset=utf-8"),
        ("css", "text/css; charset=utf-8"),
        ("js", "text/javascript; charset=utf-8"),
        ("svg", "image/svg+xml"),
        ("json", "application/json"),
    ]
    .into();
    for conn in listener.incoming().flatten() {
        let mut line = String::new();
        let mut reader = BufReader::new(&conn);
        if reader.read_line(&mut line).is_err() {
            continue;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/");
        let target = target.split(['?', '#']).next().unwrap_or("/");
        let rel = target.trim_start_matches('/');
        let rel = if rel.is_empty() || rel.ends_with('/') {
            format!("{rel}index.html")
        } else {
            rel.to_string()
        };
        let safe = !rel.split('/').any(|p| p == ".." || p.contains('\\'));
        let file = dir.join(&rel);
        let mut conn = &conn;
        match std::fs::read(&file).ok().filter(|_| safe) {
            Some(body) => {
                let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
                let ctype = types
                    .get(ext)
                    .copied()
                    .unwrap_or("application/octet-stream");
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&body);
            }
            None => {
                let _ = conn.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
                );
            }
        }
    }
    Ok(())
}
