//! `strata explain-customer`: why a customer's records are one customer, from the published
//! steward tables of identity resolution (`dwd_customer_source_map`, `dwd_customer_link`).
//! Keys are shown masked, as those tables hold them.

use std::path::Path;

use crate::app::inspect::{QueryResult, sql};
use crate::error::{Result, StrataError};
use crate::settings::Overrides;

/// The customer's records, then every merge (key kind, masked key, the two records it joined),
/// every widely shared key accepted because its records agree (`accepted`, one of its records),
/// every union a cannot_link override refused and every override conflict.
pub async fn explain_customer(
    given: Option<&Path>,
    overrides: &Overrides,
    customer_id: &str,
) -> Result<QueryResult> {
    let id = customer_id.trim().replace('\'', "''");
    let query = format!(
        "SELECT step, record, linked_to, key_kind, key_masked, reason FROM (
           SELECT 0 AS o, 'record' AS step, source_system || ':' || source_customer_id AS record,
                  CAST(NULL AS VARCHAR) AS linked_to, CAST(NULL AS VARCHAR) AS key_kind,
                  CAST(NULL AS VARCHAR) AS key_masked, CAST(NULL AS VARCHAR) AS reason
           FROM dwd_customer_source_map WHERE customer_id = '{id}'
           UNION ALL
           SELECT CASE link_kind WHEN 'link' THEN 1 ELSE 2 END, link_kind, record_a, record_b,
                  key_kind, key_masked, reason
           FROM dwd_customer_link WHERE customer_id = '{id}'
         ) ORDER BY o, record, linked_to"
    );
    let result = sql(given, overrides, &query).await?;
    if result.batches.iter().all(|b| b.num_rows() == 0) {
        return Err(StrataError::UnknownCustomer {
            customer_id: customer_id.to_string(),
        });
    }
    Ok(result)
}
