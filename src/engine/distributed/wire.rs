//! The byte layout of what strata's plan codec ([`super::codec`]) writes: a tag no protobuf
//! message starts with, a kind byte, then length-prefixed sections (a JSON header, Arrow IPC
//! streams for schemas, file lists and rows, or a function's name and configuration).

use std::io::Cursor;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, RecordBatch, StringArray, UInt64Array, new_empty_array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::execution::object_store::ObjectStoreUrl;
use serde::{Deserialize, Serialize};

use crate::engine::source_table::{SourceColumns, SourceScan};

/// The first bytes of every buffer strata's codec writes (0xFF opens no protobuf field).
pub(super) const TAG: &[u8] = b"\xffstrata1";
pub(super) const SOURCE: u8 = b's';
pub(super) const SCAN: u8 = b'p';
pub(super) const MEMORY: u8 = b'm';
pub(super) const FUNCTION: u8 = b'f';

/// The fields of a source scan that are not Arrow data.
#[derive(Serialize, Deserialize)]
struct ScanHeader {
    store_url: String,
    rules: SourceColumns,
    csv: bool,
}

pub(super) fn wire_err(what: &str, detail: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Internal(format!("strata plan codec: {what}: {detail}"))
}

/// `buf` without strata's tag and kind byte, when it is one of strata's buffers of `kind`.
pub(super) fn strata_body(buf: &[u8], kind: u8) -> Option<&[u8]> {
    let rest = buf.strip_prefix(TAG)?;
    let (&k, body) = rest.split_first()?;
    (k == kind).then_some(body)
}

pub(super) fn start(buf: &mut Vec<u8>, kind: u8) {
    buf.extend_from_slice(TAG);
    buf.push(kind);
}

pub(super) fn put_section(buf: &mut Vec<u8>, bytes: &[u8]) {
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
pub(super) fn encode_scan(scan: &SourceScan, buf: &mut Vec<u8>) -> DfResult<()> {
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

pub(super) fn decode_scan(body: &[u8]) -> DfResult<SourceScan> {
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
pub(super) fn encode_function(name: &str, config: &str, buf: &mut Vec<u8>) {
    start(buf, FUNCTION);
    put_section(buf, name.as_bytes());
    put_section(buf, config.as_bytes());
}

pub(super) fn decode_function(body: &[u8]) -> DfResult<(String, String)> {
    let mut sections = Sections(body);
    let text =
        |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|e| wire_err("function configuration", e));
    Ok((text(sections.next()?)?, text(sections.next()?)?))
}

pub(super) fn encode_memory(table: &MemTable, buf: &mut Vec<u8>) -> DfResult<()> {
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

pub(super) fn decode_memory(body: &[u8], schema: SchemaRef) -> DfResult<Arc<dyn TableProvider>> {
    let mut sections = Sections(body);
    let mut partitions = Vec::new();
    while !sections.0.is_empty() {
        partitions.push(from_ipc(sections.next()?)?.1);
    }
    Ok(Arc::new(MemTable::try_new(schema, partitions)?))
}

#[cfg(test)]
mod tests {
    use super::*;

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
