//! Recording summaries (`recordings`: one row per session) folded from the chunk index in
//! batches, not upserted with every group of chunks.
//!
//! Why: DuckDB 2.0 plans `INSERT … ON CONFLICT` as a `MERGE` that hash-joins the incoming
//! rows with a scan of the whole summary table, and plans it again at every execution (a
//! prepared statement that reads a table is always re-bound). Once per group commit that
//! was 7 ms of a 13 ms group on `/s/` at 64 clients, half of the one writer every request
//! waits for, and it grew with the number of sessions ever recorded.
//!
//! So each chunk row carries its share of its session's summary and `seq`, the number of
//! the group commit that indexed it. `recording_folds` holds the last `seq` folded; rows
//! after it are folded in one statement when enough have gathered, and before anything
//! reads the summaries, so a read sees every acknowledged chunk. A crash loses nothing:
//! the unfolded rows are in the table, and are folded on the next read or batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use duckdb::{Connection, params};
use tether_store::StoreResult;

use super::db_err;

/// Chunks gathered before the writer folds them on its own (a read folds at once).
const FOLD_EVERY_CHUNKS: usize = 4096;

/// Where folding stands; lives with the write connection.
pub(super) struct Folds {
    /// The `seq` of the next group of chunks.
    next_seq: i64,
    /// Chunks indexed and not yet folded (an upper bound: a group that rolled back counts).
    /// Shared with readers, which fold first only when it is not zero: a read need not
    /// wait for the writer's lock (behind a group of logs, ~45 ms) when nothing is pending.
    /// It grows after a group commits and before the group is acknowledged, so a read
    /// that starts after an acknowledgement sees it.
    pending: Arc<AtomicUsize>,
}

impl Folds {
    /// Reads where folding stands from the database.
    pub(super) fn load(conn: &Connection) -> duckdb::Result<Folds> {
        let (last, pending): (i64, i64) = conn.query_row(
            "SELECT coalesce(max(c.seq), 0), count(*) FILTER (WHERE c.seq > f.seq) \
             FROM recording_chunks c, recording_folds f",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(Folds { next_seq: last + 1, pending: Arc::new(AtomicUsize::new(pending as usize)) })
    }

    /// The count of unfolded chunks, as readers see it.
    pub(super) fn pending(&self) -> Arc<AtomicUsize> {
        self.pending.clone()
    }

    /// The `seq` for a new group of chunks.
    pub(super) fn next_group(&mut self) -> i64 {
        self.next_seq += 1;
        self.next_seq - 1
    }

    /// Notes `chunks` committed unfolded; whether the writer should fold now.
    pub(super) fn committed(&mut self, chunks: usize) -> bool {
        self.pending.fetch_add(chunks, Ordering::SeqCst) + chunks >= FOLD_EVERY_CHUNKS
    }

    /// Folds every chunk row after the last fold into the summaries, in the caller's
    /// transaction; [`Folds::folded`] after it commits.
    pub(super) fn fold(&self, conn: &Connection) -> StoreResult<()> {
        conn.prepare_cached(
            "INSERT INTO recordings \
             SELECT c.project_id, c.session_id, arg_min(c.distinct_id, c.seq), min(c.first_ms), \
                 max(c.last_ms), sum(c.active_ms), \
                 arg_min(c.first_url, c.first_ms) FILTER (WHERE c.first_url IS NOT NULL), \
                 sum(c.clicks), sum(c.keypresses), sum(c.console_errors), sum(c.size), \
                 bool_or(c.has_full_snapshot) \
             FROM recording_chunks c, recording_folds f WHERE c.seq > f.seq \
             GROUP BY c.project_id, c.session_id \
             ON CONFLICT (project_id, session_id) DO UPDATE SET \
             first_url = CASE WHEN excluded.start_ms < recordings.start_ms AND excluded.first_url IS NOT NULL \
                 THEN excluded.first_url ELSE coalesce(recordings.first_url, excluded.first_url) END, \
             start_ms = least(recordings.start_ms, excluded.start_ms), \
             end_ms = greatest(recordings.end_ms, excluded.end_ms), \
             active_ms = recordings.active_ms + excluded.active_ms, \
             clicks = recordings.clicks + excluded.clicks, \
             keypresses = recordings.keypresses + excluded.keypresses, \
             console_errors = recordings.console_errors + excluded.console_errors, \
             size = recordings.size + excluded.size, \
             has_full_snapshot = recordings.has_full_snapshot OR excluded.has_full_snapshot",
        )
        .and_then(|mut st| st.execute([]))
        .map_err(db_err("cannot fold recording summaries"))?;
        conn.prepare_cached("UPDATE recording_folds SET seq = ?")
            .and_then(|mut st| st.execute(params![self.next_seq - 1]))
            .map_err(db_err("cannot note the folded recordings"))?;
        Ok(())
    }

    /// Whether there is anything to fold.
    pub(super) fn is_pending(&self) -> bool {
        self.pending.load(Ordering::SeqCst) > 0
    }

    /// Notes a committed [`Folds::fold`].
    pub(super) fn folded(&mut self) {
        self.pending.store(0, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use tether_model::RecordingStats;
    use tether_store::{ChunkEntry, ChunkPlace, RecordingIndex};

    use super::super::DuckAnalytics;
    use super::*;

    fn chunk(chunk_id: &str, first_ms: i64, clicks: u64) -> ChunkEntry {
        ChunkEntry {
            project_id: 1,
            session_id: "s1".into(),
            window_id: "w1".into(),
            distinct_id: "alice".into(),
            chunk_id: chunk_id.into(),
            place: ChunkPlace { blob_key: format!("seg-{chunk_id}"), offset: 0, length: 10 },
            size: 10,
            stats: RecordingStats {
                first_ms,
                last_ms: first_ms + 500,
                first_url: Some(format!("https://shop.example.com/{first_ms}")),
                clicks,
                active_ms: 100,
                ..Default::default()
            },
        }
    }

    /// (clicks, start, end, size, first url) of session s1.
    async fn summary(duck: &DuckAnalytics) -> (u64, i64, i64, u64, String) {
        let r = duck.recording(1, "s1").await.unwrap().expect("a summary");
        (r.clicks, r.start_ms, r.end_ms, r.size, r.first_url.unwrap_or_default())
    }

    #[tokio::test]
    async fn summaries_hold_every_chunk_across_folds_and_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.duckdb");
        let duck = DuckAnalytics::open(&path).await.unwrap();
        duck.index_chunks(vec![chunk("c1", 2000, 1)]).await.unwrap();
        assert_eq!(summary(&duck).await, (1, 2000, 2500, 10, "https://shop.example.com/2000".into()));
        // Folded into an existing summary; the earlier chunk brings its page.
        duck.index_chunks(vec![chunk("c2", 1000, 2), chunk("c3", 3000, 4)]).await.unwrap();
        assert_eq!(summary(&duck).await, (7, 1000, 3500, 30, "https://shop.example.com/1000".into()));
        // Acknowledged, never folded, then the process ends: the next read folds it.
        duck.index_chunks(vec![chunk("c4", 4000, 8)]).await.unwrap();
        drop(duck);
        let duck = DuckAnalytics::open(&path).await.unwrap();
        assert_eq!(summary(&duck).await, (15, 1000, 4500, 40, "https://shop.example.com/1000".into()));
        duck.index_chunks(vec![chunk("c4", 4000, 8)]).await.unwrap(); // an SDK retry
        assert_eq!(summary(&duck).await.0, 15);
    }

    #[tokio::test]
    async fn the_writer_folds_on_its_own_once_enough_chunks_gather() {
        let dir = tempfile::tempdir().unwrap();
        let duck = DuckAnalytics::open(&dir.path().join("a.duckdb")).await.unwrap();
        let many: Vec<ChunkEntry> =
            (0..FOLD_EVERY_CHUNKS as i64).map(|i| chunk(&format!("c{i}"), i, 1)).collect();
        duck.index_chunks(many).await.unwrap();
        assert!(!duck.inner.writer.lock().unwrap().folds.is_pending(), "folded without a read");
        assert_eq!(summary(&duck).await.0, FOLD_EVERY_CHUNKS as u64);
    }

    /// Chunks indexed before summaries were folded in batches are in their summaries
    /// already: the migration leaves them out of the next fold.
    #[test]
    fn chunks_from_before_the_migration_are_not_folded_again() {
        let conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate_to(&conn, 7).unwrap();
        conn.execute_batch(
            "INSERT INTO recording_chunks VALUES (1, 's1', 'w1', 'c1', 1000, 2000, 'k', 10, 0, 0);
             INSERT INTO recordings VALUES (1, 's1', 'alice', 1000, 2000, 100, NULL, 3, 0, 0, 10, true);",
        )
        .unwrap();
        super::super::schema::migrate(&conn).unwrap();
        let folds = Folds::load(&conn).unwrap();
        assert!(!folds.is_pending());
        folds.fold(&conn).unwrap();
        let clicks: i64 = conn.query_row("SELECT clicks FROM recordings", [], |r| r.get(0)).unwrap();
        assert_eq!(clicks, 3);
    }
}
