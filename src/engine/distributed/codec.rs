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
//! Everything else goes to Ballista's own codecs. A buffer of strata's starts with a tag no
//! protobuf message starts with, and is laid out as length-prefixed sections (a JSON header,
//! then Arrow IPC streams).

use std::any::Any;
use std::io::Cursor;
use std::sync::Arc;

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::array::{
    Array, ArrayRef, RecordBatch, StringArray, UInt64Array, new_empty_array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue, TableReference};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion::physical_expr_common::physical_expr::proto_decode::PhysicalExprDecodeCtx;
use datafusion::physical_expr_common::physical_expr::proto_encode::PhysicalExprEncodeCtx;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use serde::{Deserialize, Serialize};

use crate::engine::source_table::{PortableScan, SourceColumns, SourceScan, SourceTable};
use crate::engine::udf;

/// The first bytes of every buffer strata's codec writes (0xFF opens no protobuf field).
const TAG: &[u8] = b"\xffstrata1";
const SOURCE: u8 = b's';
const SCAN: u8 = b'p';
const MEMORY: u8 = b'm';
const FUNCTION: u8 = b'f';

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

/// The fields of a source scan that are not Arrow data.
#[derive(Serialize, Deserialize)]
struct ScanHeader {
    store_url: String,
    rules: SourceColumns,
    csv: bool,
}

fn wire_err(what: &str, detail: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Internal(format!("strata plan codec: {what}: {detail}"))
}

/// `buf` without strata's tag and kind byte, when it is one of strata's buffers of `kind`.
fn strata_body(buf: &[u8], kind: u8) -> Option<&[u8]> {
    let rest = buf.strip_prefix(TAG)?;
    let (&k, body) = rest.split_first()?;
    (k == kind).then_some(body)
}

fn start(buf: &mut Vec<u8>, kind: u8) {
    buf.extend_from_slice(TAG);
    buf.push(kind);
}

fn put_section(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    buf.extend_from_slice(bytes);
}

/// Reads length-prefixed sections back.
struct Sections<'a>(&'a [u8]);

impl<'a> Sections<'a> {
    fn next(&mut self) -> DfResult<&'a [u8]> {
        let err = || wire_err("plan buffer", "truncated");
        let (len, rest) = self.0.split_first_chunk::<8>().ok_or_else(err)?;
        let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| err())?;
        if rest.len() < len {
            return Err(err());
        }
        let (section, rest) = rest.split_at(len);
        self.0 = rest;
        Ok(section)
    }
}

fn ipc(schema: &Schema, batches: &[RecordBatch]) -> DfResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut writer = StreamWriter::try_new(&mut out, schema)?;
    for b in batches {
        writer.write(b)?;
    }
    writer.finish()?;
    drop(writer);
    Ok(out)
}

fn from_ipc(bytes: &[u8]) -> DfResult<(SchemaRef, Vec<RecordBatch>)> {
    let reader = StreamReader::try_new(Cursor::new(bytes), None)?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    Ok((schema, batches))
}

/// A source scan as bytes: header, file schema, partition schema, table schema, the file list
/// (path, size, one typed column per partition), and a CSV seed's rows when it has them.
fn encode_scan(scan: &SourceScan, buf: &mut Vec<u8>) -> DfResult<()> {
    let header = ScanHeader {
        store_url: scan.store_url.as_str().to_string(),
        rules: scan.rules.clone(),
        csv: scan.csv.is_some(),
    };
    put_section(
        buf,
        &serde_json::to_vec(&header).map_err(|e| wire_err("scan header", e))?,
    );
    put_section(buf, &ipc(&scan.file_schema, &[])?);
    let partition_fields: Vec<Field> = scan
        .partitions
        .iter()
        .map(|(name, dt)| Field::new(name, dt.clone(), true))
        .collect();
    put_section(buf, &ipc(&Schema::new(partition_fields.clone()), &[])?);
    put_section(buf, &ipc(&scan.table_schema, &[])?);
    let mut fields = vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("size", DataType::UInt64, false),
    ];
    fields.extend(partition_fields);
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            scan.files.iter().map(|f| f.0.as_str()),
        )),
        Arc::new(UInt64Array::from_iter_values(
            scan.files.iter().map(|f| f.1),
        )),
    ];
    for (i, (_, dt)) in scan.partitions.iter().enumerate() {
        let values: Vec<ScalarValue> = scan.files.iter().map(|f| f.2[i].clone()).collect();
        columns.push(if values.is_empty() {
            new_empty_array(dt)
        } else {
            ScalarValue::iter_to_array(values)?
        });
    }
    let schema = Arc::new(Schema::new(fields));
    let files = RecordBatch::try_new(schema.clone(), columns)?;
    put_section(buf, &ipc(&schema, &[files])?);
    if let Some(batches) = &scan.csv {
        put_section(buf, &ipc(&scan.table_schema, batches)?);
    }
    Ok(())
}

fn decode_scan(body: &[u8]) -> DfResult<SourceScan> {
    let mut sections = Sections(body);
    let header: ScanHeader =
        serde_json::from_slice(sections.next()?).map_err(|e| wire_err("scan header", e))?;
    let (file_schema, _) = from_ipc(sections.next()?)?;
    let (partition_schema, _) = from_ipc(sections.next()?)?;
    let (table_schema, _) = from_ipc(sections.next()?)?;
    let (_, file_batches) = from_ipc(sections.next()?)?;
    let mut files = Vec::new();
    for batch in &file_batches {
        let paths = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| wire_err("file list", "paths are not strings"))?;
        let sizes = batch
            .column(1)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .ok_or_else(|| wire_err("file list", "sizes are not integers"))?;
        for row in 0..batch.num_rows() {
            let values = (2..batch.num_columns())
                .map(|c| ScalarValue::try_from_array(batch.column(c), row))
                .collect::<DfResult<Vec<_>>>()?;
            files.push((paths.value(row).to_string(), sizes.value(row), values));
        }
    }
    let csv = if header.csv {
        Some(from_ipc(sections.next()?)?.1)
    } else {
        None
    };
    let scan = SourceScan {
        store_url: ObjectStoreUrl::parse(&header.store_url)?,
        files,
        file_schema,
        partitions: partition_schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect(),
        table_schema,
        rules: header.rules,
        csv,
    };
    Ok(scan)
}

/// A function's configuration as strata's buffer: name, then configuration.
fn encode_function(name: &str, config: &str, buf: &mut Vec<u8>) {
    start(buf, FUNCTION);
    put_section(buf, name.as_bytes());
    put_section(buf, config.as_bytes());
}

fn decode_function(body: &[u8]) -> DfResult<(String, String)> {
    let mut sections = Sections(body);
    let text =
        |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|e| wire_err("function configuration", e));
    Ok((text(sections.next()?)?, text(sections.next()?)?))
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

fn encode_memory(table: &MemTable, buf: &mut Vec<u8>) -> DfResult<()> {
    start(buf, MEMORY);
    let schema = table.schema();
    for partition in &table.batches {
        let batches = partition
            .try_read()
            .map_err(|_| wire_err("in-memory table", "being written while it is planned"))?;
        put_section(buf, &ipc(&schema, &batches)?);
    }
    Ok(())
}

fn decode_memory(body: &[u8], schema: SchemaRef) -> DfResult<Arc<dyn TableProvider>> {
    let mut sections = Sections(body);
    let mut partitions = Vec::new();
    while !sections.0.is_empty() {
        partitions.push(from_ipc(sections.next()?)?.1);
    }
    Ok(Arc::new(MemTable::try_new(schema, partitions)?))
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
        assert_eq!(udf::aggregate_wire_config(&back).unwrap(), {
            let rules: IdentityConfig =
                serde_json::from_str(&udf::aggregate_wire_config(&udaf).unwrap()).unwrap();
            assert_eq!(rules.max_records_per_key, 7);
            udf::aggregate_wire_config(&udaf).unwrap()
        });
        let hash = sent("pii_hash");
        assert_eq!(
            udf::scalar_wire_config(&hash).unwrap(),
            "STRATA_TEST_NODE_KEY"
        );
    }

    #[test]
    fn a_source_scan_keeps_its_files_partitions_and_rules() {
        let scan = SourceScan {
            store_url: ObjectStoreUrl::parse("s3://bucket").unwrap(),
            files: vec![
                (
                    "ods/orders/ds=2026-11-20/a.parquet".to_string(),
                    120,
                    vec![ScalarValue::Date32(Some(20_777))],
                ),
                (
                    "ods/orders/ds=2026-11-21/b.parquet".to_string(),
                    7,
                    vec![ScalarValue::Date32(Some(20_778))],
                ),
            ],
            file_schema: Arc::new(Schema::new(vec![Field::new(
                "order_id",
                DataType::Utf8,
                true,
            )])),
            partitions: vec![("ds".to_string(), DataType::Date32)],
            table_schema: Arc::new(Schema::new(vec![
                Field::new("order_id", DataType::Utf8, true),
                Field::new("ds", DataType::Date32, false),
            ])),
            rules: SourceColumns {
                keys: vec!["order_id".to_string()],
                zone: Some("Asia/Shanghai".to_string()),
            },
            csv: None,
        };
        let mut buf = Vec::new();
        encode_scan(&scan, &mut buf).unwrap();
        let back = decode_scan(&buf).unwrap();
        assert_eq!(back.store_url.as_str(), "s3://bucket/");
        assert_eq!(back.files, scan.files);
        assert_eq!(back.file_schema, scan.file_schema);
        assert_eq!(back.partitions, scan.partitions);
        assert_eq!(back.table_schema, scan.table_schema);
        assert_eq!(back.rules, scan.rules);
        assert!(back.csv.is_none());
    }
}
