//! What was stored lately, in memory: the de-duplication keys (event and exception uuids,
//! recording chunk ids) of everything the write connection committed with a timestamp at
//! or after a horizon.
//!
//! An SDK retry repeats a uuid seconds to minutes after the original, so nearly every
//! duplicate is found here without asking DuckDB. Looking each batch's uuids up in the
//! table cost a sixth of the server's CPU on `/e/` at 64 clients, grew with the table, and
//! ran on the one write connection every request waits for. Keys older than the horizon
//! (a late batch, a retry after the set moved on) are still looked up in the table, so the
//! answer is exact either way: the set is bounded by evicting its oldest keys and moving the
//! horizon past them.
//!
//! Keys are 128-bit hashes (xxh3) of the key's text: 16 bytes each instead of the strings,
//! and a collision (which would drop a distinct record) is as likely as a uuid collision.

use std::collections::{BTreeSet, HashSet};

use tether_model::ProjectId;

/// Keys kept per kind: ~60 bytes each, so ~16 MB; minutes of a busy site's events.
pub(super) const CAPACITY: usize = 1 << 18;

/// A key's hash: the project and the key's parts, separated so that no two keys share text.
pub(super) fn key(project: ProjectId, parts: &[&str]) -> u128 {
    let mut text = Vec::with_capacity(8 + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    text.extend_from_slice(&project.to_le_bytes());
    for part in parts {
        text.push(0);
        text.extend_from_slice(part.as_bytes());
    }
    twox_hash::XxHash3_128::oneshot(&text)
}

/// Every key stored at or after `horizon` (ms), and perhaps some older ones.
pub(super) struct RecentKeys {
    horizon: i64,
    keys: HashSet<u128>,
    by_time: BTreeSet<(i64, u128)>,
    capacity: usize,
}

impl RecentKeys {
    /// A set that knows every key stored since `horizon` (`i64::MIN`: an empty table).
    pub(super) fn new(horizon: i64, capacity: usize) -> RecentKeys {
        RecentKeys { horizon, keys: HashSet::new(), by_time: BTreeSet::new(), capacity: capacity.max(1) }
    }

    /// Whether the set can answer for a record of time `ts`; if not, ask the table.
    pub(super) fn covers(&self, ts: i64) -> bool {
        ts >= self.horizon
    }

    /// Whether a covered key was stored.
    pub(super) fn contains(&self, key: u128) -> bool {
        self.keys.contains(&key)
    }

    /// Records a committed key; past the capacity the oldest keys go and the horizon
    /// moves after them.
    pub(super) fn insert(&mut self, ts: i64, key: u128) {
        if !self.covers(ts) || !self.keys.insert(key) {
            return;
        }
        self.by_time.insert((ts, key));
        while self.keys.len() > self.capacity {
            let Some((oldest, _)) = self.by_time.first().copied() else { break };
            self.forget_before(oldest.saturating_add(1));
        }
    }

    /// Stops answering for records before `ts` (retention deleted them, or room is needed).
    pub(super) fn forget_before(&mut self, ts: i64) {
        self.horizon = self.horizon.max(ts);
        while let Some((t, k)) = self.by_time.first().copied() {
            if t >= self.horizon {
                break;
            }
            self.by_time.pop_first();
            self.keys.remove(&k);
        }
    }
}

/// The recent keys of each de-duplicated table.
pub(super) struct Recent {
    pub events: RecentKeys,
    pub exceptions: RecentKeys,
    pub chunks: RecentKeys,
}

/// Which table a staged key belongs to.
#[derive(Debug, Clone, Copy)]
pub(super) enum Table {
    Events,
    Exceptions,
    Chunks,
}

impl Recent {
    /// The newest [`CAPACITY`] keys of each table.
    pub(super) fn load(conn: &duckdb::Connection) -> duckdb::Result<Recent> {
        let load = |sql: &str| -> duckdb::Result<RecentKeys> {
            let mut stmt = conn.prepare(&format!("{sql} LIMIT {CAPACITY}"))?;
            let rows = stmt.query_map([], |r| {
                let parts: Vec<String> =
                    (2..r.as_ref().column_count()).map(|i| r.get(i)).collect::<Result<_, _>>()?;
                let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
                Ok((r.get::<_, i64>(0)?, key(r.get(1)?, &parts)))
            })?;
            let rows: Vec<(i64, u128)> = rows.collect::<Result<_, _>>()?;
            // Full: the oldest time loaded may have more keys than fit, so answer after it.
            let horizon = match rows.last() {
                Some((oldest, _)) if rows.len() >= CAPACITY => oldest.saturating_add(1),
                _ => i64::MIN,
            };
            let mut set = RecentKeys::new(horizon, CAPACITY);
            for (ts, k) in rows {
                set.insert(ts, k);
            }
            Ok(set)
        };
        Ok(Recent {
            events: load("SELECT ts_ms, project_id, uuid FROM events ORDER BY ts_ms DESC")?,
            exceptions: load("SELECT ts_ms, project_id, uuid FROM exceptions ORDER BY ts_ms DESC")?,
            chunks: load(
                "SELECT first_ms, project_id, session_id, chunk_id FROM recording_chunks ORDER BY first_ms DESC",
            )?,
        })
    }

    fn get_mut(&mut self, table: Table) -> &mut RecentKeys {
        match table {
            Table::Events => &mut self.events,
            Table::Exceptions => &mut self.exceptions,
            Table::Chunks => &mut self.chunks,
        }
    }
}

/// A transaction's view: the recent keys to look in, and the keys it stores, which join
/// them only once it commits (a rolled-back record must not look stored to its retry).
pub(super) struct Dedup<'a> {
    recent: &'a mut Recent,
    staged: Vec<(Table, i64, u128)>,
}

impl<'a> Dedup<'a> {
    pub(super) fn new(recent: &'a mut Recent) -> Dedup<'a> {
        Dedup { recent, staged: Vec::new() }
    }

    /// The records of `items` the recent keys cannot answer for (older than the horizon):
    /// the table must be asked about these.
    pub(super) fn uncovered<'t, T>(
        &mut self,
        table: Table,
        items: &'t [T],
        ts: impl Fn(&T) -> i64,
    ) -> Vec<&'t T> {
        let recent = self.recent.get_mut(table);
        items.iter().filter(|item| !recent.covers(ts(item))).collect()
    }

    /// Keeps the first record of each key not stored yet — by the recent keys where they
    /// answer, else by `stored_before` (the table's answer for the [`Dedup::uncovered`]
    /// ones) — and stages the kept keys. `key` gives a record's key and time (ms).
    pub(super) fn keep_new<'t, T>(
        &mut self,
        table: Table,
        items: &'t [T],
        key: impl Fn(&T) -> (u128, i64),
        stored_before: &HashSet<u128>,
    ) -> Vec<&'t T> {
        let mut in_batch = HashSet::new();
        let mut fresh = Vec::new();
        for item in items {
            let (k, ts) = key(item);
            let recent = self.recent.get_mut(table);
            let stored = if recent.covers(ts) { recent.contains(k) } else { stored_before.contains(&k) };
            if !stored && in_batch.insert(k) {
                self.staged.push((table, ts, k));
                fresh.push(item);
            }
        }
        fresh
    }

    /// Stops answering for `table`'s records before `ts`, at once: answering for less is
    /// right whether or not the transaction commits.
    pub(super) fn forget_before(&mut self, table: Table, ts: i64) {
        self.recent.get_mut(table).forget_before(ts);
    }

    /// Adds what the committed transaction stored.
    pub(super) fn commit(self) {
        for (table, ts, key) in self.staged {
            self.recent.get_mut(table).insert(ts, key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicting_moves_the_horizon_so_older_records_are_looked_up_in_the_table() {
        let mut set = RecentKeys::new(i64::MIN, 3);
        for (ts, k) in [(10, 1), (20, 2), (30, 3)] {
            set.insert(ts, k);
        }
        assert!(set.covers(0) && set.contains(1));
        set.insert(25, 4);
        assert!(!set.covers(10), "the oldest key went, and with it the answer for its time");
        assert!(set.covers(11) && set.contains(2) && set.contains(4) && set.contains(3));
        set.insert(5, 9);
        assert!(!set.contains(9), "a key before the horizon is not kept (the table answers for it)");
    }

    #[test]
    fn forgetting_drops_keys_before_the_time() {
        let mut set = RecentKeys::new(i64::MIN, 10);
        set.insert(10, 1);
        set.insert(20, 2);
        set.forget_before(15);
        assert!(!set.covers(14) && set.covers(15));
        assert!(!set.contains(1) && set.contains(2));
    }

    mod store {
        use std::path::Path;

        use tether_store::conformance::events::event;
        use tether_store::{EventStore, RecordingIndex};

        use super::super::super::DuckAnalytics;
        use super::*;

        async fn open(dir: &Path) -> DuckAnalytics {
            DuckAnalytics::open(&dir.join("a.duckdb")).await.unwrap()
        }

        fn at(uuid: &str, ms: i64) -> tether_model::Event {
            tether_model::Event { timestamp_ms: ms, ..event(1, uuid, "s1") }
        }

        async fn uuids(duck: &DuckAnalytics) -> Vec<String> {
            let mut got: Vec<String> =
                duck.session_events(1, "s1", 100).await.unwrap().into_iter().map(|e| e.uuid).collect();
            got.sort();
            got
        }

        #[tokio::test]
        async fn a_retry_after_a_restart_is_still_dropped() {
            let dir = tempfile::tempdir().unwrap();
            let duck = open(dir.path()).await;
            duck.append_events(vec![at("u1", 1000)]).await.unwrap();
            let chunk = tether_store::ChunkEntry {
                project_id: 1,
                session_id: "s1".into(),
                window_id: "w1".into(),
                distinct_id: "alice".into(),
                chunk_id: "c1".into(),
                place: tether_store::ChunkPlace { blob_key: "k".into(), offset: 0, length: 1 },
                size: 10,
                stats: Default::default(),
            };
            duck.index_chunks(vec![chunk.clone()]).await.unwrap();
            drop(duck);
            let duck = open(dir.path()).await;
            duck.append_events(vec![at("u1", 1000), at("u2", 1000)]).await.unwrap();
            duck.index_chunks(vec![chunk]).await.unwrap();
            assert_eq!(uuids(&duck).await, ["u1", "u2"]);
            assert_eq!(duck.chunks(1, "s1").await.unwrap().len(), 1);
        }

        #[tokio::test]
        async fn a_retry_older_than_the_recent_keys_is_found_in_the_table() {
            let dir = tempfile::tempdir().unwrap();
            let duck = open(dir.path()).await;
            duck.inner.writer.lock().unwrap().recent.events = RecentKeys::new(i64::MIN, 2);
            for (uuid, ms) in [("u1", 1000), ("u2", 2000), ("u3", 3000)] {
                duck.append_events(vec![at(uuid, ms)]).await.unwrap();
            }
            assert!(!duck.inner.writer.lock().unwrap().recent.events.covers(1000), "u1 fell out");
            duck.append_events(vec![at("u1", 1000), at("u3", 3000), at("u4", 500)]).await.unwrap();
            assert_eq!(uuids(&duck).await, ["u1", "u2", "u3", "u4"]);
        }
    }

    #[test]
    fn keys_of_different_projects_or_parts_differ() {
        assert_ne!(key(1, &["a"]), key(2, &["a"]));
        assert_ne!(key(1, &["ab", "c"]), key(1, &["a", "bc"]));
        assert_eq!(key(1, &["s", "c"]), key(1, &["s", "c"]));
    }
}
