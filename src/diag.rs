//! Located problems: what `validate` reports about a project.
//!
//! A [`Problem`] is data, not an error: validation collects every problem of a project and only
//! then fails, so users fix them all in one go. Each problem names its file, line and column
//! (1-based) when it has one, and a [`ProblemKind`] that carries its subject as fields.

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in a project file (pipeline YAML or stage SQL). Line and column are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Location {
    pub fn new(file: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Self {
            file: file.into(),
            line,
            column,
        }
    }

    /// The start of a file, for problems about the file as a whole.
    pub fn file_start(file: impl Into<PathBuf>) -> Self {
        Self::new(file, 1, 1)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One thing wrong with a project, with where it is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    pub location: Option<Location>,
    pub kind: ProblemKind,
}

impl Problem {
    pub fn at(location: Location, kind: ProblemKind) -> Self {
        Self {
            location: Some(location),
            kind,
        }
    }

    pub fn unlocated(kind: ProblemKind) -> Self {
        Self {
            location: None,
            kind,
        }
    }

    /// A hint that helps fix the problem, when there is one.
    pub fn hint(&self) -> Option<String> {
        self.kind.hint()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{loc}: {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

/// What is wrong. Each variant carries its subject; `Display` is the one-line message.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProblemKind {
    YamlSyntax {
        message: String,
    },
    UnknownKey {
        key: String,
        context: String,
        suggestion: Option<String>,
    },
    WrongType {
        key: String,
        expected: String,
        found: String,
    },
    MissingKey {
        key: String,
        context: String,
    },
    InvalidValue {
        key: String,
        value: String,
        reason: String,
    },
    DuplicateName {
        what: String,
        name: String,
    },
    LiteralSecret {
        key: String,
    },
    MissingFile {
        what: String,
        path: PathBuf,
    },
    UnreadableFile {
        path: PathBuf,
        reason: String,
    },
    OutsideRoot {
        key: String,
        path: String,
        root: String,
    },
    /// A location holding a percent-encoded `.`, `/` or `\`: refused whether or not it would
    /// be decoded, so that no reading of it can leave its root.
    EncodedLocation {
        key: String,
        path: String,
    },
    SqlSyntax {
        message: String,
    },
    NotAQuery {
        statement: String,
    },
    MultipleStatements {
        count: usize,
    },
    UnknownTable {
        table: String,
        suggestion: Option<String>,
    },
    UnknownDependency {
        stage: String,
        dependency: String,
        suggestion: Option<String>,
    },
    LayerViolation {
        stage: String,
        stage_layer: String,
        input: String,
        input_layer: String,
    },
    Cycle {
        path: Vec<String>,
    },
    Planning {
        message: String,
    },
    PartitionColumn {
        stage: String,
        found: Option<String>,
    },
    SourceSchema {
        source_name: String,
        message: String,
    },
    Contract {
        stage: String,
        differences: Vec<String>,
    },
}

impl ProblemKind {
    fn hint(&self) -> Option<String> {
        match self {
            ProblemKind::UnknownKey {
                suggestion: Some(s),
                ..
            }
            | ProblemKind::UnknownTable {
                suggestion: Some(s),
                ..
            }
            | ProblemKind::UnknownDependency {
                suggestion: Some(s),
                ..
            } => Some(format!("did you mean `{s}`?")),
            ProblemKind::LiteralSecret { .. } => Some(
                "put the secret in an environment variable and name that variable instead \
                 (for example `key_env: STRATA_PII_KEY`)"
                    .to_string(),
            ),
            ProblemKind::LayerViolation { .. } => Some(
                "a stage may read only its own layer or lower ones (ods < dwd < dws < ads)"
                    .to_string(),
            ),
            ProblemKind::NotAQuery { .. } | ProblemKind::MultipleStatements { .. } => Some(
                "a stage file holds exactly one SELECT or WITH ... SELECT query; strata writes \
                 its result"
                    .to_string(),
            ),
            ProblemKind::PartitionColumn { .. } => Some(
                "a `partitioned` stage must select a DATE column named `ds`, usually `$ds AS ds`"
                    .to_string(),
            ),
            _ => None,
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::YamlSyntax { message } => write!(f, "invalid YAML: {message}"),
            ProblemKind::UnknownKey { key, context, .. } => {
                write!(f, "unknown key `{key}` in {context}")
            }
            ProblemKind::WrongType {
                key,
                expected,
                found,
            } => write!(f, "`{key}` must be {expected}, found {found}"),
            ProblemKind::MissingKey { key, context } => {
                write!(f, "missing required key `{key}` in {context}")
            }
            ProblemKind::InvalidValue { key, value, reason } => {
                write!(f, "invalid value `{value}` for `{key}`: {reason}")
            }
            ProblemKind::DuplicateName { what, name } => write!(f, "duplicate {what} `{name}`"),
            ProblemKind::LiteralSecret { key } => {
                write!(
                    f,
                    "`{key}` holds a literal secret; secrets must not be written in pipeline files"
                )
            }
            ProblemKind::MissingFile { what, path } => {
                write!(f, "{what} `{}` does not exist", path.display())
            }
            ProblemKind::UnreadableFile { path, reason } => {
                write!(f, "cannot read `{}`: {reason}", path.display())
            }
            ProblemKind::OutsideRoot { key, path, root } => {
                write!(f, "`{key}` location `{path}` escapes its root `{root}`")
            }
            ProblemKind::EncodedLocation { key, path } => write!(
                f,
                "`{key}` location `{path}` holds a percent-encoded `.`, `/` or `\\` (%2e, %2f, \
                 %5c), refused because a decoding reader would take it for a path step; \
                 rename the directory"
            ),
            ProblemKind::SqlSyntax { message } => write!(f, "SQL syntax error: {message}"),
            ProblemKind::NotAQuery { statement } => {
                write!(f, "stage SQL must be a query, found `{statement}`")
            }
            ProblemKind::MultipleStatements { count } => {
                write!(
                    f,
                    "stage SQL must hold exactly one query, found {count} statements"
                )
            }
            ProblemKind::UnknownTable { table, .. } => {
                write!(
                    f,
                    "unknown table `{table}`: no source or stage has this name"
                )
            }
            ProblemKind::UnknownDependency {
                stage, dependency, ..
            } => write!(
                f,
                "stage `{stage}` depends on `{dependency}`, which is no source or stage"
            ),
            ProblemKind::LayerViolation {
                stage,
                stage_layer,
                input,
                input_layer,
            } => write!(
                f,
                "{stage_layer} stage `{stage}` reads `{input}` from the higher layer {input_layer}"
            ),
            ProblemKind::Cycle { path } => {
                write!(f, "dependency cycle: {}", path.join(" -> "))
            }
            ProblemKind::Planning { message } => write!(f, "{message}"),
            ProblemKind::PartitionColumn { stage, found } => match found {
                None => write!(f, "partitioned stage `{stage}` has no `ds` column"),
                Some(t) => write!(
                    f,
                    "partitioned stage `{stage}` has a `ds` column of type {t}, expected Date32"
                ),
            },
            ProblemKind::Contract { stage, differences } => write!(
                f,
                "stage `{stage}` does not produce its declared columns: {}",
                differences.join("; ")
            ),
            ProblemKind::SourceSchema {
                source_name,
                message,
            } => {
                if message.contains(&format!("source `{source_name}`")) {
                    write!(f, "{message}")
                } else {
                    write!(f, "source `{source_name}`: {message}")
                }
            }
        }
    }
}

/// The closest of `candidates` to `word`, when one is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase());
        if score >= 0.8 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Show `path` relative to `base` when it lies below it, for shorter messages.
pub fn display_path(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// `word` with its indefinite article: "an int", "a float".
pub fn with_article(word: &str) -> String {
    let vowel = word
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {word}", if vowel { "an" } else { "a" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["materialization", "depends_on", "description"];
        assert_eq!(
            suggest("materialisation", keys).as_deref(),
            Some("materialization")
        );
        assert_eq!(suggest("dependson", keys).as_deref(), Some("depends_on"));
        assert_eq!(suggest("zzz", keys), None);
    }
}
