//! Reading the positioned YAML tree: typed accessors that record a located problem instead of
//! failing, so the loader can go on and report everything at once.

use std::path::PathBuf;

use super::yaml::{Key, Node, Value};
use crate::diag::{Location, Problem, ProblemKind, suggest};

pub(super) struct Cx {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
    pub broken: Vec<String>,
}

impl Cx {
    pub fn loc(&self, line: usize, column: usize) -> Location {
        Location::new(&self.file, line, column)
    }

    pub fn problem(&mut self, line: usize, column: usize, kind: ProblemKind) {
        let loc = self.loc(line, column);
        self.problems.push(Problem::at(loc, kind));
    }

    pub fn at(&mut self, node: &Node, kind: ProblemKind) {
        self.problem(node.line, node.column, kind);
    }

    pub fn wrong_type(&mut self, key: &str, node: &Node, expected: &str) {
        self.at(
            node,
            ProblemKind::WrongType {
                key: key.to_string(),
                expected: expected.to_string(),
                found: node.value.kind_name().to_string(),
            },
        );
    }

    /// Read `node` as a mapping whose keys must be among `known`.
    pub fn map<'n>(
        &mut self,
        node: &'n Node,
        key: &str,
        context: &str,
        known: &[&str],
    ) -> Option<Map<'n>> {
        let Value::Map(entries) = &node.value else {
            self.wrong_type(key, node, "a mapping");
            return None;
        };
        for (k, _) in entries {
            if !known.contains(&k.name.as_str()) {
                self.problem(
                    k.line,
                    k.column,
                    ProblemKind::UnknownKey {
                        key: k.name.clone(),
                        context: context.to_string(),
                        suggestion: suggest(&k.name, known.iter().copied()),
                    },
                );
            }
        }
        Some(Map {
            node,
            entries,
            context: context.to_string(),
        })
    }

    pub fn string(&mut self, key: &str, node: &Node) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.wrong_type(key, node, "a string");
                None
            }
        }
    }

    pub fn strings(&mut self, key: &str, node: &Node) -> Vec<(String, Location)> {
        let Value::Seq(items) = &node.value else {
            self.wrong_type(key, node, "a list of strings");
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| {
                let s = self.string(key, item)?;
                Some((s, self.loc(item.line, item.column)))
            })
            .collect()
    }
}

pub(super) struct Map<'n> {
    pub node: &'n Node,
    pub entries: &'n [(Key, Node)],
    pub context: String,
}

impl<'n> Map<'n> {
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    pub fn required(&self, cx: &mut Cx, key: &str) -> Option<&'n Node> {
        let found = self.get(key);
        if found.is_none() {
            cx.at(
                self.node,
                ProblemKind::MissingKey {
                    key: key.to_string(),
                    context: self.context.clone(),
                },
            );
        }
        found
    }

    pub fn opt_string(&self, cx: &mut Cx, key: &str) -> Option<String> {
        self.get(key).and_then(|n| cx.string(key, n))
    }
}
