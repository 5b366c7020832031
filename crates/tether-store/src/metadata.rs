//! Projects and personal API keys: the small, relational part of Tether. Every write is
//! atomic and visible to every process when the call returns.

use async_trait::async_trait;
use tether_model::ProjectId;

use crate::StoreResult;

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

/// A project's settings: what its PostHog SDKs are told to capture (through remote config)
/// and how long its data is kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectSettings {
    pub session_recording: bool,
    pub console_log_recording: bool,
    pub exception_autocapture: bool,
    pub privacy: Privacy,
    pub retention: Retention,
    pub ingest_limits: IngestLimits,
}

/// How fast a project's SDKs may send, counted by each Tether process on its own; 0 is no
/// limit (the default). Past a limit capture answers 503 with `Retry-After`, which
/// posthog-js retries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestLimits {
    /// Events per second (`/e/` and the other event routes), in bursts of up to 5 s' worth.
    pub events_per_second: u64,
    /// Recording bytes per second as sent (`/s/` bodies), in bursts of up to 5 s' worth.
    pub recording_bytes_per_second: u64,
}

/// What session replays leave out of a page, delivered to posthog-js as
/// `sessionRecording.masking` in remote config (an app's own `posthog.init` options win).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Privacy {
    /// What is typed into inputs is recorded as asterisks (posthog-js's own default).
    pub mask_all_inputs: bool,
    /// A CSS selector: the text of matching elements (and their children) is masked. Empty
    /// for none.
    pub mask_text_selector: String,
    /// A CSS selector: matching elements are not recorded at all (the replay shows an empty
    /// box of their size). Empty for none.
    pub block_selector: String,
}

impl Privacy {
    /// The longest selector a setting may hold.
    pub const MAX_SELECTOR_LEN: usize = 1000;
}

impl Default for Privacy {
    fn default() -> Self {
        Privacy { mask_all_inputs: true, mask_text_selector: String::new(), block_selector: String::new() }
    }
}

impl Default for ProjectSettings {
    fn default() -> Self {
        ProjectSettings {
            session_recording: true,
            console_log_recording: true,
            exception_autocapture: true,
            privacy: Privacy::default(),
            retention: Retention::default(),
            ingest_limits: IngestLimits::default(),
        }
    }
}

/// Days a project keeps each kind of data; older data is deleted in the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    pub logs_days: u32,
    /// Events and exception occurrences.
    pub events_days: u32,
    /// Session recordings (index and bytes), counted from a recording's last activity.
    pub recordings_days: u32,
}

impl Retention {
    /// The longest retention a setting may ask for (ten years).
    pub const MAX_DAYS: u32 = 3650;
}

impl Default for Retention {
    /// A month of logs and replays, a quarter of events and errors (what errors need to
    /// show regressions).
    fn default() -> Self {
        Retention { logs_days: 30, events_days: 90, recordings_days: 30 }
    }
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
}

/// A key to insert: the caller generates the secret and passes only its hash.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub scope: KeyScope,
    pub user_id: Option<i64>,
    pub secret_hash: String,
    pub prefix: String,
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
