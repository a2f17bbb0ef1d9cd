//! Reading one stage's SQL text: exactly one query, and the tables it names with their places.
//!
//! Parsing uses DataFusion's own SQL parser (the dialect the engine runs), so what passes here is
//! what the engine will accept syntactically. Table references exclude CTE names.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::parser::{DFParser, Statement as DFStatement};
use datafusion::sql::resolve::resolve_table_references;
use datafusion::sql::sqlparser::ast::{ObjectName, Spanned, Statement, visit_relations};

use crate::diag::ProblemKind;

/// A table named in a query, with its 1-based line and column in the SQL text.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRef {
    pub name: String,
    pub line: usize,
    pub column: usize,
}

/// A problem inside SQL text with its 1-based position.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlProblem {
    pub line: usize,
    pub column: usize,
    pub kind: ProblemKind,
}

/// Parse stage SQL: it must be exactly one `SELECT` / `WITH ... SELECT` query. Returns the tables
/// it reads, in order of first appearance, deduplicated.
pub fn parse_stage_sql(sql: &str) -> Result<Vec<TableRef>, SqlProblem> {
    let mut statements = DFParser::parse_sql(sql).map_err(|e| {
        let message = e.to_string();
        let (line, column) = parser_position(&message).unwrap_or((1, 1));
        SqlProblem {
            line,
            column,
            kind: ProblemKind::SqlSyntax {
                message: clean_parser_message(&message),
            },
        }
    })?;
    if statements.len() != 1 {
        return Err(SqlProblem {
            line: 1,
            column: 1,
            kind: ProblemKind::MultipleStatements {
                count: statements.len(),
            },
        });
    }
    let statement = statements.pop_front().expect("one statement");
    let query_ok =
        matches!(&statement, DFStatement::Statement(s) if matches!(**s, Statement::Query(_)));
    if !query_ok {
        let (line, column) = match &statement {
            DFStatement::Statement(s) => {
                let start = s.span().start;
                (start.line.max(1) as usize, start.column.max(1) as usize)
            }
            _ => (1, 1),
        };
        return Err(SqlProblem {
            line,
            column,
            kind: ProblemKind::NotAQuery {
                statement: statement_kind(&statement),
            },
        });
    }
    let (tables, _ctes) = resolve_table_references(&statement, true).map_err(|e| SqlProblem {
        line: 1,
        column: 1,
        kind: ProblemKind::SqlSyntax {
            message: e.strip_backtrace(),
        },
    })?;
    let table_names: HashSet<String> = tables.iter().map(|t| t.table().to_string()).collect();
    let DFStatement::Statement(stmt) = &statement else {
        unreachable!("checked above")
    };
    let mut refs: Vec<TableRef> = Vec::new();
    let _ = visit_relations(stmt.as_ref(), |name: &ObjectName| {
        let normalized = normalize_last(name);
        if table_names.contains(&normalized) && !refs.iter().any(|r| r.name == normalized) {
            let start = name.span().start;
            refs.push(TableRef {
                name: normalized,
                line: start.line.max(1) as usize,
                column: start.column.max(1) as usize,
            });
        }
        ControlFlow::<()>::Continue(())
    });
    // Any table the resolver found but the visitor did not (should not happen) still counts.
    for t in tables {
        let name = t.table().to_string();
        if !refs.iter().any(|r| r.name == name) {
            refs.push(TableRef {
                name,
                line: 1,
                column: 1,
            });
        }
    }
    Ok(refs)
}

/// The last part of an object name, normalized as DataFusion does (unquoted -> lower case).
fn normalize_last(name: &ObjectName) -> String {
    match name.0.last().and_then(|p| p.as_ident()) {
        Some(ident) if ident.quote_style.is_some() => ident.value.clone(),
        Some(ident) => ident.value.to_lowercase(),
        None => name.to_string().to_lowercase(),
    }
}

fn statement_kind(statement: &DFStatement) -> String {
    match statement {
        DFStatement::CreateExternalTable(_) => "CREATE EXTERNAL TABLE".into(),
        DFStatement::CopyTo(_) => "COPY".into(),
        DFStatement::Explain(_) => "EXPLAIN".into(),
        DFStatement::Reset(_) => "RESET".into(),
        DFStatement::Statement(s) => {
            let text = s.to_string();
            let words: Vec<&str> = text.split_whitespace().take(2).collect();
            match words.as_slice() {
                [first, second]
                    if matches!(
                        first.to_ascii_uppercase().as_str(),
                        "CREATE" | "DROP" | "ALTER"
                    ) =>
                {
                    format!(
                        "{} {}",
                        first.to_ascii_uppercase(),
                        second.to_ascii_uppercase()
                    )
                }
                [first, ..] => first.to_ascii_uppercase(),
                [] => "empty".into(),
            }
        }
    }
}

/// sqlparser messages end with "at Line: L, Column: C".
fn parser_position(message: &str) -> Option<(usize, usize)> {
    let at = message.rfind("Line: ")?;
    let rest = &message[at + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

fn clean_parser_message(message: &str) -> String {
    let m = message
        .trim_start_matches("SQL error: ")
        .trim_start_matches("ParserError(\"")
        .trim_end_matches("\")");
    let m = match m.rfind(" at Line: ") {
        Some(i) => &m[..i],
        None => m,
    };
    m.trim_start_matches("sql parser error: ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tables_but_not_ctes() {
        let sql = "WITH recent AS (SELECT * FROM dwd_order)\nSELECT r.*, c.name\nFROM recent r\n  JOIN dwd_customer c ON c.id = r.customer_id";
        let refs = parse_stage_sql(sql).unwrap();
        let names: Vec<_> = refs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["dwd_order", "dwd_customer"]);
        assert_eq!((refs[1].line, refs[1].column), (4, 8));
    }

    #[test]
    fn rejects_non_queries() {
        let err = parse_stage_sql("DROP TABLE dwd_order").unwrap_err();
        assert_eq!(
            err.kind,
            ProblemKind::NotAQuery {
                statement: "DROP TABLE".into()
            }
        );
        let err = parse_stage_sql("COPY (SELECT 1) TO '/tmp/x.parquet'").unwrap_err();
        assert!(matches!(err.kind, ProblemKind::NotAQuery { .. }), "{err:?}");
        let err = parse_stage_sql("SELECT 1; SELECT 2").unwrap_err();
        assert_eq!(err.kind, ProblemKind::MultipleStatements { count: 2 });
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse_stage_sql("SELECT a\n  FROM t GROUP BY BY a").unwrap_err();
        assert!(matches!(err.kind, ProblemKind::SqlSyntax { .. }));
        assert_eq!(err.line, 2, "{err:?}");
    }
}
