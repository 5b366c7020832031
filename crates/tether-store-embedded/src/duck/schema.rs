//! DuckDB schema and its versioned migrations, applied in order at open.

use duckdb::Connection;

/// Each migration runs once, in a transaction, in version order. Never edit a released one;
/// add a new version.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "
    -- One row per log. Times are Unix nanoseconds; ids increase in arrival order, so both
    -- columns are nearly sorted on disk and DuckDB's per-row-group min/max skip most data
    -- for time-range and id lookups.
    CREATE TABLE logs (
        project_id          BIGINT   NOT NULL,
        id                  BIGINT   NOT NULL,
        ts                  BIGINT   NOT NULL,
        observed_ts         BIGINT   NOT NULL,
        severity            UTINYINT NOT NULL,
        severity_text       VARCHAR  NOT NULL,
        severity_number     INTEGER  NOT NULL,
        service             VARCHAR  NOT NULL,
        body                VARCHAR  NOT NULL,
        session_id          VARCHAR,
        distinct_id         VARCHAR,
        trace_id            VARCHAR  NOT NULL,
        span_id             VARCHAR  NOT NULL,
        trace_flags         UINTEGER NOT NULL,
        event_name          VARCHAR  NOT NULL,
        scope_name          VARCHAR  NOT NULL,
        scope_version       VARCHAR  NOT NULL,
        attributes          VARCHAR  NOT NULL, -- JSON object, value types kept
        resource_attributes VARCHAR  NOT NULL,
        scope_attributes    VARCHAR  NOT NULL
    );
    -- The session index: where in time each session's logs are, so a session lookup scans
    -- only that span instead of the whole table.
    CREATE TABLE log_sessions (
        project_id BIGINT  NOT NULL,
        session_id VARCHAR NOT NULL,
        first_ts   BIGINT  NOT NULL,
        last_ts    BIGINT  NOT NULL,
        logs       BIGINT  NOT NULL,
        PRIMARY KEY (project_id, session_id)
    );
    ",
    ),
    (
        2,
        "
    -- Log counts per minute, severity and service, appended with each batch: the
    -- unfiltered histogram (the logs page's default) sums these instead of scanning logs.
    CREATE TABLE log_minute_counts (
        project_id BIGINT   NOT NULL,
        minute     BIGINT   NOT NULL, -- Unix nanoseconds, a multiple of 60 s
        severity   UTINYINT NOT NULL,
        service    VARCHAR  NOT NULL,
        n          BIGINT   NOT NULL
    );
    -- Backfill for databases created before this table existed.
    INSERT INTO log_minute_counts
        SELECT project_id, (ts // 60000000000) * 60000000000, severity, service, count(*)
        FROM logs GROUP BY ALL;
    ",
    ),
    (3, include_str!("capture_tables.sql")),
    (4, include_str!("compact_logs.sql")),
    (5, include_str!("slot_attributes.sql")),
    (6, include_str!("slot_keys.sql")),
    (
        7,
        "
    -- Chunks are byte ranges of segments (one blob per group commit); rows from before
    -- keep 0 and 0: the whole blob.
    ALTER TABLE recording_chunks ADD COLUMN blob_offset BIGINT DEFAULT 0;
    ALTER TABLE recording_chunks ADD COLUMN blob_length BIGINT DEFAULT 0;
    ",
    ),
    (
        8,
        "
    -- Each chunk carries its share of its session's summary, and the number of the group
    -- commit that indexed it: summaries are folded from chunks in batches (see fold.rs).
    -- Rows from before have no number: their sessions' summaries already hold them.
    ALTER TABLE recording_chunks ADD COLUMN seq BIGINT;
    ALTER TABLE recording_chunks ADD COLUMN distinct_id VARCHAR;
    ALTER TABLE recording_chunks ADD COLUMN active_ms BIGINT;
    ALTER TABLE recording_chunks ADD COLUMN first_url VARCHAR;
    ALTER TABLE recording_chunks ADD COLUMN clicks BIGINT;
    ALTER TABLE recording_chunks ADD COLUMN keypresses BIGINT;
    ALTER TABLE recording_chunks ADD COLUMN console_errors BIGINT;
    ALTER TABLE recording_chunks ADD COLUMN has_full_snapshot BOOLEAN;
    -- The last group commit of chunks folded into the summaries.
    CREATE TABLE recording_folds (seq BIGINT NOT NULL);
    INSERT INTO recording_folds VALUES (0);
    ",
    ),
    (
        9,
        "
    -- Where each session's logs are, per group of logs, until folded into log_sessions
    -- (see session_spans.rs).
    CREATE TABLE log_session_spans (
        project_id BIGINT  NOT NULL,
        session_id VARCHAR NOT NULL,
        first_ts   BIGINT  NOT NULL,
        last_ts    BIGINT  NOT NULL,
        logs       BIGINT  NOT NULL
    );
    ",
    ),
];

/// Applies the migrations this database has not seen yet.
pub(super) fn migrate(conn: &Connection) -> duckdb::Result<()> {
    migrate_to(conn, i32::MAX)
}

/// Applies the unseen migrations up to version `last`.
pub(super) fn migrate_to(conn: &Connection, last: i32) -> duckdb::Result<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")?;
    let current: i32 =
        conn.query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current && *v <= last) {
        conn.execute_batch("BEGIN TRANSACTION")?;
        let applied = conn
            .execute_batch(sql)
            .and_then(|()| conn.execute("INSERT INTO schema_migrations VALUES (?)", [version]).map(drop));
        match applied {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                conn.execute_batch("ROLLBACK")?;
                return Err(e);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies the remaining migrations and reads every log back, in id order.
    fn migrated_logs(conn: &Connection) -> Vec<tether_store::StoredLog> {
        migrate(conn).unwrap();
        let sql = format!("SELECT {} FROM logs ORDER BY id", *super::super::query::LOG_COLUMNS);
        let mut stmt = conn.prepare(&sql).unwrap();
        stmt.query_map([], super::super::read::row_to_log).unwrap().map(Result::unwrap).collect()
    }

    /// A log written in the JSON-text layout (versions 1 to 3) reads back unchanged from
    /// the compact layout of version 4, value types included.
    #[test]
    fn compact_layout_migration_keeps_every_field() {
        let conn = Connection::open_in_memory().unwrap();
        migrate_to(&conn, 3).unwrap();
        conn.execute_batch(
            r#"INSERT INTO logs VALUES (1, 42, 1000, 1500, 9, 'INFO', 9, 'api', 'GET /cart', 's1', 'u1',
               '4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', 1, 'ev', 'scope', '1.0',
               '{"http.route":"/cart","status":200,"ms":1.5,"ok":true,"tags":["a",1],"a/b~c":null}',
               '{"service.name":"api"}', '{}'),
               (1, 43, 2000, 2000, 9, 'INFO', 9, 'api', 'no ids', NULL, NULL, '', '', 0, '', '', '',
               '{}', '{}', '{}')"#,
        )
        .unwrap();
        let logs = migrated_logs(&conn);
        let (a, b) = (&logs[0].record, &logs[1].record);
        assert_eq!((logs[0].id.0, a.timestamp_ns, a.observed_timestamp_ns), (42, 1000, 1500));
        assert_eq!(
            (a.trace_id.as_str(), a.span_id.as_str()),
            ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
        );
        assert_eq!(
            a.attributes.to_json(),
            r#"{"http.route":"/cart","status":200,"ms":1.5,"ok":true,"tags":["a",1],"a/b~c":null}"#
        );
        assert_eq!(a.resource_attributes.to_json(), r#"{"service.name":"api"}"#);
        assert_eq!((b.trace_id.as_str(), b.span_id.as_str(), b.attributes.len()), ("", "", 0));
        assert_eq!(b.observed_timestamp_ns, 2000);
    }

    /// Attributes in the single-MAP layout (version 4) read back unchanged from the slot
    /// layout of version 5: entries beyond the slots keep their values, ids stood for by
    /// type letters (`S`) included, in the slots and beyond.
    #[test]
    fn slot_migration_keeps_every_attribute() {
        let conn = Connection::open_in_memory().unwrap();
        migrate_to(&conn, 4).unwrap();
        let entries: Vec<String> = (1..=14)
            .map(|i| match i {
                2 | 13 => format!("'k{i}': NULL"),
                3 => "'k3': '7'".into(),
                14 => "'k14': NULL".into(),
                _ => format!("'k{i}': 'v{i}'"),
            })
            .collect();
        conn.execute_batch(&format!(
            "INSERT INTO logs VALUES (1, 42, 1000, 0, 9, 'INFO', 9, 'api', 'b', 's1', 'u1', NULL, NULL,
               NULL, 0, '', '', '', MAP {{{}}}, 'sSisssssssssSe', '{{}}', '{{}}'),
             (1, 43, 1000, 0, 9, 'INFO', 9, 'api', 'b', NULL, NULL, NULL, NULL, NULL, 0, '', '', '',
               MAP {{}}::MAP(VARCHAR, VARCHAR), '', '{{}}', '{{}}')",
            entries.join(", ")
        ))
        .unwrap();
        let logs = migrated_logs(&conn);
        let expected = (1..=14)
            .map(|i| match i {
                2 | 13 => format!(r#""k{i}":"s1""#),
                3 => r#""k3":7"#.into(),
                14 => r#""k14":null"#.into(),
                _ => format!(r#""k{i}":"v{i}""#),
            })
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(logs[0].record.attributes.to_json(), format!("{{{expected}}}"));
        assert_eq!(logs[1].record.attributes.len(), 0);
    }

    /// Slot keys in their own columns (version 5) read back unchanged from the joined
    /// `attribute_keys` of version 6, and a record with a key holding the separator keeps
    /// every entry, in order, its session id value included.
    #[test]
    fn key_joining_migration_keeps_every_attribute() {
        let conn = Connection::open_in_memory().unwrap();
        migrate_to(&conn, 5).unwrap();
        conn.execute_batch(
            "INSERT INTO logs (project_id, id, ts, observed_delta, severity, service, body, session_id,
               trace_flags, attr_key_1, attr_value_1, attr_key_2, attr_value_2, more_attributes,
               attribute_types)
             VALUES (1, 42, 1000, 0, 9, 'api', 'b', 's1', 0, 'a', 'x', 'sid', NULL, NULL, 'sS'),
               (1, 43, 1000, 0, 9, 'api', 'b', 's1', 0, 'odd' || chr(31) || 'key', '1', 'sid', NULL,
                MAP {'k13': 'v'}, 'iSs'),
               (1, 44, 1000, 0, 9, 'api', 'b', NULL, 0, NULL, NULL, NULL, NULL, NULL, '')",
        )
        .unwrap();
        let logs = migrated_logs(&conn);
        let json: Vec<String> = logs.iter().map(|l| l.record.attributes.to_json()).collect();
        assert_eq!(json, [r#"{"a":"x","sid":"s1"}"#, r#"{"odd\u001fkey":1,"sid":"s1","k13":"v"}"#, "{}"]);
    }
}
