//! ODS sources as DataFusion listing tables over hive-partitioned Parquet.
//!
//! A source's schema is the declared `columns` when given, else inferred from the Parquet
//! footers (metadata only). Partition columns come from `partitions` and are typed, so
//! `ds=2026-11-21` reads as a `DATE`.

use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::SessionContext;

use crate::error::{Result, StrataError};
use crate::model::{Pipeline, Source, SourceFormat};
use crate::storage::Warehouse;

/// The URL of a source's directory (with a trailing slash).
pub fn source_url(pipeline: &Pipeline, source: &Source) -> Result<String> {
    let is_file = is_single_file(&source.location);
    if source.location.contains("://") {
        let mut url = source.location.clone();
        if !url.ends_with('/') && !is_file {
            url.push('/');
        }
        return Ok(url);
    }
    let path = pipeline.project_dir.join(&source.location);
    let abs = std::path::absolute(&path).map_err(|e| StrataError::Io {
        operation: "resolve source location",
        path: path.clone(),
        source: e,
    })?;
    let invalid = || StrataError::InvalidArgument {
        argument: format!("location of source `{}`", source.name),
        value: source.location.clone(),
        reason: "not a usable path".into(),
    };
    let url = if is_file {
        url::Url::from_file_path(&abs).map_err(|_| invalid())?
    } else {
        url::Url::from_directory_path(&abs).map_err(|_| invalid())?
    };
    Ok(url.to_string())
}

/// A location naming one file (`fx_rates.csv`) rather than a directory.
fn is_single_file(location: &str) -> bool {
    location.ends_with(".csv") || location.ends_with(".parquet")
}

/// Make the object store of a non-local source URL known to `ctx`.
pub fn register_source_store(ctx: &SessionContext, pipeline: &Pipeline, url: &str) -> Result<()> {
    if url.starts_with("file://") {
        return Ok(());
    }
    let wh = Warehouse::open_read_only(url, &pipeline.project_dir)?;
    ctx.register_object_store(&wh.store_url, wh.store.clone());
    Ok(())
}

pub fn listing_options(source: &Source) -> ListingOptions {
    let options = match source.format {
        SourceFormat::Parquet => {
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet")
        }
        SourceFormat::Csv => {
            ListingOptions::new(Arc::new(CsvFormat::default().with_has_header(true)))
                .with_file_extension(".csv")
        }
    };
    options.with_table_partition_cols(source.partitions.clone())
}

/// The file schema of a source: declared, or inferred from its Parquet footers.
pub async fn file_schema(ctx: &SessionContext, source: &Source, url: &str) -> Result<SchemaRef> {
    if let Some(columns) = &source.columns {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(name, dt)| Field::new(name, dt.clone(), true))
            .collect();
        return Ok(Arc::new(Schema::new(fields)));
    }
    let err = |source_err| StrataError::Source {
        source_name: source.name.clone(),
        location: source.location.clone(),
        source: source_err,
    };
    let table_url = ListingTableUrl::parse(url).map_err(err)?;
    listing_options(source)
        .infer_schema(&ctx.state(), &table_url)
        .await
        .map_err(err)
}

/// Register `source` in `ctx` as a listing table with the given file schema.
pub fn register(ctx: &SessionContext, source: &Source, url: &str, schema: SchemaRef) -> Result<()> {
    let err = |source_err| StrataError::Source {
        source_name: source.name.clone(),
        location: source.location.clone(),
        source: source_err,
    };
    let table_url = ListingTableUrl::parse(url).map_err(err)?;
    let config = ListingTableConfig::new(table_url)
        .with_listing_options(listing_options(source))
        .with_schema(schema);
    let table = ListingTable::try_new(config).map_err(err)?;
    ctx.register_table(source.name.as_str(), Arc::new(table))
        .map_err(err)?;
    Ok(())
}

/// The table schema (file columns then partition columns) of a source.
pub fn table_schema(source: &Source, file_schema: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<Field> = file_schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    for (name, dt) in &source.partitions {
        fields.push(Field::new(name, dt.clone(), false));
    }
    Arc::new(Schema::new(fields))
}
