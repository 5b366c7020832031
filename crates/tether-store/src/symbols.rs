//! Releases and symbol sets (source maps): what `posthog-cli sourcemap` registers and
//! uploads, so stack frames of minified bundles can be read as the code was written. The
//! bytes of a symbol set live in the blob store; this is the index that names them.

use async_trait::async_trait;
use tether_model::ProjectId;

use crate::StoreResult;

/// A build of an app: a name (posthog-cli calls it the release's "project") and a version,
/// found again by `hash_id`, which the CLI derives from both.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Release {
    /// A UUID, made by the store.
    pub id: String,
    pub project_id: ProjectId,
    pub hash_id: String,
    pub name: String,
    pub version: String,
    /// JSON text as sent (e.g. the git remote, branch and commit); `{}` when none.
    pub metadata: String,
    /// Unix milliseconds.
    pub created_at_ms: i64,
}

/// What a new release is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelease {
    pub hash_id: String,
    pub name: String,
    pub version: String,
    pub metadata: String,
}

/// The source map of one built chunk (a minified file), named by the chunk id the CLI
/// injected into it and that posthog-js sends with every frame of that file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SymbolSet {
    /// A UUID, made by the store when an upload starts.
    pub id: String,
    pub project_id: ProjectId,
    pub chunk_id: String,
    pub release_id: Option<String>,
    /// The uploader's hash of the content, kept to skip re-uploads of the same content.
    pub content_hash: String,
    pub content_length: u64,
    /// The SHA-256 of the one-time secret the upload URL carries (nothing else authorizes
    /// the upload of the bytes).
    pub upload_secret_hash: String,
    /// Unix milliseconds.
    pub created_at_ms: i64,
    /// When the uploader said the bytes are complete; `None` while an upload is under way.
    /// Only finished sets resolve frames.
    pub finished_at_ms: Option<i64>,
}

/// What starts the upload of a symbol set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSymbolSet {
    pub chunk_id: String,
    pub release_id: Option<String>,
    pub content_hash: String,
    pub content_length: u64,
    pub upload_secret_hash: String,
}

/// Releases and symbol sets of each project. A project never sees another's.
#[async_trait]
pub trait SymbolStore: Send + Sync {
    /// Creates a release; a `hash_id` the project already has is `InvalidInput` (the
    /// caller looks the release up instead).
    async fn create_release(&self, project_id: ProjectId, release: NewRelease) -> StoreResult<Release>;
    async fn release_by_hash(&self, project_id: ProjectId, hash_id: &str) -> StoreResult<Option<Release>>;
    async fn release(&self, project_id: ProjectId, id: &str) -> StoreResult<Option<Release>>;
    /// Starts an upload: the chunk's symbol set is replaced by a new, unfinished one (a new
    /// id, so bytes of an older upload are never taken for the new content).
    async fn start_symbol_set(&self, project_id: ProjectId, set: NewSymbolSet) -> StoreResult<SymbolSet>;
    async fn symbol_set(&self, project_id: ProjectId, id: &str) -> StoreResult<Option<SymbolSet>>;
    /// The current symbol set of each of `chunk_ids` that has one (finished or not).
    async fn symbol_sets_of_chunks(
        &self,
        project_id: ProjectId,
        chunk_ids: &[String],
    ) -> StoreResult<Vec<SymbolSet>>;
    /// Marks an upload complete at `now_ms`; false when there is no such set (or it was
    /// replaced by a newer upload of its chunk).
    async fn finish_symbol_set(&self, project_id: ProjectId, id: &str, now_ms: i64) -> StoreResult<bool>;
}
