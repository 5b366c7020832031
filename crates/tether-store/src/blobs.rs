//! Bytes by key (recording chunks, later source maps), behind their own trait so they can
//! live in an object store while their index lives in a database.

use async_trait::async_trait;
use bytes::Bytes;

use crate::StoreResult;

/// Opaque blobs by key. Keys are `/`-separated paths of ASCII letters, digits, `-`, `_`
/// and `.`; anything else is `InvalidInput`.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `key`: durable when the call returns. Putting a key again
    /// replaces it whole; a reader sees the old bytes or the new ones, never a mix.
    async fn put(&self, key: &str, bytes: Bytes) -> StoreResult<()>;
    /// The bytes of `key`; `NotFound` when none were put.
    async fn get(&self, key: &str) -> StoreResult<Bytes>;
    /// `length` bytes of `key` from `offset` (recording chunks inside a segment);
    /// `NotFound` when none were put, `InvalidInput` when the range passes the end.
    async fn get_range(&self, key: &str, offset: u64, length: u64) -> StoreResult<Bytes>;
    /// What is directly under the folder `prefix`: its subfolders and its blobs, as full
    /// paths, each sorted. A folder never written lists empty.
    async fn list(&self, prefix: &str) -> StoreResult<Listing>;
    /// Deletes these blobs; missing ones are not an error.
    async fn delete(&self, keys: Vec<String>) -> StoreResult<()>;
    /// Deletes every blob under the folder `prefix` (keys starting with `prefix/`), returning
    /// how many there were; none is `Ok(0)`. A blob put meanwhile may survive.
    async fn delete_folder(&self, prefix: &str) -> StoreResult<u64>;
    /// Checks the store answers (for health checks).
    async fn ping(&self) -> StoreResult<()>;
}

/// The content of one folder (see [`BlobStore::list`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub folders: Vec<String>,
    pub keys: Vec<String>,
}

/// Whether `key` is a key every blob store accepts.
pub fn valid_blob_key(key: &str) -> bool {
    !key.is_empty()
        && key.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
}
