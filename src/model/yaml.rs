//! The one module that parses YAML text.
//!
//! It turns text into a small positioned tree ([`Node`]) that the loader walks to build the
//! pipeline model. Keeping the YAML library behind this module means a change of library touches
//! one file. Every node keeps its 1-based line and column so that every problem found later can
//! point at the exact place in the file.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// A YAML value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: usize,
    pub column: usize,
    pub value: Value,
    /// Where the node's text starts and ends, as character offsets into the document: a
    /// number's text as written (`1.0`, `007`) is `text[span.0..span.1]`.
    pub span: (usize, usize),
}

/// The YAML value kinds the pipeline format uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in document order; keys are the scalar text of the key with its own position.
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub line: usize,
    pub column: usize,
}

impl Value {
    /// A short name of the kind of value, for "expected X, found Y" messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A YAML syntax error with its 1-based position.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parse one YAML document. An empty document is `Null`.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| SyntaxError {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    match docs.into_iter().next() {
        Some(doc) => convert(doc),
        None => Ok(Node {
            line: 1,
            column: 1,
            value: Value::Null,
            span: (0, 0),
        }),
    }
}

fn convert(node: MarkedYaml<'_>) -> Result<Node, SyntaxError> {
    let line = node.span.start.line().max(1);
    let column = node.span.start.col() + 1;
    let span = (node.span.start.index(), node.span.end.index());
    let value = match node.data {
        YamlData::Value(scalar) => scalar_value(scalar),
        YamlData::Representation(text, _, _) => Value::Str(text.into_owned()),
        YamlData::Sequence(items) => Value::Seq(
            items
                .into_iter()
                .map(convert)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        YamlData::Mapping(map) => {
            let mut entries = Vec::with_capacity(map.len());
            for (k, v) in map {
                let key_line = k.span.start.line().max(1);
                let key_column = k.span.start.col() + 1;
                let name = match k.data {
                    YamlData::Value(scalar) => scalar_text(&scalar),
                    YamlData::Representation(text, _, _) => text.into_owned(),
                    _ => {
                        return Err(SyntaxError {
                            line: key_line,
                            column: key_column,
                            message: "mapping keys must be plain scalars".to_string(),
                        });
                    }
                };
                entries.push((
                    Key {
                        name,
                        line: key_line,
                        column: key_column,
                    },
                    convert(v)?,
                ));
            }
            Value::Map(entries)
        }
        YamlData::Tagged(_, inner) => return convert(*inner),
        YamlData::Alias(_) | YamlData::BadValue => {
            return Err(SyntaxError {
                line,
                column,
                message: "aliases and invalid tagged values are not supported".to_string(),
            });
        }
    };
    Ok(Node {
        line,
        column,
        value,
        span,
    })
}

fn scalar_value(scalar: Scalar<'_>) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(b),
        Scalar::Integer(i) => Value::Int(i),
        Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
        Scalar::String(s) => Value::Str(s.into_owned()),
    }
}

fn scalar_text(scalar: &Scalar<'_>) -> String {
    match scalar {
        Scalar::Null => "null".to_string(),
        Scalar::Boolean(b) => b.to_string(),
        Scalar::Integer(i) => i.to_string(),
        Scalar::FloatingPoint(f) => f.to_string(),
        Scalar::String(s) => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_and_types() {
        let node = parse("name: crm\nstages:\n  - name: a\n    n: 3\n    q: '3'\n").unwrap();
        let Value::Map(entries) = node.value else {
            panic!("expected a mapping")
        };
        assert_eq!(entries[0].0.name, "name");
        assert_eq!((entries[1].0.line, entries[1].0.column), (2, 1));
        let Value::Seq(items) = &entries[1].1.value else {
            panic!("expected a list")
        };
        let Value::Map(stage) = &items[0].value else {
            panic!("expected a mapping")
        };
        assert_eq!((stage[1].0.line, stage[1].0.column), (4, 5));
        assert_eq!(stage[1].1.value, Value::Int(3));
        assert_eq!(stage[2].1.value, Value::Str("3".into()));
    }

    #[test]
    fn reports_syntax_errors_with_position() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.line >= 1, "{err:?}");
    }
}
