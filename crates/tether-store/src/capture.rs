//! Storage of what posthog-js captures: events, exception occurrences, and the index of
//! session recordings (whose bytes live in a [`crate::BlobStore`]).
//!
//! Time ranges are half-open everywhere: a point is in range when `from <= t < to`, a span
//! (a recording) when it overlaps the range (`start < to` and `end >= from`).

use async_trait::async_trait;
use tether_model::{Event, ExceptionRecord, ProjectId, RecordingStats};

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
}

/// Which recordings count as "with errors": console errors recorded in the session, or an
/// exception of the session within `exceptions` (its project and time range). The store
/// finds those sessions in its own exceptions (events and the recording index live in one
/// database on every backend), so no list of sessions — which a public token can grow
/// without bound — passes through a query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ErrorFilter {
    pub has_errors: bool,
    pub exceptions: ExceptionScope,
}

/// Filters of the recordings list. Newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordingQuery {
    pub project_id: ProjectId,
    pub distinct_ids: Vec<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub min_duration_ms: Option<i64>,
    pub errors: Option<ErrorFilter>,
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

/// Which exceptions an aggregate covers (`[from_ms, to_ms)`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExceptionScope {
    pub project_id: ProjectId,
    pub session_id: Option<String>,
    pub distinct_ids: Vec<String>,
    pub issue_id: Option<i64>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// Events and exception occurrences. Reads never return two rows with the same
/// (project, uuid): an SDK retry may be stored twice, but is seen once.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Stores events; durable and visible when the call returns.
    async fn append_events(&self, events: Vec<Event>) -> StoreResult<()>;
    /// Stores exception occurrences; durable and visible when the call returns.
    async fn append_exceptions(&self, exceptions: Vec<ExceptionRecord>) -> StoreResult<()>;
    /// A session's events, oldest first, at most `limit`.
    async fn session_events(
        &self,
        project_id: ProjectId,
        session_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<Event>>;
    /// The event with this uuid stored at `timestamp_ms`, if any (the time narrows the lookup
    /// to where the event is kept).
    async fn event(&self, project_id: ProjectId, uuid: &str, timestamp_ms: i64)
    -> StoreResult<Option<Event>>;
    /// Per-issue counts of the exceptions in scope, most recently seen first.
    async fn issue_stats(&self, scope: ExceptionScope) -> StoreResult<Vec<IssueStats>>;
    /// Exceptions per issue per day (`day` counts from `scope.from_ms`), for sparklines.
    async fn issue_daily_counts(&self, scope: ExceptionScope) -> StoreResult<Vec<(i64, i64, u64)>>;
    /// The exceptions in scope, newest first, at most `limit`.
    async fn exceptions(&self, scope: ExceptionScope, limit: usize) -> StoreResult<Vec<ExceptionRecord>>;
    /// How many exceptions in scope each session has (sessions without any are left out);
    /// `session_ids` narrows to those sessions when not empty.
    async fn session_exception_counts(
        &self,
        scope: ExceptionScope,
        session_ids: Vec<String>,
    ) -> StoreResult<Vec<(String, u64)>>;
    /// Deletes the project's events and exceptions from before `before_ms`, so no read
    /// finds them once the call returns; returns how many there were. Other projects and
    /// newer rows are untouched.
    async fn delete_events_before(&self, project_id: ProjectId, before_ms: i64) -> StoreResult<u64>;
}

/// One stored chunk's index entry: where its bytes are and what it adds to the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkEntry {
    pub project_id: ProjectId,
    pub session_id: String,
    pub window_id: String,
    pub distinct_id: String,
    /// A hash of the chunk's bytes: an SDK retry of the same chunk has the same one.
    pub chunk_id: String,
    pub place: ChunkPlace,
    /// Uncompressed JSON size in bytes.
    pub size: u64,
    pub stats: RecordingStats,
}

/// Where a chunk's bytes are: `length` bytes from `offset` in the blob `blob_key` (a
/// segment holding a group commit's chunks). A length of 0 is the whole blob: chunks stored
/// one per blob, before segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPlace {
    pub blob_key: String,
    pub offset: u64,
    pub length: u64,
}

/// Where one chunk of a session is, for playback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRef {
    pub window_id: String,
    pub place: ChunkPlace,
}

/// An indexed chunk and where its bytes are, for moving them to another segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedChunk {
    pub session_id: String,
    pub chunk_id: String,
    pub place: ChunkPlace,
}

/// The index of recordings: per-session summaries and where each chunk's bytes are.
#[async_trait]
pub trait RecordingIndex: Send + Sync {
    /// Indexes chunks and folds their stats into their sessions' summaries: all of them are
    /// visible when the call returns Ok, none when it fails. A chunk whose
    /// (project, session, chunk id) is already indexed adds nothing, in this call or a later one.
    async fn index_chunks(&self, chunks: Vec<ChunkEntry>) -> StoreResult<()>;
    async fn recordings(&self, query: RecordingQuery) -> StoreResult<Vec<Recording>>;
    async fn recording(&self, project_id: ProjectId, session_id: &str) -> StoreResult<Option<Recording>>;
    /// How many recorded sessions these distinct ids have (a person's page counts them
    /// without listing them).
    async fn count_recordings(&self, project_id: ProjectId, distinct_ids: Vec<String>) -> StoreResult<u64>;
    /// Which of `session_ids` have a recording.
    async fn recorded_sessions(
        &self,
        project_id: ProjectId,
        session_ids: Vec<String>,
    ) -> StoreResult<Vec<String>>;
    /// The session's chunks, grouped by window (windows in id order), each window's oldest
    /// first.
    async fn chunks(&self, project_id: ProjectId, session_id: &str) -> StoreResult<Vec<ChunkRef>>;
    /// Up to `limit` sessions of the project whose recording ended before `before_ms`.
    async fn recordings_ended_before(
        &self,
        project_id: ProjectId,
        before_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<String>>;
    /// Removes these sessions' summaries and chunk entries: once the call returns, no read
    /// lists or plays them (a chunk indexed later starts a new summary).
    async fn forget_recordings(&self, project_id: ProjectId, session_ids: Vec<String>) -> StoreResult<()>;
    /// The project's indexed chunks whose bytes are in any of `blob_keys`: what of those
    /// segments is still needed.
    async fn chunks_in_blobs(
        &self,
        project_id: ProjectId,
        blob_keys: Vec<String>,
    ) -> StoreResult<Vec<PlacedChunk>>;
    /// Points these chunks (found by session and chunk id) at their new places, all or
    /// none; summaries are unchanged and chunks no longer indexed are skipped.
    async fn move_chunks(&self, project_id: ProjectId, moved: Vec<PlacedChunk>) -> StoreResult<()>;
}
