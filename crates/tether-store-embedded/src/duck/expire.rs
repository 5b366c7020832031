//! Retention in DuckDB: deleting a project's old logs, events and recordings.
//!
//! DuckDB has no partitions to drop. Logs are appended nearly in time order, so deleting by
//! time empties whole row groups, which DuckDB's checkpoint then frees for reuse. Deletes
//! run in short steps on the write connection, between appends, never as one long
//! transaction that would hold ingest up.

use duckdb::types::Value;
use duckdb::{params, params_from_iter};
use tether_model::ProjectId;
use tether_store::StoreResult;

use super::query::Where;
use super::recent::Table;
use super::{DuckAnalytics, db_err};

/// The span of log time one delete transaction covers: an hour is ~400k logs at 10 M a
/// day, tens of milliseconds of DuckDB work.
const LOG_STEP_NS: i64 = 3_600_000_000_000;
const MINUTE_NS: i64 = 60_000_000_000;

/// Deletes the project's logs before `before_ns`, an hour of logs per transaction, then
/// fixes what was derived from them: per-minute counts (the minute that straddles
/// `before_ns` is recounted) and session spans (ended sessions removed, the rest clipped).
pub(super) async fn logs(db: &DuckAnalytics, project_id: ProjectId, before_ns: i64) -> StoreResult<u64> {
    let mut deleted = 0;
    loop {
        let oldest: Option<i64> = db
            .read(move |conn| {
                conn.query_row(
                    "SELECT min(ts) FROM logs WHERE project_id = ? AND ts < ?",
                    params![project_id, before_ns],
                    |r| r.get(0),
                )
                .map_err(db_err("cannot find the oldest log"))
            })
            .await?;
        let Some(from) = oldest else { break };
        let to = from.saturating_add(LOG_STEP_NS).min(before_ns);
        deleted += db
            .write(move |conn| {
                let n = conn
                    .execute("DELETE FROM logs WHERE project_id = ? AND ts < ?", params![project_id, to])
                    .map_err(db_err("cannot delete logs"))?;
                Ok(n as u64)
            })
            .await?;
    }
    let minute = before_ns.div_euclid(MINUTE_NS) * MINUTE_NS;
    db.write(move |conn| {
        let p = params![project_id, minute];
        conn.execute("DELETE FROM log_minute_counts WHERE project_id = ? AND minute <= ?", p)
            .and_then(|_| {
                conn.execute(
                    "INSERT INTO log_minute_counts SELECT project_id, ?, severity, service, count(*) \
                     FROM logs WHERE project_id = ? AND ts >= ? AND ts < ? GROUP BY ALL",
                    params![minute, project_id, minute, minute + MINUTE_NS],
                )
            })
            // Folded first, so what is left of each session is clipped once, in one place.
            .and_then(|_| super::session_spans::fold(conn))
            .and_then(|()| {
                conn.execute(
                    "DELETE FROM log_sessions WHERE project_id = ? AND last_ts < ?",
                    params![project_id, before_ns],
                )
            })
            .and_then(|_| {
                // Still a superset of where each session's logs are, so narrowing stays right.
                conn.execute(
                    "UPDATE log_sessions SET first_ts = ? WHERE project_id = ? AND first_ts < ?",
                    params![before_ns, project_id, before_ns],
                )
            })
            .map_err(db_err("cannot update log counts and sessions"))?;
        Ok(())
    })
    .await?;
    Ok(deleted)
}

/// Deletes the project's events and exceptions before `before_ms`.
pub(super) async fn events(db: &DuckAnalytics, project_id: ProjectId, before_ms: i64) -> StoreResult<u64> {
    db.write_deduplicated(move |conn, dedup| {
        // A deleted uuid must not look stored to a late retry.
        dedup.forget_before(Table::Events, before_ms);
        dedup.forget_before(Table::Exceptions, before_ms);
        let mut deleted = 0;
        for table in ["events", "exceptions"] {
            let sql = format!("DELETE FROM {table} WHERE project_id = ? AND ts_ms < ?");
            deleted +=
                conn.execute(&sql, params![project_id, before_ms]).map_err(db_err("cannot delete events"))?;
        }
        Ok(deleted as u64)
    })
    .await
}

/// Sessions of the project whose recording ended before `before_ms`.
pub(super) async fn ended_recordings(
    db: &DuckAnalytics,
    project_id: ProjectId,
    before_ms: i64,
    limit: usize,
) -> StoreResult<Vec<String>> {
    db.read_recordings(move |conn| {
        let mut stmt = conn
            .prepare("SELECT session_id FROM recordings WHERE project_id = ? AND end_ms < ? LIMIT ?")
            .map_err(db_err("cannot prepare ended recordings"))?;
        let rows = stmt
            .query_map(params![project_id, before_ms, limit as i64], |r| r.get(0))
            .map_err(db_err("ended recordings query failed"))?;
        rows.collect::<Result<_, _>>().map_err(db_err("cannot read ended recording"))
    })
    .await
}

/// Removes the sessions' summaries and chunk entries, in one transaction.
pub(super) async fn forget_recordings(
    db: &DuckAnalytics,
    project_id: ProjectId,
    session_ids: Vec<String>,
) -> StoreResult<()> {
    if session_ids.is_empty() {
        return Ok(());
    }
    db.write_deduplicated(move |conn, dedup| {
        let mut w = Where::default();
        w.push("project_id = ?", [Value::BigInt(project_id)]);
        w.push_in("session_id", session_ids.into_iter().map(Value::Text));
        // A deleted chunk must not look indexed if its bytes are sent again.
        let newest: Option<i64> = conn
            .query_row(
                &format!("SELECT max(first_ms) FROM recording_chunks {}", w.sql()),
                params_from_iter(w.params()),
                |r| r.get(0),
            )
            .map_err(db_err("cannot find the recordings' chunks"))?;
        if let Some(newest) = newest {
            dedup.forget_before(Table::Chunks, newest.saturating_add(1));
        }
        for table in ["recording_chunks", "recordings"] {
            conn.execute(&format!("DELETE FROM {table} {}", w.sql()), params_from_iter(w.params()))
                .map_err(db_err("cannot delete recordings"))?;
        }
        Ok(())
    })
    .await
}
