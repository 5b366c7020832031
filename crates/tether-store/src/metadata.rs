//! Projects and personal API keys: the small, relational part of Tether. Every write is
//! atomic and visible to every process when the call returns.

use async_trait::async_trait;
use tether_model::ProjectId;

use crate::StoreResult;
pub use tether_model::{IngestLimits, NetworkCapture, Privacy, ProjectSettings, Retention};

/// A project: the unit of data ownership. Every stored row carries its id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    /// The public, write-only token (`phc_…`) SDKs send data with.
    pub token: String,
    /// Unix milliseconds.
    pub created_at_ms: i64,
    pub settings: ProjectSettings,
}

/// What a personal API key may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyScope {
    /// Every project (the admin key).
    AllProjects,
    Project(ProjectId),
}

/// A stored personal API key. Only a hash of the secret is ever stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub scope: KeyScope,
    /// The user it belongs to (its rights are theirs, within `scope`); `None` for the
    /// operator key made at first start, which acts as an admin.
    pub user_id: Option<i64>,
    /// The first characters of the key, to recognize it in lists.
    pub prefix: String,
    pub created_at_ms: i64,
    /// When it was last used, to the minute (see [`MetadataStore::touch_api_key`]).
    pub last_used_at_ms: Option<i64>,
    /// When it stops working (`None`: when revoked).
    pub expires_at_ms: Option<i64>,
    /// The most it may do: it acts with the lower of this and its owner's role (`None`:
    /// its owner's).
    pub role: Option<crate::Role>,
}

/// A key to insert: the caller generates the secret and passes only its hash.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub scope: KeyScope,
    pub user_id: Option<i64>,
    pub secret_hash: String,
    pub prefix: String,
    pub expires_at_ms: Option<i64>,
    pub role: Option<crate::Role>,
}

/// Projects and API keys.
#[async_trait]
pub trait MetadataStore: Send + Sync {
    /// Creates a project; a token already in use is `InvalidInput`.
    async fn create_project(&self, name: &str, token: &str) -> StoreResult<Project>;
    /// The first start's project and key, created together (both or neither) unless a
    /// first start already happened, in this process or any other sharing the store: then
    /// `None`. Several processes starting at once create one project.
    async fn create_first_project(
        &self,
        name: &str,
        token: &str,
        key: NewApiKey,
    ) -> StoreResult<Option<(Project, ApiKey)>>;
    async fn projects(&self) -> StoreResult<Vec<Project>>;
    async fn project(&self, id: ProjectId) -> StoreResult<Option<Project>>;
    async fn project_by_token(&self, token: &str) -> StoreResult<Option<Project>>;
    /// Renames a project; `NotFound` for an unknown project.
    async fn rename_project(&self, id: ProjectId, name: &str) -> StoreResult<Project>;
    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey>;
    /// The live (not revoked) key with this secret hash.
    async fn api_key_by_hash(&self, secret_hash: &str) -> StoreResult<Option<ApiKey>>;
    /// Every live key, oldest first.
    async fn api_keys(&self) -> StoreResult<Vec<ApiKey>>;
    /// Records that a key was used at `at_ms` (callers write this at most once a minute
    /// per key, so reads do not turn into writes).
    async fn touch_api_key(&self, id: i64, at_ms: i64) -> StoreResult<()>;
    /// Revokes a key; `NotFound` when no live key has this id.
    async fn revoke_api_key(&self, id: i64) -> StoreResult<()>;
    /// Replaces a project's settings; `NotFound` for an unknown project.
    async fn set_project_settings(&self, id: ProjectId, settings: ProjectSettings) -> StoreResult<Project>;
    /// A number this store never handed out before, to any process: each Tether process
    /// takes one at start as its node number, so the log ids it mints are its own.
    async fn claim_node_number(&self) -> StoreResult<i64>;
    /// Checks the store answers (for health checks).
    async fn ping(&self) -> StoreResult<()>;
}
