//! What a stage's write left in its staging directory, held against what the engine reported
//! writing, before anything is checked or published.
//!
//! A stage's files are written by one `COPY` (DataFusion's file sink, which takes one input
//! partition and names every file of one execution `{write_id}_{n}.parquet`, or
//! `{write_id}.parquet` inside a `ds=` directory, with a fresh random `write_id`). On a
//! Ballista cluster the writing task can run more than once: when the executor running it is
//! lost, or when it fails to fetch its input from a lost executor, Ballista runs it again, and
//! the files the failed attempt had written stay (found by breaking the cluster on purpose: six
//! of eleven rows of a stage written twice). The embedded engine executes the sink once, so its
//! files always share one `write_id`.
//!
//! So when the files carry more than one `write_id`, their footers are read: the attempt whose
//! rows add up to the count the engine reported is kept and the others' files are deleted; when
//! no attempt (or more than one) matches, the stage fails ([`StrataError::StagedOutput`]) and
//! nothing of it is published.

use std::collections::BTreeMap;

use object_store::ObjectMeta;

use crate::error::{Result, StrataError};
use crate::storage::Warehouse;

/// `files` (the data files of one stage's staging directory, or of its one `ds=` directory)
/// with those of failed write attempts removed, as described in the module documentation.
/// `reported` is the row count the engine's write returned.
pub async fn settle_attempts(
    wh: &Warehouse,
    stage: &str,
    files: Vec<ObjectMeta>,
    reported: u64,
) -> Result<Vec<ObjectMeta>> {
    let mut attempts: BTreeMap<String, Vec<ObjectMeta>> = BTreeMap::new();
    for file in files {
        attempts.entry(write_id(&file)).or_default().push(file);
    }
    if attempts.len() <= 1 {
        return Ok(attempts.into_values().flatten().collect());
    }
    let mut rows: BTreeMap<String, u64> = BTreeMap::new();
    for (id, files) in &attempts {
        let mut n = 0;
        for f in files {
            let meta = super::preflight::read_metadata(&wh.store, &f.location, f.size)
                .await
                .map_err(|reason| StrataError::StagedOutput {
                    stage: stage.to_string(),
                    reason: format!("cannot read the footer of {}: {reason}", f.location),
                })?;
            n += meta.file_metadata().num_rows().max(0) as u64;
        }
        rows.insert(id.clone(), n);
    }
    let matching: Vec<&String> = rows
        .iter()
        .filter(|(_, n)| **n == reported)
        .map(|(id, _)| id)
        .collect();
    let [kept] = matching.as_slice() else {
        let found = rows
            .iter()
            .map(|(id, n)| format!("{n} rows in files {id}_*"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(StrataError::StagedOutput {
            stage: stage.to_string(),
            reason: format!(
                "the engine reported writing {reported} rows, and the staging directory holds \
                 {} write attempts ({found}); none of them alone is the reported output",
                attempts.len()
            ),
        });
    };
    let kept = (*kept).clone();
    let mut out = Vec::new();
    for (id, files) in attempts {
        if id == kept {
            out.extend(files);
            continue;
        }
        tracing::warn!(
            "stage `{stage}`: removed {} files ({} rows) of a failed write attempt, kept \
             the {reported} rows of the attempt that succeeded",
            files.len(),
            rows[&id]
        );
        for f in files {
            wh.delete(&f.location).await?;
        }
    }
    Ok(out)
}

/// The `write_id` part of a file name written by DataFusion's file sink: the text before the
/// first `_` of `{write_id}_{n}.parquet`, or before the extension of `{write_id}.parquet`.
fn write_id(file: &ObjectMeta) -> String {
    let name = file.location.filename().unwrap_or_default();
    let stem = name.split('.').next().unwrap_or(name);
    stem.split('_').next().unwrap_or(stem).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(path: &str) -> ObjectMeta {
        ObjectMeta {
            location: object_store::path::Path::from(path),
            last_modified: chrono::Utc::now(),
            size: 0,
            e_tag: None,
            version: None,
        }
    }

    /// A Parquet file of `n` rows at `rel` in `wh`.
    async fn parquet(wh: &Warehouse, rel: &str, n: i64) {
        use datafusion::arrow::array::Int64Array;
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        use datafusion::arrow::record_batch::RecordBatch;
        let schema =
            std::sync::Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![std::sync::Arc::new(Int64Array::from_iter_values(0..n))],
        )
        .unwrap();
        let mut bytes = Vec::new();
        let mut writer = parquet::arrow::ArrowWriter::try_new(&mut bytes, schema, None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        wh.put(&wh.path(rel), bytes).await.unwrap();
    }

    /// Two attempts in one staging directory: the first wrote 2 + 1 rows and failed, the second
    /// wrote all 5. With 5 reported, the second's file is kept and the first's two are deleted;
    /// with a count neither attempt holds, the stage fails.
    #[tokio::test]
    async fn the_attempt_that_wrote_the_reported_rows_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap(), dir.path()).unwrap();
        parquet(&wh, "st/aaaaaaaaaaaaaaaa_0.parquet", 2).await;
        parquet(&wh, "st/aaaaaaaaaaaaaaaa_1.parquet", 1).await;
        parquet(&wh, "st/bbbbbbbbbbbbbbbb_0.parquet", 5).await;
        let listed = wh.list(&wh.path("st")).await.unwrap();
        let err = settle_attempts(&wh, "s", listed.clone(), 4)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains(
                "reported writing 4 rows, and the staging directory holds 2 write attempts \
                 (3 rows in files aaaaaaaaaaaaaaaa_*, 5 rows in files bbbbbbbbbbbbbbbb_*)"
            ),
            "{err}"
        );
        assert_eq!(wh.list(&wh.path("st")).await.unwrap().len(), 3);
        let kept = settle_attempts(&wh, "s", listed, 5).await.unwrap();
        let names = |files: &[ObjectMeta]| -> Vec<String> {
            files
                .iter()
                .map(|f| f.location.filename().unwrap().to_string())
                .collect()
        };
        assert_eq!(names(&kept), ["bbbbbbbbbbbbbbbb_0.parquet"]);
        assert_eq!(
            names(&wh.list(&wh.path("st")).await.unwrap()),
            ["bbbbbbbbbbbbbbbb_0.parquet"]
        );
        // One attempt: kept as it is, without reading a footer.
        parquet(&wh, "one/cccccccccccccccc_0.parquet", 1).await;
        let listed = wh.list(&wh.path("one")).await.unwrap();
        assert_eq!(
            settle_attempts(&wh, "s", listed, 99).await.unwrap().len(),
            1
        );
    }

    #[test]
    fn write_ids_of_the_sinks_two_file_names() {
        assert_eq!(
            write_id(&meta("s/t/aB3dE5fG7hJ9kL1m_0.parquet")),
            "aB3dE5fG7hJ9kL1m"
        );
        assert_eq!(
            write_id(&meta("s/t/aB3dE5fG7hJ9kL1m_12.parquet")),
            "aB3dE5fG7hJ9kL1m"
        );
        assert_eq!(
            write_id(&meta("s/t/ds=2026-11-21/Zz9yX8wV7uT6sR5q.parquet")),
            "Zz9yX8wV7uT6sR5q"
        );
    }
}
