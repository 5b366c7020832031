//! Blobs as files under one directory. Written to a temporary file, synced, renamed, and
//! the directory synced: a `put` that returned survives a crash or power loss.
//! (object_store's local backend renames without syncing, which is not enough for data we
//! have acknowledged; the S3 backend will use object_store.)

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use tether_store::{BlobStore, ErrorKind, StoreError, StoreResult};

/// Suffix of temporary files, unique within the process.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// A directory of blobs; keys are relative paths of safe characters.
pub struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    pub fn new(root: &Path) -> LocalBlobs {
        LocalBlobs { root: root.to_owned() }
    }

    fn path(&self, key: &str) -> StoreResult<PathBuf> {
        let safe = !key.is_empty()
            && key.split('/').all(|part| {
                !part.is_empty()
                    && part != "."
                    && part != ".."
                    && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            });
        if !safe {
            return Err(StoreError::new(ErrorKind::InvalidInput, format!("invalid blob key {key:?}")));
        }
        Ok(self.root.join(key))
    }
}

fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
    move |e| StoreError::internal(context, e)
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> StoreResult<()> {
        let path = self.path(key)?;
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let dir = path
                .parent()
                .ok_or_else(|| StoreError::new(ErrorKind::InvalidInput, "blob key has no parent"))?;
            let new_dir = !dir.exists();
            std::fs::create_dir_all(dir).map_err(io("cannot create blob directory"))?;
            // Unique per write: two puts of one key (an SDK retry racing the original) must
            // not share a temporary file.
            let tmp = path.with_extension(format!("tmp{}", TMP_SEQ.fetch_add(1, Ordering::Relaxed)));
            let mut file = std::fs::File::create(&tmp).map_err(io("cannot create blob"))?;
            file.write_all(&bytes).map_err(io("cannot write blob"))?;
            file.sync_all().map_err(io("cannot sync blob"))?;
            std::fs::rename(&tmp, &path).map_err(io("cannot rename blob"))?;
            // The file's entry, and for a new directory each new entry up to the root.
            let synced =
                if new_dir { dir.ancestors().take_while(|d| d.starts_with(&root)).count() } else { 1 };
            for d in dir.ancestors().take(synced) {
                std::fs::File::open(d)
                    .and_then(|d| d.sync_all())
                    .map_err(io("cannot sync blob directory"))?;
            }
            Ok(())
        })
        .await
        .map_err(|e| StoreError::internal("blob write task failed", e))?
    }

    async fn get(&self, key: &str) -> StoreResult<Vec<u8>> {
        let path = self.path(key)?;
        tokio::fs::read(&path).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                StoreError::new(ErrorKind::NotFound, format!("blob {key} not found"))
            }
            _ => StoreError::internal("cannot read blob", e),
        })
    }
}
