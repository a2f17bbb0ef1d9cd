//! What the Ballista engine cannot run as the embedded engine does, known from a statement's
//! logical plan alone. It lives outside the `ballista` feature so that `strata validate` finds
//! it for a pipeline whose engine is Ballista in any build, and a run on a cluster refuses it
//! before anything is sent.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, Diagnostic, Result as DfResult, Span};
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::prelude::SessionContext;

/// Marks a session whose statements run on a Ballista cluster, or are validated for one (a
/// session configuration extension set by `engine::session_parts`).
#[derive(Debug, Default)]
pub struct ClusterTarget;

/// [`check_plan`] when `ctx` runs (or validates) for a Ballista cluster; `Ok` otherwise.
pub fn check(ctx: &SessionContext, plan: &LogicalPlan) -> DfResult<()> {
    if ctx
        .state()
        .config()
        .get_extension::<ClusterTarget>()
        .is_none()
    {
        return Ok(());
    }
    check_plan(plan)
}

/// Refuses a statement the cluster would not run as the embedded engine does: a table the
/// cluster cannot send to its executors ([`check_tables`]), or an uncorrelated scalar subquery, `(SELECT COUNT(*) FROM t)`. DataFusion 55 plans it as one operator
/// (ScalarSubqueryExec) that Ballista 55 cannot cut into stages (every task fails to decode),
/// and DataFusion's fallback for distributed engines (a join) makes the columns nullable and
/// accepts a subquery returning several rows. The error is a planning error with a diagnostic
/// at the alias of the subquery's column, `(SELECT COUNT(*) AS n ...)`, when it has one
/// (DataFusion keeps no other position of a subquery), whose text starts with that line and
/// column, and says the rewrite that runs everywhere.
pub fn check_plan(plan: &LogicalPlan) -> DfResult<()> {
    check_tables(plan)?;
    let mut found: Option<Option<Span>> = None;
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                if let Expr::ScalarSubquery(sq) = e
                    && sq.outer_ref_columns.is_empty()
                {
                    found = Some(sq.spans.first());
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })?;
    let Some(span) = found else { return Ok(()) };
    let message = "a scalar subquery such as (SELECT COUNT(*) FROM t) cannot run on the Ballista \
                   engine; compute it once in a one-row subquery in FROM and CROSS JOIN it, \
                   e.g. FROM (SELECT COUNT(*) AS n FROM t) total CROSS JOIN ...";
    let at = span
        .map(|s| format!("line {}, column {}: ", s.start.line, s.start.column))
        .unwrap_or_default();
    let error = DataFusionError::Plan(format!("{at}{message}"));
    Err(DataFusionError::Diagnostic(
        Box::new(Diagnostic::new_error(message, span)),
        Box::new(error),
    ))
}

/// Refuses a scan of a table that strata's plan codec cannot send to the executors: only
/// sources and seeds (strata's source table), stage outputs and published tables (listing
/// tables) and in-memory tables (model stages, and every table while validating) travel. A table
/// function's table (`range(1, 10)`, `generate_series`) does not, and Ballista's own error for
/// it reads as a DataFusion bug ("LogicalExtensionCodec is not provided").
pub fn check_tables(plan: &LogicalPlan) -> DfResult<()> {
    use datafusion::catalog::TableProvider;
    use datafusion::datasource::listing::ListingTable;
    use datafusion::datasource::{MemTable, source_as_provider};
    use std::any::Any;
    let travels = |provider: &dyn TableProvider| {
        let any = provider as &dyn Any;
        any.is::<ListingTable>()
            || any.is::<MemTable>()
            || any.is::<super::source_table::SourceTable>()
            || any.is::<datafusion::datasource::cte_worktable::CteWorkTable>()
    };
    let mut refused: Option<String> = None;
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && let Ok(provider) = source_as_provider(&scan.source)
            && !travels(provider.as_ref())
        {
            refused = Some(scan.table_name.to_string());
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    match refused {
        None => Ok(()),
        Some(table) => Err(DataFusionError::Plan(format!(
            "`{table}` is a table function's result (such as range() or generate_series()), \
             which the Ballista engine cannot send to its executors; read a seed or a source \
             instead, or a VALUES list"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn plan_of(sql: &str) -> LogicalPlan {
        let ctx = SessionContext::new();
        ctx.sql("CREATE TABLE t (a INT, b INT) AS VALUES (1, 2)")
            .await
            .unwrap();
        ctx.sql(sql).await.unwrap().logical_plan().clone()
    }

    #[tokio::test]
    async fn uncorrelated_scalar_subqueries_are_refused_at_their_alias() {
        // DataFusion keeps the position of the alias inside the subquery ("total").
        let plan = plan_of("SELECT a,\n       (SELECT COUNT(*) AS total FROM t) AS n FROM t").await;
        let err = check_plan(&plan).unwrap_err();
        assert!(err.to_string().contains("line 2, column 28"), "{err}");
        let d = err.diagnostic().expect("a diagnostic");
        let span = d.span.expect("a span");
        assert_eq!((span.start.line, span.start.column), (2, 28));
        // In a filter, without an alias: refused, without a position.
        let plan = plan_of("SELECT a FROM t WHERE b > (SELECT AVG(b) FROM t)").await;
        let err = check_plan(&plan).unwrap_err();
        assert!(err.diagnostic().is_some_and(|d| d.span.is_none()), "{err}");
    }

    #[tokio::test]
    async fn table_functions_are_refused() {
        let plan = plan_of("SELECT value FROM range(1, 10)").await;
        let err = check_plan(&plan).unwrap_err();
        assert!(err.to_string().contains("table function"), "{err}");
        let plan = plan_of("SELECT * FROM t JOIN generate_series(1, 3) g ON t.a = g.value").await;
        assert!(check_plan(&plan).is_err());
        let plan = plan_of("SELECT * FROM (VALUES (1), (2)) v(x)").await;
        assert!(check_plan(&plan).is_ok());
    }

    #[tokio::test]
    async fn correlated_subqueries_and_joins_pass() {
        for sql in [
            "SELECT a FROM t x WHERE b = (SELECT MAX(b) FROM t y WHERE y.a = x.a)",
            "SELECT a, n FROM t CROSS JOIN (SELECT COUNT(*) AS n FROM t) total",
            "SELECT a FROM t WHERE a IN (SELECT b FROM t)",
        ] {
            let plan = plan_of(sql).await;
            assert!(check_plan(&plan).is_ok(), "{sql}");
        }
    }
}
