//! Column-level lineage from DataFusion logical plans (not from the SQL text).
//!
//! For every output column of a stage, [`column_origins`] walks the stage's unoptimized logical
//! plan down to its table scans and returns the columns of the stage's input tables (sources,
//! seeds, upstream stages) whose values the column is computed from, each with how: a
//! [`Derivation::Direct`] copy, a [`Derivation::Transformation`] (any expression of one row), or an
//! [`Derivation::Aggregation`] (an aggregate or window function over many rows). Columns used
//! only to filter, join or order rows are not origins: lineage here is where a value comes from,
//! as in SQLMesh's and OpenLineage's column lineage, not everything that influenced which rows
//! appear.
//!
//! Invariant: the result has one entry per field of the plan's schema, in order. A plan node this
//! walker does not know (a user extension) passes through columns whose names match its input's
//! and gives the rest no origins, so lineage is never invented.

use std::collections::BTreeMap;

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::{Distinct, Expr, JoinType, LogicalPlan};

/// How a column's value is obtained from an origin column. Ordered: along a path the strongest
/// step wins (a copy of an aggregate is an aggregation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Derivation {
    /// The value is copied unchanged (possibly renamed).
    Direct,
    /// The value is computed from values of the same row (a cast, a function, CASE, arithmetic).
    Transformation,
    /// The value is computed over many rows (an aggregate or a window function).
    Aggregation,
}

impl Derivation {
    /// The lower-case word used in trees, JSON and the docs site.
    pub fn as_str(self) -> &'static str {
        match self {
            Derivation::Direct => "direct",
            Derivation::Transformation => "transformation",
            Derivation::Aggregation => "aggregation",
        }
    }
}

/// A column of a table the plan reads: `(table, column)`.
pub type ColumnRef = (String, String);

/// The origin columns of one output column, each with its derivation.
pub type Origins = BTreeMap<ColumnRef, Derivation>;

/// The origins of every output column of `plan`, one entry per schema field, in order.
///
/// `plan` should be the plan as produced from SQL, before optimization: the optimizer may prune
/// or merge projections, which loses nothing here but makes the walk depend on its rules.
pub fn column_origins(plan: &LogicalPlan) -> Vec<Origins> {
    let mut out = match plan {
        LogicalPlan::TableScan(scan) => {
            let table = scan.table_name.table().to_string();
            scan.projected_schema
                .fields()
                .iter()
                .map(|f| Origins::from([((table.clone(), f.name().clone()), Derivation::Direct)]))
                .collect()
        }
        LogicalPlan::Projection(p) => {
            let input = column_origins(&p.input);
            p.expr
                .iter()
                .map(|e| expr_origins(e, &p.input, &input))
                .collect()
        }
        LogicalPlan::Distinct(Distinct::On(on)) => {
            let input = column_origins(&on.input);
            on.select_expr
                .iter()
                .map(|e| expr_origins(e, &on.input, &input))
                .collect()
        }
        LogicalPlan::Window(w) => {
            let mut input = column_origins(&w.input);
            let extra: Vec<Origins> = w
                .window_expr
                .iter()
                .map(|e| at_least(expr_origins(e, &w.input, &input), Derivation::Aggregation))
                .collect();
            input.extend(extra);
            input
        }
        LogicalPlan::Aggregate(a) => {
            let input = column_origins(&a.input);
            let mut out: Vec<Origins> = Vec::new();
            for g in &a.group_expr {
                match g {
                    Expr::GroupingSet(set) => out.extend(
                        set.distinct_expr()
                            .into_iter()
                            .map(|e| expr_origins(e, &a.input, &input)),
                    ),
                    e => out.push(expr_origins(e, &a.input, &input)),
                }
            }
            if a.schema.fields().len() > out.len() + a.aggr_expr.len() {
                // The internal grouping id of GROUPING SETS comes from no column.
                out.push(Origins::new());
            }
            out.extend(
                a.aggr_expr
                    .iter()
                    .map(|e| at_least(expr_origins(e, &a.input, &input), Derivation::Aggregation)),
            );
            out
        }
        LogicalPlan::Join(j) => {
            let left = column_origins(&j.left);
            let right = column_origins(&j.right);
            match j.join_type {
                JoinType::LeftSemi | JoinType::LeftAnti => left,
                JoinType::RightSemi | JoinType::RightAnti => right,
                JoinType::LeftMark => left.into_iter().chain([Origins::new()]).collect(),
                _ => left.into_iter().chain(right).collect(),
            }
        }
        LogicalPlan::Union(u) => {
            let mut out = vec![Origins::new(); u.schema.fields().len()];
            for input in &u.inputs {
                for (slot, origins) in out.iter_mut().zip(column_origins(input)) {
                    merge(slot, origins);
                }
            }
            out
        }
        LogicalPlan::Unnest(u) => {
            let input = column_origins(&u.input);
            let unnested: Vec<usize> = u
                .list_type_columns
                .iter()
                .map(|(i, _)| *i)
                .chain(u.struct_type_columns.iter().copied())
                .collect();
            u.dependency_indices
                .iter()
                .map(|&i| {
                    let o = input.get(i).cloned().unwrap_or_default();
                    if unnested.contains(&i) {
                        at_least(o, Derivation::Transformation)
                    } else {
                        o
                    }
                })
                .collect()
        }
        LogicalPlan::Subquery(s) => column_origins(&s.subquery),
        LogicalPlan::RecursiveQuery(r) => {
            let mut out = column_origins(&r.static_term);
            for (slot, origins) in out.iter_mut().zip(column_origins(&r.recursive_term)) {
                // The recursive term reads the query's own work table: not an input.
                let own: Origins = origins
                    .into_iter()
                    .filter(|((t, _), _)| t != &r.name)
                    .collect();
                merge(slot, own);
            }
            out
        }
        LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => {
            vec![Origins::new(); plan.schema().fields().len()]
        }
        // Filter, Sort, Limit, Repartition, SubqueryAlias, Distinct::All and anything else with
        // one input: columns pass through by name.
        other => pass_through(other),
    };
    out.resize(plan.schema().fields().len(), Origins::new());
    out
}

fn pass_through(plan: &LogicalPlan) -> Vec<Origins> {
    let inputs = plan.inputs();
    let [input] = inputs.as_slice() else {
        return vec![Origins::new(); plan.schema().fields().len()];
    };
    let origins = column_origins(input);
    if input.schema().fields().len() == plan.schema().fields().len() {
        return origins;
    }
    plan.schema()
        .fields()
        .iter()
        .map(|f| {
            input
                .schema()
                .fields()
                .iter()
                .position(|g| g.name() == f.name())
                .and_then(|i| origins.get(i).cloned())
                .unwrap_or_default()
        })
        .collect()
}

/// The origins of one expression evaluated over `input` (whose columns have `input_origins`).
fn expr_origins(expr: &Expr, input: &LogicalPlan, input_origins: &[Origins]) -> Origins {
    let mut out = Origins::new();
    let aggregates = collect(expr, input, input_origins, &mut out);
    let step = if aggregates {
        Derivation::Aggregation
    } else if matches!(strip_alias(expr), Expr::Column(_)) {
        Derivation::Direct
    } else {
        Derivation::Transformation
    };
    at_least(out, step)
}

/// Add the origins of the columns `expr` takes values from into `out`; true when it contains an
/// aggregate or window function. Of an aggregate the arguments and its FILTER count (the filter
/// is part of the value, as a CASE in the argument would be), not its ORDER BY (which picks a
/// row, like a WHERE clause); of a window function the arguments and the ORDER BY (a rank, a
/// quantile or a running sum is computed from the order), not the PARTITION BY.
fn collect(expr: &Expr, input: &LogicalPlan, input_origins: &[Origins], out: &mut Origins) -> bool {
    let mut aggregates = false;
    let _ = expr.apply(|e| {
        let args = match e {
            Expr::Column(c) => {
                let found = input.schema().maybe_index_of_column(c);
                if let Some(o) = found.and_then(|i| input_origins.get(i)) {
                    merge(out, o.clone());
                }
                return Ok(TreeNodeRecursion::Continue);
            }
            Expr::ScalarSubquery(s) => {
                if let Some(first) = column_origins(&s.subquery).into_iter().next() {
                    merge(out, first);
                }
                return Ok(TreeNodeRecursion::Continue);
            }
            Expr::InSubquery(s) => {
                if let Some(first) = column_origins(&s.subquery.subquery).into_iter().next() {
                    merge(out, first);
                }
                return Ok(TreeNodeRecursion::Continue);
            }
            // FILTER (WHERE ...) belongs to the value, as a CASE inside the aggregate would:
            // COUNT(*) FILTER (WHERE status = 'paid') is computed from status.
            Expr::AggregateFunction(f) => {
                let filter = f.params.filter.iter().map(|e| e.as_ref());
                f.params.args.iter().chain(filter).collect::<Vec<_>>()
            }
            Expr::WindowFunction(f) => {
                let order = f.params.order_by.iter().map(|s| &s.expr);
                f.params.args.iter().chain(order).collect()
            }
            _ => return Ok(TreeNodeRecursion::Continue),
        };
        aggregates = true;
        for arg in args {
            collect(arg, input, input_origins, out);
        }
        Ok(TreeNodeRecursion::Jump)
    });
    aggregates
}

fn strip_alias(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(a) => strip_alias(&a.expr),
        e => e,
    }
}

/// Every origin's derivation raised to at least `step`.
fn at_least(origins: Origins, step: Derivation) -> Origins {
    origins.into_iter().map(|(c, d)| (c, d.max(step))).collect()
}

/// Add `more` into `into`, keeping the stronger derivation of a column found twice.
fn merge(into: &mut Origins, more: Origins) {
    for (c, d) in more {
        let slot = into.entry(c).or_insert(d);
        *slot = (*slot).max(d);
    }
}

/// The origins of every output column of `stage`, by column name, in output order, and the tables
/// its query reads. The stage's
/// inputs must be registered in `ctx` (empty tables with their schemas suffice; see
/// [`super::validate::register_empty`]).
///
/// # Errors
/// DataFusion's planning error when the stage's SQL does not plan.
pub async fn stage_origins(
    ctx: &datafusion::prelude::SessionContext,
    stage: &crate::model::Stage,
) -> Result<(Vec<(String, Origins)>, Vec<String>), datafusion::error::DataFusionError> {
    let df = ctx
        .sql_with_options(&stage.sql, super::stage_sql_options())
        .await?;
    let plan = df.logical_plan();
    let columns: Vec<(String, Origins)> = plan
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .zip(column_origins(plan))
        .collect();
    let columns = match &stage.model {
        Some(spec) => model_origins(stage, spec, plan.schema().as_arrow(), columns),
        None => columns,
    };
    Ok((columns, scanned_tables(plan)))
}

/// A model stage's output columns from its features query's: the id columns (and a forecast's
/// months) come from the same columns of the query; what the model computes (probabilities,
/// explanations, forecasts, intervals) from every column of the query, as an aggregation over
/// its rows; `ds` and the model's own bookkeeping from none.
fn model_origins(
    stage: &crate::model::Stage,
    spec: &crate::model::ModelSpec,
    features: &datafusion::arrow::datatypes::Schema,
    columns: Vec<(String, Origins)>,
) -> Vec<(String, Origins)> {
    // Unbound parameters plan with the NULL type; lineage needs the output names only, so they
    // stand in as the types the model accepts.
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let lenient = Schema::new(
        features
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Null if *f.name() == spec.time => {
                    Field::new(f.name(), DataType::Date32, true)
                }
                DataType::Null if is_experiment_column(spec, f.name(), true) => {
                    Field::new(f.name(), DataType::Utf8, true)
                }
                DataType::Null if is_experiment_column(spec, f.name(), false) => {
                    Field::new(f.name(), DataType::Int64, true)
                }
                DataType::Null => Field::new(f.name(), DataType::Float64, true),
                _ => f.as_ref().clone(),
            })
            .collect::<Vec<_>>(),
    );
    let Ok(output) = super::model::output_schema(stage, spec, &lenient) else {
        return columns;
    };
    let mut everything = Origins::new();
    for (_, o) in &columns {
        merge(&mut everything, o.clone());
    }
    let everything = at_least(everything, Derivation::Aggregation);
    let bookkeeping = ["ds", "model_id", "model", "backtest_months"];
    output
        .fields()
        .iter()
        .map(|f| {
            let name = f.name();
            let ets = matches!(spec.algorithm, crate::model::Algorithm::Ets(_));
            // An experiment's period and arm are its group keys, copied from the query.
            let grouped = match &spec.algorithm {
                crate::model::Algorithm::Experiment(x) => *name == spec.time || *name == x.arm,
                _ => false,
            };
            let copied =
                spec.id.iter().any(|i| i == name) || (ets && *name == spec.time) || grouped;
            let origins = if copied {
                let o = columns
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, o)| o.clone())
                    .unwrap_or_default();
                if ets && *name == spec.time {
                    at_least(o, Derivation::Transformation)
                } else {
                    o
                }
            } else if bookkeeping.contains(&name.as_str()) {
                Origins::new()
            } else if let Some(inputs) = experiment_inputs(spec, name) {
                let mut o = Origins::new();
                for input in inputs {
                    if let Some((_, from)) = columns.iter().find(|(n, _)| *n == input) {
                        merge(&mut o, from.clone());
                    }
                }
                at_least(o, Derivation::Aggregation)
            } else {
                everything.clone()
            };
            (name.clone(), origins)
        })
        .collect()
}

/// The features an experiment's output column `name` is computed from: `units` from the ids,
/// `is_control` from the arm, each metric's columns from its column and the arm (the
/// differences compare arms). `None` for other algorithms and columns.
fn experiment_inputs(spec: &crate::model::ModelSpec, name: &str) -> Option<Vec<String>> {
    let crate::model::Algorithm::Experiment(x) = &spec.algorithm else {
        return None;
    };
    if name == "units" {
        return Some(spec.id.clone());
    }
    if name == "is_control" {
        return Some(vec![x.arm.clone()]);
    }
    x.metrics
        .iter()
        .find(|m| {
            super::model::experiment::metric_columns(&m.name)
                .iter()
                .any(|c| c == name)
        })
        .map(|m| vec![m.column.clone(), x.arm.clone()])
}

/// Whether `name` is an experiment's arm column (`arm`) or one of its metric columns.
fn is_experiment_column(spec: &crate::model::ModelSpec, name: &str, arm: bool) -> bool {
    match &spec.algorithm {
        crate::model::Algorithm::Experiment(x) if arm => x.arm == name,
        crate::model::Algorithm::Experiment(x) => x.metrics.iter().any(|m| m.column == name),
        _ => false,
    }
}

/// Every table `plan` scans, subqueries included, sorted: what the query reads (its checks may
/// read others).
pub fn scanned_tables(plan: &LogicalPlan) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    let _ = plan.apply_with_subqueries(|p| {
        if let LogicalPlan::TableScan(scan) = p {
            out.insert(scan.table_name.table().to_string());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    out.into_iter().collect()
}
