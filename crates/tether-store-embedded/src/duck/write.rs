//! The append path: one transaction per call (so a call is atomic), rows through DuckDB's
//! appender under the ids the caller minted, and the minute counts and session spans
//! updated in the same transaction.

use std::collections::HashMap;

use duckdb::{Connection, params};
use tether_store::StoreResult;

use super::db_err;
use super::fold::Folds;
use super::recent::{Dedup, Recent};
use super::session_spans;
use duckdb::arrow::array::RecordBatch;
use tether_model::{LogRecord, ProjectId};
use tether_store::{ChunkEntry, StoredLog};

/// Owns the write connection, and what it stored lately.
pub(super) struct Writer {
    conn: Connection,
    pub(super) recent: Recent,
    /// How far the recording summaries are folded from the chunk index.
    pub(super) folds: Folds,
    /// Session spans of logs appended and not yet folded into the session index.
    unfolded_spans: usize,
}

impl Writer {
    pub(super) fn new(conn: Connection) -> duckdb::Result<Writer> {
        // Room for every statement of the write paths (uuid lookups come in ~10 sizes per
        // table), so none is parsed and planned again per request.
        conn.set_prepared_statement_cache_capacity(64);
        let recent = Recent::load(&conn)?;
        let folds = Folds::load(&conn)?;
        let unfolded_spans = session_spans::unfolded(&conn)?;
        Ok(Writer { conn, recent, folds, unfolded_spans })
    }

    /// Appends `logs`, whose rows `batches` hold (from [`super::columns::logs_batches`],
    /// built before the writer lock is taken). Once enough session spans have gathered,
    /// the same transaction folds them into the session index (`super::session_spans`).
    pub(super) fn append(&mut self, logs: &[StoredLog], batches: Vec<RecordBatch>) -> StoreResult<()> {
        let fold = self.unfolded_spans >= session_spans::FOLD_SPANS;
        let spans = atomically(&self.conn, || self.append_in_transaction(logs, batches, fold))?;
        self.unfolded_spans = if fold { 0 } else { self.unfolded_spans + spans };
        Ok(())
    }

    /// Returns how many session spans it appended (none left when it folds).
    fn append_in_transaction(
        &self,
        logs: &[StoredLog],
        batches: Vec<RecordBatch>,
        fold: bool,
    ) -> StoreResult<usize> {
        let mut appender = self.conn.appender("logs").map_err(db_err("cannot append logs"))?;
        for batch in batches {
            appender.append_record_batch(batch).map_err(db_err("cannot append logs"))?;
        }
        appender.flush().map_err(db_err("cannot append logs"))?;
        drop(appender);
        let records: Vec<&LogRecord> = logs.iter().map(|l| &l.record).collect();
        self.update_minute_counts(&records).map_err(db_err("cannot update the minute counts"))?;
        let spans = session_spans::append(&self.conn, &records)
            .and_then(|n| if fold { session_spans::fold(&self.conn).map(|()| 0) } else { Ok(n) })
            .map_err(db_err("cannot update the session index"))?;
        Ok(spans)
    }

    /// Appends this batch's per-minute counts (one row per minute, severity and service).
    fn update_minute_counts(&self, records: &[&LogRecord]) -> duckdb::Result<()> {
        const MINUTE_NS: i64 = 60_000_000_000;
        let mut counts: HashMap<(ProjectId, i64, u8, &str), i64> = HashMap::new();
        for r in records {
            let minute = r.timestamp_ns.div_euclid(MINUTE_NS) * MINUTE_NS;
            *counts.entry((r.project_id, minute, r.severity.code(), r.service.as_str())).or_default() += 1;
        }
        let mut appender = self.conn.appender("log_minute_counts")?;
        for ((project, minute, severity, service), n) in counts {
            appender.append_row(params![project, minute, severity, service, n])?;
        }
        appender.flush()
    }

    /// Runs `f` in a transaction on the write connection (for the capture tables), with
    /// the recent keys the capture tables are de-duplicated by.
    pub(super) fn transaction<T>(
        &mut self,
        f: impl FnOnce(&Connection, &mut Dedup) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.append_deduplicated(|conn, dedup| atomically(conn, || f(conn, dedup)))
    }

    /// Runs `f` on the write connection with the recent keys, outside a transaction of its
    /// own: for a group whose only write is one appender flush, as its last fallible step.
    /// DuckDB commits that flush as one statement (a group is at most 20,000 rows, below the
    /// appender's 204,800-row flush), so the group is still all or nothing, without the
    /// `BEGIN` and `COMMIT` statements DuckDB would parse and run for it (~0.4 ms of a
    /// 5 ms `/e/` group at 64 clients).
    pub(super) fn append_deduplicated<T>(
        &mut self,
        f: impl FnOnce(&Connection, &mut Dedup) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let Writer { conn, recent, .. } = self;
        let mut dedup = Dedup::new(recent);
        let v = f(conn, &mut dedup)?;
        dedup.commit();
        Ok(v)
    }

    /// Indexes a group commit's recording chunks in one statement, then folds the
    /// summaries if enough chunks have gathered (a failed fold is retried by the next
    /// batch or read; the chunks are committed either way).
    pub(super) fn index_chunks(&mut self, chunks: &[ChunkEntry]) -> StoreResult<()> {
        let seq = self.folds.next_group();
        let indexed = self
            .append_deduplicated(|conn, dedup| super::chunk_index::index_chunks(conn, dedup, seq, chunks))?;
        if self.folds.committed(indexed)
            && let Err(e) = self.fold_recordings()
        {
            tracing::warn!(error = %e, "cannot fold recording summaries; the next batch or read retries");
        }
        Ok(())
    }

    /// Folds every indexed chunk into the recording summaries (before they are read).
    pub(super) fn fold_recordings(&mut self) -> StoreResult<()> {
        if !self.folds.is_pending() {
            return Ok(());
        }
        atomically(&self.conn, || self.folds.fold(&self.conn))?;
        self.folds.folded();
        Ok(())
    }

    pub(super) fn checkpoint(&self) -> duckdb::Result<()> {
        self.conn.execute_batch("CHECKPOINT")
    }
}

/// Runs `f` in a transaction on `conn`: committed if it succeeds, rolled back if not.
fn atomically<T>(conn: &Connection, f: impl FnOnce() -> StoreResult<T>) -> StoreResult<T> {
    conn.execute_batch("BEGIN TRANSACTION").map_err(db_err("cannot begin transaction"))?;
    match f() {
        Ok(v) => {
            conn.execute_batch("COMMIT").map_err(db_err("cannot commit"))?;
            Ok(v)
        }
        Err(e) => {
            // The rollback's own failure would hide the cause; the cause is what matters.
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}
