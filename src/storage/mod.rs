//! Where the warehouse lives: object stores, URLs and the layout under the root.
//!
//! The root is a URL: a local path or `file://` (default `./warehouse`), `s3://bucket/prefix`
//! (credentials and endpoint from the standard AWS environment variables only), or `memory://name`
//! for tests. Every byte strata writes goes through the [`Warehouse`]'s object store; the layout
//! under the root is:
//!
//! ```text
//! <root>/_releases/<run_id>/<layer>/<table>/[ds=YYYY-MM-DD/]*.parquet   published data
//! <root>/_releases/<run_id>/_state.json                                provenance of its outputs
//! <root>/_staging/<run_id>/<layer>/<table>/...                          a run's unaudited output
//! <root>/_meta/current.json                                             the current release
//! <root>/_meta/runs/<run_id>.json                                       run records
//! <root>/<layer> -> current/<layer>, <root>/current -> _releases/<id>   (local disks only)
//! ```
//!
//! See [`release`] for how a run's outputs become visible.

pub mod lock;
pub mod release;
pub mod state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use url::Url;

use crate::error::{Result, StrataError};

/// An opened warehouse root.
#[derive(Debug, Clone)]
pub struct Warehouse {
    /// The store's base URL, as registered with DataFusion (`file:///`, `s3://bucket`, ...).
    pub store_url: Url,
    pub store: Arc<dyn ObjectStore>,
    /// The root inside the store.
    pub root: ObjPath,
    /// The root on the local file system, for local warehouses.
    pub local_root: Option<PathBuf>,
    /// The root as the user wrote it, for messages.
    pub display: String,
}

fn memory_stores() -> &'static Mutex<HashMap<String, Arc<InMemory>>> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<InMemory>>>> = OnceLock::new();
    STORES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The object path a store URL's path names: percent-decoded, as DataFusion's `ListingTableUrl`
/// decodes the URLs strata hands it, so that `s3://bucket/my prefix/数据` is one prefix for both
/// (taking the encoded text as the path encoded it twice, and the engine wrote where strata did
/// not look). A query, fragment, port or user is refused rather than dropped.
fn url_root(url: &Url) -> std::result::Result<ObjPath, String> {
    if url.query().is_some() || url.fragment().is_some() {
        return Err("a warehouse URL cannot have a query (?) or fragment (#); percent-encode them (%3F, %23) if they belong to the prefix".into());
    }
    if url.port().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("a warehouse URL names a bucket, not a host: no port or user (the endpoint comes from AWS_ENDPOINT_URL, credentials from the AWS variables)".into());
    }
    ObjPath::from_url_path(url.path().trim_matches('/'))
        .map_err(|e| format!("the path cannot be used as an object store path: {e}"))
}

/// The S3 (or S3-compatible) bucket `bucket`, configured from the standard AWS variables
/// (credentials, `AWS_REGION`, `AWS_ENDPOINT_URL` for another store; plain `http://` endpoints
/// allowed), with conditional puts by ETag for the release pointer and the run lock. The
/// client's warehouse and the object stores of `strata executor` are opened by this one
/// function. Errors are object_store's description of the missing setting.
pub fn s3_store(bucket: &str) -> std::result::Result<object_store::aws::AmazonS3, String> {
    let mut builder = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_conditional_put(object_store::aws::S3ConditionalPut::ETagMatch);
    if std::env::var("AWS_ENDPOINT")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .is_ok_and(|e| e.starts_with("http://"))
    {
        builder = builder.with_allow_http(true);
    }
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
        builder = builder.with_endpoint(endpoint);
    }
    builder.build().map_err(|e| e.to_string())
}

impl Warehouse {
    /// Open the warehouse at `location`, creating a local root; relative local paths are
    /// resolved against `base`.
    pub fn open(location: &str, base: &Path) -> Result<Warehouse> {
        Self::open_with(location, base, true)
    }

    /// Open a location for reading only: nothing is created.
    pub fn open_read_only(location: &str, base: &Path) -> Result<Warehouse> {
        Self::open_with(location, base, false)
    }

    fn open_with(location: &str, base: &Path, create: bool) -> Result<Warehouse> {
        let invalid = |reason: &str| StrataError::InvalidWarehouse {
            location: location.to_string(),
            reason: reason.to_string(),
        };
        if location.trim().is_empty() {
            // An unset variable in `STRATA_WAREHOUSE=$URL` would otherwise make the project
            // directory the warehouse.
            return Err(invalid(
                "empty; give a path or URL (--warehouse, STRATA_WAREHOUSE or `warehouse.root`)",
            ));
        }
        let scheme = location.split_once("://").map(|(s, _)| s);
        match scheme {
            None | Some("file") => {
                let raw = match scheme {
                    Some(_) => {
                        let url =
                            Url::parse(location).map_err(|_| invalid("not a valid file:// URL"))?;
                        if url.query().is_some() || url.fragment().is_some() {
                            // Dropped by the path, `file:///w#x` would be the directory `w`.
                            return Err(invalid(
                                "a file:// URL cannot have a query (?) or fragment (#); \
                                 percent-encode them (%3F, %23) if they belong to the path, \
                                 or give the path without file://",
                            ));
                        }
                        url.to_file_path()
                            .map_err(|_| invalid("not a valid file:// URL"))?
                    }
                    None => PathBuf::from(location),
                };
                let abs = if raw.is_absolute() {
                    raw
                } else {
                    base.join(raw)
                };
                if create {
                    std::fs::create_dir_all(&abs).map_err(|source| StrataError::Io {
                        operation: "create warehouse directory",
                        path: abs.clone(),
                        source,
                    })?;
                }
                let abs = match abs.canonicalize() {
                    Ok(p) => p,
                    Err(_) if !create => std::path::absolute(&abs).unwrap_or(abs),
                    Err(source) => {
                        return Err(StrataError::Io {
                            operation: "resolve warehouse directory",
                            path: abs.clone(),
                            source,
                        });
                    }
                };
                let root = ObjPath::from_absolute_path(&abs).map_err(|e| {
                    invalid(&format!(
                        "the path cannot be used as an object store path ({e}; control \
                         characters such as tabs and newlines cannot be)"
                    ))
                })?;
                Ok(Warehouse {
                    store_url: Url::parse("file:///").expect("static URL"),
                    store: Arc::new(LocalFileSystem::new()),
                    root,
                    local_root: Some(abs),
                    display: location.to_string(),
                })
            }
            Some("memory") => {
                let url = Url::parse(location).map_err(|_| invalid("not a valid URL"))?;
                let name = url.host_str().unwrap_or("default").to_string();
                let store = memory_stores()
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(name.clone())
                    .or_insert_with(|| Arc::new(InMemory::new()))
                    .clone();
                Ok(Warehouse {
                    store_url: Url::parse(&format!("memory://{name}"))
                        .map_err(|_| invalid("not a valid URL"))?,
                    store,
                    root: url_root(&url).map_err(|r| invalid(&r))?,
                    local_root: None,
                    display: location.to_string(),
                })
            }
            Some("s3") => {
                let url = Url::parse(location).map_err(|_| invalid("not a valid URL"))?;
                let bucket = url
                    .host_str()
                    .ok_or_else(|| invalid("an s3 URL needs a bucket: s3://bucket/prefix"))?;
                let store = s3_store(bucket).map_err(|e| invalid(&e))?;
                Ok(Warehouse {
                    store_url: Url::parse(&format!("s3://{bucket}"))
                        .map_err(|_| invalid("not a valid URL"))?,
                    store: Arc::new(store),
                    root: url_root(&url).map_err(|r| invalid(&r))?,
                    local_root: None,
                    display: location.to_string(),
                })
            }
            Some(other) => Err(invalid(&format!(
                "unsupported scheme `{other}`; use a local path, file://, s3:// or memory://"
            ))),
        }
    }

    /// The object path of `rel` (slash-separated) under the root.
    pub fn path(&self, rel: &str) -> ObjPath {
        let mut p = self.root.clone();
        for part in rel.split('/').filter(|s| !s.is_empty()) {
            p = p.clone().join(part);
        }
        p
    }

    /// The URL of a directory under the root, with a trailing slash, for DataFusion tables.
    /// A `store_url`-based URL of the directory `rel`, as DataFusion reads and writes it (its
    /// `ListingTableUrl` percent-decodes the path back to this warehouse's object path).
    pub fn dir_url(&self, rel: &str) -> String {
        self.url_of(&self.path(rel), true)
    }

    /// The URL of one object of this store, as the engine reads it.
    pub fn object_url(&self, path: &ObjPath) -> String {
        self.url_of(path, false)
    }

    /// `store_url` with the parts of `path` as its path segments, each percent-encoded
    /// (`%`, `#`, `?`, `\`, spaces, non-ASCII), so that DataFusion's decoding of the URL gives
    /// `path` back. Pasted in as text, `/tmp/a%20b` was read as `/tmp/a b`, `/tmp/p#x` as
    /// `/tmp/p`, and a stage's files were written outside the warehouse.
    fn url_of(&self, path: &ObjPath, directory: bool) -> String {
        let mut url = self.store_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty();
            segments.extend(path.parts().map(|p| p.as_ref().to_string()));
            if directory {
                segments.push("");
            }
        }
        url.to_string()
    }

    /// The local file system path of `rel`, for local warehouses.
    pub fn local_path(&self, rel: &str) -> Option<PathBuf> {
        self.local_root.as_ref().map(|r| r.join(rel))
    }

    fn storage_error(
        operation: &'static str,
        path: &ObjPath,
        source: object_store::Error,
    ) -> StrataError {
        StrataError::Storage {
            operation,
            path: path.to_string(),
            source,
        }
    }

    /// Every object under `prefix` (recursively).
    pub async fn list(&self, prefix: &ObjPath) -> Result<Vec<ObjectMeta>> {
        let mut out: Vec<ObjectMeta> =
            self.store
                .list(Some(prefix))
                .try_collect()
                .await
                .or_else(|e| match e {
                    object_store::Error::NotFound { .. } => Ok(Vec::new()),
                    e => Err(Self::storage_error("list", prefix, e)),
                })?;
        out.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(out)
    }

    /// The immediate child directory names of `prefix`.
    pub async fn child_dirs(&self, prefix: &ObjPath) -> Result<Vec<String>> {
        let listing = self
            .store
            .list_with_delimiter(Some(prefix))
            .await
            .map_err(|e| Self::storage_error("list", prefix, e))?;
        let mut dirs: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect();
        dirs.sort();
        Ok(dirs)
    }

    /// Checks that an object store answers for this warehouse (its bucket exists, the
    /// credentials are accepted) by listing the root once; a missing bucket otherwise reads as
    /// an empty warehouse, since a missing object and a missing bucket both read as "not
    /// found". Local disks are not checked (a missing directory is an empty warehouse there).
    pub async fn reachable(&self) -> Result<()> {
        if self.local_root.is_some() {
            return Ok(());
        }
        self.store
            .list_with_delimiter(Some(&self.root))
            .await
            .map(|_| ())
            .map_err(|source| StrataError::Storage {
                operation: "list the warehouse",
                path: self.display.clone(),
                source,
            })
    }

    pub async fn get(&self, path: &ObjPath) -> Result<Option<bytes::Bytes>> {
        match self.store.get(path).await {
            Ok(r) => Ok(Some(
                r.bytes()
                    .await
                    .map_err(|e| Self::storage_error("read", path, e))?,
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Self::storage_error("read", path, e)),
        }
    }

    pub async fn put(&self, path: &ObjPath, data: Vec<u8>) -> Result<()> {
        self.store
            .put(path, PutPayload::from(data))
            .await
            .map(|_| ())
            .map_err(|e| Self::storage_error("write", path, e))
    }

    pub async fn copy(&self, from: &ObjPath, to: &ObjPath) -> Result<()> {
        self.store
            .copy(from, to)
            .await
            .map_err(|e| Self::storage_error("copy", from, e))
    }

    pub async fn rename(&self, from: &ObjPath, to: &ObjPath) -> Result<()> {
        self.store
            .rename(from, to)
            .await
            .map_err(|e| Self::storage_error("rename", from, e))
    }

    /// Delete one object; a missing one is fine.
    pub async fn delete(&self, path: &ObjPath) -> Result<()> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Self::storage_error("delete", path, e)),
        }
    }

    /// Delete every object under `prefix`; missing objects are fine.
    pub async fn delete_prefix(&self, prefix: &ObjPath) -> Result<()> {
        for meta in self.list(prefix).await? {
            match self.store.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(Self::storage_error("delete", &meta.location, e)),
            }
        }
        if let Some(local) = self.local_root.as_ref() {
            // Remove the now-empty directories too, so readers do not see empty tables.
            let rel = prefix.prefix_match(&self.root).map(|parts| {
                parts
                    .map(|p| p.as_ref().to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            });
            if let Some(rel) = rel.filter(|r| !r.is_empty()) {
                let dir = local.join(rel);
                match std::fs::remove_dir_all(&dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(StrataError::Io {
                            operation: "remove directory",
                            path: dir,
                            source,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use datafusion::datasource::listing::ListingTableUrl;

    use super::*;

    /// DataFusion's reading of a table URL names the object path strata means, whatever the
    /// directory names hold: percent signs that look like escapes, `#`, `?`, backslashes,
    /// spaces and Chinese. Expected: `Warehouse::path`, the store's own path of the directory.
    #[test]
    fn table_urls_name_the_warehouse_paths_whatever_their_characters() {
        let tmp = tempfile::tempdir().unwrap();
        for name in [
            "a%20b",
            "p#x",
            "w?x",
            "back\\slash",
            "%2e%2e",
            "x%2Fy",
            "客户 项目",
        ] {
            let dir = tmp.path().join(name);
            let wh = Warehouse::open(dir.to_str().unwrap(), tmp.path()).unwrap();
            for rel in ["dwd/dwd_order", "_staging/r1/ads/t"] {
                let url = ListingTableUrl::parse(wh.dir_url(rel)).unwrap();
                assert_eq!(url.prefix(), &wh.path(rel), "{name}: {}", wh.dir_url(rel));
                let file = wh.path(&format!("{rel}/part-0.parquet"));
                let url = ListingTableUrl::parse(wh.object_url(&file)).unwrap();
                assert_eq!(url.prefix(), &file, "{name}");
            }
        }
        for url in ["file:///tmp/w#x", "file:///tmp/w?x", "memory://urls/w#x"] {
            let err = Warehouse::open(url, tmp.path()).unwrap_err().to_string();
            assert!(err.contains("query (?) or fragment (#)"), "{url}: {err}");
        }
        let wh = Warehouse::open("memory://urls/my prefix/数据%41", tmp.path()).unwrap();
        let url = ListingTableUrl::parse(wh.dir_url("dwd/t")).unwrap();
        assert_eq!(url.prefix().as_ref(), "my prefix/数据A/dwd/t");
    }
}
