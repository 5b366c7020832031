//! The session index of logs (`log_sessions`: where in time each session's logs are, so a
//! session's lookup scans only that span), kept as appended spans and folded in batches.
//!
//! Why: folding each group of logs into the index with `INSERT … ON CONFLICT` made DuckDB
//! 2.0 plan, at every group, a `MERGE` that hash-joins the group's sessions with a scan of
//! the whole index: 5.7 ms per 60 ms group of 4,000 logs at first, 10.4 ms a million logs
//! later, growing with every session ever seen. Now a group appends one row per session it
//! holds to `log_session_spans`, and once [`FOLD_SPANS`] rows have gathered the group's
//! transaction folds them into `log_sessions` and empties the spans. A session's span is
//! read from both tables, so it is exact whenever it is read.

use duckdb::{Connection, params};
use std::collections::HashMap;
use tether_model::{LogRecord, ProjectId};

/// Spans gathered before a group folds them (each read of a session scans them).
pub(super) const FOLD_SPANS: usize = 16_384;

/// Appends the span of each session in `records`; returns how many rows it appended.
pub(super) fn append(conn: &Connection, records: &[&LogRecord]) -> duckdb::Result<usize> {
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
        return Ok(0);
    }
    let mut appender = conn.appender("log_session_spans")?;
    for ((project, session), (first, last, n)) in &spans {
        appender.append_row(params![project, session, first, last, n])?;
    }
    appender.flush()?;
    Ok(spans.len())
}

/// Folds every appended span into the index and empties the spans (in the caller's
/// transaction).
pub(super) fn fold(conn: &Connection) -> duckdb::Result<()> {
    conn.execute_batch(
        "INSERT INTO log_sessions SELECT project_id, session_id, min(first_ts), max(last_ts), sum(logs) \
         FROM log_session_spans GROUP BY project_id, session_id \
         ON CONFLICT (project_id, session_id) DO UPDATE SET first_ts = least(first_ts, excluded.first_ts), \
         last_ts = greatest(last_ts, excluded.last_ts), logs = logs + excluded.logs; \
         DELETE FROM log_session_spans;",
    )
}

/// Rows appended and not yet folded.
pub(super) fn unfolded(conn: &Connection) -> duckdb::Result<usize> {
    conn.query_row("SELECT count(*) FROM log_session_spans", [], |r| r.get::<_, i64>(0)).map(|n| n as usize)
}

/// The first and last log time of a session, if it has logs.
pub(super) fn span(
    conn: &Connection,
    project_id: ProjectId,
    session_id: &str,
) -> duckdb::Result<Option<(i64, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT min(first_ts), max(last_ts) FROM ( \
             SELECT first_ts, last_ts FROM log_sessions WHERE project_id = ? AND session_id = ? \
             UNION ALL SELECT first_ts, last_ts FROM log_session_spans WHERE project_id = ? AND session_id = ?)",
    )?;
    let (first, last): (Option<i64>, Option<i64>) = stmt
        .query_row(params![project_id, session_id, project_id, session_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(first.zip(last))
}

#[cfg(test)]
mod tests {
    use tether_store::conformance::logs::sample;

    use super::*;

    fn log(session: &str, ts: i64) -> LogRecord {
        LogRecord { session_id: Some(session.into()), ..sample(1, ts, "GET /cart") }
    }

    fn append_logs(conn: &Connection, logs: &[LogRecord]) {
        append(conn, &logs.iter().collect::<Vec<_>>()).unwrap();
    }

    #[test]
    fn a_sessions_span_is_exact_before_and_after_a_fold() {
        let conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&conn).unwrap();
        append_logs(&conn, &[log("s1", 500), log("s1", 900), log("s2", 100)]);
        assert_eq!(span(&conn, 1, "s1").unwrap(), Some((500, 900)));
        fold(&conn).unwrap();
        assert_eq!(unfolded(&conn).unwrap(), 0);
        assert_eq!(span(&conn, 1, "s1").unwrap(), Some((500, 900)));
        // Partly in the index, partly in spans not yet folded.
        append_logs(&conn, &[log("s1", 200)]);
        append_logs(&conn, &[log("s1", 1500)]);
        assert_eq!(span(&conn, 1, "s1").unwrap(), Some((200, 1500)));
        fold(&conn).unwrap();
        assert_eq!(span(&conn, 1, "s1").unwrap(), Some((200, 1500)));
        let logs: i64 = conn
            .query_row("SELECT logs FROM log_sessions WHERE session_id = 's1'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(logs, 4);
        assert_eq!(span(&conn, 1, "s2").unwrap(), Some((100, 100)));
        assert_eq!(span(&conn, 1, "never").unwrap(), None);
        assert_eq!(span(&conn, 2, "s1").unwrap(), None, "another project");
    }
}
