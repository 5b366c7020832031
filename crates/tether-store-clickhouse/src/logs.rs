//! Logs: one `INSERT` per group commit, and the logs API's queries.

use std::sync::Arc;

use async_trait::async_trait;
use tether_model::{Attributes, LogId, LogRecord, ProjectId, Severity};
use tether_store::{
    AttributeFacet, Breakdown, Condition, CountedValue, Facets, Field, Histogram, HistogramBucket, LogFilter,
    LogPage, LogQuery, LogReader, LogSample, LogSummary, LogWriter, PageCursor, SAMPLE_MODULUS,
    SDK_LANGUAGE_ATTRIBUTE, ServiceLinking, SessionHit, StoreResult, StoredLog, sdk_language,
};

use crate::sql::{self, Bound, Where};
use crate::{ClickAnalytics, attrs};

/// Attribute facets look at this many of the newest matching logs (the embedded store at
/// 5,000 recent ones): enough to show what keys and values exist without reading a whole
/// wide range.
const FACET_SAMPLE: usize = 50_000;

#[derive(clickhouse::Row, serde::Serialize, serde::Deserialize)]
struct LogRow {
    project_id: i64,
    id: i64,
    ts: i64,
    observed_ts: i64,
    severity: u8,
    severity_text: String,
    severity_number: i32,
    service: String,
    body: String,
    session_id: String,
    distinct_id: String,
    trace_id: String,
    span_id: String,
    trace_flags: u32,
    event_name: String,
    scope_name: String,
    scope_version: String,
    attributes: attrs::MapOf<String>,
    attribute_types: attrs::MapOf<u8>,
    resource_attributes: String,
    scope_attributes: String,
}

/// A session of `LogReader::sessions`.
#[derive(clickhouse::Row, serde::Deserialize)]
struct SessionRow {
    session_id: String,
    distinct_id: String,
    first: i64,
    last: i64,
    logs: u64,
}

/// A service of `LogReader::linking`.
#[derive(clickhouse::Row, serde::Deserialize)]
struct LinkingRow {
    service: String,
    logs: u64,
    with_session: u64,
    with_distinct_id: u64,
    with_trace: u64,
    resource: String,
}

/// What `LogReader::sample` reads of a log.
#[derive(clickhouse::Row, serde::Deserialize)]
struct SampleRow {
    id: i64,
    ts: i64,
    severity: u8,
    service: String,
    body: String,
    session_id: String,
    distinct_id: String,
}

/// The columns of [`LogRow`], in its order.
const LOG_COLUMNS: &str = "project_id, id, ts, observed_ts, severity, severity_text, severity_number, service, \
    body, session_id, distinct_id, trace_id, span_id, trace_flags, event_name, scope_name, scope_version, \
    attributes, attribute_types, resource_attributes, scope_attributes";

impl LogRow {
    fn new(log: StoredLog) -> LogRow {
        let r = log.record;
        let (attributes, attribute_types) = attrs::encode(&r.attributes);
        LogRow {
            project_id: r.project_id,
            id: log.id.0,
            ts: r.timestamp_ns,
            observed_ts: r.observed_timestamp_ns,
            severity: r.severity.code(),
            severity_text: r.severity_text,
            severity_number: r.severity_number,
            service: r.service,
            body: r.body,
            session_id: r.session_id.unwrap_or_default(),
            distinct_id: r.distinct_id.unwrap_or_default(),
            trace_id: r.trace_id,
            span_id: r.span_id,
            trace_flags: r.trace_flags,
            event_name: r.event_name,
            scope_name: r.scope_name,
            scope_version: r.scope_version,
            attributes,
            attribute_types,
            resource_attributes: r.resource_attributes.to_json(),
            scope_attributes: r.scope_attributes.to_json(),
        }
    }

    fn into_log(self) -> StoredLog {
        StoredLog {
            id: LogId(self.id),
            record: LogRecord {
                project_id: self.project_id,
                timestamp_ns: self.ts,
                observed_timestamp_ns: self.observed_ts,
                severity: Severity::from_code(self.severity).unwrap_or(Severity::Info),
                severity_text: self.severity_text,
                severity_number: self.severity_number,
                service: self.service,
                body: self.body,
                session_id: Some(self.session_id).filter(|s| !s.is_empty()),
                distinct_id: Some(self.distinct_id).filter(|s| !s.is_empty()),
                trace_id: self.trace_id,
                span_id: self.span_id,
                trace_flags: self.trace_flags,
                event_name: self.event_name,
                scope_name: self.scope_name,
                scope_version: self.scope_version,
                attributes: attrs::decode(self.attributes, &self.attribute_types),
                resource_attributes: Arc::new(Attributes::from_json(&self.resource_attributes)),
                scope_attributes: Arc::new(Attributes::from_json(&self.scope_attributes)),
            },
        }
    }
}

/// `text` as a LIKE pattern matching it anywhere, its wildcards escaped.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The predicates of a filter; `span` narrows the time range to where the session's logs
/// are known to be.
fn filter_where(filter: &LogFilter, span: Option<(i64, i64)>) -> Where {
    let mut w = Where::default();
    let (from, to) = filter.range_within(span);
    w.push("project_id = ?", [Bound::Int(filter.project_id)]);
    w.push("ts >= fromUnixTimestamp64Nano(?) AND ts < fromUnixTimestamp64Nano(?)", [from.into(), to.into()]);
    w.push_in("severity", filter.severities.iter().map(|s| Bound::Int(s.code().into())));
    w.push_in("service", filter.services.iter().map(|s| Bound::from(s.as_str())));
    w.push_in("distinct_id", filter.distinct_ids.iter().map(|s| Bound::from(s.as_str())));
    for (column, value) in [("session_id", &filter.session_id), ("trace_id", &filter.trace_id)] {
        if let Some(v) = value {
            w.push(&format!("{column} = ?"), [Bound::from(v.as_str())]);
        }
    }
    if let Some(query) = &filter.query {
        // Every leaf is 1 or 0, never NULL, so NOT inverts it.
        let mut sql = String::new();
        let mut binds = Vec::new();
        query.write_infix(&mut sql, "1", "0", &mut |condition, sql| {
            let (clause, values) = condition_sql(condition);
            sql.push_str(&format!("ifNull({clause}, 0)"));
            binds.extend(values);
        });
        w.push(&sql, binds);
    }
    w
}

/// One condition as SQL (NULL or false where the field is missing) and its values.
fn condition_sql(condition: &Condition) -> (String, Vec<Bound>) {
    let column = |field: Field| match field {
        Field::Service => "service",
        Field::Session => "session_id",
        Field::Person => "distinct_id",
        Field::Trace => "trace_id",
    };
    match condition {
        // The same expression as the body's n-gram filter, so it skips granules that lack
        // one of the pattern's 5-grams (a pattern shorter than 5 bytes reads the range).
        Condition::Body(text) => {
            ("lowerUTF8(body) LIKE ?".into(), vec![Bound::Text(contains_pattern(&text.to_lowercase()))])
        }
        // Each word as the filter's expression (it skips granules by them), then the whole
        // shape.
        Condition::Pattern { regex, words } => {
            let mut sql: String = words.iter().map(|_| "lowerUTF8(body) LIKE ? AND ").collect();
            sql.push_str("match(body, ?)");
            let likes = words.iter().map(|w| Bound::Text(contains_pattern(&w.to_lowercase())));
            (format!("({sql})"), likes.chain([Bound::from(regex.as_str())]).collect())
        }
        Condition::Equals(field, v) => (format!("{} = ?", column(*field)), vec![Bound::from(v.as_str())]),
        Condition::Present(field) => (format!("{} != ''", column(*field)), Vec::new()),
        Condition::Severity(op, s) => {
            (format!("severity {} ?", op.symbol()), vec![Bound::Int(s.code().into())])
        }
        Condition::AttrEquals { key, value } => (
            "(mapContains(attributes, ?) AND attributes[?] = ?)".into(),
            vec![key.as_str().into(), key.as_str().into(), value.as_str().into()],
        ),
        Condition::AttrPresent(key) => ("mapContains(attributes, ?)".into(), vec![key.as_str().into()]),
        Condition::AttrCompare { key, op, value } => (
            format!("toFloat64OrNull(attributes[?]) {} ?", op.symbol()),
            vec![key.as_str().into(), Bound::Float(*value)],
        ),
    }
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct Span {
    first: i64,
    last: i64,
    n: u64,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct Counted {
    value: String,
    count: u64,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct Bucket {
    start: i64,
    key: String,
    count: u64,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct Pair {
    key: String,
    value: String,
    count: u64,
    /// 0: a key and how many logs carry it; 1: one of its values.
    rank: u8,
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct SummaryRow {
    logs: u64,
    sessions: u64,
    users: u64,
}

impl ClickAnalytics {
    /// The filter's predicates, or `None` when it names a session with no logs.
    async fn log_where(&self, filter: &LogFilter) -> StoreResult<Option<Where>> {
        let Some(session) = &filter.session_id else { return Ok(Some(filter_where(filter, None))) };
        let spans: Vec<Span> = sql::fetch(sql::query(
            &self.client,
            "SELECT toUnixTimestamp64Nano(min(first_ts)) AS first, toUnixTimestamp64Nano(max(last_ts)) AS last, \
             sum(logs) AS n FROM log_sessions WHERE project_id = ? AND session_id = ?",
            &[Bound::Int(filter.project_id), Bound::from(session.as_str())],
        ))
        .await?;
        Ok(match spans.first() {
            Some(span) if span.n > 0 => Some(filter_where(filter, Some((span.first, span.last)))),
            _ => None,
        })
    }

    async fn logs(&self, sql: &str, w: &Where) -> StoreResult<Vec<StoredLog>> {
        let rows: Vec<LogRow> = self.rows(sql, w).await?;
        Ok(rows.into_iter().map(LogRow::into_log).collect())
    }

    async fn counted(&self, sql: &str, w: &Where) -> StoreResult<Vec<CountedValue>> {
        let rows: Vec<Counted> = self.rows(sql, w).await?;
        Ok(rows.into_iter().map(|r| CountedValue { value: r.value, count: r.count }).collect())
    }
}

fn severity_name(code: &str) -> String {
    code.parse::<u8>()
        .ok()
        .and_then(Severity::from_code)
        .map_or_else(|| code.to_owned(), |s| s.as_str().to_owned())
}

#[async_trait]
impl LogWriter for ClickAnalytics {
    async fn append_logs(&self, logs: Vec<StoredLog>) -> StoreResult<()> {
        let rows: Vec<LogRow> = logs.into_iter().map(LogRow::new).collect();
        sql::insert(&self.client, "logs", &rows).await
    }

    async fn delete_logs_before(&self, project_id: ProjectId, before_ns: i64) -> StoreResult<u64> {
        self.delete_logs(project_id, before_ns).await
    }
}

#[async_trait]
impl LogReader for ClickAnalytics {
    async fn search(&self, query: LogQuery) -> StoreResult<LogPage> {
        let Some(mut w) = self.log_where(&query.filter).await? else {
            return Ok(LogPage { logs: Vec::new(), next: None });
        };
        if let Some(c) = query.after {
            w.push(
                "(ts < fromUnixTimestamp64Nano(?) OR (ts = fromUnixTimestamp64Nano(?) AND id < ?))",
                [c.timestamp_ns.into(), c.timestamp_ns.into(), c.id.0.into()],
            );
        }
        let sql = format!(
            "SELECT {LOG_COLUMNS} FROM logs {} ORDER BY ts DESC, id DESC LIMIT {}",
            w.sql(),
            query.limit
        );
        let logs = self.logs(&sql, &w).await?;
        let next = (logs.len() == query.limit)
            .then(|| logs.last().map(|l| PageCursor { timestamp_ns: l.record.timestamp_ns, id: l.id }))
            .flatten();
        Ok(LogPage { logs, next })
    }

    async fn get(&self, project_id: ProjectId, id: LogId) -> StoreResult<Option<StoredLog>> {
        let mut w = Where::default();
        w.push("project_id = ? AND id = ?", [project_id.into(), id.0.into()]);
        Ok(self.logs(&format!("SELECT {LOG_COLUMNS} FROM logs {} LIMIT 1", w.sql()), &w).await?.pop())
    }

    async fn histogram(
        &self,
        filter: LogFilter,
        bucket_ns: i64,
        breakdown: Breakdown,
    ) -> StoreResult<Histogram> {
        tether_store::check_bucket_width(bucket_ns)?;
        let Some(w) = self.log_where(&filter).await? else { return Ok(Histogram::default()) };
        let key = match breakdown {
            Breakdown::Severity => "toString(severity)",
            Breakdown::Service => "toString(service)",
        };
        let sql = format!(
            "SELECT intDiv(toUnixTimestamp64Nano(ts), {bucket_ns}) * {bucket_ns} AS start, {key} AS key, \
             count() AS count FROM logs {} GROUP BY start, key ORDER BY start, key",
            w.sql()
        );
        let rows: Vec<Bucket> = self.rows(&sql, &w).await?;
        let mut buckets: Vec<HistogramBucket> = rows
            .into_iter()
            .map(|b| HistogramBucket {
                start_ns: b.start,
                key: match breakdown {
                    Breakdown::Severity => severity_name(&b.key),
                    Breakdown::Service => b.key,
                },
                count: b.count,
            })
            .collect();
        buckets.sort_by(|a, b| (a.start_ns, &a.key).cmp(&(b.start_ns, &b.key)));
        // ClickHouse counts every match: its scan is fast enough not to sample.
        Ok(Histogram { buckets, approximate: false })
    }

    async fn facets(&self, filter: LogFilter, max_keys: usize, max_values: usize) -> StoreResult<Facets> {
        let Some(w) = self.log_where(&filter).await? else { return Ok(Facets::default()) };
        let wh = w.sql();
        let services = self
            .counted(
                &format!(
                    "SELECT toString(service) AS value, count() AS count FROM logs {wh} \
                     GROUP BY value ORDER BY count DESC, value LIMIT 100"
                ),
                &w,
            )
            .await?;
        let severities = self
            .counted(
                &format!(
                    "SELECT toString(severity) AS value, count() AS count FROM logs {wh} \
                     GROUP BY severity ORDER BY severity"
                ),
                &w,
            )
            .await?
            .into_iter()
            .map(|v| CountedValue { value: severity_name(&v.value), count: v.count })
            .collect();
        // One pass over a sample of the newest matching logs: each (key, value) pair, then
        // the top keys and each one's top values. Values of type "empty" have no value.
        let sample = format!(
            "SELECT attributes, attribute_types FROM logs {wh} ORDER BY ts DESC LIMIT {FACET_SAMPLE}"
        );
        let sql = format!(
            "WITH pairs AS (SELECT kv.1 AS key, kv.2 AS value, attribute_types[kv.1] != 6 AS has_value \
                            FROM ({sample}) ARRAY JOIN CAST(attributes, 'Array(Tuple(String, String))') AS kv), \
                  top_keys AS (SELECT key, count() AS n FROM pairs GROUP BY key ORDER BY n DESC, key LIMIT {max_keys}) \
             SELECT key, value, count, rank FROM ( \
                 SELECT key, '' AS value, n AS count, toUInt8(0) AS rank FROM top_keys \
                 UNION ALL \
                 SELECT * FROM (SELECT key, value, count() AS count, toUInt8(1) AS rank FROM pairs \
                     WHERE key IN (SELECT key FROM top_keys) AND has_value AND length(value) <= 200 \
                     GROUP BY key, value ORDER BY count DESC, value LIMIT {max_values} BY key)) \
             ORDER BY rank, count DESC, key, value"
        );
        let rows: Vec<Pair> = self.rows(&sql, &w).await?;
        let mut attributes: Vec<AttributeFacet> = Vec::new();
        for row in rows {
            if row.rank == 0 {
                attributes.push(AttributeFacet { key: row.key, count: row.count, values: Vec::new() });
            } else if let Some(facet) = attributes.iter_mut().find(|a| a.key == row.key) {
                facet.values.push(CountedValue { value: row.value, count: row.count });
            }
        }
        Ok(Facets { services, severities, attributes, sampled: false })
    }

    async fn summary(&self, filter: LogFilter) -> StoreResult<LogSummary> {
        let Some(w) = self.log_where(&filter).await? else { return Ok(LogSummary::default()) };
        let sql = format!(
            "SELECT count() AS logs, uniqExactIf(session_id, session_id != '') AS sessions, \
             uniqExactIf(distinct_id, distinct_id != '') AS users FROM logs {}",
            w.sql()
        );
        let rows: Vec<SummaryRow> = self.rows(&sql, &w).await?;
        Ok(rows.first().map_or_else(LogSummary::default, |r| LogSummary {
            logs: r.logs,
            sessions: r.sessions,
            users: r.users,
            approximate: false,
        }))
    }

    async fn sample(&self, filter: LogFilter, keep: u32, limit: usize) -> StoreResult<Vec<LogSample>> {
        let Some(mut w) = self.log_where(&filter).await? else { return Ok(Vec::new()) };
        w.push("id % ? < ?", [i64::from(SAMPLE_MODULUS).into(), i64::from(keep).into()]);
        let sql = format!(
            "SELECT id, ts, severity, service, body, session_id, distinct_id FROM logs {} \
             ORDER BY ts DESC, id DESC LIMIT {limit}",
            w.sql()
        );
        let rows: Vec<SampleRow> = self.rows(&sql, &w).await?;
        Ok(rows
            .into_iter()
            .map(|r| LogSample {
                id: LogId(r.id),
                timestamp_ns: r.ts,
                severity: Severity::from_code(r.severity).unwrap_or(Severity::Info),
                service: r.service,
                body: r.body,
                session_id: Some(r.session_id).filter(|s| !s.is_empty()),
                distinct_id: Some(r.distinct_id).filter(|s| !s.is_empty()),
            })
            .collect())
    }

    async fn sessions(&self, filter: LogFilter, limit: usize) -> StoreResult<Vec<SessionHit>> {
        let Some(mut w) = self.log_where(&filter).await? else { return Ok(Vec::new()) };
        w.push("session_id != ''", []);
        let sql = format!(
            "SELECT session_id, max(distinct_id) AS distinct_id, toUnixTimestamp64Nano(min(ts)) AS first, \
             toUnixTimestamp64Nano(max(ts)) AS last, count() AS logs FROM logs {} \
             GROUP BY session_id ORDER BY last DESC, session_id LIMIT {limit}",
            w.sql()
        );
        let rows: Vec<SessionRow> = self.rows(&sql, &w).await?;
        Ok(rows
            .into_iter()
            .map(|r| SessionHit {
                session_id: r.session_id,
                distinct_id: Some(r.distinct_id).filter(|d| !d.is_empty()),
                first_ns: r.first,
                last_ns: r.last,
                logs: r.logs,
            })
            .collect())
    }

    async fn linking(&self, filter: LogFilter) -> StoreResult<Vec<ServiceLinking>> {
        let Some(w) = self.log_where(&filter).await? else { return Ok(Vec::new()) };
        let sql = format!(
            "SELECT service, count() AS logs, countIf(session_id != '') AS with_session, \
             countIf(distinct_id != '') AS with_distinct_id, countIf(trace_id != '') AS with_trace, \
             anyIf(resource_attributes, position(resource_attributes, '{SDK_LANGUAGE_ATTRIBUTE}') > 0) AS resource \
             FROM logs {} GROUP BY service ORDER BY logs DESC, service",
            w.sql()
        );
        let rows: Vec<LinkingRow> = self.rows(&sql, &w).await?;
        Ok(rows
            .into_iter()
            .map(|r| ServiceLinking {
                language: sdk_language(&r.resource),
                service: r.service,
                logs: r.logs,
                with_session: r.with_session,
                with_distinct_id: r.with_distinct_id,
                with_trace: r.with_trace,
            })
            .collect())
    }

    async fn tail(&self, filter: LogFilter, after: LogId, limit: usize) -> StoreResult<Vec<StoredLog>> {
        let Some(mut w) = self.log_where(&filter).await? else { return Ok(Vec::new()) };
        w.push("id > ?", [after.0.into()]);
        self.logs(&format!("SELECT {LOG_COLUMNS} FROM logs {} ORDER BY id LIMIT {limit}", w.sql()), &w).await
    }

    async fn ping(&self) -> StoreResult<()> {
        ClickAnalytics::ping(self).await
    }
}
