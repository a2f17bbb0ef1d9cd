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

/// Refuses a statement the cluster would not run as the embedded engine does: an uncorrelated
/// scalar subquery, `(SELECT COUNT(*) FROM t)`. DataFusion 55 plans it as one operator
/// (ScalarSubqueryExec) that Ballista 55 cannot cut into stages (every task fails to decode),
/// and DataFusion's fallback for distributed engines (a join) makes the columns nullable and
/// accepts a subquery returning several rows. The error is a planning error with a diagnostic
/// at the alias of the subquery's column, `(SELECT COUNT(*) AS n ...)`, when it has one
/// (DataFusion keeps no other position of a subquery), whose text starts with that line and
/// column, and says the rewrite that runs everywhere.
pub fn check_plan(plan: &LogicalPlan) -> DfResult<()> {
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
