//! Events, exception occurrences and the recording index in DuckDB. SDK retries are
//! dropped at write time (by uuid, within a window around the batch), so reads never see a
//! uuid twice. Recording bytes are not here: the index points at their blob keys.

use async_trait::async_trait;
use duckdb::arrow::array::RecordBatch;
use duckdb::types::Value;
use duckdb::{Connection, params, params_from_iter};
use tether_model::{Event, ExceptionRecord, ProjectId};
use tether_store::{
    ChunkEntry, ChunkRef, EventStore, ExceptionScope, IssueStats, PlacedChunk, Recording, RecordingIndex,
    RecordingQuery, StoreResult,
};

use super::query::Where;
use super::recent::{self, Dedup, Table};
use super::{DuckAnalytics, db_err, expire};

/// How far from a batch's timestamps a duplicate is looked for. An SDK retry carries the
/// same uuid and the same client timestamp (after clock-skew correction, the same to within
/// network delays), so a day either side is generous; bounding the lookup by time lets
/// DuckDB skip row groups by their min/max instead of scanning every uuid ever stored.
const DUPLICATE_WINDOW_MS: i64 = 86_400_000;

/// Uuids of `uuids` already stored in `table` for the project within the window around
/// `from_ms..=to_ms`.
fn existing(
    conn: &Connection,
    table: &str,
    project: ProjectId,
    (from_ms, to_ms): (i64, i64),
    uuids: &[&str],
) -> StoreResult<Vec<String>> {
    if uuids.is_empty() {
        return Ok(Vec::new());
    }
    // One list parameter, not `IN (?, …)`: one statement text for any batch, and a plan of
    // one expression instead of hundreds. DuckDB plans this statement again on each run;
    // with the padded `IN` list that was 17 % of the server's CPU samples on `/e/` at 64
    // clients, with the list 11 %.
    let sql = format!(
        "SELECT uuid FROM {table} WHERE project_id = ? AND ts_ms BETWEEN ? AND ? AND list_contains(?, uuid)"
    );
    let uuids = Value::List(uuids.iter().map(|u| Value::Text((*u).to_owned())).collect());
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err("cannot prepare uuid lookup"))?;
    let rows = stmt
        .query_map(
            params![
                project,
                from_ms.saturating_sub(DUPLICATE_WINDOW_MS),
                to_ms.saturating_add(DUPLICATE_WINDOW_MS),
                uuids
            ],
            |r| r.get(0),
        )
        .map_err(db_err("uuid lookup failed"))?;
    rows.collect::<Result<_, _>>().map_err(db_err("cannot read uuid"))
}

/// Keeps the first record of each (project, uuid) not already stored, and stages the kept
/// ones' keys; `key` gives a record's project, uuid and timestamp (ms). The recent keys
/// answer for most records; the table for those older than their horizon.
fn only_new<'a, T>(
    conn: &Connection,
    dedup: &mut Dedup,
    table: Table,
    items: &'a [T],
    key: impl Fn(&T) -> (ProjectId, &str, i64),
) -> StoreResult<Vec<&'a T>> {
    let mut old: std::collections::BTreeMap<ProjectId, ((i64, i64), Vec<&str>)> = Default::default();
    for item in dedup.uncovered(table, items, |item| key(item).2) {
        let (p, u, ts) = key(item);
        let ((from, to), uuids) = old.entry(p).or_insert(((ts, ts), Vec::new()));
        (*from, *to) = ((*from).min(ts), (*to).max(ts));
        uuids.push(u);
    }
    let mut stored_before: std::collections::HashSet<u128> = Default::default();
    for (project, (span, uuids)) in old {
        for chunk in uuids.chunks(500) {
            let found = existing(conn, table_name(table), project, span, chunk)?;
            stored_before.extend(found.iter().map(|u| recent::key(project, &[u])));
        }
    }
    Ok(dedup.keep_new(
        table,
        items,
        |item| {
            let (p, u, ts) = key(item);
            (recent::key(p, &[u]), ts)
        },
        &stored_before,
    ))
}

fn table_name(table: Table) -> &'static str {
    match table {
        Table::Events => "events",
        Table::Exceptions => "exceptions",
        Table::Chunks => "recording_chunks",
    }
}

/// Appends the group's events not stored before (`batch` holds them all, built before the
/// write lock; it is rebuilt from the new ones only when some were stored already).
fn append_new_events(
    conn: &Connection,
    dedup: &mut Dedup,
    events: &[Event],
    batch: RecordBatch,
) -> StoreResult<()> {
    let fresh =
        only_new(conn, dedup, Table::Events, events, |e| (e.project_id, e.uuid.as_str(), e.timestamp_ms))?;
    if fresh.is_empty() {
        return Ok(());
    }
    let batch = if fresh.len() == events.len() { batch } else { super::columns::events_batch(&fresh)? };
    let mut app = conn.appender("events").map_err(db_err("cannot append events"))?;
    app.append_record_batch(batch).map_err(db_err("cannot append events"))?;
    app.flush().map_err(db_err("cannot flush events"))
}

/// Appends the group's exception occurrences not stored before.
fn append_new_exceptions(
    conn: &Connection,
    dedup: &mut Dedup,
    exceptions: &[ExceptionRecord],
) -> StoreResult<()> {
    let fresh = only_new(conn, dedup, Table::Exceptions, exceptions, |e| {
        (e.project_id, e.uuid.as_str(), e.timestamp_ms)
    })?;
    let mut app = conn.appender("exceptions").map_err(db_err("cannot append exceptions"))?;
    for e in &fresh {
        app.append_row(params![
            e.project_id,
            e.uuid,
            e.issue_id,
            e.session_id,
            e.window_id,
            e.distinct_id,
            e.timestamp_ms,
            e.url,
            e.name,
            e.message,
            e.exception_list.to_string(),
        ])
        .map_err(db_err("cannot append exception"))?;
    }
    app.flush().map_err(db_err("cannot flush exceptions"))
}

fn exception_where(scope: &ExceptionScope) -> Where {
    let mut w = Where::default();
    w.push("project_id = ?", [Value::BigInt(scope.project_id)]);
    if let Some(s) = &scope.session_id {
        w.push("session_id = ?", [Value::Text(s.clone())]);
    }
    w.push_in("distinct_id", scope.distinct_ids.iter().map(|d| Value::Text(d.clone())));
    if let Some(id) = scope.issue_id {
        w.push("issue_id = ?", [Value::BigInt(id)]);
    }
    if let Some(from) = scope.from_ms {
        w.push("ts_ms >= ?", [Value::BigInt(from)]);
    }
    if let Some(to) = scope.to_ms {
        w.push("ts_ms < ?", [Value::BigInt(to)]);
    }
    w
}

#[async_trait]
impl EventStore for DuckAnalytics {
    async fn append_events(&self, events: Vec<Event>) -> StoreResult<()> {
        let events = std::sync::Arc::new(events);
        let all = events.clone();
        // Built for every event before the write lock; rebuilt in it only when some
        // turn out to be stored already (an SDK retry).
        let prepare = move || super::columns::events_batch(&all.iter().collect::<Vec<_>>());
        self.prepare_with_writer(prepare, move |writer, batch| {
            writer.append_deduplicated(|conn, dedup| append_new_events(conn, dedup, &events, batch))
        })
        .await
    }

    async fn append_exceptions(&self, exceptions: Vec<ExceptionRecord>) -> StoreResult<()> {
        self.with_writer(move |writer| {
            writer.append_deduplicated(|conn, dedup| append_new_exceptions(conn, dedup, &exceptions))
        })
        .await
    }

    async fn session_events(
        &self,
        project_id: ProjectId,
        session_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<Event>> {
        let session_id = session_id.to_owned();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE project_id = ? AND session_id = ? ORDER BY ts_ms LIMIT {limit}"
            );
            read_events(conn, &sql, params![project_id, session_id])
        })
        .await
    }

    async fn event(
        &self,
        project_id: ProjectId,
        uuid: &str,
        timestamp_ms: i64,
    ) -> StoreResult<Option<Event>> {
        let uuid = uuid.to_owned();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE project_id = ? AND ts_ms = ? AND uuid = ? LIMIT 1"
            );
            Ok(read_events(conn, &sql, params![project_id, timestamp_ms, uuid])?.pop())
        })
        .await
    }

    async fn issue_stats(&self, scope: ExceptionScope) -> StoreResult<Vec<IssueStats>> {
        self.read(move |conn| {
            let w = exception_where(&scope);
            let sql = format!(
                "SELECT issue_id, count(*), count(DISTINCT session_id), count(DISTINCT distinct_id), \
                 min(ts_ms), max(ts_ms) FROM exceptions {} GROUP BY issue_id ORDER BY max(ts_ms) DESC",
                w.sql()
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(db_err("cannot prepare issue stats"))?;
            let rows = stmt
                .query_map(params_from_iter(w.params()), |r| {
                    Ok(IssueStats {
                        issue_id: r.get(0)?,
                        occurrences: r.get::<_, i64>(1)? as u64,
                        sessions: r.get::<_, i64>(2)? as u64,
                        users: r.get::<_, i64>(3)? as u64,
                        first_ms: r.get(4)?,
                        last_ms: r.get(5)?,
                    })
                })
                .map_err(db_err("issue stats query failed"))?;
            rows.collect::<Result<_, _>>().map_err(db_err("cannot read issue stats"))
        })
        .await
    }

    async fn issue_daily_counts(&self, scope: ExceptionScope) -> StoreResult<Vec<(i64, i64, u64)>> {
        self.read(move |conn| {
            let from = scope.from_ms.unwrap_or(0);
            let w = exception_where(&scope);
            let sql = format!(
                "SELECT issue_id, (ts_ms - {from}) // 86400000 AS day, count(*) FROM exceptions {} \
                 GROUP BY issue_id, day ORDER BY issue_id, day",
                w.sql()
            );
            let mut stmt = conn.prepare(&sql).map_err(db_err("cannot prepare daily counts"))?;
            let rows = stmt
                .query_map(params_from_iter(w.params()), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
                })
                .map_err(db_err("daily counts query failed"))?;
            rows.collect::<Result<_, _>>().map_err(db_err("cannot read daily counts"))
        })
        .await
    }

    async fn exceptions(&self, scope: ExceptionScope, limit: usize) -> StoreResult<Vec<ExceptionRecord>> {
        self.read(move |conn| {
            let w = exception_where(&scope);
            let sql = format!(
                "SELECT project_id, uuid, issue_id, session_id, window_id, distinct_id, ts_ms, url, name, message, \
                 exception_list FROM exceptions {} ORDER BY ts_ms DESC LIMIT {limit}",
                w.sql()
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(db_err("cannot prepare exceptions"))?;
            let rows = stmt
                .query_map(params_from_iter(w.params()), |r| {
                    let list: String = r.get(10)?;
                    Ok(ExceptionRecord {
                        project_id: r.get(0)?,
                        uuid: r.get(1)?,
                        issue_id: r.get(2)?,
                        session_id: r.get(3)?,
                        window_id: r.get(4)?,
                        distinct_id: r.get(5)?,
                        timestamp_ms: r.get(6)?,
                        url: r.get(7)?,
                        name: r.get(8)?,
                        message: r.get(9)?,
                        exception_list: serde_json::from_str(&list).unwrap_or(serde_json::Value::Null),
                    })
                })
                .map_err(db_err("exceptions query failed"))?;
            rows.collect::<Result<_, _>>().map_err(db_err("cannot read exception"))
        })
        .await
    }

    async fn session_exception_counts(
        &self,
        scope: ExceptionScope,
        session_ids: Vec<String>,
    ) -> StoreResult<Vec<(String, u64)>> {
        self.read(move |conn| {
            let mut w = exception_where(&scope);
            w.push("session_id IS NOT NULL", []);
            w.push_in("session_id", session_ids.iter().map(|id| Value::Text(id.clone())));
            let sql = format!("SELECT session_id, count(*) FROM exceptions {} GROUP BY session_id", w.sql());
            let mut stmt = conn.prepare(&sql).map_err(db_err("cannot prepare exception counts"))?;
            let rows = stmt
                .query_map(params_from_iter(w.params()), |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
                .map_err(db_err("exception counts query failed"))?;
            rows.collect::<Result<_, _>>().map_err(db_err("cannot read exception counts"))
        })
        .await
    }

    async fn delete_events_before(&self, project_id: ProjectId, before_ms: i64) -> StoreResult<u64> {
        expire::events(self, project_id, before_ms).await
    }
}

const RECORDING_COLUMNS: &str = "r.session_id, r.distinct_id, r.start_ms, r.end_ms, r.active_ms, r.first_url, \
    r.clicks, r.keypresses, r.console_errors, r.size, r.has_full_snapshot";

fn row_to_recording(r: &duckdb::Row<'_>) -> duckdb::Result<Recording> {
    let (start, end): (i64, i64) = (r.get(2)?, r.get(3)?);
    Ok(Recording {
        session_id: r.get(0)?,
        distinct_id: r.get(1)?,
        start_ms: start,
        end_ms: end,
        duration_ms: end - start,
        active_ms: r.get(4)?,
        first_url: r.get(5)?,
        clicks: r.get::<_, i64>(6)? as u64,
        keypresses: r.get::<_, i64>(7)? as u64,
        console_errors: r.get::<_, i64>(8)? as u64,
        size: r.get::<_, i64>(9)? as u64,
        has_full_snapshot: r.get(10)?,
    })
}

fn query_recordings(conn: &Connection, w: &Where, tail: &str) -> StoreResult<Vec<Recording>> {
    let sql = format!("SELECT {RECORDING_COLUMNS} FROM recordings r {} {tail}", w.sql());
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err("cannot prepare recordings"))?;
    let rows = stmt
        .query_map(params_from_iter(w.params()), row_to_recording)
        .map_err(db_err("recordings query failed"))?;
    rows.collect::<Result<_, _>>().map_err(db_err("cannot read recording"))
}

#[async_trait]
impl RecordingIndex for DuckAnalytics {
    async fn index_chunks(&self, chunks: Vec<ChunkEntry>) -> StoreResult<()> {
        self.with_writer(move |writer| writer.index_chunks(&chunks)).await
    }

    async fn recordings(&self, query: RecordingQuery) -> StoreResult<Vec<Recording>> {
        self.read_recordings(move |conn| {
            let mut w = Where::default();
            w.push("r.project_id = ?", [Value::BigInt(query.project_id)]);
            w.push_in("r.distinct_id", query.distinct_ids.iter().map(|d| Value::Text(d.clone())));
            if let Some(from) = query.from_ms {
                w.push("r.end_ms >= ?", [Value::BigInt(from)]);
            }
            if let Some(to) = query.to_ms {
                w.push("r.start_ms < ?", [Value::BigInt(to)]);
            }
            if let Some(min) = query.min_duration_ms {
                w.push("r.end_ms - r.start_ms >= ?", [Value::BigInt(min)]);
            }
            if let Some(errors) = &query.errors {
                // `NOT IN` a set holding NULL is never true: sessions without an id are left out.
                let exceptions = exception_where(&errors.exceptions);
                let with_errors = format!(
                    "(r.console_errors > 0 OR r.session_id IN (SELECT session_id FROM exceptions {} \
                     AND session_id IS NOT NULL))",
                    exceptions.sql()
                );
                let clause = if errors.has_errors { with_errors } else { format!("NOT {with_errors}") };
                w.push(&clause, exceptions.params());
            }
            query_recordings(conn, &w, &format!("ORDER BY r.start_ms DESC LIMIT {}", query.limit))
        })
        .await
    }

    async fn count_recordings(&self, project_id: ProjectId, distinct_ids: Vec<String>) -> StoreResult<u64> {
        if distinct_ids.is_empty() {
            return Ok(0);
        }
        self.read_recordings(move |conn| {
            let mut w = Where::default();
            w.push("r.project_id = ?", [Value::BigInt(project_id)]);
            w.push_in("r.distinct_id", distinct_ids.into_iter().map(Value::Text));
            let sql = format!("SELECT count(*) FROM recordings r {}", w.sql());
            let mut stmt = conn.prepare_cached(&sql).map_err(db_err("cannot prepare a recording count"))?;
            let n: i64 = stmt
                .query_row(params_from_iter(w.params()), |row| row.get(0))
                .map_err(db_err("recording count failed"))?;
            Ok(n as u64)
        })
        .await
    }

    async fn recording(&self, project_id: ProjectId, session_id: &str) -> StoreResult<Option<Recording>> {
        let session_id = session_id.to_owned();
        self.read_recordings(move |conn| {
            let mut w = Where::default();
            w.push(
                "r.project_id = ? AND r.session_id = ?",
                [Value::BigInt(project_id), Value::Text(session_id)],
            );
            Ok(query_recordings(conn, &w, "")?.pop())
        })
        .await
    }

    async fn recorded_sessions(
        &self,
        project_id: ProjectId,
        session_ids: Vec<String>,
    ) -> StoreResult<Vec<String>> {
        if session_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read_recordings(move |conn| {
            let mut w = Where::default();
            w.push("project_id = ?", [Value::BigInt(project_id)]);
            w.push_in("session_id", session_ids.iter().map(|id| Value::Text(id.clone())));
            let sql = format!("SELECT session_id FROM recordings {}", w.sql());
            let mut stmt = conn.prepare(&sql).map_err(db_err("cannot prepare recorded sessions"))?;
            let rows = stmt
                .query_map(params_from_iter(w.params()), |r| r.get(0))
                .map_err(db_err("recorded sessions query failed"))?;
            let found: std::collections::HashSet<String> =
                rows.collect::<Result<_, _>>().map_err(db_err("cannot read recorded session"))?;
            Ok(session_ids.into_iter().filter(|id| found.contains(id)).collect())
        })
        .await
    }

    async fn chunks(&self, project_id: ProjectId, session_id: &str) -> StoreResult<Vec<ChunkRef>> {
        let session = session_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT window_id, blob_key, blob_offset, blob_length FROM recording_chunks \
                     WHERE project_id = ? AND session_id = ? ORDER BY window_id, first_ms",
                )
                .map_err(db_err("cannot prepare chunk list"))?;
            let rows = stmt
                .query_map(params![project_id, session], |r| {
                    Ok(ChunkRef { window_id: r.get(0)?, place: super::chunk_index::place_at(r, 1)? })
                })
                .map_err(db_err("chunk list failed"))?;
            rows.collect::<Result<_, _>>().map_err(db_err("cannot read chunk row"))
        })
        .await
    }

    async fn recordings_ended_before(
        &self,
        project_id: ProjectId,
        before_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<String>> {
        expire::ended_recordings(self, project_id, before_ms, limit).await
    }

    async fn forget_recordings(&self, project_id: ProjectId, session_ids: Vec<String>) -> StoreResult<()> {
        expire::forget_recordings(self, project_id, session_ids).await
    }

    async fn chunks_in_blobs(
        &self,
        project_id: ProjectId,
        blob_keys: Vec<String>,
    ) -> StoreResult<Vec<PlacedChunk>> {
        self.read(move |conn| super::chunk_index::chunks_in_blobs(conn, project_id, blob_keys)).await
    }

    async fn move_chunks(&self, project_id: ProjectId, moved: Vec<PlacedChunk>) -> StoreResult<()> {
        if moved.is_empty() {
            return Ok(());
        }
        self.write(move |conn| super::chunk_index::move_chunks(conn, project_id, &moved)).await
    }
}

/// What [`read_events`] selects, in its order.
const EVENT_COLUMNS: &str =
    "project_id, uuid, event, distinct_id, session_id, window_id, ts_ms, current_url, properties";

/// The events `sql` (selecting [`EVENT_COLUMNS`]) finds.
fn read_events(conn: &Connection, sql: &str, params: impl duckdb::Params) -> StoreResult<Vec<Event>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err("cannot prepare events query"))?;
    let rows = stmt
        .query_map(params, |r| {
            Ok(Event {
                project_id: r.get(0)?,
                uuid: r.get(1)?,
                event: r.get(2)?,
                distinct_id: r.get(3)?,
                session_id: r.get(4)?,
                window_id: r.get(5)?,
                timestamp_ms: r.get(6)?,
                current_url: r.get(7)?,
                properties: r.get(8)?,
            })
        })
        .map_err(db_err("events query failed"))?;
    rows.collect::<Result<_, _>>().map_err(db_err("cannot read event"))
}
