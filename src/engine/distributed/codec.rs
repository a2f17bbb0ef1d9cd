//! What strata adds to the plans a Ballista client, scheduler and executors send each other.
//!
//! DataFusion's plan serialization knows its own tables, operators and built-in functions, and
//! asks an extension codec for anything else. strata's codec handles:
//!
//! - **sources**: a [`SourceTable`] in a logical plan travels with its listed files, schemas and
//!   reading rules as the client resolved them, so the scheduler never lists a source again; the
//!   physical plan it makes reads each source through a [`PortableScan`], which carries the
//!   reading rules beside a plain file scan (DataFusion's serialization keeps the files and
//!   drops the rules, which would read the files as they are);
//! - **in-memory tables** (a model stage's rows): their batches, as Arrow IPC;
//! - **strata's functions**: each with its configuration (`udf::scalar_wire_config`), so a node
//!   rebuilds `intent`, `business_date`, `pii_hash` and `resolve_identity` exactly as the
//!   pipeline configured them. `pii_hash` carries the name of its key's variable, never the key:
//!   each node reads the key from its own environment.
//!
//! Everything else goes to Ballista's own codecs. strata's buffers are laid out by [`super::wire`].

use std::any::Any;
use std::sync::Arc;

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{Result as DfResult, TableReference};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion::physical_expr_common::physical_expr::proto_decode::PhysicalExprDecodeCtx;
use datafusion::physical_expr_common::physical_expr::proto_encode::PhysicalExprEncodeCtx;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};

use super::wire::{
    FUNCTION, MEMORY, SCAN, SOURCE, decode_function, decode_memory, decode_scan, encode_function,
    encode_memory, encode_scan, start, strata_body, wire_err,
};
use crate::engine::source_table::{PortableScan, SourceColumns, SourceTable};
use crate::engine::udf;

/// strata's logical codec, in front of Ballista's (client and scheduler).
#[derive(Debug, Default)]
pub struct LogicalCodec {
    ballista: BallistaLogicalExtensionCodec,
}

/// strata's physical codec, in front of Ballista's (scheduler and executors).
#[derive(Debug, Default)]
pub struct PhysicalCodec {
    ballista: BallistaPhysicalExtensionCodec,
}

fn scalar_function(name: &str, buf: &[u8]) -> Option<DfResult<Arc<ScalarUDF>>> {
    let body = strata_body(buf, FUNCTION)?;
    Some(decode_function(body).and_then(|(wire_name, config)| {
        if wire_name != name {
            return Err(wire_err("function", format!("{wire_name} sent as {name}")));
        }
        udf::scalar_from_wire(name, &config)
            .map(Arc::new)
            .map_err(|e| wire_err("function", e))
    }))
}

fn aggregate_function(name: &str, buf: &[u8]) -> Option<DfResult<Arc<AggregateUDF>>> {
    let body = strata_body(buf, FUNCTION)?;
    Some(decode_function(body).and_then(|(wire_name, config)| {
        if wire_name != name {
            return Err(wire_err("aggregate", format!("{wire_name} sent as {name}")));
        }
        udf::aggregate_from_wire(name, &config)
            .map(Arc::new)
            .map_err(|e| wire_err("aggregate", e))
    }))
}

/// A strata function with its configuration, or anything else through `other`.
fn encode_scalar(
    node: &ScalarUDF,
    buf: &mut Vec<u8>,
    other: impl FnOnce(&mut Vec<u8>) -> DfResult<()>,
) -> DfResult<()> {
    match udf::scalar_wire_config(node) {
        Some(config) => {
            encode_function(node.name(), &config, buf);
            Ok(())
        }
        None => other(buf),
    }
}

/// As [`encode_scalar`], for aggregates.
fn encode_aggregate(
    node: &AggregateUDF,
    buf: &mut Vec<u8>,
    other: impl FnOnce(&mut Vec<u8>) -> DfResult<()>,
) -> DfResult<()> {
    match udf::aggregate_wire_config(node) {
        Some(config) => {
            encode_function(node.name(), &config, buf);
            Ok(())
        }
        None => other(buf),
    }
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> DfResult<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn TableProvider>> {
        if let Some(body) = strata_body(buf, SOURCE) {
            let scan = decode_scan(body)?;
            return Ok(Arc::new(SourceTable {
                scan: Arc::new(scan),
                portable: true,
            }));
        }
        if let Some(body) = strata_body(buf, MEMORY) {
            return decode_memory(body, schema);
        }
        self.ballista
            .try_decode_table_provider(buf, table_ref, schema, ctx)
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> DfResult<()> {
        if let Some(source) = (node.as_ref() as &dyn Any).downcast_ref::<SourceTable>() {
            start(buf, SOURCE);
            return encode_scan(&source.scan, buf);
        }
        if let Some(memory) = (node.as_ref() as &dyn Any).downcast_ref::<MemTable>() {
            return encode_memory(memory, buf);
        }
        self.ballista
            .try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> DfResult<()> {
        self.ballista.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        scalar_function(name, buf).unwrap_or_else(|| self.ballista.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        encode_scalar(node, buf, |b| self.ballista.try_encode_udf(node, b))
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<AggregateUDF>> {
        aggregate_function(name, buf).unwrap_or_else(|| self.ballista.try_decode_udaf(name, buf))
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        encode_aggregate(node, buf, |b| self.ballista.try_encode_udaf(node, b))
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<WindowUDF>> {
        self.ballista.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode_udwf(node, buf)
    }
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let Some(body) = strata_body(buf, SCAN) else {
            return self.ballista.try_decode(buf, inputs, ctx, proto_converter);
        };
        let rules: SourceColumns =
            serde_json::from_slice(body).map_err(|e| wire_err("reading rules", e))?;
        let [input] = inputs else {
            return Err(wire_err("source scan", "expected one input"));
        };
        Ok(Arc::new(PortableScan::try_new(rules, input.clone())?))
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<()> {
        let Some(scan) = node.downcast_ref::<PortableScan>() else {
            return self.ballista.try_encode(node, buf, proto_converter);
        };
        start(buf, SCAN);
        buf.extend(serde_json::to_vec(&scan.rules).map_err(|e| wire_err("reading rules", e))?);
        Ok(())
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        scalar_function(name, buf).unwrap_or_else(|| self.ballista.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        encode_scalar(node, buf, |b| self.ballista.try_encode_udf(node, b))
    }

    fn try_decode_expr(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn PhysicalExpr>],
        ctx: &PhysicalExprDecodeCtx<'_>,
    ) -> DfResult<Arc<dyn PhysicalExpr>> {
        self.ballista.try_decode_expr(buf, inputs, ctx)
    }

    fn try_encode_expr(
        &self,
        node: &Arc<dyn PhysicalExpr>,
        buf: &mut Vec<u8>,
        ctx: &PhysicalExprEncodeCtx<'_>,
    ) -> DfResult<()> {
        self.ballista.try_encode_expr(node, buf, ctx)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<AggregateUDF>> {
        aggregate_function(name, buf).unwrap_or_else(|| self.ballista.try_decode_udaf(name, buf))
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        encode_aggregate(node, buf, |b| self.ballista.try_encode_udaf(node, b))
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<WindowUDF>> {
        self.ballista.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.ballista.try_encode_udwf(node, buf)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::DataType;
    use datafusion::prelude::SessionContext;

    use super::*;
    use crate::model::IntentDictionary;
    use crate::model::identity::IdentityConfig;

    fn settings() -> udf::FunctionSettings {
        udf::FunctionSettings {
            identity: IdentityConfig {
                max_records_per_key: 7,
                ..IdentityConfig::default()
            },
            timezone: "America/New_York".to_string(),
            intents: IntentDictionary {
                labels: vec![("VIP".to_string(), vec!["贵宾".to_string()])],
                default_label: "其他".to_string(),
            },
            pii: crate::model::PiiConfig {
                hash_key_env: "STRATA_TEST_NODE_KEY".to_string(),
            },
        }
    }

    /// Sends `name` through the client's logical codec and rebuilds it with an executor's
    /// physical codec.
    fn sent(name: &str) -> Arc<ScalarUDF> {
        let f = udf::scalar_functions(&settings())
            .into_iter()
            .find(|f| f.name() == name)
            .unwrap();
        let mut buf = Vec::new();
        LogicalCodec::default()
            .try_encode_udf(&f, &mut buf)
            .unwrap();
        PhysicalCodec::default().try_decode_udf(name, &buf).unwrap()
    }

    async fn one(ctx: &SessionContext, sql: &str) -> String {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let column =
            datafusion::arrow::compute::cast(batches[0].column(0), &DataType::Utf8).unwrap();
        column.as_string::<i32>().value(0).to_string()
    }

    #[tokio::test]
    async fn configured_functions_arrive_as_the_pipeline_configured_them() {
        let ctx = SessionContext::new();
        ctx.register_udf(sent("intent").as_ref().clone());
        ctx.register_udf(sent("business_date").as_ref().clone());
        // The pipeline's dictionary, not the built-in one (which has no VIP label).
        assert_eq!(one(&ctx, "SELECT intent('我是贵宾客户')").await, "VIP");
        assert_eq!(one(&ctx, "SELECT intent('报价多少钱')").await, "其他");
        // 2026-11-30 03:00 UTC is still 29 November in New York (UTC-5 in winter).
        assert_eq!(
            one(
                &ctx,
                "SELECT business_date(TIMESTAMP '2026-11-30T03:00:00Z')"
            )
            .await,
            "2026-11-29"
        );
    }

    #[test]
    fn identity_rules_and_the_key_variable_travel_but_not_the_key() {
        let udaf = udf::aggregate_functions(&settings()).remove(0);
        let mut buf = Vec::new();
        LogicalCodec::default()
            .try_encode_udaf(&udaf, &mut buf)
            .unwrap();
        let back = PhysicalCodec::default()
            .try_decode_udaf(udaf.name(), &buf)
            .unwrap();
        // The rebuilt aggregate applies the pipeline's rules (7 records per key, set above), not
        // the built-in default.
        let rules: IdentityConfig =
            serde_json::from_str(&udf::aggregate_wire_config(&back).unwrap()).unwrap();
        assert_eq!(rules.max_records_per_key, 7);
        assert_eq!(rules, settings().identity);
        let hash = sent("pii_hash");
        assert_eq!(
            udf::scalar_wire_config(&hash).unwrap(),
            "STRATA_TEST_NODE_KEY"
        );
    }
}
