//! Stage unit test files (`tests/stages/*.yaml`): given input rows, the expected output rows.
//!
//! The form follows dbt's unit tests and SQLMesh's tests: one file per tested stage, each test
//! giving rows for the tables the stage reads (tables not given are empty) and the rows the stage
//! must produce, compared on the columns the expected rows name. Values are written as YAML
//! scalars and converted to each column's type when the test runs, so a file says `2026-11-21`
//! for a DATE and `19.90` for a DECIMAL. Every problem names the file, line and column.
//!
//! ```yaml
//! stage: ads_rfm_score            # default: the file name without .yaml
//! tests:
//!   - name: equal_spends_share_a_quintile
//!     description: free text
//!     ds: 2026-11-21              # required when the stage reads $ds
//!     vars: {rfm_max_monetary_cny: 1000}
//!     given:
//!       dws_customer_rfm_base:
//!         - {customer_id: c1, monetary_365d: 10.00}
//!     expect:
//!       - {customer_id: c1, m_score: 5}
//!     ordered: false              # true: rows must come in this order
//! ```

use std::path::{Path, PathBuf};

use super::yaml::{self, Key, Node, Value};
use crate::diag::{Location, Problem, ProblemKind, suggest};

/// One unit test file.
#[derive(Debug, Clone)]
pub struct UnitTestFile {
    /// The file as shown in messages (relative to the project directory).
    pub file: PathBuf,
    /// The stage under test.
    pub stage: String,
    pub stage_at: Location,
    pub tests: Vec<UnitTest>,
}

/// One test: inputs, parameters and expected rows.
#[derive(Debug, Clone)]
pub struct UnitTest {
    pub name: String,
    /// Where the name is written.
    pub name_at: Location,
    pub description: Option<String>,
    pub at: Location,
    /// The run date, as written (checked when the test runs).
    pub ds: Option<String>,
    /// `--var`-style overrides, `name=value`.
    pub vars: Vec<String>,
    /// Where `vars:` is written, for its errors.
    pub vars_at: Option<Location>,
    pub given: Vec<Given>,
    pub expect: Vec<Row>,
    pub ordered: bool,
}

/// Rows for one input table.
#[derive(Debug, Clone)]
pub struct Given {
    pub table: String,
    pub at: Location,
    pub rows: Vec<Row>,
}

/// One row: column name, where it is written, value (`None` for null) as text.
#[derive(Debug, Clone)]
pub struct Row {
    pub at: Location,
    pub cells: Vec<Cell>,
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub column: String,
    pub at: Location,
    /// The scalar's text; `None` for YAML null.
    pub value: Option<String>,
}

/// Read every `*.yaml`/`*.yml` in `dir` (sorted by name). A missing directory has no tests.
///
/// # Errors
/// Every problem of every file, located.
pub fn load_dir(dir: &Path, project_dir: &Path) -> Result<Vec<UnitTestFile>, Vec<Problem>> {
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect(),
        Err(_) => return Ok(Vec::new()),
    };
    paths.sort();
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        let shown = crate::diag::display_path(&path, project_dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => match parse_file(&text, &shown) {
                Ok(f) => files.push(f),
                Err(p) => problems.extend(p),
            },
            Err(e) => problems.push(Problem::at(
                Location::file_start(&shown),
                ProblemKind::UnreadableFile {
                    path: shown.clone(),
                    reason: e.to_string(),
                },
            )),
        }
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(problems)
    }
}

/// Parse one unit test file's text; `file` names it in problems and gives the default stage.
///
/// # Errors
/// Every problem found, located.
pub fn parse_file(text: &str, file: &Path) -> Result<UnitTestFile, Vec<Problem>> {
    let at = |line, column| Location::new(file, line, column);
    let root = yaml::parse(text).map_err(|e| {
        vec![Problem::at(
            at(e.line, e.column),
            ProblemKind::YamlSyntax { message: e.message },
        )]
    })?;
    let mut p = Parser {
        file: file.to_path_buf(),
        problems: Vec::new(),
        chars: text.chars().collect(),
    };
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = UnitTestFile {
        file: file.to_path_buf(),
        stage: stem,
        stage_at: at(1, 1),
        tests: Vec::new(),
    };
    let Some(entries) = p.map(&root, "the unit test file") else {
        return Err(p.problems);
    };
    let mut saw_tests = false;
    for (key, node) in entries {
        match key.name.as_str() {
            "stage" => {
                if let Some(s) = p.string(key, node) {
                    out.stage = s;
                    out.stage_at = at(node.line, node.column);
                }
            }
            "tests" => {
                saw_tests = true;
                for item in p.seq(key, node) {
                    if let Some(t) = p.test(item) {
                        out.tests.push(t);
                    }
                }
            }
            _ => p.unknown(key, "the unit test file", &["stage", "tests"]),
        }
    }
    if !saw_tests {
        p.problems.push(Problem::at(
            at(root.line, root.column),
            ProblemKind::MissingKey {
                key: "tests".into(),
                context: "the unit test file".into(),
            },
        ));
    }
    for (i, t) in out.tests.iter().enumerate() {
        if out.tests[..i].iter().any(|u| u.name == t.name) {
            p.problems.push(Problem::at(
                t.name_at.clone(),
                ProblemKind::DuplicateName {
                    what: "unit test".into(),
                    name: t.name.clone(),
                },
            ));
        }
    }
    if p.problems.is_empty() {
        Ok(out)
    } else {
        Err(p.problems)
    }
}

struct Parser {
    file: PathBuf,
    problems: Vec<Problem>,
    /// The document, for the text of numbers as written.
    chars: Vec<char>,
}

const TEST_KEYS: &[&str] = &[
    "name",
    "description",
    "ds",
    "vars",
    "given",
    "expect",
    "ordered",
];

impl Parser {
    fn at(&self, line: usize, column: usize) -> Location {
        Location::new(&self.file, line, column)
    }

    fn wrong(&mut self, key: &str, node: &Node, expected: &str) {
        self.problems.push(Problem::at(
            self.at(node.line, node.column),
            ProblemKind::WrongType {
                key: key.to_string(),
                expected: expected.to_string(),
                found: node.value.kind_name().to_string(),
            },
        ));
    }

    fn unknown(&mut self, key: &Key, context: &str, valid: &[&str]) {
        self.problems.push(Problem::at(
            self.at(key.line, key.column),
            ProblemKind::UnknownKey {
                key: key.name.clone(),
                context: context.to_string(),
                suggestion: suggest(&key.name, valid.iter().copied()),
            },
        ));
    }

    fn map<'a>(&mut self, node: &'a Node, what: &str) -> Option<&'a [(Key, Node)]> {
        match &node.value {
            Value::Map(m) => Some(m),
            _ => {
                self.wrong(what, node, "a mapping");
                None
            }
        }
    }

    fn seq<'a>(&mut self, key: &Key, node: &'a Node) -> &'a [Node] {
        match &node.value {
            Value::Seq(items) => items,
            Value::Null => &[],
            _ => {
                self.wrong(&key.name, node, "a list");
                &[]
            }
        }
    }

    fn string(&mut self, key: &Key, node: &Node) -> Option<String> {
        match scalar_text(&node.value) {
            Some(Some(s)) => Some(s),
            _ => {
                self.wrong(&key.name, node, "a string");
                None
            }
        }
    }

    fn test(&mut self, node: &Node) -> Option<UnitTest> {
        let entries = self.map(node, "tests")?;
        let mut t = UnitTest {
            name: String::new(),
            name_at: self.at(node.line, node.column),
            description: None,
            at: self.at(node.line, node.column),
            ds: None,
            vars: Vec::new(),
            vars_at: None,
            given: Vec::new(),
            expect: Vec::new(),
            ordered: false,
        };
        let mut saw_expect = false;
        for (key, value) in entries {
            match key.name.as_str() {
                "name" => {
                    t.name = self.string(key, value).unwrap_or_default();
                    t.name_at = self.at(value.line, value.column);
                }
                "description" => t.description = self.string(key, value),
                "ds" => t.ds = self.string(key, value),
                "ordered" => match value.value {
                    Value::Bool(b) => t.ordered = b,
                    _ => self.wrong("ordered", value, "true or false"),
                },
                "vars" => {
                    t.vars_at = Some(self.at(value.line, value.column));
                    for (k, v) in self.map(value, "vars").unwrap_or_default() {
                        if k.name == "ds" {
                            self.problems.push(Problem::at(
                                self.at(k.line, k.column),
                                ProblemKind::InvalidValue {
                                    key: "vars".into(),
                                    value: "ds".into(),
                                    reason: "the run date is the test's own `ds:` key".into(),
                                },
                            ));
                            continue;
                        }
                        match scalar_text(&v.value) {
                            Some(Some(text)) => t.vars.push(format!("{}={text}", k.name)),
                            _ => self.wrong(&k.name, v, "a scalar"),
                        }
                    }
                }
                "given" => {
                    for (k, v) in self.map(value, "given").unwrap_or_default() {
                        let rows = self.rows(k, v);
                        t.given.push(Given {
                            table: k.name.clone(),
                            at: self.at(k.line, k.column),
                            rows,
                        });
                    }
                }
                "expect" => {
                    saw_expect = true;
                    t.expect = self.rows(key, value);
                }
                _ => self.unknown(key, "a unit test", TEST_KEYS),
            }
        }
        for (what, missing) in [("name", t.name.is_empty()), ("expect", !saw_expect)] {
            if missing {
                self.problems.push(Problem::at(
                    t.at.clone(),
                    ProblemKind::MissingKey {
                        key: what.into(),
                        context: "a unit test".into(),
                    },
                ));
            }
        }
        Some(t)
    }

    /// A cell's text: a number as written (`1.0` keeps its decimal, `007` its zeros), any
    /// other scalar as YAML reads it; `None` for a list or mapping.
    fn cell_text(&self, node: &Node) -> Option<Option<String>> {
        match node.value {
            Value::Int(_) | Value::Float(_) => {
                let (start, end) = node.span;
                let raw: String = self.chars.get(start..end)?.iter().collect();
                Some(Some(raw.trim().to_string()))
            }
            ref other => scalar_text(other),
        }
    }

    fn rows(&mut self, key: &Key, node: &Node) -> Vec<Row> {
        let mut out = Vec::new();
        for item in self.seq(key, node) {
            let Some(entries) = self.map(item, "a row") else {
                continue;
            };
            let mut cells = Vec::new();
            for (k, v) in entries {
                match self.cell_text(v) {
                    Some(value) => cells.push(Cell {
                        column: k.name.clone(),
                        at: self.at(v.line, v.column),
                        value,
                    }),
                    None => self.wrong(&k.name, v, "a scalar or null"),
                }
            }
            out.push(Row {
                at: self.at(item.line, item.column),
                cells,
            });
        }
        out
    }
}

/// The text of a scalar (`Some(None)` for null); `None` for a list or mapping.
fn scalar_text(v: &Value) -> Option<Option<String>> {
    Some(match v {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Str(s) => Some(s.clone()),
        Value::Seq(_) | Value::Map(_) => return None,
    })
}
