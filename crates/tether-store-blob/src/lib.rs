//! Blobs in an object store through the `object_store` crate: a local folder
//! (`file:///path`, the embedded default) or S3 and S3-compatible servers
//! (`s3://bucket/prefix`), behind one URL.
//!
//! Owns: mapping [`BlobStore`] onto `object_store` and its errors. Must not contain: what
//! the blobs mean (keys are made by the callers).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use tether_store::{BlobStore, ErrorKind, Listing, StoreError, StoreResult, valid_blob_key};

/// A [`BlobStore`] over any `object_store` backend, under an optional key prefix.
pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
    prefix: Option<Path>,
    /// Shown in logs and the start banner, without credentials.
    description: String,
}

impl ObjectBlobs {
    /// Opens the store a URL names. `file:///path` keeps blobs under that folder (created
    /// if missing); each put is synced with its folder before it returns, so acknowledged
    /// recordings survive power loss. `s3://bucket/prefix` takes endpoint, region and
    /// credentials from the standard `AWS_*` variables in `env` (`AWS_ENDPOINT_URL`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP=true` for a
    /// plain-HTTP endpoint), as `object_store` reads them.
    pub fn from_url(url: &str, env: &[(String, String)]) -> StoreResult<ObjectBlobs> {
        let invalid = |why: String| StoreError::new(ErrorKind::InvalidInput, why);
        let parsed = url::Url::parse(url).map_err(|e| invalid(format!("invalid blob URL {url:?}: {e}")))?;
        match parsed.scheme() {
            "file" => {
                let dir = parsed
                    .to_file_path()
                    .map_err(|()| invalid(format!("blob URL {url:?} is not an absolute file path")))?;
                std::fs::create_dir_all(&dir)
                    .map_err(|e| StoreError::internal(&format!("cannot create {}", dir.display()), e))?;
                let local = LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| StoreError::internal("cannot open blob folder", e))?
                    .with_fsync(true)
                    // Retention deletes whole sessions: leave no empty folders behind.
                    .with_automatic_cleanup(true);
                Ok(ObjectBlobs {
                    store: Arc::new(local),
                    prefix: None,
                    description: format!("folder {}", dir.display()),
                })
            }
            "s3" => {
                let bucket = parsed
                    .host_str()
                    .filter(|b| !b.is_empty())
                    .ok_or_else(|| invalid(format!("blob URL {url:?} names no bucket")))?;
                let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
                // Only `AWS_*`: object_store also knows bare names (`region`, `endpoint`)
                // that unrelated variables of the environment could carry.
                for (key, value) in env.iter().filter(|(k, _)| k.starts_with("AWS_")) {
                    if let Ok(config) = key.to_ascii_lowercase().parse() {
                        builder = builder.with_config(config, value);
                    }
                }
                let s3 =
                    builder.build().map_err(|e| invalid(format!("cannot configure S3 for {url:?}: {e}")))?;
                let prefix = parsed.path().trim_matches('/');
                Ok(ObjectBlobs {
                    store: Arc::new(s3),
                    prefix: (!prefix.is_empty()).then(|| Path::from(prefix)),
                    description: format!(
                        "S3 bucket {bucket}{}",
                        if prefix.is_empty() { String::new() } else { format!(", prefix {prefix}") }
                    ),
                })
            }
            other => {
                Err(invalid(format!("blob URL scheme {other:?} is not supported: use file:// or s3://")))
            }
        }
    }

    /// Where the blobs are, for the start banner.
    pub fn describe(&self) -> &str {
        &self.description
    }

    fn path(&self, key: &str) -> StoreResult<Path> {
        if !valid_blob_key(key) {
            return Err(StoreError::new(ErrorKind::InvalidInput, format!("invalid blob key {key:?}")));
        }
        Ok(match &self.prefix {
            Some(prefix) => Path::from(format!("{prefix}/{key}")),
            None => Path::from(key),
        })
    }

    /// The key of a stored path: the path without the store's prefix.
    fn key_of(&self, path: &Path) -> String {
        let full = path.as_ref();
        match &self.prefix {
            Some(prefix) => {
                full.strip_prefix(prefix.as_ref()).unwrap_or(full).trim_start_matches('/').to_owned()
            }
            None => full.to_owned(),
        }
    }
}

/// Maps object store errors to store errors: a missing object is `NotFound`; a network or
/// server failure is `Unavailable` (503, retried); anything else (credentials, bad config)
/// is `Internal`.
fn store_error(context: &str, key: &str, e: object_store::Error) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => {
            StoreError::new(ErrorKind::NotFound, format!("blob {key} not found"))
        }
        object_store::Error::Generic { .. } => StoreError::unavailable(context, e),
        e => StoreError::internal(context, e),
    }
}

#[async_trait]
impl BlobStore for ObjectBlobs {
    async fn put(&self, key: &str, bytes: Bytes) -> StoreResult<()> {
        let path = self.path(key)?;
        self.store
            .put(&path, PutPayload::from_bytes(bytes))
            .await
            .map_err(|e| store_error("cannot write blob", key, e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> StoreResult<Bytes> {
        let path = self.path(key)?;
        let found = self.store.get(&path).await.map_err(|e| store_error("cannot read blob", key, e))?;
        found.bytes().await.map_err(|e| store_error("cannot read blob", key, e))
    }

    async fn get_range(&self, key: &str, offset: u64, length: u64) -> StoreResult<Bytes> {
        let path = self.path(key)?;
        let end = offset.checked_add(length).ok_or_else(|| {
            StoreError::new(ErrorKind::InvalidInput, format!("blob {key}: range {offset}+{length} overflows"))
        })?;
        let bytes = self
            .store
            .get_range(&path, offset..end)
            .await
            .map_err(|e| store_error("cannot read blob", key, e))?;
        // Stores answer a range past the end with what there is (or an error of their own).
        if bytes.len() as u64 != length {
            return Err(StoreError::new(
                ErrorKind::InvalidInput,
                format!("blob {key} has no bytes {offset}..{end}"),
            ));
        }
        Ok(bytes)
    }

    async fn list(&self, prefix: &str) -> StoreResult<Listing> {
        let folder = self.path(prefix)?;
        let found = self
            .store
            .list_with_delimiter(Some(&folder))
            .await
            .map_err(|e| store_error("cannot list blobs", prefix, e))?;
        let mut listing = Listing {
            folders: found.common_prefixes.iter().map(|p| self.key_of(p)).collect(),
            keys: found.objects.iter().map(|o| self.key_of(&o.location)).collect(),
        };
        listing.folders.sort();
        listing.keys.sort();
        Ok(listing)
    }

    async fn delete(&self, keys: Vec<String>) -> StoreResult<()> {
        let paths = keys.iter().map(|k| self.path(k)).collect::<StoreResult<Vec<_>>>()?;
        let listed = futures::stream::iter(paths.into_iter().map(Ok)).boxed();
        self.store
            .delete_stream(listed)
            .map(|deleted| match deleted {
                Err(object_store::Error::NotFound { .. }) => Ok(()),
                other => other.map(drop).map_err(|e| store_error("cannot delete blobs", "", e)),
            })
            .try_collect()
            .await
    }

    async fn delete_folder(&self, prefix: &str) -> StoreResult<u64> {
        let folder = self.path(prefix)?;
        // Listed and deleted as one stream: S3 deletes up to 1,000 keys per request.
        let listed = self.store.list(Some(&folder)).map_ok(|meta| meta.location).boxed();
        let deleted = self
            .store
            .delete_stream(listed)
            .try_fold(0u64, |n, _| async move { Ok(n + 1) })
            .await
            .map_err(|e| store_error("cannot delete blobs", prefix, e))?;
        Ok(deleted)
    }

    async fn ping(&self) -> StoreResult<()> {
        // A missing key answering NotFound proves the store is reachable and authorized.
        match self.get("tether-ping").await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}
