//! The HTML, SVG and assets of the docs site (see [`super::docs`]).
//!
//! Pages are complete HTML written here (no template engine); charts and the DAG are inline SVG
//! computed here, so pages render with scripting off; only the search box needs the small
//! script in `assets/strata.js`. All text from the project is HTML-escaped.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::docs::{Site, TableDoc};
use crate::model::Layer;

const CSS: &str = include_str!("docs/strata.css");
const JS: &str = include_str!("docs/strata.js");

/// Every file of the site: `(path relative to the site root, content)`.
pub fn render(site: &Site) -> Vec<(String, String)> {
    let mut files = vec![
        ("assets/strata.css".to_string(), CSS.to_string()),
        ("assets/strata.js".to_string(), JS.to_string()),
        ("assets/search-index.js".to_string(), search_index(site)),
        ("index.html".to_string(), index(site)),
    ];
    for t in &site.tables {
        files.push((format!("tables/{}.html", t.name), table_page(site, t)));
    }
    files
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(site: &Site, title: &str, root: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · {pipeline} · strata docs</title>
<link rel="stylesheet" href="{root}assets/strata.css">
</head>
<body data-root="{root}">
<header><a class="home" href="{root}index.html">{pipeline}</a>
<div class="search"><input id="search" type="search" placeholder="Search tables and columns" autocomplete="off" aria-label="Search tables and columns"><ol id="results"></ol></div>
</header>
<main>
{body}
</main>
<script src="{root}assets/search-index.js"></script>
<script src="{root}assets/strata.js"></script>
</body></html>
"#,
        title = esc(title),
        pipeline = esc(&site.pipeline),
    )
}

fn search_index(site: &Site) -> String {
    let mut entries = Vec::new();
    for t in &site.tables {
        entries.push(serde_json::json!({"k": "table", "n": t.name,
            "u": format!("tables/{}.html", t.name), "d": t.description.clone().unwrap_or_default()}));
        for c in &t.columns {
            entries.push(
                serde_json::json!({"k": "column", "n": format!("{}.{}", t.name, c.name),
                "u": format!("tables/{}.html#col-{}", t.name, c.name),
                "d": c.description.clone().unwrap_or_else(|| c.data_type.clone())}),
            );
        }
    }
    format!(
        "window.STRATA_INDEX = {};\n",
        serde_json::Value::Array(entries)
    )
}

fn index(site: &Site) -> String {
    let mut body = format!("<h1>{}</h1>\n", esc(&site.pipeline));
    if let Some(d) = &site.description {
        let _ = writeln!(body, "<p>{}</p>", esc(d));
    }
    let stages = site.tables.iter().filter(|t| t.kind == "stage").count();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let _ = writeln!(
        body,
        "<p class=\"muted\">{}, {}; history from the last {}.</p>",
        plural(
            site.tables.len() - stages,
            "source or seed",
            "sources and seeds"
        ),
        plural(stages, "stage", "stages"),
        plural(site.runs, "run", "runs"),
    );
    body.push_str("<h2>DAG by layer</h2>\n<div class=\"dag\">");
    body.push_str(&dag(site));
    body.push_str("</div>\n<h2>Tables</h2>\n<table><tr><th>table</th><th>layer</th><th>kind</th><th>description</th></tr>\n");
    for layer in Layer::ALL {
        for t in site.tables.iter().filter(|t| t.layer == layer) {
            let _ = writeln!(
                body,
                "<tr><td><a href=\"tables/{n}.html\">{n}</a></td><td><span class=\"badge {l}\">{l}</span></td><td>{k}</td><td>{d}</td></tr>",
                n = esc(&t.name),
                l = layer,
                k = t.kind,
                d = esc(t.description.as_deref().unwrap_or(""))
            );
        }
    }
    body.push_str("</table>\n");
    page(site, "DAG", "", &body)
}

const NODE_W: f64 = 230.0;
const COL_W: f64 = 270.0;
const ROW_H: f64 = 30.0;
const TOP: f64 = 44.0;

/// The DAG as SVG: one band per layer, inside a band one column per depth of same-layer
/// dependencies, nodes ordered by the mean position of their inputs (the barycenter rule).
fn dag(site: &Site) -> String {
    let by_name: BTreeMap<&str, &TableDoc> =
        site.tables.iter().map(|t| (t.name.as_str(), t)).collect();
    // Depth of each table within its layer.
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    fn depth_of<'a>(
        n: &'a str,
        by_name: &BTreeMap<&'a str, &'a TableDoc>,
        memo: &mut BTreeMap<&'a str, usize>,
    ) -> usize {
        if let Some(d) = memo.get(n) {
            return *d;
        }
        let t = by_name[n];
        let d = t
            .upstream
            .iter()
            .filter_map(|u| by_name.get_key_value(u.as_str()))
            .filter(|(_, u)| u.layer == t.layer)
            .map(|(k, _)| depth_of(k, by_name, memo) + 1)
            .max()
            .unwrap_or(0);
        memo.insert(n, d);
        d
    }
    for t in &site.tables {
        depth_of(&t.name, &by_name, &mut depth);
    }
    // Columns, left to right.
    let mut columns: Vec<(Layer, usize, Vec<&str>)> = Vec::new();
    for layer in Layer::ALL {
        let max = site
            .tables
            .iter()
            .filter(|t| t.layer == layer)
            .map(|t| depth[t.name.as_str()])
            .max();
        for d in 0..=max.unwrap_or(0) {
            let names: Vec<&str> = site
                .tables
                .iter()
                .filter(|t| t.layer == layer && depth[t.name.as_str()] == d)
                .map(|t| t.name.as_str())
                .collect();
            if !names.is_empty() {
                columns.push((layer, d, names));
            }
        }
    }
    let mut pos: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for (i, (_, _, names)) in columns.iter_mut().enumerate() {
        let mut keyed: Vec<(f64, &str)> = names
            .iter()
            .map(|n| {
                let ys: Vec<f64> = by_name[n]
                    .upstream
                    .iter()
                    .filter_map(|u| pos.get(u.as_str()).map(|p| p.1))
                    .collect();
                let y = if ys.is_empty() {
                    f64::MAX
                } else {
                    ys.iter().sum::<f64>() / ys.len() as f64
                };
                (y, *n)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
        for (row, (_, n)) in keyed.iter().enumerate() {
            pos.insert(n, (20.0 + i as f64 * COL_W, TOP + row as f64 * ROW_H));
        }
    }
    let rows = columns.iter().map(|c| c.2.len()).max().unwrap_or(0);
    let height = TOP + rows as f64 * ROW_H + 16.0;
    let width = 20.0 + columns.len() as f64 * COL_W;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"pipeline DAG\">\n"
    );
    // Bands.
    for layer in Layer::ALL {
        let idx: Vec<usize> = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.0 == layer)
            .map(|(i, _)| i)
            .collect();
        let (Some(first), Some(last)) = (idx.first(), idx.last()) else {
            continue;
        };
        let x = 10.0 + *first as f64 * COL_W;
        let w = (last - first + 1) as f64 * COL_W - 10.0;
        let _ = writeln!(
            svg,
            "<rect class=\"band\" x=\"{x}\" y=\"4\" width=\"{w}\" height=\"{}\" fill=\"var(--{layer})\"/><text class=\"band-label\" x=\"{}\" y=\"24\">{}</text>",
            height - 8.0,
            x + 10.0,
            layer.as_str().to_uppercase()
        );
    }
    // Edges, then nodes on top.
    for t in &site.tables {
        let Some(&(x2, y2)) = pos.get(t.name.as_str()) else {
            continue;
        };
        for u in &t.upstream {
            if let Some(&(x1, y1)) = pos.get(u.as_str()) {
                let (sx, sy, ex, ey) = (x1 + NODE_W, y1 + 11.0, x2, y2 + 11.0);
                let mid = (sx + ex) / 2.0;
                let _ = writeln!(
                    svg,
                    "<path class=\"edge\" d=\"M{sx},{sy} C{mid},{sy} {mid},{ey} {ex},{ey}\"><title>{} → {}</title></path>",
                    esc(u),
                    esc(&t.name)
                );
            }
        }
    }
    for t in &site.tables {
        let (x, y) = pos[t.name.as_str()];
        let _ = writeln!(
            svg,
            "<a class=\"node\" href=\"tables/{n}.html\"><rect x=\"{x}\" y=\"{y}\" width=\"{NODE_W}\" height=\"22\"/><text x=\"{}\" y=\"{}\">{n}</text><title>{d}</title></a>",
            x + 7.0,
            y + 15.5,
            n = esc(&t.name),
            d = esc(t.description.as_deref().unwrap_or(&t.name))
        );
    }
    svg.push_str("</svg>");
    svg
}

fn link(table: &str) -> String {
    format!("<a href=\"{t}.html\">{t}</a>", t = esc(table))
}

fn table_page(site: &Site, t: &TableDoc) -> String {
    let mut b = format!(
        "<h1>{}</h1>\n<p><span class=\"badge {l}\">{l}</span><span class=\"badge\">{k}</span>{m}</p>\n",
        esc(&t.name),
        l = t.layer,
        k = t.kind,
        m = t
            .materialization
            .as_ref()
            .map(|m| format!("<span class=\"badge\">{}</span>", esc(m)))
            .unwrap_or_default()
    );
    if let Some(d) = &t.description {
        let _ = writeln!(b, "<p>{}</p>", esc(d));
    }
    let _ = writeln!(
        b,
        "<p class=\"muted\">Location: <span class=\"mono\">{}</span>{}</p>",
        esc(&t.location),
        t.sql_file
            .as_ref()
            .map(|f| format!(" · SQL: <span class=\"mono\">{}</span>", esc(f)))
            .unwrap_or_default()
    );
    let list = |v: &[String]| {
        if v.is_empty() {
            "<span class=\"muted\">none</span>".to_string()
        } else {
            v.iter().map(|x| link(x)).collect::<Vec<_>>().join(", ")
        }
    };
    let _ = writeln!(
        b,
        "<p>Upstream: {}<br>Downstream: {}</p>",
        list(&t.upstream),
        list(&t.downstream)
    );
    b.push_str("<h2 id=\"columns\">Columns</h2>\n<table class=\"columns\"><tr><th>column</th><th>type</th><th>description</th><th>computed from</th><th>source columns</th></tr>\n");
    for c in &t.columns {
        let origins = c
            .origins
            .iter()
            .map(|(tb, col, d)| {
                format!(
                    "<a href=\"{tb}.html#col-{col}\">{tb}.{col}</a> <span class=\"badge {d}\">{d}</span>",
                    tb = esc(tb),
                    col = esc(col)
                )
            })
            .collect::<Vec<_>>()
            .join("<br>");
        // Grouped by table: `ods_order: amount, order_time`.
        let mut grouped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for s in &c.sources {
            if let Some((tb, col)) = s.split_once('.') {
                grouped.entry(tb).or_default().push(col);
            }
        }
        let sources = grouped
            .iter()
            .map(|(tb, cols)| {
                format!(
                    "<a href=\"{tb}.html\">{tb}</a>: {}",
                    esc(&cols.join(", ")),
                    tb = esc(tb)
                )
            })
            .collect::<Vec<_>>()
            .join("<br>");
        let _ = writeln!(
            b,
            "<tr id=\"col-{n}\"><td><code>{n}</code></td><td><code>{ty}</code></td><td>{d}</td><td class=\"lineage\">{origins}</td><td class=\"sources\">{sources}</td></tr>",
            n = esc(&c.name),
            ty = esc(&c.data_type),
            d = esc(c.description.as_deref().unwrap_or(""))
        );
    }
    b.push_str("</table>\n");
    if !t.checks.is_empty() {
        b.push_str("<h2 id=\"checks\">Checks</h2>\n<table><tr><th>check</th><th>kind</th><th>severity</th><th>rule</th></tr>\n");
        for [name, kind, severity, detail] in &t.checks {
            let _ = writeln!(
                b,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                esc(name),
                esc(kind),
                esc(severity),
                esc(detail)
            );
        }
        b.push_str("</table>\n");
    }
    b.push_str("<h2 id=\"history\">Recent runs</h2>\n");
    if t.history.is_empty() {
        b.push_str("<p class=\"muted\">No recorded run built this table (run records are read from the warehouse's <code>_meta/runs/</code>).</p>\n");
    } else {
        let _ = writeln!(
            b,
            "<div class=\"charts\">{}{}</div>",
            rows_chart(t),
            checks_chart(t)
        );
    }
    if let Some(sql) = &t.sql {
        let _ = writeln!(
            b,
            "<h2 id=\"sql\">SQL</h2>\n<pre><code>{}</code></pre>",
            esc(sql)
        );
    }
    page(site, &t.name, "../", &b)
}

/// Rows written per run as bars, oldest left; runs that did not publish the table (blocked by
/// checks, or rebuilding a past date's partition only) in another colour.
fn rows_chart(t: &TableDoc) -> String {
    let n = t.history.len() as f64;
    let (w, h, left) = (360.0_f64.max(n * 14.0 + 60.0), 120.0, 50.0);
    let max = t
        .history
        .iter()
        .filter_map(|p| p.rows)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let bw = (w - left - 10.0) / n;
    let mut s = format!(
        "<svg class=\"chart rows\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\"><text x=\"0\" y=\"12\">rows per run (max {})</text>",
        h + 30.0,
        max as u64
    );
    for (i, p) in t.history.iter().enumerate() {
        let x = left + i as f64 * bw;
        if let Some(r) = p.rows {
            let bh = (r as f64 / max * (h - 24.0)).max(1.0);
            let _ = write!(
                s,
                "<rect class=\"bar {}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"><title>{} ({}, run {}): {r} rows</title></rect>",
                // A run that built the table but did not publish it is drawn apart.
                if p.status == "succeeded" {
                    "published"
                } else {
                    "unpublished"
                },
                h - bh,
                (bw - 2.0).max(1.0),
                esc(&p.ds),
                esc(&p.status),
                esc(&p.run_id)
            );
        } else {
            // A run in which the stage failed wrote nothing: a red mark on the axis.
            let _ = write!(
                s,
                "<rect class=\"bar failed\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"4\"><title>{} ({}, run {}): no rows written</title></rect>",
                h - 4.0,
                (bw - 2.0).max(1.0),
                esc(&p.ds),
                esc(&p.status),
                esc(&p.run_id)
            );
        }
    }
    if let (Some(first), Some(last)) = (t.history.first(), t.history.last()) {
        let _ = write!(
            s,
            "<text x=\"{left}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            h + 16.0,
            esc(&first.ds),
            w - 10.0,
            h + 16.0,
            esc(&last.ds)
        );
    }
    s.push_str("</svg>");
    s
}

/// Check results per run: one row per check, one cell per run, coloured by status.
fn checks_chart(t: &TableDoc) -> String {
    let mut names: Vec<&str> = Vec::new();
    for p in &t.history {
        for (c, _) in &p.checks {
            if !names.contains(&c.as_str()) {
                names.push(c);
            }
        }
    }
    if names.is_empty() {
        return String::new();
    }
    let cell = 12.0;
    let label = 260.0;
    let w = label + t.history.len() as f64 * (cell + 2.0) + 10.0;
    let h = 20.0 + names.len() as f64 * (cell + 3.0);
    let mut s = format!(
        "<svg class=\"chart checks\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\"><text x=\"0\" y=\"12\">check results per run</text>"
    );
    for (r, name) in names.iter().enumerate() {
        let y = 20.0 + r as f64 * (cell + 3.0);
        let short: String = name.chars().take(40).collect();
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{:.1}\">{}</text>",
            y + 10.0,
            esc(&short)
        );
        for (i, p) in t.history.iter().enumerate() {
            let status = p
                .checks
                .iter()
                .find(|(c, _)| c == name)
                .map(|(_, st)| st.as_str())
                .unwrap_or("none");
            let _ = write!(
                s,
                "<rect class=\"cell {st}\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{cell}\" height=\"{cell}\"><title>{}: {st}</title></rect>",
                label + i as f64 * (cell + 2.0),
                esc(&p.ds),
                st = esc(status)
            );
        }
    }
    s.push_str("</svg>");
    s
}
