//! The ClickHouse schema, its versions, and how it is laid out on one server or a cluster.
//!
//! Every statement is idempotent (`IF NOT EXISTS`), so several Tether processes starting at
//! once on one database all succeed; `tether_schema` records which versions were applied.
//! On a cluster each table `t` is `t_local` (a `Replicated*` engine, one per shard and
//! replica) behind a `Distributed` table `t`; product SQL names only `t` either way.

use clickhouse::Client;
use tether_store::StoreResult;

use crate::options::ClickHouseOptions;
use crate::sql;

/// A table Tether creates.
struct Table {
    name: &'static str,
    columns: &'static str,
    /// The MergeTree family member, without the `Replicated` prefix or arguments.
    engine: &'static str,
    partition_by: Option<&'static str>,
    order_by: &'static str,
    /// A `DateTime` expression rows expire by when retention is configured.
    ttl_on: Option<&'static str>,
    /// How rows are spread over shards (the `Distributed` sharding key).
    shard_by: &'static str,
}

/// A materialized view feeding `target` from every insert into `source`.
struct View {
    name: &'static str,
    target: &'static str,
    source: &'static str,
    select: &'static str,
}

const LOGS: Table = Table {
    name: "logs",
    // Times are DateTime64(9) (Unix nanoseconds in RowBinary); ids increase with commit
    // time, so a minmax index on them serves `get` and the live tail. Attributes are a Map of
    // their text forms (what filters compare) plus the types of the non-string ones, so the
    // UI still sees ints as ints. Resource and scope attributes repeat from row to row:
    // LowCardinality JSON text stores each distinct set once per part.
    columns: "
        project_id          Int64,
        id                  Int64 CODEC(Delta(8), ZSTD(1)),
        ts                  DateTime64(9) CODEC(Delta(8), ZSTD(1)),
        observed_ts         DateTime64(9) CODEC(Delta(8), ZSTD(1)),
        severity            UInt8,
        severity_text       LowCardinality(String),
        severity_number     Int32,
        service             LowCardinality(String),
        body                String CODEC(ZSTD(1)),
        session_id          String CODEC(ZSTD(1)),
        distinct_id         String CODEC(ZSTD(1)),
        trace_id            String CODEC(ZSTD(1)),
        span_id             String CODEC(ZSTD(1)),
        trace_flags         UInt32,
        event_name          LowCardinality(String),
        scope_name          LowCardinality(String),
        scope_version       LowCardinality(String),
        attributes          Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        attribute_types     Map(LowCardinality(String), UInt8) CODEC(ZSTD(1)),
        resource_attributes LowCardinality(String) CODEC(ZSTD(1)),
        scope_attributes    LowCardinality(String) CODEC(ZSTD(1)),
        INDEX id_range id TYPE minmax GRANULARITY 1,
        INDEX body_grams lowerUTF8(body) TYPE ngrambf_v1(5, 32768, 1, 0) GRANULARITY 1,
        INDEX session_ids session_id TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX distinct_ids distinct_id TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX trace_ids trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
        INDEX attribute_keys mapKeys(attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX attribute_values mapValues(attributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    engine: "MergeTree",
    partition_by: Some("toDate(ts)"),
    // The id ends the key so pages (newest first by time, then id) are read in key order
    // and stop after `limit` rows: with (project_id, ts) only, a common term's first page
    // took 140 ms instead of 21 ms over 1M logs, sorting what it read.
    order_by: "(project_id, ts, id)",
    ttl_on: Some("toDateTime(ts)"),
    shard_by: "rand()",
};

/// Where each session's logs are in time: a session's logs are then read from that span
/// (with the session bloom filter) instead of the whole range.
const LOG_SESSIONS: Table = Table {
    name: "log_sessions",
    columns: "
        project_id Int64,
        session_id String,
        first_ts   SimpleAggregateFunction(min, DateTime64(9)),
        last_ts    SimpleAggregateFunction(max, DateTime64(9)),
        logs       SimpleAggregateFunction(sum, UInt64)",
    engine: "AggregatingMergeTree",
    partition_by: None,
    order_by: "(project_id, session_id)",
    ttl_on: Some("toDateTime(last_ts)"),
    shard_by: "cityHash64(project_id, session_id)",
};

const LOG_SESSIONS_VIEW: View = View {
    name: "log_sessions_mv",
    target: "log_sessions",
    source: "logs",
    select: "SELECT project_id, session_id, min(ts) AS first_ts, max(ts) AS last_ts, count() AS logs \
             FROM {source} WHERE session_id != '' GROUP BY project_id, session_id",
};

/// Events and exceptions are `ReplacingMergeTree`s keyed by uuid, read with `FINAL`: an SDK
/// retry stored twice is seen once. The session / issue comes first in the key (a retry has
/// the same one), so those lookups read a prefix.
const EVENTS: Table = Table {
    name: "events",
    columns: "
        project_id  Int64,
        uuid        String,
        event       LowCardinality(String),
        distinct_id String,
        session_id  String,
        window_id   Nullable(String),
        ts          DateTime64(3) CODEC(Delta(8), ZSTD(1)),
        current_url Nullable(String) CODEC(ZSTD(1)),
        properties  String CODEC(ZSTD(1)),
        INDEX ts_range ts TYPE minmax GRANULARITY 1",
    engine: "ReplacingMergeTree",
    partition_by: Some("toYYYYMM(ts)"),
    order_by: "(project_id, session_id, uuid)",
    ttl_on: Some("toDateTime(ts)"),
    shard_by: "cityHash64(project_id, session_id)",
};

const EXCEPTIONS: Table = Table {
    name: "exceptions",
    columns: "
        project_id     Int64,
        uuid           String,
        issue_id       Int64,
        session_id     String,
        window_id      Nullable(String),
        distinct_id    String,
        ts             DateTime64(3) CODEC(Delta(8), ZSTD(1)),
        url            Nullable(String) CODEC(ZSTD(1)),
        name           String,
        message        String CODEC(ZSTD(1)),
        exception_list String CODEC(ZSTD(1)),
        INDEX ts_range ts TYPE minmax GRANULARITY 1,
        INDEX session_ids session_id TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX distinct_ids distinct_id TYPE bloom_filter(0.01) GRANULARITY 1",
    engine: "ReplacingMergeTree",
    partition_by: Some("toYYYYMM(ts)"),
    order_by: "(project_id, issue_id, uuid)",
    ttl_on: Some("toDateTime(ts)"),
    shard_by: "cityHash64(project_id, session_id)",
};

/// One row per stored recording chunk (a content hash drops SDK retries).
const RECORDING_CHUNKS: Table = Table {
    name: "recording_chunks",
    columns: "
        project_id        Int64,
        session_id        String,
        window_id         String,
        chunk_id          String,
        distinct_id       String,
        first_ms          Int64,
        last_ms           Int64,
        blob_key          String CODEC(ZSTD(1)),
        size              UInt64,
        active_ms         Int64,
        url               Nullable(String) CODEC(ZSTD(1)),
        clicks            UInt64,
        keypresses        UInt64,
        console_errors    UInt64,
        has_full_snapshot UInt8",
    engine: "ReplacingMergeTree",
    partition_by: None,
    order_by: "(project_id, session_id, chunk_id)",
    ttl_on: Some("toDateTime(intDiv(last_ms, 1000))"),
    shard_by: "cityHash64(project_id, session_id)",
};

/// Session summaries, folded by the engine from chunk rows. `first_url` is the (time, URL)
/// of the earliest chunk that has a URL; chunks without one carry (max Int64, '').
const RECORDINGS: Table = Table {
    name: "recordings",
    columns: "
        project_id        Int64,
        session_id        String,
        distinct_id       SimpleAggregateFunction(any, String),
        start_ms          SimpleAggregateFunction(min, Int64),
        end_ms            SimpleAggregateFunction(max, Int64),
        active_ms         SimpleAggregateFunction(sum, Int64),
        first_url         SimpleAggregateFunction(min, Tuple(Int64, String)),
        clicks            SimpleAggregateFunction(sum, UInt64),
        keypresses        SimpleAggregateFunction(sum, UInt64),
        console_errors    SimpleAggregateFunction(sum, UInt64),
        size              SimpleAggregateFunction(sum, UInt64),
        has_full_snapshot SimpleAggregateFunction(max, UInt8)",
    engine: "AggregatingMergeTree",
    partition_by: None,
    order_by: "(project_id, session_id)",
    ttl_on: Some("toDateTime(intDiv(end_ms, 1000))"),
    shard_by: "cityHash64(project_id, session_id)",
};

const RECORDINGS_VIEW: View = View {
    name: "recordings_mv",
    target: "recordings",
    source: "recording_chunks",
    select: "SELECT project_id, session_id, distinct_id, first_ms AS start_ms, last_ms AS end_ms, active_ms, \
             if(url IS NULL, (9223372036854775807, ''), (first_ms, assumeNotNull(url))) AS first_url, \
             clicks, keypresses, console_errors, size, has_full_snapshot FROM {source}",
};

const SCHEMA_TABLE: Table = Table {
    name: "tether_schema",
    columns: "version UInt32, applied_at DateTime DEFAULT now()",
    engine: "ReplacingMergeTree",
    partition_by: None,
    order_by: "version",
    ttl_on: None,
    shard_by: "version",
};

/// What a later version changes in a table that exists: idempotent `ALTER TABLE` clauses
/// (`ADD COLUMN IF NOT EXISTS …`, `DROP INDEX IF EXISTS …`).
struct Alter {
    table: &'static Table,
    clauses: &'static str,
    /// Columns change in the `Distributed` table of a cluster too; indexes only where the
    /// rows are.
    columns: bool,
}

/// A schema version: the tables it creates (in order), the views, the tables it alters.
struct Version {
    number: u32,
    tables: &'static [&'static Table],
    views: &'static [&'static View],
    alter: &'static [Alter],
}

const VERSIONS: &[Version] = &[
    Version {
        number: 1,
        tables: &[&LOGS, &LOG_SESSIONS, &EVENTS, &EXCEPTIONS, &RECORDING_CHUNKS, &RECORDINGS],
        views: &[&LOG_SESSIONS_VIEW, &RECORDINGS_VIEW],
        alter: &[],
    },
    Version {
        number: 2,
        tables: &[],
        views: &[],
        // Chunks are byte ranges of segments; rows from before keep 0 and 0 (the whole blob).
        alter: &[Alter {
            table: &RECORDING_CHUNKS,
            clauses: "ADD COLUMN IF NOT EXISTS blob_offset UInt64 DEFAULT 0, \
                      ADD COLUMN IF NOT EXISTS blob_length UInt64 DEFAULT 0",
            columns: true,
        }],
    },
    Version {
        number: 3,
        tables: &[],
        views: &[],
        // One filter of body 5-grams instead of a token and a 3-gram filter that nearly
        // every granule passed (see DESIGN.md). Parts written before keep their old filters
        // until merged; a part without the new one is read whole, as without an index.
        alter: &[Alter {
            table: &LOGS,
            clauses: "DROP INDEX IF EXISTS body_tokens, DROP INDEX IF EXISTS body_ngrams, \
                      ADD INDEX IF NOT EXISTS body_grams lowerUTF8(body) TYPE ngrambf_v1(5, 32768, 1, 0) GRANULARITY 1",
            columns: false,
        }],
    },
];

/// Tables that keep data by time, for retention.
const WITH_RETENTION: &[&Table] =
    &[&LOGS, &LOG_SESSIONS, &EVENTS, &EXCEPTIONS, &RECORDING_CHUNKS, &RECORDINGS];

pub(crate) fn create_database(options: &ClickHouseOptions) -> String {
    format!("CREATE DATABASE IF NOT EXISTS {}{}", options.database, on_cluster(options))
}

fn on_cluster(options: &ClickHouseOptions) -> String {
    options.cluster.as_deref().map(|c| format!(" ON CLUSTER {c}")).unwrap_or_default()
}

/// The table that holds `table`'s rows: itself, or on a cluster its `_local` replicas.
fn stored_in(table: &str, options: &ClickHouseOptions) -> String {
    if options.cluster.is_some() { format!("{table}_local") } else { table.to_owned() }
}

/// A lightweight `DELETE` of `table`'s rows matching `where_sql` (on a cluster, from every
/// shard's local replicas: a `Distributed` table takes no deletes).
pub(crate) fn delete(options: &ClickHouseOptions, table: &str, where_sql: &str) -> String {
    format!("DELETE FROM {}{} {where_sql}", stored_in(table, options), on_cluster(options))
}

/// The statements creating `table` (two on a cluster: the replicated local table and the
/// distributed one in front of it).
fn create_table(table: &Table, options: &ClickHouseOptions) -> Vec<String> {
    let db = &options.database;
    let (local, engine) = match &options.cluster {
        None => (table.name.to_owned(), format!("{}()", table.engine)),
        Some(_) => (
            format!("{}_local", table.name),
            format!(
                "Replicated{}('/clickhouse/tables/{{shard}}/{db}/{}_local', '{{replica}}')",
                table.engine, table.name
            ),
        ),
    };
    let partition = table.partition_by.map(|p| format!(" PARTITION BY {p}")).unwrap_or_default();
    // Parts whose rows all expired are dropped whole instead of rewritten.
    let settings = if table.ttl_on.is_some() { " SETTINGS ttl_only_drop_parts = 1" } else { "" };
    let mut statements = vec![format!(
        "CREATE TABLE IF NOT EXISTS {local}{} ({}\n) ENGINE = {engine}{partition} ORDER BY {}{settings}",
        on_cluster(options),
        table.columns,
        table.order_by
    )];
    if let Some(cluster) = &options.cluster {
        statements.push(format!(
            "CREATE TABLE IF NOT EXISTS {} ON CLUSTER {cluster} AS {local} \
             ENGINE = Distributed({cluster}, {db}, {local}, {})",
            table.name, table.shard_by
        ));
    }
    statements
}

/// A view reads and writes the local tables: each shard folds its own rows.
fn create_view(view: &View, options: &ClickHouseOptions) -> String {
    format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {}{} TO {} AS {}",
        view.name,
        on_cluster(options),
        stored_in(view.target, options),
        view.select.replace("{source}", &stored_in(view.source, options))
    )
}

/// A mutation setting `assignments_where` (`col = expr, … WHERE …`) on `table`'s rows (on
/// a cluster, on every shard's local replicas); run it with `mutations_sync = 2` to wait
/// for every replica.
pub(crate) fn update(options: &ClickHouseOptions, table: &str, assignments_where: &str) -> String {
    format!("ALTER TABLE {}{} UPDATE {assignments_where}", stored_in(table, options), on_cluster(options))
}

/// `ALTER … MODIFY TTL` for each table that keeps data by time.
fn retention(options: &ClickHouseOptions) -> Vec<String> {
    let Some(days) = options.retention_days else { return Vec::new() };
    WITH_RETENTION
        .iter()
        .filter_map(|t| {
            t.ttl_on.map(|on| {
                format!(
                    "ALTER TABLE {}{} MODIFY TTL {on} + INTERVAL {days} DAY",
                    stored_in(t.name, options),
                    on_cluster(options)
                )
            })
        })
        .collect()
}

/// Every statement of the versions after `current`, with the version each belongs to.
fn pending(current: u32, options: &ClickHouseOptions) -> Vec<(u32, Vec<String>)> {
    VERSIONS
        .iter()
        .filter(|v| v.number > current)
        .map(|v| {
            let mut statements: Vec<String> =
                v.tables.iter().flat_map(|t| create_table(t, options)).collect();
            statements.extend(v.views.iter().map(|view| create_view(view, options)));
            statements.extend(v.alter.iter().flat_map(|a| alter(a, options)));
            (v.number, statements)
        })
        .collect()
}

/// The statements altering a table (on a cluster, the local replicas, and for columns the
/// distributed table in front of them too).
fn alter(alter: &Alter, options: &ClickHouseOptions) -> Vec<String> {
    let mut tables = vec![stored_in(alter.table.name, options)];
    if options.cluster.is_some() && alter.columns {
        tables.push(alter.table.name.to_owned());
    }
    tables.iter().map(|t| format!("ALTER TABLE {t}{} {}", on_cluster(options), alter.clauses)).collect()
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct Applied {
    version: u32,
}

/// Brings the database to the newest schema, then applies the configured retention.
pub(crate) async fn migrate(client: &Client, options: &ClickHouseOptions) -> StoreResult<()> {
    for statement in create_table(&SCHEMA_TABLE, options) {
        sql::run(client.query(&statement)).await?;
    }
    let applied: Vec<Applied> =
        sql::fetch(client.query("SELECT toUInt32(max(version)) AS version FROM tether_schema")).await?;
    let current = applied.first().map_or(0, |v| v.version);
    for (version, statements) in pending(current, options) {
        for statement in statements {
            sql::run(client.query(&statement)).await?;
        }
        sql::run(client.query("INSERT INTO tether_schema (version) VALUES (?)").bind(version)).await?;
    }
    for statement in retention(options) {
        sql::run(client.query(&statement)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(url: &str) -> ClickHouseOptions {
        ClickHouseOptions::from_url(url).unwrap()
    }

    #[test]
    fn one_server_gets_plain_merge_trees() {
        let o = options("http://h:8123/?database=obs");
        let all: Vec<String> = pending(0, &o).into_iter().flat_map(|(_, s)| s).collect();
        assert_eq!(create_database(&o), "CREATE DATABASE IF NOT EXISTS obs");
        assert_eq!(delete(&o, "logs", "WHERE x"), "DELETE FROM logs WHERE x");
        let logs = &all[0];
        assert!(logs.starts_with("CREATE TABLE IF NOT EXISTS logs ("), "{logs}");
        assert!(
            logs.contains("ENGINE = MergeTree() PARTITION BY toDate(ts) ORDER BY (project_id, ts, id)"),
            "{logs}"
        );
        assert!(!all.iter().any(|s| s.contains("ON CLUSTER") || s.contains("Distributed")));
        assert!(
            all.contains(
                &"CREATE MATERIALIZED VIEW IF NOT EXISTS recordings_mv TO recordings AS SELECT \
             project_id, session_id, distinct_id, first_ms AS start_ms, last_ms AS end_ms, active_ms, \
             if(url IS NULL, (9223372036854775807, ''), (first_ms, assumeNotNull(url))) AS first_url, \
             clicks, keypresses, console_errors, size, has_full_snapshot FROM recording_chunks"
                    .to_owned()
            )
        );
        assert!(retention(&o).is_empty());
        assert!(logs.contains("INDEX body_grams lowerUTF8(body) TYPE ngrambf_v1(5, 32768, 1, 0)"), "{logs}");
        let body_grams = "ALTER TABLE logs DROP INDEX IF EXISTS body_tokens, DROP INDEX IF EXISTS body_ngrams, \
                      ADD INDEX IF NOT EXISTS body_grams lowerUTF8(body) TYPE ngrambf_v1(5, 32768, 1, 0) GRANULARITY 1";
        assert_eq!(
            pending(1, &o),
            [
                (
                    2,
                    vec![
                        "ALTER TABLE recording_chunks ADD COLUMN IF NOT EXISTS blob_offset UInt64 DEFAULT 0, \
                      ADD COLUMN IF NOT EXISTS blob_length UInt64 DEFAULT 0"
                            .to_owned()
                    ]
                ),
                (3, vec![body_grams.to_owned()])
            ],
            "a database of version 1 gets the columns, then the body's filter"
        );
        assert!(pending(3, &o).is_empty(), "nothing to do at the newest version");
    }

    #[test]
    fn a_cluster_gets_replicated_local_tables_behind_distributed_ones() {
        let o = options("http://h:8123/?database=obs&cluster=main&retention_days=30");
        let all: Vec<String> = pending(0, &o).into_iter().flat_map(|(_, s)| s).collect();
        assert_eq!(create_database(&o), "CREATE DATABASE IF NOT EXISTS obs ON CLUSTER main");
        assert_eq!(delete(&o, "logs", "WHERE x"), "DELETE FROM logs_local ON CLUSTER main WHERE x");
        assert!(all[0].starts_with("CREATE TABLE IF NOT EXISTS logs_local ON CLUSTER main ("), "{}", all[0]);
        assert!(
            all[0].contains(
                "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/obs/logs_local', '{replica}')"
            ),
            "{}",
            all[0]
        );
        assert_eq!(
            all[1],
            "CREATE TABLE IF NOT EXISTS logs ON CLUSTER main AS logs_local ENGINE = Distributed(main, obs, logs_local, rand())"
        );
        let events = all.iter().find(|s| s.contains("events_local ON CLUSTER")).unwrap();
        assert!(
            events.contains("ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/obs/events_local'")
        );
        assert!(
            all.contains(
                &"CREATE TABLE IF NOT EXISTS events ON CLUSTER main AS events_local \
              ENGINE = Distributed(main, obs, events_local, cityHash64(project_id, session_id))"
                    .to_owned()
            )
        );
        let view = all.iter().find(|s| s.contains("log_sessions_mv")).unwrap();
        assert!(view.starts_with(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS log_sessions_mv ON CLUSTER main TO log_sessions_local AS"
        ));
        assert!(view.contains("FROM logs_local WHERE"));
        assert!(retention(&o).contains(
            &"ALTER TABLE logs_local ON CLUSTER main MODIFY TTL toDateTime(ts) + INTERVAL 30 DAY".to_owned()
        ));
        let added: Vec<&String> = all.iter().filter(|s| s.contains("ADD COLUMN")).collect();
        assert!(added[0].starts_with("ALTER TABLE recording_chunks_local ON CLUSTER main ADD COLUMN"));
        assert!(added[1].starts_with("ALTER TABLE recording_chunks ON CLUSTER main ADD COLUMN"));
        let indexes: Vec<&String> = all.iter().filter(|s| s.contains("DROP INDEX")).collect();
        assert_eq!(indexes.len(), 1, "indexes are where the rows are, not on the distributed table");
        assert!(indexes[0].starts_with("ALTER TABLE logs_local ON CLUSTER main DROP INDEX"));
        assert_eq!(
            update(&o, "t", "a = 1 WHERE x"),
            "ALTER TABLE t_local ON CLUSTER main UPDATE a = 1 WHERE x"
        );
        // 6 tables × (local + distributed) + 2 views + the added columns of both tables + the
        // body's filter.
        assert_eq!(all.len(), 17);
    }
}
