//! Events, exception occurrences and the recording index. Events and exceptions are read
//! with `FINAL` (their tables replace rows of one uuid); recording summaries are folded by
//! the `recordings` table's engine from the chunk rows a materialized view feeds it.

use async_trait::async_trait;
use tether_model::{Event, ExceptionRecord, ProjectId};
use tether_store::{
    ChunkEntry, ChunkPlace, ChunkRef, EventStore, ExceptionScope, IssueStats, PlacedChunk, Recording,
    RecordingIndex, RecordingQuery, StoreResult,
};

use crate::ClickAnalytics;
use crate::sql::{self, Bound, Where};

#[derive(clickhouse::Row, serde::Serialize, serde::Deserialize)]
struct EventRow {
    project_id: i64,
    uuid: String,
    event: String,
    distinct_id: String,
    session_id: String,
    window_id: Option<String>,
    ts: i64,
    current_url: Option<String>,
    properties: String,
}

#[derive(clickhouse::Row, serde::Serialize, serde::Deserialize)]
struct ExceptionRow {
    project_id: i64,
    uuid: String,
    issue_id: i64,
    session_id: String,
    window_id: Option<String>,
    distinct_id: String,
    ts: i64,
    url: Option<String>,
    name: String,
    message: String,
    exception_list: String,
}

const EXCEPTION_COLUMNS: &str =
    "project_id, uuid, issue_id, session_id, window_id, distinct_id, ts, url, name, message, exception_list";

impl ExceptionRow {
    fn into_record(self) -> ExceptionRecord {
        ExceptionRecord {
            project_id: self.project_id,
            uuid: self.uuid,
            issue_id: self.issue_id,
            session_id: Some(self.session_id).filter(|s| !s.is_empty()),
            window_id: self.window_id,
            distinct_id: self.distinct_id,
            timestamp_ms: self.ts,
            url: self.url,
            name: self.name,
            message: self.message,
            exception_list: serde_json::from_str(&self.exception_list).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[derive(clickhouse::Row, serde::Serialize, serde::Deserialize)]
struct ChunkRow {
    project_id: i64,
    session_id: String,
    window_id: String,
    chunk_id: String,
    distinct_id: String,
    first_ms: i64,
    last_ms: i64,
    blob_key: String,
    size: u64,
    blob_offset: u64,
    blob_length: u64,
    active_ms: i64,
    url: Option<String>,
    clicks: u64,
    keypresses: u64,
    console_errors: u64,
    has_full_snapshot: u8,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct StatsRow {
    issue_id: i64,
    occurrences: u64,
    sessions: u64,
    users: u64,
    first_ms: i64,
    last_ms: i64,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct DailyRow {
    issue_id: i64,
    day: i64,
    count: u64,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct SessionCount {
    session_id: String,
    count: u64,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct SessionRow {
    session_id: String,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct ChunkKey {
    session_id: String,
    chunk_id: String,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct ChunkRefRow {
    window_id: String,
    blob_key: String,
    blob_offset: u64,
    blob_length: u64,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct PlacedRow {
    session_id: String,
    chunk_id: String,
    blob_key: String,
    blob_offset: u64,
    blob_length: u64,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct RecordingRow {
    session_id: String,
    user_id: String,
    started: i64,
    ended: i64,
    active: i64,
    url: (i64, String),
    click_count: u64,
    keypress_count: u64,
    console_error_count: u64,
    bytes: u64,
    full_snapshot: u8,
}

impl RecordingRow {
    fn into_recording(self) -> Recording {
        Recording {
            session_id: self.session_id,
            distinct_id: self.user_id,
            start_ms: self.started,
            end_ms: self.ended,
            duration_ms: self.ended - self.started,
            active_ms: self.active,
            first_url: (self.url.0 != i64::MAX).then_some(self.url.1),
            clicks: self.click_count,
            keypresses: self.keypress_count,
            console_errors: self.console_error_count,
            size: self.bytes,
            has_full_snapshot: self.full_snapshot > 0,
        }
    }
}

fn exception_where(scope: &ExceptionScope) -> Where {
    let mut w = Where::default();
    w.push("project_id = ?", [scope.project_id.into()]);
    if let Some(s) = &scope.session_id {
        w.push("session_id = ?", [Bound::from(s.as_str())]);
    }
    w.push_in("distinct_id", scope.distinct_ids.iter().map(|d| Bound::from(d.as_str())));
    if let Some(id) = scope.issue_id {
        w.push("issue_id = ?", [id.into()]);
    }
    if let Some(from) = scope.from_ms {
        w.push("ts >= fromUnixTimestamp64Milli(?)", [from.into()]);
    }
    if let Some(to) = scope.to_ms {
        w.push("ts < fromUnixTimestamp64Milli(?)", [to.into()]);
    }
    w
}

impl ClickAnalytics {
    /// The (session, chunk id) pairs of `chunks` already indexed.
    async fn indexed_chunks(
        &self,
        chunks: &[ChunkEntry],
    ) -> StoreResult<std::collections::HashSet<(i64, String, String)>> {
        let mut found = std::collections::HashSet::new();
        let mut projects: Vec<i64> = chunks.iter().map(|c| c.project_id).collect();
        projects.sort_unstable();
        projects.dedup();
        for project in projects {
            let mut w = Where::default();
            w.push("project_id = ?", [project.into()]);
            let mine: Vec<&ChunkEntry> = chunks.iter().filter(|c| c.project_id == project).collect();
            w.push_in("session_id", mine.iter().map(|c| Bound::from(c.session_id.as_str())));
            w.push_in("chunk_id", mine.iter().map(|c| Bound::from(c.chunk_id.as_str())));
            let sql = format!("SELECT session_id, chunk_id FROM recording_chunks {}", w.sql());
            let rows: Vec<ChunkKey> = self.rows(&sql, &w).await?;
            found.extend(rows.into_iter().map(|r| (project, r.session_id, r.chunk_id)));
        }
        Ok(found)
    }

    /// The events `w` selects (de-duplicated, `FINAL`), ordered and limited by `tail`.
    async fn events(&self, w: &Where, tail: &str) -> StoreResult<Vec<Event>> {
        let sql = format!(
            "SELECT project_id, uuid, event, distinct_id, session_id, window_id, ts, current_url, properties \
             FROM events FINAL {} {tail}",
            w.sql()
        );
        let rows: Vec<EventRow> = self.rows(&sql, w).await?;
        Ok(rows
            .into_iter()
            .map(|r| Event {
                project_id: r.project_id,
                uuid: r.uuid,
                event: r.event,
                distinct_id: r.distinct_id,
                session_id: Some(r.session_id).filter(|s| !s.is_empty()),
                window_id: r.window_id,
                timestamp_ms: r.ts,
                current_url: r.current_url,
                properties: r.properties,
            })
            .collect())
    }

    async fn query_recordings(&self, w: &Where, having: &Where, tail: &str) -> StoreResult<Vec<Recording>> {
        let sql = format!(
            "SELECT session_id, any(distinct_id) AS user_id, min(start_ms) AS started, max(end_ms) AS ended, \
             sum(active_ms) AS active, min(first_url) AS url, sum(clicks) AS click_count, \
             sum(keypresses) AS keypress_count, sum(console_errors) AS console_error_count, sum(size) AS bytes, \
             max(has_full_snapshot) AS full_snapshot FROM recordings {} GROUP BY session_id HAVING {} {tail}",
            w.sql(),
            having.condition()
        );
        let rows: Vec<RecordingRow> =
            sql::fetch(sql::query(&self.client, &sql, w.binds().iter().chain(having.binds()))).await?;
        Ok(rows.into_iter().map(RecordingRow::into_recording).collect())
    }
}

#[async_trait]
impl EventStore for ClickAnalytics {
    async fn append_events(&self, events: Vec<Event>) -> StoreResult<()> {
        let rows: Vec<EventRow> = events
            .into_iter()
            .map(|e| EventRow {
                project_id: e.project_id,
                uuid: e.uuid,
                event: e.event,
                distinct_id: e.distinct_id,
                session_id: e.session_id.unwrap_or_default(),
                window_id: e.window_id,
                ts: e.timestamp_ms,
                current_url: e.current_url,
                properties: e.properties,
            })
            .collect();
        sql::insert(&self.client, "events", &rows).await
    }

    async fn append_exceptions(&self, exceptions: Vec<ExceptionRecord>) -> StoreResult<()> {
        let rows: Vec<ExceptionRow> = exceptions
            .into_iter()
            .map(|e| ExceptionRow {
                project_id: e.project_id,
                uuid: e.uuid,
                issue_id: e.issue_id,
                session_id: e.session_id.unwrap_or_default(),
                window_id: e.window_id,
                distinct_id: e.distinct_id,
                ts: e.timestamp_ms,
                url: e.url,
                name: e.name,
                message: e.message,
                exception_list: e.exception_list.to_string(),
            })
            .collect();
        sql::insert(&self.client, "exceptions", &rows).await
    }

    async fn session_events(
        &self,
        project_id: ProjectId,
        session_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<Event>> {
        let mut w = Where::default();
        w.push("project_id = ? AND session_id = ?", [project_id.into(), session_id.into()]);
        self.events(&w, &format!("ORDER BY ts, uuid LIMIT {limit}")).await
    }

    async fn event(
        &self,
        project_id: ProjectId,
        uuid: &str,
        timestamp_ms: i64,
    ) -> StoreResult<Option<Event>> {
        let mut w = Where::default();
        w.push(
            "project_id = ? AND ts = fromUnixTimestamp64Milli(?) AND uuid = ?",
            [project_id.into(), timestamp_ms.into(), uuid.into()],
        );
        Ok(self.events(&w, "LIMIT 1").await?.pop())
    }

    async fn issue_stats(&self, scope: ExceptionScope) -> StoreResult<Vec<IssueStats>> {
        let w = exception_where(&scope);
        let sql = format!(
            "SELECT issue_id, count() AS occurrences, uniqExactIf(session_id, session_id != '') AS sessions, \
             uniqExact(distinct_id) AS users, toUnixTimestamp64Milli(min(ts)) AS first_ms, \
             toUnixTimestamp64Milli(max(ts)) AS last_ms FROM exceptions FINAL {} \
             GROUP BY issue_id ORDER BY last_ms DESC, issue_id",
            w.sql()
        );
        let rows: Vec<StatsRow> = self.rows(&sql, &w).await?;
        Ok(rows
            .into_iter()
            .map(|r| IssueStats {
                issue_id: r.issue_id,
                occurrences: r.occurrences,
                sessions: r.sessions,
                users: r.users,
                first_ms: r.first_ms,
                last_ms: r.last_ms,
            })
            .collect())
    }

    async fn issue_daily_counts(&self, scope: ExceptionScope) -> StoreResult<Vec<(i64, i64, u64)>> {
        let from = scope.from_ms.unwrap_or(0);
        let w = exception_where(&scope);
        let sql = format!(
            "SELECT issue_id, intDiv(toUnixTimestamp64Milli(ts) - {from}, 86400000) AS day, count() AS count \
             FROM exceptions FINAL {} GROUP BY issue_id, day ORDER BY issue_id, day",
            w.sql()
        );
        let rows: Vec<DailyRow> = self.rows(&sql, &w).await?;
        Ok(rows.into_iter().map(|r| (r.issue_id, r.day, r.count)).collect())
    }

    async fn exceptions(&self, scope: ExceptionScope, limit: usize) -> StoreResult<Vec<ExceptionRecord>> {
        let w = exception_where(&scope);
        let sql = format!(
            "SELECT {EXCEPTION_COLUMNS} FROM exceptions FINAL {} ORDER BY ts DESC, uuid LIMIT {limit}",
            w.sql()
        );
        let rows: Vec<ExceptionRow> = self.rows(&sql, &w).await?;
        Ok(rows.into_iter().map(ExceptionRow::into_record).collect())
    }

    async fn session_exception_counts(
        &self,
        scope: ExceptionScope,
        session_ids: Vec<String>,
    ) -> StoreResult<Vec<(String, u64)>> {
        let mut w = exception_where(&scope);
        w.push("session_id != ''", []);
        w.push_in("session_id", session_ids.into_iter().map(Bound::from));
        let sql = format!(
            "SELECT session_id, count() AS count FROM exceptions FINAL {} GROUP BY session_id",
            w.sql()
        );
        let rows: Vec<SessionCount> = self.rows(&sql, &w).await?;
        Ok(rows.into_iter().map(|r| (r.session_id, r.count)).collect())
    }

    async fn delete_events_before(&self, project_id: ProjectId, before_ms: i64) -> StoreResult<u64> {
        self.delete_events(project_id, before_ms).await
    }
}

#[async_trait]
impl RecordingIndex for ClickAnalytics {
    async fn index_chunks(&self, chunks: Vec<ChunkEntry>) -> StoreResult<()> {
        // Drop chunks indexed before (an SDK retry) or repeated in this call, so each adds
        // to its summary once; then one INSERT makes all of them visible together.
        let mut seen = self.indexed_chunks(&chunks).await?;
        let rows: Vec<ChunkRow> = chunks
            .into_iter()
            .filter(|c| seen.insert((c.project_id, c.session_id.clone(), c.chunk_id.clone())))
            .map(|c| ChunkRow {
                project_id: c.project_id,
                session_id: c.session_id,
                window_id: c.window_id,
                chunk_id: c.chunk_id,
                distinct_id: c.distinct_id,
                first_ms: c.stats.first_ms,
                last_ms: c.stats.last_ms,
                blob_key: c.place.blob_key,
                size: c.size,
                blob_offset: c.place.offset,
                blob_length: c.place.length,
                active_ms: c.stats.active_ms,
                url: c.stats.first_url,
                clicks: c.stats.clicks,
                keypresses: c.stats.keypresses,
                console_errors: c.stats.console_errors,
                has_full_snapshot: c.stats.has_full_snapshot.into(),
            })
            .collect();
        sql::insert(&self.client, "recording_chunks", &rows).await
    }

    async fn recordings(&self, query: RecordingQuery) -> StoreResult<Vec<Recording>> {
        let mut w = Where::default();
        w.push("project_id = ?", [query.project_id.into()]);
        let mut having = Where::default();
        having.push_in("user_id", query.distinct_ids.iter().map(|d| Bound::from(d.as_str())));
        if let Some(from) = query.from_ms {
            having.push("ended >= ?", [from.into()]);
        }
        if let Some(to) = query.to_ms {
            having.push("started < ?", [to.into()]);
        }
        if let Some(min) = query.min_duration_ms {
            having.push("ended - started >= ?", [min.into()]);
        }
        if let Some(errors) = &query.errors {
            let mut exceptions = exception_where(&errors.exceptions);
            exceptions.push("session_id != ''", []);
            let with_errors = format!(
                "(console_error_count > 0 OR session_id IN (SELECT session_id FROM exceptions {}))",
                exceptions.sql()
            );
            let clause = if errors.has_errors { with_errors } else { format!("NOT {with_errors}") };
            having.push(&clause, exceptions.binds().iter().cloned());
        }
        self.query_recordings(
            &w,
            &having,
            &format!("ORDER BY started DESC, session_id LIMIT {}", query.limit),
        )
        .await
    }

    async fn count_recordings(&self, project_id: ProjectId, distinct_ids: Vec<String>) -> StoreResult<u64> {
        if distinct_ids.is_empty() {
            return Ok(0);
        }
        let mut w = Where::default();
        w.push("project_id = ?", [project_id.into()]);
        let mut having = Where::default();
        having.push_in("user_id", distinct_ids.iter().map(|d| Bound::from(d.as_str())));
        // A session's person is its summary's (`any`), as the list filters it.
        let sql = format!(
            "SELECT count() AS n FROM (SELECT session_id, any(distinct_id) AS user_id FROM recordings {} \
             GROUP BY session_id HAVING {})",
            w.sql(),
            having.condition()
        );
        let counts: Vec<crate::expire::Count> =
            sql::fetch(sql::query(&self.client, &sql, w.binds().iter().chain(having.binds()))).await?;
        Ok(counts.first().map_or(0, |c| c.n))
    }

    async fn recording(&self, project_id: ProjectId, session_id: &str) -> StoreResult<Option<Recording>> {
        let mut w = Where::default();
        w.push("project_id = ? AND session_id = ?", [project_id.into(), session_id.into()]);
        Ok(self.query_recordings(&w, &Where::default(), "").await?.pop())
    }

    async fn recorded_sessions(
        &self,
        project_id: ProjectId,
        session_ids: Vec<String>,
    ) -> StoreResult<Vec<String>> {
        if session_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut w = Where::default();
        w.push("project_id = ?", [project_id.into()]);
        w.push_in("session_id", session_ids.iter().map(|s| Bound::from(s.as_str())));
        let sql = format!("SELECT DISTINCT session_id FROM recordings {}", w.sql());
        let rows: Vec<SessionRow> = self.rows(&sql, &w).await?;
        let found: std::collections::HashSet<String> = rows.into_iter().map(|r| r.session_id).collect();
        Ok(session_ids.into_iter().filter(|id| found.contains(id)).collect())
    }

    async fn chunks(&self, project_id: ProjectId, session_id: &str) -> StoreResult<Vec<ChunkRef>> {
        let mut w = Where::default();
        w.push("project_id = ? AND session_id = ?", [project_id.into(), session_id.into()]);
        let sql = format!(
            "SELECT window_id, blob_key, blob_offset, blob_length FROM recording_chunks FINAL {} \
             ORDER BY window_id, first_ms, chunk_id",
            w.sql()
        );
        let rows: Vec<ChunkRefRow> = self.rows(&sql, &w).await?;
        Ok(rows
            .into_iter()
            .map(|r| ChunkRef {
                window_id: r.window_id,
                place: ChunkPlace { blob_key: r.blob_key, offset: r.blob_offset, length: r.blob_length },
            })
            .collect())
    }

    async fn recordings_ended_before(
        &self,
        project_id: ProjectId,
        before_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<String>> {
        self.ended_recordings(project_id, before_ms, limit).await
    }

    async fn forget_recordings(&self, project_id: ProjectId, session_ids: Vec<String>) -> StoreResult<()> {
        self.forget(project_id, session_ids).await
    }

    async fn chunks_in_blobs(
        &self,
        project_id: ProjectId,
        blob_keys: Vec<String>,
    ) -> StoreResult<Vec<PlacedChunk>> {
        let mut w = Where::default();
        w.push("project_id = ? AND has(?, blob_key)", [project_id.into(), Bound::Texts(blob_keys)]);
        let sql = format!(
            "SELECT session_id, chunk_id, blob_key, blob_offset, blob_length FROM recording_chunks FINAL {}",
            w.sql()
        );
        let rows: Vec<PlacedRow> = self.rows(&sql, &w).await?;
        Ok(rows
            .into_iter()
            .map(|r| PlacedChunk {
                session_id: r.session_id,
                chunk_id: r.chunk_id,
                place: ChunkPlace { blob_key: r.blob_key, offset: r.blob_offset, length: r.blob_length },
            })
            .collect())
    }

    async fn move_chunks(&self, project_id: ProjectId, moved: Vec<PlacedChunk>) -> StoreResult<()> {
        if moved.is_empty() {
            return Ok(());
        }
        self.relocate(project_id, moved).await
    }
}
