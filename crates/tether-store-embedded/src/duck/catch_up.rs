//! Feeding the derived indexes what they do not cover yet, at open: every log after the
//! last one an index knows (after a crash, what was still in memory; after losing the
//! folder, everything).

use duckdb::types::Value;
use duckdb::{Connection, Row, params_from_iter};
use tether_model::ProjectId;
use tether_store::{StoreError, StoreResult};

use super::db_err;
use super::query::LOG_COLUMNS;
use super::read::row_to_log;
use crate::id_index::IdIndex;
use crate::text_index::TextIndex;

/// Logs fed between two seals, so a rebuild holds at most about a segment in memory.
const SEAL_EVERY: u64 = 100_000;

/// About how many rows one window of [`in_windows`] reads.
const WINDOW_ROWS: usize = 20_000;

/// Calls `each` with the rows of `SELECT {columns} FROM logs WHERE {filter} AND id > after`
/// (`filter` taking `params`), in windows of ids, each in the order the rows were
/// appended: duckdb-rs holds a query's whole result in memory, and one query over 10 M logs
/// took the server to 8.6 GB. A window starts at about a second of ids (ids are
/// microseconds × 1,024) and halves or doubles to stay near [`WINDOW_ROWS`] rows.
fn in_windows<T>(
    conn: &Connection,
    columns: &str,
    filter: &str,
    params: &[Value],
    after: i64,
    mut row: impl FnMut(&Row<'_>) -> duckdb::Result<T>,
    mut each: impl FnMut(Vec<T>) -> StoreResult<()>,
) -> StoreResult<()> {
    let with =
        |extra: [i64; 2]| -> Vec<Value> { params.iter().cloned().chain(extra.map(Value::BigInt)).collect() };
    let bounds = format!("SELECT min(id), max(id) FROM logs WHERE {filter} AND id > ? AND id <= ?");
    let (first, last): (Option<i64>, Option<i64>) = conn
        .query_row(&bounds, params_from_iter(with([after, i64::MAX])), |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db_err("cannot read logs to index"))?;
    let (Some(first), Some(last)) = (first, last) else { return Ok(()) };
    let sql = format!("SELECT {columns} FROM logs WHERE {filter} AND id > ? AND id <= ?");
    let mut stmt = conn.prepare(&sql).map_err(db_err("cannot read logs to index"))?;
    let (mut low, mut step) = (first - 1, 1_i64 << 30);
    while low < last {
        let high = low.saturating_add(step).min(last);
        let rows = stmt
            .query_map(params_from_iter(with([low, high])), &mut row)
            .and_then(Iterator::collect::<duckdb::Result<Vec<T>>>)
            .map_err(db_err("cannot read a log to index"))?;
        step = match rows.len() {
            n if n > 2 * WINDOW_ROWS => (step / 2).max(1),
            n if n < WINDOW_ROWS / 2 => step.saturating_mul(2),
            _ => step,
        };
        each(rows)?;
        low = high;
    }
    Ok(())
}

/// Adds to `index` every log it lacks, in the order they were appended, and writes the
/// full segments.
pub(super) fn text(conn: &Connection, index: &mut TextIndex) -> StoreResult<u64> {
    let seal = |index: &mut TextIndex| {
        index.seal_full().map_err(|e| StoreError::internal("cannot write the text index", e))
    };
    let mut projects = conn
        .prepare("SELECT DISTINCT project_id FROM logs")
        .map_err(db_err("cannot list projects with logs"))?;
    let projects: Vec<ProjectId> = projects
        .query_map([], |r| r.get(0))
        .and_then(Iterator::collect)
        .map_err(db_err("cannot list projects with logs"))?;
    let mut fed = 0;
    for project_id in projects {
        let after = index.last_id(project_id).unwrap_or(i64::MIN);
        let row =
            |r: &Row<'_>| -> duckdb::Result<(i64, i64, String)> { Ok((r.get(0)?, r.get(1)?, r.get(2)?)) };
        in_windows(
            conn,
            "id, ts, body",
            "project_id = ?",
            &[Value::BigInt(project_id)],
            after,
            row,
            |rows| {
                for (id, ts, body) in rows {
                    index.add(project_id, id, ts, &body);
                    fed += 1;
                    if fed % SEAL_EVERY == 0 {
                        seal(index)?;
                    }
                }
                Ok(())
            },
        )?;
    }
    seal(index)?;
    if fed > 0 {
        tracing::info!(logs = fed, "text index caught up with the stored logs");
    }
    Ok(fed)
}

/// Adds to the id index every log above the highest it holds, and commits.
pub(super) fn ids(conn: &Connection, index: &IdIndex) -> StoreResult<u64> {
    let mut fed = 0;
    in_windows(conn, &LOG_COLUMNS, "true", &[], index.covered(), row_to_log, |logs| {
        fed += logs.len() as u64;
        index.add(logs).map_err(|e| StoreError::internal("cannot add to the id index", e))
    })?;
    index.commit().map_err(|e| StoreError::internal("cannot commit the id index", e))?;
    if fed > 0 {
        tracing::info!(logs = fed, "id index caught up with the stored logs");
    }
    Ok(fed)
}
