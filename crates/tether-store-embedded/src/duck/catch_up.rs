//! Feeding the derived indexes what they do not cover yet, at open: every log after the
//! last one an index knows (after a crash, what was still in memory; after losing the
//! folder, everything).

use duckdb::{Connection, params};
use tether_model::ProjectId;
use tether_store::{StoreError, StoreResult};

use super::db_err;
use super::query::LOG_COLUMNS;
use super::read::row_to_log;
use crate::id_index::IdIndex;
use crate::text_index::TextIndex;

/// Logs fed between two seals, so a rebuild holds at most about a segment in memory.
const SEAL_EVERY: u64 = 100_000;

/// Adds to `index` every log it lacks, in the order they were appended (DuckDB keeps
/// insertion order for scans), and writes the full segments.
pub(super) fn text(conn: &Connection, index: &mut TextIndex) -> StoreResult<u64> {
    let seal = |index: &mut TextIndex| {
        index.seal_full().map_err(|e| StoreError::internal("cannot write the text index", e))
    };
    let mut projects = conn
        .prepare("SELECT project_id, max(id) FROM logs GROUP BY project_id")
        .map_err(db_err("cannot list projects with logs"))?;
    let newest: Vec<(ProjectId, i64)> = projects
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(Iterator::collect)
        .map_err(db_err("cannot list projects with logs"))?;
    let mut fed = 0;
    for (project_id, max_id) in newest {
        let after = index.last_id(project_id).unwrap_or(i64::MIN);
        if after >= max_id {
            continue;
        }
        let mut stmt = conn
            .prepare("SELECT id, ts, body FROM logs WHERE project_id = ? AND id > ?")
            .map_err(db_err("cannot read logs to index"))?;
        let mut rows = stmt.query(params![project_id, after]).map_err(db_err("cannot read logs to index"))?;
        while let Some(row) = rows.next().map_err(db_err("cannot read a log to index"))? {
            let (id, ts, body): (i64, i64, String) = (
                row.get(0).map_err(db_err("bad log id"))?,
                row.get(1).map_err(db_err("bad log time"))?,
                row.get(2).map_err(db_err("bad log body"))?,
            );
            index.add(project_id, id, ts, &body);
            fed += 1;
            if fed % SEAL_EVERY == 0 {
                seal(index)?;
            }
        }
    }
    seal(index)?;
    if fed > 0 {
        tracing::info!(logs = fed, "text index caught up with the stored logs");
    }
    Ok(fed)
}

/// Logs added to the id index at a time.
const ID_BATCH: usize = 10_000;

/// Adds to the id index every log above the highest it holds, and commits.
pub(super) fn ids(conn: &Connection, index: &IdIndex) -> StoreResult<u64> {
    let failed = |e| StoreError::internal("cannot add to the id index", e);
    let sql = format!("SELECT {} FROM logs WHERE id > ?", *LOG_COLUMNS);
    let mut stmt = conn.prepare(&sql).map_err(db_err("cannot read logs to index"))?;
    let mut rows = stmt.query(params![index.covered()]).map_err(db_err("cannot read logs to index"))?;
    let (mut batch, mut fed) = (Vec::with_capacity(ID_BATCH), 0);
    while let Some(row) = rows.next().map_err(db_err("cannot read a log to index"))? {
        batch.push(row_to_log(row).map_err(db_err("cannot read a log to index"))?);
        if batch.len() == ID_BATCH {
            index.add(&batch).map_err(failed)?;
            fed += batch.len() as u64;
            batch.clear();
        }
    }
    index.add(&batch).map_err(failed)?;
    fed += batch.len() as u64;
    index.commit().map_err(failed)?;
    if fed > 0 {
        tracing::info!(logs = fed, "id index caught up with the stored logs");
    }
    Ok(fed)
}
