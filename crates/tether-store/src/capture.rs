//! Storage of what posthog-js captures: events, exception occurrences, and recordings.

use async_trait::async_trait;
use tether_model::{Event, ExceptionRecord, ProjectId, RecordingChunk};

use crate::StoreResult;

/// A session recording's summary, kept current as chunks arrive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recording {
    pub session_id: String,
    pub distinct_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub duration_ms: i64,
    pub active_ms: i64,
    pub first_url: Option<String>,
    pub clicks: u64,
    pub keypresses: u64,
    pub console_errors: u64,
    /// Bytes of rrweb JSON received.
    pub size: u64,
    pub has_full_snapshot: bool,
    /// `$exception` events in this session.
    pub exceptions: u64,
}

/// Filters of the recordings list. Newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordingQuery {
    pub project_id: ProjectId,
    pub distinct_ids: Vec<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub min_duration_ms: Option<i64>,
    pub has_errors: Option<bool>,
    pub limit: usize,
}

/// Exception counts of one issue (within whatever scope the query set).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IssueStats {
    pub issue_id: i64,
    pub occurrences: u64,
    pub sessions: u64,
    pub users: u64,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// Which exceptions an aggregate covers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExceptionScope {
    pub project_id: ProjectId,
    pub session_id: Option<String>,
    pub distinct_ids: Vec<String>,
    pub issue_id: Option<i64>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// Events and exception occurrences.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Stores events whose (project, uuid) was not seen before; returns how many were new.
    async fn append_events(&self, events: Vec<Event>) -> StoreResult<usize>;
    /// Stores exception occurrences whose (project, uuid) was not seen before.
    async fn append_exceptions(&self, exceptions: Vec<ExceptionRecord>) -> StoreResult<usize>;
    /// A session's events, oldest first, at most `limit`.
    async fn session_events(
        &self,
        project_id: ProjectId,
        session_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<Event>>;
    /// Per-issue counts of the exceptions in scope, most recently seen first.
    async fn issue_stats(&self, scope: ExceptionScope) -> StoreResult<Vec<IssueStats>>;
    /// Exceptions per issue per day (`day` counts from `scope.from_ms`), for sparklines.
    async fn issue_daily_counts(&self, scope: ExceptionScope) -> StoreResult<Vec<(i64, i64, u64)>>;
    /// The exceptions in scope, newest first, at most `limit`.
    async fn exceptions(&self, scope: ExceptionScope, limit: usize) -> StoreResult<Vec<ExceptionRecord>>;
}

/// What the logs list marks on a row: whether its session was recorded and hit exceptions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SessionFlags {
    pub session_id: String,
    pub has_recording: bool,
    pub exceptions: u64,
}

/// Recording chunks and their per-session summaries.
#[async_trait]
pub trait RecordingStore: Send + Sync {
    /// Stores chunks durably (their bytes before their index rows) and folds their stats into
    /// their sessions' summaries, in one transaction. A chunk already stored (an SDK retry
    /// sends the same bytes) is skipped.
    async fn append_chunks(&self, chunks: Vec<RecordingChunk>) -> StoreResult<()>;
    /// [`RecordingStore::append_chunks`] of one chunk.
    async fn append_chunk(&self, chunk: RecordingChunk) -> StoreResult<()> {
        self.append_chunks(vec![chunk]).await
    }
    async fn recordings(&self, query: RecordingQuery) -> StoreResult<Vec<Recording>>;
    async fn recording(&self, project_id: ProjectId, session_id: &str) -> StoreResult<Option<Recording>>;
    /// Flags of each of `session_ids` (unknown sessions get no recording and no exceptions).
    async fn session_flags(
        &self,
        project_id: ProjectId,
        session_ids: Vec<String>,
    ) -> StoreResult<Vec<SessionFlags>>;
    /// The session's chunks as stored (window id, gzip JSON array), oldest first.
    async fn chunks(&self, project_id: ProjectId, session_id: &str) -> StoreResult<Vec<(String, Vec<u8>)>>;
}

/// Opaque blobs by key (recording chunks). Local directory by default; S3 later.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `key` durably before returning.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> StoreResult<()>;
    async fn get(&self, key: &str) -> StoreResult<Vec<u8>>;
}
