//! The only place that prints: results to stdout, progress and diagnostics to stderr, as human
//! text or JSON.

mod json_rows;
mod perf;
pub mod progress;
mod tools;

use std::fmt::Write as _;
use std::io::Write;

use datafusion::arrow::util::pretty::pretty_format_batches;

use crate::app::ValidateOutcome;
use crate::app::inspect::{Listing, QueryResult};
use crate::app::run::{RunOutcome, StageStatus};
use crate::diag::Problem;
use crate::error::StrataError;
use crate::plan::Plan;

/// Output format of structured results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Serialize a `Duration` as fractional seconds.
pub mod seconds {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
    }
}

/// Writes results and diagnostics.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: Format,
    pub quiet: bool,
}

impl Printer {
    fn out(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = stdout.write_all(b"\n");
        }
    }

    fn json(&self, value: &impl serde::Serialize) {
        match serde_json::to_string_pretty(value) {
            Ok(s) => self.out(&s),
            Err(e) => to_stderr(&format!("error: cannot encode output as JSON: {e}\n")),
        }
    }

    /// Print an error with its causes and hints to stderr.
    pub fn error(&self, err: &StrataError) {
        if self.format == Format::Json {
            let problems = match err {
                StrataError::Invalid { problems } => problems.clone(),
                _ => Vec::new(),
            };
            let value = serde_json::json!({
                "error": err.to_string(),
                "causes": causes(err),
                "hint": err.hint(),
                "problems": problems,
            });
            to_stderr(&format!(
                "{}\n",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            ));
            return;
        }
        to_stderr(&render_error(err));
    }

    pub fn validated(&self, v: &ValidateOutcome) {
        if self.format == Format::Json {
            return self.json(v);
        }
        if !self.quiet {
            self.out(&format!(
                "pipeline `{}` is valid: {} sources, {} stages",
                v.pipeline, v.sources, v.stages
            ));
        }
    }

    pub fn plan(&self, plan: &Plan, outputs: &[String]) {
        if self.format == Format::Json {
            let stages: Vec<_> = plan
                .stages
                .iter()
                .zip(outputs)
                .map(|(s, out)| {
                    serde_json::json!({
                        "name": s.name, "layer": s.layer, "materialization": s.materialization,
                        "sql_file": s.sql_file,
                        "inputs": s.inputs.iter().map(|i| &i.table).collect::<Vec<_>>(),
                        "output": out,
                    })
                })
                .collect();
            return self.json(&serde_json::json!({"pipeline": plan.pipeline, "stages": stages}));
        }
        self.out(&render_plan(plan, outputs));
    }

    pub fn run(&self, o: &RunOutcome, outputs: &[String]) {
        if self.format == Format::Json {
            return self.json(o);
        }
        if o.dry_run {
            self.out(&format!(
                "dry run for ds {}: would run {} stage(s), writing nothing",
                o.ds,
                o.plan.stages.len()
            ));
            self.out(&render_plan(&o.plan, outputs));
            return;
        }
        if self.quiet && o.succeeded() {
            return;
        }
        let ok = o.built();
        let mut s = format!(
            "run {} for ds {}: {} succeeded, {} unchanged, {} failed, {} blocked by checks, {} skipped in {:.1}s\n",
            o.run_id,
            o.ds,
            ok,
            o.unchanged(),
            o.failed(),
            o.blocked(),
            o.skipped(),
            o.elapsed.as_secs_f64()
        );
        if let Some(latest) = &o.past_of {
            let _ = writeln!(
                s,
                "  {} is before {latest}: only its partitions were considered; the full tables stay as of {latest}",
                o.ds
            );
        }
        for r in &o.stages {
            if let Some(line) = &r.summary {
                let _ = writeln!(s, "  {}: {line}", r.stage);
            }
        }
        if let Some(line) = perf::cost_line(o, crate::engine::usage::process_peak_rss()) {
            let _ = writeln!(s, "  {line}");
        }
        for a in &o.source_anomalies {
            let files = match a.files {
                1 => String::new(),
                n => format!(" (and {} more files)", n - 1),
            };
            let column = a
                .column
                .as_ref()
                .map(|c| format!(", column `{c}`"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  source {}: {}{files}{column}: {}; {}",
                a.source, a.file, a.what, a.action
            );
        }
        for c in o
            .source_checks
            .iter()
            .filter(|c| c.status != crate::checks::CheckStatus::Pass)
        {
            let _ = writeln!(s, "  {}", check_line(c));
        }
        for r in &o.stages {
            for c in r
                .checks
                .iter()
                .filter(|c| c.status != crate::checks::CheckStatus::Pass)
            {
                let _ = writeln!(s, "  {}", check_line(c));
            }
        }
        for r in &o.stages {
            match &r.status {
                StageStatus::Failed { error } => {
                    let _ = writeln!(s, "  failed  {}: {error}", r.stage);
                }
                StageStatus::Skipped { because } => {
                    let _ = writeln!(s, "  skipped {}: {because}", r.stage);
                }
                StageStatus::Blocked { failed_checks, .. } => {
                    let _ = writeln!(
                        s,
                        "  blocked {}: failed checks {}; the previous data stays published",
                        r.stage,
                        crate::checks::describe_blocking(&r.checks, failed_checks)
                    );
                }
                StageStatus::Succeeded { .. }
                | StageStatus::Unchanged { .. }
                | StageStatus::Scratch { .. } => {}
            }
        }
        if let Some(rel) = &o.release {
            let _ = writeln!(s, "release {} is current", rel.run_id);
        }
        self.out(&s);
    }

    /// The outcome of a run over several dates: each date's summary, then one line.
    pub fn batch(&self, b: &crate::app::batch::BatchOutcome) {
        if self.format == Format::Json {
            return self.json(b);
        }
        for o in &b.runs {
            self.run(o, &o.outputs);
        }
        if self.quiet && b.succeeded() {
            return;
        }
        let built: usize = b.runs.iter().map(|r| r.built()).sum();
        let unchanged: usize = b.runs.iter().map(|r| r.unchanged()).sum();
        let mut line = format!(
            "{} of {} date(s) run: {built} stage(s) built, {unchanged} unchanged",
            b.runs.len(),
            b.dates.len()
        );
        if let Some(d) = &b.stopped_at {
            let _ = write!(
                line,
                "; stopped at {d}: fix it and run the same command again to continue from there"
            );
        }
        self.out(&line);
    }

    /// `strata status`: one line per stage and date.
    pub fn status(&self, st: &crate::app::status::StatusOutcome) {
        if self.format == Format::Json {
            return self.json(st);
        }
        let rows: Vec<Vec<String>> = st
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.stage.clone(),
                    r.layer.clone(),
                    r.ds.clone().unwrap_or_else(|| "-".into()),
                    r.state.as_str().to_string(),
                    r.why.join("; "),
                ]
            })
            .collect();
        let mut s = format!(
            "release {}, full tables as of {}\n",
            st.release.as_deref().unwrap_or("(none)"),
            st.as_of.as_deref().unwrap_or("(none)")
        );
        s.push_str(&text_table(
            &["stage", "layer", "ds", "state", "why"],
            &rows,
        ));
        self.out(&s);
    }

    pub fn generated(&self, g: &crate::generate::GenerateOutcome) {
        if self.quiet {
            return;
        }
        let rows: Vec<Vec<String>> = g
            .tables
            .iter()
            .map(|t| {
                vec![
                    t.table.clone(),
                    t.rows.to_string(),
                    t.files.to_string(),
                    human_bytes(t.bytes),
                ]
            })
            .collect();
        let mut s = format!(
            "generated {} tables in {:.1}s\n",
            g.tables.len(),
            g.elapsed.as_secs_f64()
        );
        s.push_str(&text_table(&["table", "rows", "files", "size"], &rows));
        self.out(&s);
    }

    pub fn runs(&self, runs: &[crate::app::records::RunRecord]) {
        if self.format == Format::Json {
            return self.json(&runs);
        }
        let rows: Vec<Vec<String>> = runs
            .iter()
            .map(|r| {
                vec![
                    r.run_id.clone(),
                    r.ds.clone(),
                    r.status.clone(),
                    r.stages.len().to_string(),
                    format!("{:.1}s", r.seconds),
                    r.release.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        self.out(&text_table(
            &["run", "ds", "status", "stages", "time", "release"],
            &rows,
        ));
    }

    pub fn checks(&self, rec: &crate::app::records::RunRecord) {
        let checks: Vec<&serde_json::Value> = rec
            .stages
            .iter()
            .filter_map(|s| s.get("checks").and_then(|c| c.as_array()))
            .flatten()
            .collect();
        if self.format == Format::Json {
            return self.json(&checks);
        }
        let rows: Vec<Vec<String>> = checks
            .iter()
            .map(|c| {
                let text = |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                let num = |k: &str| c.get(k).and_then(|v| v.as_u64()).unwrap_or(0).to_string();
                vec![
                    text("stage"),
                    text("check"),
                    text("severity"),
                    text("status"),
                    num("failing"),
                    num("total"),
                    text("message"),
                ]
            })
            .collect();
        self.out(&format!(
            "checks of run {} (ds {}, {})\n{}",
            rec.run_id,
            rec.ds,
            rec.status,
            text_table(
                &[
                    "stage", "check", "severity", "status", "failing", "rows", "message"
                ],
                &rows
            )
        ));
    }

    pub fn rolled_back(&self, p: &crate::storage::release::ReleasePointer) {
        if self.format == Format::Json {
            return self.json(p);
        }
        if !self.quiet {
            self.out(&format!(
                "release {} (ds {}) is current again",
                p.run_id, p.ds
            ));
        }
    }

    pub fn listing(&self, l: &Listing) {
        if self.format == Format::Json {
            return self.json(l);
        }
        let mut rows = Vec::new();
        for t in &l.tables {
            rows.push(vec![
                t.table.clone(),
                t.layer.to_string(),
                t.materialization
                    .map(|m| m.as_str())
                    .unwrap_or("source")
                    .to_string(),
                if t.layer == crate::model::Layer::Ods {
                    "-".to_string()
                } else {
                    t.files.to_string()
                },
                human_bytes(t.bytes),
                t.last_written.clone().unwrap_or_else(|| "-".into()),
                t.location.clone(),
            ]);
        }
        let mut s = match &l.release {
            Some(r) => format!("current release {} (ds {})\n", r.run_id, r.ds),
            None => "no release published yet\n".to_string(),
        };
        s.push_str(&text_table(
            &[
                "table",
                "layer",
                "kind",
                "files",
                "size",
                "last written",
                "location",
            ],
            &rows,
        ));
        self.out(&s);
    }

    pub fn query(&self, q: &QueryResult) {
        if self.format == Format::Json {
            return self.json(&json_rows::batches_to_json(&q.batches));
        }
        match pretty_format_batches(&q.batches) {
            Ok(t) => self.out(&t.to_string()),
            Err(e) => to_stderr(&format!("error: cannot format the result: {e}\n")),
        }
    }
}

/// One line for a check result.
/// Writes `text` to stderr as it is, ignoring a closed or failing stderr (`strata run 2>&1 |
/// head -1` closes it after one line): what cannot be shown is no reason to abandon a run and
/// leave its lock behind, as `eprintln!`'s panic did.
pub(crate) fn to_stderr(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

pub fn check_line(c: &crate::checks::CheckResult) -> String {
    let status = format!("{:?}", c.status).to_uppercase();
    let mut s = format!(
        "{status:<5} {}.{}: {} of {} rows fail",
        c.stage, c.check, c.failing, c.total
    );
    if let Some(m) = &c.message {
        s.push_str(&format!(" ({m})"));
    }
    if !c.samples.is_empty() {
        s.push_str(&format!("; e.g. {}", c.samples.join("; ")));
    }
    s
}

/// Rows as JSON objects.
fn render_plan(plan: &Plan, outputs: &[String]) -> String {
    let rows: Vec<Vec<String>> = plan
        .stages
        .iter()
        .zip(outputs)
        .enumerate()
        .map(|(i, (s, out))| {
            vec![
                (i + 1).to_string(),
                s.name.clone(),
                s.layer.to_string(),
                s.materialization.as_str().to_string(),
                short_list(
                    &s.inputs
                        .iter()
                        .map(|i| i.table.as_str())
                        .collect::<Vec<_>>(),
                    3,
                ),
                out.clone(),
            ]
        })
        .collect();
    format!(
        "pipeline `{}`: {} stage(s) in execution order\n{}",
        plan.pipeline,
        plan.stages.len(),
        text_table(
            &["#", "stage", "layer", "materialization", "inputs", "output"],
            &rows
        )
    )
}

/// The first `n` items joined, and how many more there are.
fn short_list(items: &[&str], n: usize) -> String {
    if items.len() <= n {
        return items.join(", ");
    }
    format!("{}, +{} more", items[..n].join(", "), items.len() - n)
}

/// A plain, left-aligned text table.
pub fn text_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let width = |s: &str| {
        s.chars()
            .map(|c| if c.is_ascii() { 1 } else { 2 })
            .sum::<usize>()
    };
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(widths[i] - width(c) + 2));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn causes(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = match e.downcast_ref::<datafusion::error::DataFusionError>() {
            Some(df) => crate::engine::validate::full_message(df),
            None => e.to_string(),
        };
        if !text.is_empty() && out.last() != Some(&text) {
            out.push(text);
        }
        // DataFusion errors print their whole chain in their own message.
        if e.is::<datafusion::error::DataFusionError>() {
            break;
        }
        cur = e.source();
    }
    out
}

/// The error with its causes on one line, for run summaries and records.
pub fn error_chain_text(err: &StrataError) -> String {
    let mut parts = vec![err.to_string()];
    parts.extend(causes(err));
    parts.join(": ")
}

fn render_problem(p: &Problem) -> String {
    let mut s = format!("error: {p}\n");
    if let Some(h) = p.hint() {
        let _ = writeln!(s, "  hint: {h}");
    }
    s
}

/// `error:` / `caused by:` / `hint:` lines for an error.
pub fn render_error(err: &StrataError) -> String {
    let mut s = String::new();
    if let StrataError::Invalid { problems } = err {
        for p in problems {
            s.push_str(&render_problem(p));
        }
        let _ = writeln!(s, "error: {err}; nothing was run");
        return s;
    }
    let _ = writeln!(s, "error: {err}");
    for c in causes(err) {
        let _ = writeln!(s, "  caused by: {c}");
    }
    if let Some(h) = err.hint() {
        let _ = writeln!(s, "  hint: {h}");
    }
    s
}
