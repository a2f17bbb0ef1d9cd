//! The dependency graph of a pipeline and the order its stages run in.
//!
//! [`Plan::build`] reads every stage's SQL (see [`sql`]), resolves the tables it names to sources
//! or stages, adds `depends_on`, enforces the layer rule (a stage reads only its own layer or
//! lower ones) and finds cycles. All problems are collected. The resulting order is deterministic:
//! among stages that are ready, the one declared first runs first.
//!
//! The same `Plan` value is what `strata plan` prints, what `run --dry-run` prints and what `run`
//! executes.

pub mod sql;

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::diag::{Location, Problem, ProblemKind, suggest};
use crate::model::{Layer, Materialization, Pipeline};

/// Table functions stage SQL may call: they generate rows and read nothing.
pub const GENERATOR_FUNCTIONS: &[&str] = &["generate_series", "range"];

/// One input of a stage: a source (ODS) or another stage.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Input {
    pub table: String,
    pub layer: Layer,
    pub is_source: bool,
}

/// A stage in execution order with its resolved inputs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlannedStage {
    pub name: String,
    pub layer: Layer,
    pub materialization: Materialization,
    pub sql_file: String,
    pub inputs: Vec<Input>,
    /// Index into `Pipeline::stages`.
    #[serde(skip)]
    pub index: usize,
}

/// Stages in execution order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    pub pipeline: String,
    pub stages: Vec<PlannedStage>,
}

impl Plan {
    /// Build the plan of `pipeline`, or every problem that prevents it.
    pub fn build(pipeline: &Pipeline) -> Result<Plan, Vec<Problem>> {
        Self::build_ignoring(pipeline, &HashSet::new())
    }

    /// Like [`Plan::build`], treating references to `broken` names (stages or sources that
    /// already have a reported problem) as known, so they are not reported twice.
    pub fn build_ignoring(
        pipeline: &Pipeline,
        broken: &HashSet<String>,
    ) -> Result<Plan, Vec<Problem>> {
        let mut problems = Vec::new();
        let layer_of: HashMap<&str, (Layer, bool)> = pipeline
            .sources
            .iter()
            .map(|s| (s.name.as_str(), (Layer::Ods, true)))
            .chain(
                pipeline
                    .stages
                    .iter()
                    .map(|s| (s.name.as_str(), (s.layer, false))),
            )
            .collect();
        let all_names: Vec<&str> = layer_of.keys().copied().collect();
        let mut inputs: Vec<Vec<Input>> = Vec::with_capacity(pipeline.stages.len());
        for stage in &pipeline.stages {
            let mut stage_inputs: Vec<Input> = Vec::new();
            let refs = match sql::parse_stage_sql(&stage.sql) {
                Ok(refs) => refs,
                Err(p) => {
                    problems.push(Problem::at(
                        Location::new(&stage.sql_display, p.line, p.column),
                        p.kind,
                    ));
                    inputs.push(stage_inputs);
                    continue;
                }
            };
            // `relationships` checks read their target table, so it must be built first.
            let check_targets = stage.checks.iter().filter_map(|c| match &c.kind {
                crate::model::checks::CheckKind::Relationships { to, .. } => {
                    Some((to, c.at.clone(), true))
                }
                _ => None,
            });
            let declared = stage
                .depends_on
                .iter()
                .map(|(name, at)| (name, at.clone(), true))
                .chain(check_targets);
            let found = refs.iter().map(|r| {
                (
                    &r.name,
                    Location::new(&stage.sql_display, r.line, r.column),
                    false,
                )
            });
            for (name, at, is_declared) in found.chain(declared) {
                if name == &stage.name && !is_declared {
                    problems.push(Problem::at(
                        at,
                        ProblemKind::Cycle {
                            path: vec![stage.name.clone(), stage.name.clone()],
                        },
                    ));
                    continue;
                }
                if broken.contains(name.as_str())
                    || (!is_declared
                        && !layer_of.contains_key(name.as_str())
                        && GENERATOR_FUNCTIONS.contains(&name.as_str()))
                {
                    continue;
                }
                let Some(&(layer, is_source)) = layer_of.get(name.as_str()) else {
                    let suggestion = suggest(name, all_names.iter().copied());
                    let kind = if is_declared {
                        ProblemKind::UnknownDependency {
                            stage: stage.name.clone(),
                            dependency: name.clone(),
                            suggestion,
                        }
                    } else {
                        ProblemKind::UnknownTable {
                            table: name.clone(),
                            suggestion,
                        }
                    };
                    problems.push(Problem::at(at, kind));
                    continue;
                };
                if layer > stage.layer {
                    problems.push(Problem::at(
                        at,
                        ProblemKind::LayerViolation {
                            stage: stage.name.clone(),
                            stage_layer: stage.layer.to_string(),
                            input: name.clone(),
                            input_layer: layer.to_string(),
                        },
                    ));
                }
                if !stage_inputs.iter().any(|i| &i.table == name) {
                    stage_inputs.push(Input {
                        table: name.clone(),
                        layer,
                        is_source,
                    });
                }
            }
            inputs.push(stage_inputs);
        }
        let order = match topo_order(pipeline, &inputs) {
            Ok(order) => order,
            Err(cycles) => {
                problems.extend(cycles);
                Vec::new()
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        let stages = order
            .into_iter()
            .map(|i| {
                let s = &pipeline.stages[i];
                PlannedStage {
                    name: s.name.clone(),
                    layer: s.layer,
                    materialization: s.materialization,
                    sql_file: s.sql_display.display().to_string(),
                    inputs: inputs[i].clone(),
                    index: i,
                }
            })
            .collect();
        Ok(Plan {
            pipeline: pipeline.name.clone(),
            stages,
        })
    }

    pub fn stage(&self, name: &str) -> Option<&PlannedStage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// Keep only `selected` stages (names), in plan order.
    pub fn restrict(&self, selected: &BTreeSet<String>) -> Plan {
        Plan {
            pipeline: self.pipeline.clone(),
            stages: self
                .stages
                .iter()
                .filter(|s| selected.contains(&s.name))
                .cloned()
                .collect(),
        }
    }

    /// All stages upstream of `name` (not including it).
    pub fn ancestors(&self, name: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo = vec![name.to_string()];
        while let Some(n) = todo.pop() {
            if let Some(s) = self.stage(&n) {
                for i in s.inputs.iter().filter(|i| !i.is_source) {
                    if out.insert(i.table.clone()) {
                        todo.push(i.table.clone());
                    }
                }
            }
        }
        out
    }

    /// All stages downstream of `name` (not including it).
    pub fn descendants(&self, name: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo = vec![name.to_string()];
        while let Some(n) = todo.pop() {
            for s in &self.stages {
                if s.inputs.iter().any(|i| i.table == n) && out.insert(s.name.clone()) {
                    todo.push(s.name.clone());
                }
            }
        }
        out
    }
}

/// Kahn's algorithm over stage-to-stage edges; ready stages run in declaration order. On a cycle,
/// every cycle found is reported once with its path.
fn topo_order(pipeline: &Pipeline, inputs: &[Vec<Input>]) -> Result<Vec<usize>, Vec<Problem>> {
    let index: HashMap<&str, usize> = pipeline
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let n = pipeline.stages.len();
    let deps: Vec<Vec<usize>> = inputs
        .iter()
        .map(|ins| {
            ins.iter()
                .filter_map(|i| index.get(i.table.as_str()).copied())
                .collect()
        })
        .collect();
    let mut remaining: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let Some(next) = (0..n).find(|&i| !done[i] && remaining[i] == 0) else {
            break;
        };
        done[next] = true;
        order.push(next);
        for (i, d) in deps.iter().enumerate() {
            remaining[i] -= d.iter().filter(|&&x| x == next).count();
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Report each cycle among the stages left over, starting from its first-declared stage.
    let mut problems = Vec::new();
    let mut reported: BTreeSet<usize> = BTreeSet::new();
    for start in (0..n).filter(|&i| !done[i]) {
        if reported.contains(&start) {
            continue;
        }
        if let Some(cycle) = find_cycle(start, &deps, &done) {
            if cycle.iter().any(|c| reported.contains(c)) {
                continue;
            }
            reported.extend(cycle.iter().copied());
            let mut path: Vec<String> = cycle
                .iter()
                .map(|&i| pipeline.stages[i].name.clone())
                .collect();
            path.push(path[0].clone());
            problems.push(Problem::at(
                pipeline.stages[cycle[0]].at.clone(),
                ProblemKind::Cycle { path },
            ));
        }
    }
    Err(problems)
}

/// A cycle through `start` following dependency edges among not-done stages, as
/// `start -> dep -> ... ` (the closing `start` is left out).
fn find_cycle(start: usize, deps: &[Vec<usize>], done: &[bool]) -> Option<Vec<usize>> {
    fn dfs(
        node: usize,
        start: usize,
        deps: &[Vec<usize>],
        done: &[bool],
        path: &mut Vec<usize>,
        seen: &mut BTreeSet<usize>,
    ) -> bool {
        for &d in &deps[node] {
            if done[d] {
                continue;
            }
            if d == start {
                return true;
            }
            if seen.insert(d) {
                path.push(d);
                if dfs(d, start, deps, done, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start];
    let mut seen = BTreeSet::from([start]);
    dfs(start, start, deps, done, &mut path, &mut seen).then_some(path)
}
