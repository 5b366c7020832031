//! Logs kept in DuckDB (the embedded log store before the row store became the default)
//! move into the row store when a server opens it: in batches in id order, each durable in
//! the row store before its progress is written beside it (`logs/moving-from-duckdb`), so a
//! server stopped or killed midway goes on where it stopped and never stores a log twice;
//! once every project's logs are in the row store they are deleted from DuckDB. Logs are
//! read from the row store only, so the server moves them before it serves.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use tether_model::{LogId, ProjectId};
use tether_store::{ErrorKind, LogFilter, LogReader, LogWriter, StoreError, StoreResult, StoredLog};

use crate::rows::files::{io_err, replace_file, sync_dir};
use crate::{DuckAnalytics, RowStore};

/// The progress file in the row store's folder: a line `<project> <id>` per project begun,
/// every log of the project up to that id being in the row store.
const PROGRESS: &str = "moving-from-duckdb";

/// Logs read from DuckDB and appended at once (~20 MB of logs).
const BATCH: usize = 20_000;

/// Moves every log of `duck` into `rows` (whose folder is `rows_dir`) and deletes it from
/// `duck`; returns how many were moved (0 when DuckDB holds none, at once). Read by ranges
/// of ids (`ORDER BY id LIMIT` after the last id moved read every later row group: 3 M
/// logs took 205 s, ~15,000 logs/s, slower the more were left).
pub async fn move_duckdb_logs(duck: &DuckAnalytics, rows: &RowStore, rows_dir: &Path) -> StoreResult<u64> {
    move_in_batches(duck, rows, rows_dir, BATCH).await
}

async fn move_in_batches(
    duck: &DuckAnalytics,
    rows: &RowStore,
    rows_dir: &Path,
    batch: usize,
) -> StoreResult<u64> {
    let path = rows_dir.join(PROGRESS);
    let projects = duck.projects_with_logs().await?;
    let total: u64 = projects.iter().map(|p| p.logs).sum();
    if total == 0 {
        return off_reactor(move || remove(&path)).await.map(|()| 0);
    }
    tracing::info!(logs = total, "moving the logs in DuckDB into the row store");
    let mut done = off_reactor({
        let path = path.clone();
        move || read_progress(&path)
    })
    .await?;
    let (mut moved, mut reported) = (0, 0);
    for p in &projects {
        let (first, last) = (*p.ids.start(), *p.ids.end());
        let mut after = done.get(&p.project).copied().unwrap_or(first.saturating_sub(1));
        // The ids read at once: those of `batch` logs on average, then as the logs come.
        let mut window = (last.saturating_sub(first) as f64 / p.logs as f64 * batch as f64).max(1.0) as i64;
        // Until a batch holds a log the row store lacks, its logs may be what a run killed
        // after an append and before writing its progress left.
        let mut check = true;
        while after < last {
            let upto = after.saturating_add(window);
            let mut logs = duck.logs_by_id(p.project, after, upto, batch).await?;
            let full = logs.len() == batch;
            // Every log of (after, reached] is in `logs`.
            let reached = if full { logs.last().map_or(upto, |l| l.id.0) } else { upto };
            window = match logs.len() {
                n if n == batch => (window / 2).max(1),
                n if n < batch / 2 => window.saturating_mul(2),
                _ => window,
            };
            if check {
                let stored = stored_between(rows, p.project, LogId(after), LogId(reached)).await?;
                logs.retain(|l| !stored.contains(&l.id.0));
                check = logs.is_empty();
            }
            moved += logs.len() as u64;
            rows.append_logs(logs).await?;
            after = reached;
            done.insert(p.project, reached);
            let (to, progress) = (path.clone(), done.clone());
            off_reactor(move || write_progress(&to, &progress)).await?;
            if moved >= reported + 1_000_000 {
                reported = moved;
                tracing::info!(moved, of = total, "moving logs into the row store");
            }
        }
    }
    for p in &projects {
        duck.delete_logs_before(p.project, i64::MAX).await?;
    }
    off_reactor(move || remove(&path)).await?;
    tracing::info!(moved, "the logs in DuckDB are in the row store now");
    Ok(moved)
}

/// The ids the row store holds of `project` in `(after, last]`.
async fn stored_between(
    rows: &RowStore,
    project: ProjectId,
    after: LogId,
    last: LogId,
) -> StoreResult<HashSet<i64>> {
    let mut stored = HashSet::new();
    let mut from = after;
    loop {
        let logs: Vec<StoredLog> =
            rows.tail(LogFilter::new(project, i64::MIN, i64::MAX), from, BATCH).await?;
        let Some(newest) = logs.last().map(|l| l.id) else { return Ok(stored) };
        stored.extend(logs.iter().map(|l| l.id.0).filter(|&id| id <= last.0));
        if newest >= last {
            return Ok(stored);
        }
        from = newest;
    }
}

/// Runs `f` (file reads, writes and syncs) on a blocking thread, off the async reactor.
async fn off_reactor<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::internal("progress file task failed", e))?
}

fn read_progress(path: &Path) -> StoreResult<BTreeMap<ProjectId, i64>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io_err("cannot read the progress of moving logs")(e)),
    };
    let line = |line: &str| {
        let (project, last) = line.split_once(' ')?;
        Some((project.parse().ok()?, last.parse().ok()?))
    };
    let bad = |l: &str| {
        StoreError::new(ErrorKind::Internal, format!("{}: not a progress line: {l:?}", path.display()))
    };
    text.lines().map(|l| line(l).ok_or_else(|| bad(l))).collect()
}

fn write_progress(path: &Path, done: &BTreeMap<ProjectId, i64>) -> StoreResult<()> {
    let text: String = done.iter().map(|(project, last)| format!("{project} {last}\n")).collect();
    replace_file(path, text.as_bytes())
}

fn remove(path: &Path) -> StoreResult<()> {
    match std::fs::remove_file(path) {
        Ok(()) => sync_dir(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("cannot remove the progress of moving logs")(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RowSettings;

    const T0: i64 = 1_700_000_000_000_000_000;

    fn log(project: ProjectId, n: i64) -> StoredLog {
        let record =
            tether_store::conformance::logs::sample(project, T0 + n * 1_000, &format!("moved log {n}"));
        StoredLog { id: LogId(10_000 * project + n), record }
    }

    async fn ids_in(store: &dyn LogReader, project: ProjectId) -> Vec<i64> {
        let filter = LogFilter::new(project, i64::MIN, i64::MAX);
        store.tail(filter, LogId(i64::MIN), 1_000).await.unwrap().iter().map(|l| l.id.0).collect()
    }

    /// A run killed after it appended a batch and before it wrote that batch's progress
    /// (the worst place): the next run stores each log once, empties DuckDB and removes
    /// the progress; a run after that has nothing to move.
    #[tokio::test]
    async fn logs_move_once_each_from_duckdb_into_the_row_store() {
        let dir = tempfile::tempdir().unwrap();
        let duck = DuckAnalytics::open(&dir.path().join("analytics.duckdb")).await.unwrap();
        let rows_dir = dir.path().join("logs");
        let rows = RowStore::open(&rows_dir, RowSettings::default()).await.unwrap();
        duck.append_logs((0..45).map(|n| log(1, n)).chain((0..10).map(|n| log(2, n))).collect())
            .await
            .unwrap();
        let (want1, want2) = (ids_in(&duck, 1).await, ids_in(&duck, 2).await);
        assert_eq!((want1.len(), want2.len()), (45, 10));

        // The killed run: project 1's first two batches appended, only the first recorded.
        rows.append_logs((0..40).map(|n| log(1, n)).collect()).await.unwrap();
        write_progress(&rows_dir.join(PROGRESS), &BTreeMap::from([(1, 10_000 + 19)])).unwrap();

        assert_eq!(move_in_batches(&duck, &rows, &rows_dir, 20).await.unwrap(), 15);
        assert_eq!(ids_in(&rows, 1).await, want1);
        assert_eq!(ids_in(&rows, 2).await, want2);
        assert!(ids_in(&duck, 1).await.is_empty() && ids_in(&duck, 2).await.is_empty());
        assert!(!rows_dir.join(PROGRESS).exists());
        let found = rows.get(1, LogId(10_000 + 44)).await.unwrap().expect("the newest log of project 1");
        assert_eq!(found.record.body, "moved log 44");

        assert_eq!(move_in_batches(&duck, &rows, &rows_dir, 20).await.unwrap(), 0);
        assert_eq!(ids_in(&rows, 1).await, want1);
    }
}
