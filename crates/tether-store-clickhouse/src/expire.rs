//! Per-project retention in ClickHouse, with lightweight `DELETE`s: rows disappear from
//! reads when the statement returns (it waits for the row mask to be written) and their
//! space is reclaimed by background merges. Partitions are daily for all projects at once,
//! so one project's old days cannot be dropped whole without the others'; the
//! database-wide `retention_days` URL option drops whole daily parts by TTL instead.
//!
//! Derived tables are fixed alongside: `log_sessions` rows are partial aggregates, and a
//! row whose newest log is old describes only deleted logs, so deleting those rows keeps
//! every remaining session span a superset of where its logs are.

use tether_model::ProjectId;
use tether_store::{PlacedChunk, StoreResult};

use crate::sql::{self, Bound, Where};
use crate::{ClickAnalytics, schema};

/// The answer of a `SELECT count() AS n …`.
#[derive(clickhouse::Row, serde::Deserialize)]
pub(crate) struct Count {
    pub(crate) n: u64,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct Session {
    session_id: String,
}

fn project(project_id: ProjectId) -> Where {
    let mut w = Where::default();
    w.push("project_id = ?", [Bound::Int(project_id)]);
    w
}

impl ClickAnalytics {
    /// How many rows of `table` match as reads see them (`seen_as`: the table, or the table
    /// `FINAL` where SDK retries are folded at read time), then deletes them; a retry
    /// deletes what is left.
    async fn delete_counted(&self, table: &str, seen_as: &str, w: &Where) -> StoreResult<u64> {
        let sql = format!("SELECT count() AS n FROM {seen_as} {}", w.sql());
        let counted: Vec<Count> = self.rows(&sql, w).await?;
        let n = counted.first().map_or(0, |c| c.n);
        if n > 0 {
            self.delete_where(table, w).await?;
        }
        Ok(n)
    }

    async fn delete_where(&self, table: &str, w: &Where) -> StoreResult<()> {
        let statement = schema::delete(&self.options, table, &w.sql());
        sql::run(sql::query(&self.client, &statement, w.binds())).await
    }

    pub(crate) async fn delete_logs(&self, project_id: ProjectId, before_ns: i64) -> StoreResult<u64> {
        let mut w = project(project_id);
        w.push("ts < fromUnixTimestamp64Nano(?)", [Bound::Int(before_ns)]);
        let n = self.delete_counted("logs", "logs", &w).await?;
        let mut sessions = project(project_id);
        sessions.push("last_ts < fromUnixTimestamp64Nano(?)", [Bound::Int(before_ns)]);
        self.delete_counted("log_sessions", "log_sessions", &sessions).await?;
        Ok(n)
    }

    pub(crate) async fn delete_events(&self, project_id: ProjectId, before_ms: i64) -> StoreResult<u64> {
        let mut w = project(project_id);
        w.push("ts < fromUnixTimestamp64Milli(?)", [Bound::Int(before_ms)]);
        Ok(self.delete_counted("events", "events FINAL", &w).await?
            + self.delete_counted("exceptions", "exceptions FINAL", &w).await?)
    }

    pub(crate) async fn ended_recordings(
        &self,
        project_id: ProjectId,
        before_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<String>> {
        let w = project(project_id);
        let sql = format!(
            "SELECT session_id FROM recordings {} GROUP BY session_id HAVING max(end_ms) < ? LIMIT {limit}",
            w.sql()
        );
        let rows: Vec<Session> =
            sql::fetch(sql::query(&self.client, &sql, w.binds().iter().chain([&Bound::Int(before_ms)])))
                .await?;
        Ok(rows.into_iter().map(|r| r.session_id).collect())
    }

    pub(crate) async fn forget(&self, project_id: ProjectId, session_ids: Vec<String>) -> StoreResult<()> {
        if session_ids.is_empty() {
            return Ok(());
        }
        let mut w = project(project_id);
        w.push("session_id IN ?", [Bound::Texts(session_ids)]);
        self.delete_where("recording_chunks", &w).await?;
        self.delete_where("recordings", &w).await
    }
}

impl ClickAnalytics {
    /// Points chunks at new places with one mutation, waited for: a chunk row's place is
    /// rewritten in its part, so the summaries' materialized view (fed by inserts only)
    /// does not count the chunk again. Rare (retention's compaction), so a mutation's cost
    /// is fine where an insert per move would double the summaries.
    pub(crate) async fn relocate(&self, project_id: ProjectId, moved: Vec<PlacedChunk>) -> StoreResult<()> {
        let id = |c: &PlacedChunk| format!("{}/{}", c.session_id, c.chunk_id);
        let ids: Vec<String> = moved.iter().map(id).collect();
        let keys: Vec<String> = moved.iter().map(|c| c.place.blob_key.clone()).collect();
        let offsets: Vec<u64> = moved.iter().map(|c| c.place.offset).collect();
        let lengths: Vec<u64> = moved.iter().map(|c| c.place.length).collect();
        let which = "concat(session_id, '/', chunk_id)";
        let statement = schema::update(
            &self.options,
            "recording_chunks",
            &format!(
                "blob_key = transform({which}, ?, ?, blob_key), blob_offset = transform({which}, ?, ?, blob_offset), \
                 blob_length = transform({which}, ?, ?, blob_length) WHERE project_id = ? AND has(?, {which})"
            ),
        );
        let binds = [
            Bound::Texts(ids.clone()),
            Bound::Texts(keys),
            Bound::Texts(ids.clone()),
            Bound::Counts(offsets),
            Bound::Texts(ids.clone()),
            Bound::Counts(lengths),
            Bound::Int(project_id),
            Bound::Texts(ids),
        ];
        sql::run(sql::query(&self.client, &statement, &binds).with_setting("mutations_sync", "2")).await
    }
}
