//! `strata lineage`: column-level lineage of the whole pipeline, as a graph and as trees.
//!
//! Every stage is validated first (so lineage is only given for a pipeline that plans), then each
//! stage's logical plan is walked by [`crate::engine::lineage`]. Sources and seeds are leaves.
//! Upstream trees follow a column back to the source columns it is computed from; downstream
//! trees list every column computed from it. The graph is also what the docs site shows.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::diag::suggest;
use crate::engine::{self, lineage::Derivation};
use crate::error::{Result, StrataError};
use crate::settings::{Overrides, RunSettings};

/// Column lineage of every table of a pipeline.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LineageGraph {
    /// By table name: sources, seeds and stages.
    pub tables: BTreeMap<String, TableLineage>,
}

/// One table's columns and, for a stage, where each comes from.
#[derive(Debug, Clone, Serialize)]
pub struct TableLineage {
    /// `source` (a landed table or seed) or `stage`.
    pub kind: &'static str,
    /// The tables a stage's query reads (none for a source).
    pub reads: Vec<String>,
    pub columns: Vec<ColumnLineage>,
}

/// One column: its Arrow type and the input columns it is computed from (none for a source).
#[derive(Debug, Clone, Serialize)]
pub struct ColumnLineage {
    pub name: String,
    pub data_type: String,
    pub origins: Vec<Origin>,
}

/// An input column of a stage column, with how the value is derived from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub table: String,
    pub column: String,
    pub derivation: Derivation,
}

/// Which way a lineage tree goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Towards the sources: what a column is computed from.
    Upstream,
    /// Towards the reports: what is computed from a column.
    Downstream,
}

/// A node of a lineage tree. `derivation` says how the parent was derived from this column
/// (upstream) or how this column is derived from the parent (downstream); the root has none.
#[derive(Debug, Clone, Serialize)]
pub struct LineageNode {
    pub table: String,
    pub column: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derivation: Option<Derivation>,
    pub children: Vec<LineageNode>,
}

/// What `strata lineage` prints: one tree per asked column.
#[derive(Debug, Clone, Serialize)]
pub struct LineageOutcome {
    pub direction: &'static str,
    pub trees: Vec<LineageNode>,
}

/// Validate the pipeline and compute the lineage of every stage column.
///
/// # Errors
/// The pipeline's problems (as `strata validate` reports them), or a stage that does not plan.
pub async fn graph(given: Option<&Path>, overrides: &Overrides) -> Result<LineageGraph> {
    let (project, settings, schemas) = super::validated(given, overrides).await?;
    graph_of(&project.pipeline, &settings, &schemas).await
}

/// The lineage of every table in `schemas` (the output of validation), planning each stage of
/// `pipeline` over empty tables.
///
/// # Errors
/// A stage that does not plan (validation has planned it already, so this is not expected).
pub async fn graph_of(
    pipeline: &crate::model::Pipeline,
    settings: &RunSettings,
    schemas: &engine::validate::Schemas,
) -> Result<LineageGraph> {
    let ctx = engine::session(&settings.engine, None, pipeline)?;
    for (name, schema) in &schemas.tables {
        engine::validate::register_empty(&ctx, name, schema.clone());
    }
    let mut out = LineageGraph::default();
    for (name, schema) in &schemas.tables {
        let stage = pipeline.stages.iter().find(|s| &s.name == name);
        let (mut origins, reads) = match stage {
            Some(stage) => engine::lineage::stage_origins(&ctx, stage)
                .await
                .map_err(|source| StrataError::Stage {
                    stage: stage.name.clone(),
                    sql_file: stage.sql_display.clone(),
                    source,
                })?,
            None => (Vec::new(), Vec::new()),
        };
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                let found = origins.iter().position(|(n, _)| n == f.name());
                let origins = found
                    .map(|i| origins.swap_remove(i).1)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|((table, column), derivation)| Origin {
                        table,
                        column,
                        derivation,
                    })
                    .collect();
                ColumnLineage {
                    name: f.name().clone(),
                    data_type: crate::model::types::column_type_name(f.data_type()),
                    origins,
                }
            })
            .collect();
        let kind = if stage.is_some() { "stage" } else { "source" };
        out.tables.insert(
            name.clone(),
            TableLineage {
                kind,
                reads,
                columns,
            },
        );
    }
    Ok(out)
}

impl LineageGraph {
    /// The columns named by `target` (`TABLE` or `TABLE.COLUMN`), checked against the graph.
    ///
    /// # Errors
    /// `UnknownTable` or `InvalidArgument` naming the closest table or column.
    pub fn resolve(&self, target: &str) -> Result<Vec<(String, String)>> {
        let (table, column) = match target.split_once('.') {
            Some((t, c)) => (t, Some(c)),
            None => (target, None),
        };
        let Some(t) = self.tables.get(table) else {
            return Err(StrataError::UnknownTable {
                table: table.to_string(),
                suggestion: suggest(table, self.tables.keys().map(String::as_str)),
            });
        };
        match column {
            None => Ok(t
                .columns
                .iter()
                .map(|c| (table.to_string(), c.name.clone()))
                .collect()),
            Some(c) if t.columns.iter().any(|x| x.name == c) => {
                Ok(vec![(table.to_string(), c.to_string())])
            }
            Some(c) => {
                let hint = suggest(c, t.columns.iter().map(|x| x.name.as_str()))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                Err(StrataError::InvalidArgument {
                    argument: "column".into(),
                    value: target.to_string(),
                    reason: format!("table `{table}` has no column `{c}`{hint}"),
                })
            }
        }
    }

    /// The origins of `table.column` (empty for a source column or an unknown one).
    pub fn origins(&self, table: &str, column: &str) -> &[Origin] {
        self.tables
            .get(table)
            .and_then(|t| t.columns.iter().find(|c| c.name == column))
            .map(|c| c.origins.as_slice())
            .unwrap_or(&[])
    }

    /// Every stage column computed directly from `table.column`, with how.
    pub fn dependents(&self, table: &str, column: &str) -> Vec<Origin> {
        let mut out = Vec::new();
        for (name, t) in &self.tables {
            for c in &t.columns {
                if let Some(o) = c
                    .origins
                    .iter()
                    .find(|o| o.table == table && o.column == column)
                {
                    out.push(Origin {
                        table: name.clone(),
                        column: c.name.clone(),
                        derivation: o.derivation,
                    });
                }
            }
        }
        out
    }

    /// The lineage tree of `table.column` in `direction`. The graph is a DAG (stages read only
    /// their own or lower layers), so the recursion ends.
    pub fn tree(&self, table: &str, column: &str, direction: Direction) -> LineageNode {
        self.node(table, column, None, direction)
    }

    fn node(
        &self,
        table: &str,
        column: &str,
        derivation: Option<Derivation>,
        direction: Direction,
    ) -> LineageNode {
        let next = match direction {
            Direction::Upstream => self.origins(table, column).to_vec(),
            Direction::Downstream => self.dependents(table, column),
        };
        LineageNode {
            table: table.to_string(),
            column: column.to_string(),
            derivation,
            children: next
                .iter()
                .map(|o| self.node(&o.table, &o.column, Some(o.derivation), direction))
                .collect(),
        }
    }
}

/// `strata lineage TARGET`: the trees of the columns `target` names.
///
/// # Errors
/// As [`graph`] and [`LineageGraph::resolve`].
pub async fn lineage(
    given: Option<&Path>,
    overrides: &Overrides,
    target: &str,
    direction: Direction,
) -> Result<LineageOutcome> {
    let g = graph(given, overrides).await?;
    let trees = g
        .resolve(target)?
        .iter()
        .map(|(t, c)| g.tree(t, c, direction))
        .collect();
    Ok(LineageOutcome {
        direction: match direction {
            Direction::Upstream => "upstream",
            Direction::Downstream => "downstream",
        },
        trees,
    })
}

/// A tree as indented text, one column per line with its derivation in parentheses.
pub fn render_tree(node: &LineageNode) -> String {
    let mut out = format!("{}.{}\n", node.table, node.column);
    render_children(&node.children, "", &mut out);
    out
}

fn render_children(children: &[LineageNode], prefix: &str, out: &mut String) {
    for (i, child) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        let how = child.derivation.map(|d| d.as_str()).unwrap_or("");
        out.push_str(&format!(
            "{prefix}{} {}.{}  ({how})\n",
            if last { "└──" } else { "├──" },
            child.table,
            child.column
        ));
        let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
        render_children(&child.children, &deeper, out);
    }
}
