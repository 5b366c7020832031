//! The append path: one transaction per call, rows through DuckDB's appender, and the
//! session index updated in the same transaction.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use duckdb::{Connection, params};
use tether_model::{LogId, LogRecord, ProjectId};

/// Owns the write connection and the id sequence.
pub(super) struct Writer {
    conn: Connection,
    last_id: i64,
}

impl Writer {
    pub(super) fn new(conn: Connection) -> duckdb::Result<Writer> {
        let last_id = conn.query_row("SELECT coalesce(max(id), 0) FROM logs", [], |r| r.get(0))?;
        Ok(Writer { conn, last_id })
    }

    pub(super) fn last_id(&self) -> i64 {
        self.last_id
    }

    /// Ids are microseconds since the epoch × 1024 plus a sequence: unique, increasing
    /// across restarts (the clock part) and within a burst (the sequence part).
    fn next_ids(&self, n: usize) -> Vec<i64> {
        let now_us = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64);
        let start = (now_us.saturating_mul(1024)).max(self.last_id + 1);
        (0..n as i64).map(|i| start + i).collect()
    }

    pub(super) fn append(&mut self, records: &[LogRecord]) -> duckdb::Result<Vec<LogId>> {
        let ids = self.next_ids(records.len());
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        match self.append_in_transaction(records, &ids) {
            Ok(()) => self.conn.execute_batch("COMMIT")?,
            Err(e) => {
                // The rollback's own failure would hide the cause; the cause is what matters.
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        self.last_id = *ids.last().unwrap_or(&self.last_id);
        Ok(ids.into_iter().map(LogId).collect())
    }

    fn append_in_transaction(&self, records: &[LogRecord], ids: &[i64]) -> duckdb::Result<()> {
        let mut appender = self.conn.appender("logs")?;
        for (r, id) in records.iter().zip(ids) {
            appender.append_row(params![
                r.project_id,
                id,
                r.timestamp_ns,
                r.observed_timestamp_ns,
                r.severity.code(),
                r.severity_text,
                r.severity_number,
                r.service,
                r.body,
                r.session_id,
                r.distinct_id,
                r.trace_id,
                r.span_id,
                r.trace_flags,
                r.event_name,
                r.scope_name,
                r.scope_version,
                r.attributes.to_json(),
                r.resource_attributes.to_json(),
                r.scope_attributes.to_json(),
            ])?;
        }
        appender.flush()?;
        drop(appender);
        self.update_sessions(records)
    }

    fn update_sessions(&self, records: &[LogRecord]) -> duckdb::Result<()> {
        let mut spans: HashMap<(ProjectId, &str), (i64, i64, i64)> = HashMap::new();
        for r in records {
            if let Some(session) = r.session_id.as_deref() {
                let span = spans.entry((r.project_id, session)).or_insert((i64::MAX, i64::MIN, 0));
                span.0 = span.0.min(r.timestamp_ns);
                span.1 = span.1.max(r.timestamp_ns);
                span.2 += 1;
            }
        }
        if spans.is_empty() {
            return Ok(());
        }
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO log_sessions VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, session_id) \
             DO UPDATE SET first_ts = least(first_ts, excluded.first_ts), \
             last_ts = greatest(last_ts, excluded.last_ts), logs = logs + excluded.logs",
        )?;
        for ((project, session), (first, last, n)) in spans {
            stmt.execute(params![project, session, first, last, n])?;
        }
        Ok(())
    }

    pub(super) fn checkpoint(&self) -> duckdb::Result<()> {
        self.conn.execute_batch("CHECKPOINT")
    }
}
