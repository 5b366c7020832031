//! The read queries of the logs API.

use std::collections::BTreeMap;
use std::sync::Arc;

use duckdb::types::Value;
use duckdb::{Connection, Row, params, params_from_iter};
use tether_model::{Attributes, LogId, LogRecord, ProjectId, Severity};
use tether_store::{
    Breakdown, CountedValue, Histogram, HistogramBucket, LogExpr, LogFilter, LogPage, LogSample, LogSummary,
    PageCursor, SAMPLE_MODULUS, SDK_LANGUAGE_ATTRIBUTE, ServiceLinking, SessionHit, StoreError, StoreResult,
    StoredLog, sdk_language,
};

use super::columns::{LogIds, SLOTS, attributes_from_columns, span_id_from_column, trace_id_from_columns};
use super::db_err;
use super::query::{LOG_COLUMNS, Where};
use crate::id_index::{IdIndex, Lookup};
use crate::text_index::BlockSpan;

/// A search narrowed by the text index to at most this many blocks reads them one by one
/// (a few milliseconds each, and it stops once the page is full); with more, one scan of
/// the range. At 50 M logs a rare term (60 matches, ~260 candidates: its rare grams share
/// Bloom bits with others in ~1% of blocks) fell back to the scan with a limit of 256 and
/// took 56 s under the 192 MiB memory limit; 1,024 block reads cost a few seconds at most.
const MAX_BLOCK_READS: usize = 1024;
/// With more candidates than [`MAX_BLOCK_READS`], a search first reads this many of the
/// newest (groups of 1, 2, 4, 8 and 16): a common term fills its page from the first one
/// or two (at 10 M logs, where every block is a candidate: ~5 ms against ~30 for the first
/// time slice); when they do not, the time slices take over.
const FIRST_BLOCK_READS: usize = 31;
/// At most this many candidate blocks are read by one query of a search: each query costs
/// milliseconds of its own, so a rare term with hundreds of candidates (and no match to
/// stop at) spent more on queries than on reading; all 16 at once cost a common term, which
/// one block answers, 12 → 52 ms.
const MAX_BLOCKS_PER_READ: usize = 16;
/// Aggregates over at most this many candidate blocks read them as a `UNION ALL` of range
/// scans (every branch runs: they cannot stop early like a page).
const MAX_UNION_BLOCKS: usize = 128;

pub(super) fn row_to_log(row: &Row<'_>) -> duckdb::Result<StoredLog> {
    let severity = Severity::from_code(row.get(4)?).unwrap_or(Severity::Info);
    // NULL stands for the usual value (see `columns::unless`).
    let json = |i: usize| -> duckdb::Result<Attributes> {
        Ok(row.get::<_, Option<String>>(i)?.map_or_else(Attributes::default, |j| Attributes::from_json(&j)))
    };
    let text =
        |i: usize| -> duckdb::Result<String> { Ok(row.get::<_, Option<String>>(i)?.unwrap_or_default()) };
    let timestamp_ns: i64 = row.get(2)?;
    let (session_id, distinct_id): (Option<String>, Option<String>) = (row.get(9)?, row.get(10)?);
    let ids = LogIds { session: session_id.as_deref(), distinct: distinct_id.as_deref() };
    // Column 18 is `attribute_keys`, then the slots, the MAP, the types (see `LOG_COLUMNS`).
    let slots = (19..19 + SLOTS).map(|i| row.get(i)).collect::<duckdb::Result<_>>()?;
    let slot_keys = row.get::<_, Option<String>>(18)?;
    let types = row.get::<_, String>(20 + SLOTS)?;
    let attributes = attributes_from_columns(slot_keys.as_deref(), slots, row.get(19 + SLOTS)?, &types, ids);
    Ok(StoredLog {
        id: LogId(row.get(0)?),
        record: LogRecord {
            project_id: row.get(1)?,
            timestamp_ns,
            observed_timestamp_ns: timestamp_ns.wrapping_add(row.get(3)?),
            severity,
            severity_text: row.get::<_, Option<String>>(5)?.unwrap_or_else(|| severity.otlp_text().into()),
            severity_number: row.get::<_, Option<i32>>(6)?.unwrap_or_else(|| severity.otlp_number()),
            service: row.get(7)?,
            body: row.get(8)?,
            session_id,
            distinct_id,
            trace_id: trace_id_from_columns(row.get(11)?, row.get(12)?),
            span_id: span_id_from_column(row.get(13)?),
            trace_flags: row.get(14)?,
            event_name: text(15)?,
            scope_name: text(16)?,
            scope_version: text(17)?,
            attributes,
            resource_attributes: Arc::new(json(21 + SLOTS)?),
            scope_attributes: Arc::new(json(22 + SLOTS)?),
        },
    })
}

/// The filter's WHERE clause, or `None` when nothing can match: the filter names a session
/// with no logs, or the text index found no block that can hold its text. Candidate
/// blocks bound the ids to scan (from the first block's first id to the last one's last).
pub(super) fn filter_where(
    conn: &Connection,
    filter: &LogFilter,
    blocks: Option<&[BlockSpan]>,
) -> StoreResult<Option<Where>> {
    if let Some(blocks) = blocks {
        let Some(cover) = BlockSpan::covering(blocks) else { return Ok(None) };
        let Some(mut w) = filter_where(conn, filter, None)? else { return Ok(None) };
        w.push("id >= ? AND id <= ?", [Value::BigInt(cover.first_id), Value::BigInt(cover.last_id)]);
        if blocks.len() <= MAX_UNION_BLOCKS {
            w.read_ranges(blocks.iter().map(|b| (b.first_id, b.last_id)).collect());
        }
        return Ok(Some(w));
    }
    let span = match &filter.session_id {
        None => None,
        Some(session) => {
            let found = super::session_spans::span(conn, filter.project_id, session)
                .map_err(db_err("cannot read session index"))?;
            match found {
                Some(span) => Some(span),
                None => return Ok(None),
            }
        }
    };
    Ok(Some(Where::from_filter(filter, span)))
}

fn query_logs(conn: &Connection, sql: &str, params: &[Value]) -> StoreResult<Vec<StoredLog>> {
    query_rows(conn, sql, params, row_to_log)
}

/// The rows of a log query, each read by `row`.
fn query_rows<T>(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    row: impl FnMut(&Row<'_>) -> duckdb::Result<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err("cannot prepare log query"))?;
    let rows = stmt.query_map(params_from_iter(params.iter()), row).map_err(db_err("log query failed"))?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db_err("cannot read log row"))
}

/// A page of logs, newest first: from the text index's candidate blocks when there are
/// few, otherwise by time slices.
pub(super) fn search(
    conn: &Connection,
    filter: &LogFilter,
    limit: usize,
    after: Option<PageCursor>,
    blocks: Option<&[BlockSpan]>,
) -> StoreResult<LogPage> {
    let Some(mut base) = filter_where(conn, filter, blocks)? else {
        return Ok(LogPage { logs: Vec::new(), next: None });
    };
    if let Some(cursor) = after {
        base.after(cursor);
    }
    let from_blocks = match blocks {
        Some(blocks) => {
            let budget = if blocks.len() <= MAX_BLOCK_READS { blocks.len() } else { FIRST_BLOCK_READS };
            search_blocks(conn, &base, limit, blocks, budget)?
        }
        None => None,
    };
    let logs = match from_blocks {
        Some(logs) => logs,
        None => search_slices(conn, &base, filter, limit, after)?,
    };
    Ok(LogPage { next: next_cursor(&logs, limit), logs })
}

/// Time slices start at this part of the range (at least a minute) and grow ×4.
/// DuckDB skips row groups outside a slice by their min/max timestamps, and vectors of
/// 2,048 rows the slice's time filter leaves empty, so a narrow first slice reads little;
/// at 10 M logs over a day, an attribute filter's page took ~20 ms from 1/64 (156k logs),
/// ~12 from 1/256; 1/1,024 cost a session's page (few logs in its span) more slices.
const FIRST_SLICE: i64 = 256;

/// Newest first, in time slices (see [`FIRST_SLICE`]): a page is usually filled from
/// recent data, so a common search over a wide range reads a small part of the table.
fn search_slices(
    conn: &Connection,
    base: &Where,
    filter: &LogFilter,
    limit: usize,
    after: Option<PageCursor>,
) -> StoreResult<Vec<StoredLog>> {
    let mut upper = filter.to_ns;
    if let Some(cursor) = after {
        upper = upper.min(cursor.timestamp_ns.saturating_add(1));
    }
    let lower = filter.from_ns;
    let mut width = ((upper - lower) / FIRST_SLICE).max(MINUTE_NS);
    let mut page = Vec::with_capacity(limit);
    while upper > lower && page.len() < limit {
        let slice_start = upper.saturating_sub(width).max(lower);
        let mut w = base.clone();
        w.push("ts >= ? AND ts < ?", [Value::BigInt(slice_start), Value::BigInt(upper)]);
        page.extend(newest_keys(conn, &w, limit - page.len())?);
        upper = slice_start;
        width = width.saturating_mul(4);
    }
    // The keys already satisfy the query, whose text and attribute predicates cost a body
    // decode or a lookup per row.
    rows_of(conn, &LogFilter { query: None, ..filter.clone() }, &page)
}

/// Newest first from candidate blocks (sorted by their newest log, newest first), read in
/// groups of 1, 2, 4 … up to [`MAX_BLOCKS_PER_READ`] blocks, each group one query over its
/// id ranges: a common term fills the page from the first block, a rare one is read in
/// few queries. Reading stops once the page is full and the next group's newest log is
/// older than the page's oldest; `None` when that takes more than the first `budget`
/// blocks. One query per group, not [`newest_keys`] then
/// [`rows_of`]: in candidate blocks the rows passing the filter are nearly all that is kept
/// (a needle's page took 6 ms longer in two steps).
fn search_blocks(
    conn: &Connection,
    base: &Where,
    limit: usize,
    blocks: &[BlockSpan],
    budget: usize,
) -> StoreResult<Option<Vec<StoredLog>>> {
    let key = |l: &StoredLog| std::cmp::Reverse((l.record.timestamp_ns, l.id));
    let mut logs: Vec<StoredLog> = Vec::with_capacity(limit);
    let (mut next, mut group_size) = (0, 1);
    while next < blocks.len() {
        let group = &blocks[next..(next + group_size).min(blocks.len())];
        if logs.len() == limit && logs.last().is_some_and(|l| group[0].max_ts < l.record.timestamp_ns) {
            break;
        }
        if next >= budget {
            return Ok(None);
        }
        (next, group_size) = (next + group.len(), (group_size * 2).min(MAX_BLOCKS_PER_READ));
        let mut w = base.clone();
        w.read_ranges(group.iter().map(|b| (b.first_id, b.last_id)).collect());
        let sql =
            format!("SELECT {} {} ORDER BY ts DESC, id DESC LIMIT {limit}", *LOG_COLUMNS, w.source_sql());
        logs.extend(query_logs(conn, &sql, &w.source_params())?);
        logs.sort_by_key(key);
        logs.truncate(limit);
    }
    Ok(Some(logs))
}

/// The (time, id) of the newest `limit` logs matching `w`, newest first. Pages by time
/// slices are read in two steps, these keys and then [`rows_of`] them, because DuckDB
/// materializes every selected column of each row passing the filter before it keeps the
/// newest: with the ~50 columns of a log, an attribute filter's page over an hour of 2 M
/// logs took 29–38 ms in one query and 14 + 5 ms in two; a session's page 63 → 44 ms.
fn newest_keys(conn: &Connection, w: &Where, limit: usize) -> StoreResult<Vec<(i64, i64)>> {
    let sql = format!("SELECT ts, id FROM logs {} ORDER BY ts DESC, id DESC LIMIT {limit}", w.sql());
    query_rows(conn, &sql, &w.params(), |r| Ok((r.get(0)?, r.get(1)?)))
}

/// The logs of `keys` (newest first) that match `filter`, in that order. Besides the
/// filter's predicates, which DuckDB pushes into the scan where they are column
/// comparisons, the query bounds the keys' time and ids — an `id IN` list alone is no
/// narrowing DuckDB pushes: a session's page spread over a wide id range took 46 ms by ids
/// alone, 21 with the session too.
fn rows_of(conn: &Connection, filter: &LogFilter, keys: &[(i64, i64)]) -> StoreResult<Vec<StoredLog>> {
    let (Some(&(newest, _)), Some(&(oldest, _))) = (keys.first(), keys.last()) else { return Ok(Vec::new()) };
    let ids = keys.iter().map(|&(_, id)| id);
    let (low, high) = (ids.clone().min().unwrap_or(0), ids.clone().max().unwrap_or(0));
    let mut w = Where::from_filter(filter, None);
    w.push("ts >= ? AND ts <= ?", [Value::BigInt(oldest), Value::BigInt(newest)]);
    w.push("id >= ? AND id <= ?", [Value::BigInt(low), Value::BigInt(high)]);
    // One list parameter, not `IN (?, …)`: the statement stays the same for any page.
    w.push("list_contains(?, id)", [Value::List(ids.map(Value::BigInt).collect())]);
    let by_duckdb = keys.len() > SORTED_BY_DUCKDB;
    let order = if by_duckdb { " ORDER BY ts DESC, id DESC" } else { "" };
    let sql = format!("SELECT {} FROM logs {}{order}", *LOG_COLUMNS, w.sql());
    let mut logs = query_logs(conn, &sql, &w.params())?;
    if !by_duckdb {
        logs.sort_unstable_by_key(|l| std::cmp::Reverse((l.record.timestamp_ns, l.id.0)));
    }
    Ok(logs)
}

/// [`rows_of`] sorts at most this many rows itself: planning DuckDB's sort (its pipeline,
/// the compressed materialization of every column) was a fifth of a trace lookup's CPU
/// (8 logs: 4.3–4.7 → 2.9–3.5 ms at 10 M logs, alternating builds on the same data), but
/// without it a session's 1,000 rows took longer to read (31–35 → 42–43 ms; 100 of a
/// person's 10–12 → 13).
const SORTED_BY_DUCKDB: usize = 16;

/// The sampled logs of a search (see `LogReader::sample`). Usually their ids first, from
/// the columns the filter reads (the remainder is evaluated in the scan), then their few
/// columns by a semi-join, so bodies are decoded for the sampled rows rather than for every
/// row the filter passes: at 1 M logs over a day 10,000 logs took 44 ms this way, 72 ms in
/// one query, ~1 s as the newest 208 of each of 48 buckets and ~215 ms by a window
/// function's newest per bucket. A filter that reads bodies or attributes over more than
/// `EXACT_SCAN_LOGS` is read in whole vectors, one in `step`, as the histogram's estimate
/// is, in one query (its scan decodes the sampled vectors only; the semi-join's second scan
/// of the whole range cost more than the first: patterns of a common term over 10 M logs
/// took 1.5–1.7 s), and the remainder keeps `step` times as many of what they hold.
pub(super) fn sample(
    conn: &Connection,
    filter: &LogFilter,
    blocks: Option<&[BlockSpan]>,
    keep: u32,
    limit: usize,
) -> StoreResult<Vec<LogSample>> {
    let Some(mut w) = filter_where(conn, filter, blocks)? else { return Ok(Vec::new()) };
    let step = sample_step(conn, filter, blocks)?;
    let keep = i64::from(keep).saturating_mul(step).min(SAMPLE_MODULUS.into());
    let remainder = [Value::BigInt(SAMPLE_MODULUS.into()), Value::BigInt(keep)];
    let (sql, params) = if step > 1 {
        // Ranges are never read then (see `sample_step`), so `rowid` is the table's.
        w.push("rowid % ? < 2048", [Value::BigInt(2048 * step)]);
        // The remainder is tested on the scan's result: beside it, DuckDB evaluates the
        // row number test above the scan too, and the text test then runs on every vector
        // (10 M logs, a common term: 780 ms in one query, 188 ms so; a subquery with
        // `OFFSET 0` runs on one thread, 347 ms).
        let sql = format!(
            "WITH s AS MATERIALIZED (SELECT {SAMPLE_COLUMNS} {}) SELECT * FROM s WHERE id % ? < ? \
             ORDER BY ts DESC, id DESC LIMIT {limit}",
            w.source_sql()
        );
        (sql, w.source_params().into_iter().chain(remainder).collect())
    } else {
        w.push("id % ? < ?", remainder);
        let sql = format!(
            "WITH k AS (SELECT id {} ORDER BY ts DESC, id DESC LIMIT {limit}) \
             SELECT {SAMPLE_COLUMNS} FROM logs WHERE project_id = ? AND ts >= ? AND ts < ? \
             AND id IN (SELECT id FROM k) ORDER BY ts DESC, id DESC",
            w.source_sql()
        );
        let mut params = w.source_params();
        params.extend([filter.project_id, filter.from_ns, filter.to_ns].map(Value::BigInt));
        (sql, params)
    };
    query_rows(conn, &sql, &params, |r| {
        Ok(LogSample {
            id: LogId(r.get(0)?),
            timestamp_ns: r.get(1)?,
            severity: Severity::from_code(r.get(2)?).unwrap_or(Severity::Info),
            service: r.get(3)?,
            body: r.get(4)?,
            session_id: r.get(5)?,
            distinct_id: r.get(6)?,
        })
    })
}

/// The sessions of a search's logs (see `LogReader::sessions`).
pub(super) fn sessions(
    conn: &Connection,
    filter: &LogFilter,
    blocks: Option<&[BlockSpan]>,
    limit: usize,
) -> StoreResult<Vec<SessionHit>> {
    let Some(w) = filter_where(conn, filter, blocks)? else { return Ok(Vec::new()) };
    let sql = format!(
        "WITH m AS (SELECT session_id, distinct_id, ts {}) \
         SELECT session_id, max(distinct_id), min(ts), max(ts), count(*) FROM m WHERE session_id IS NOT NULL \
         GROUP BY session_id ORDER BY max(ts) DESC, session_id LIMIT {limit}",
        w.source_sql()
    );
    query_rows(conn, &sql, &w.source_params(), |r| {
        Ok(SessionHit {
            session_id: r.get(0)?,
            distinct_id: r.get(1)?,
            first_ns: r.get(2)?,
            last_ns: r.get(3)?,
            logs: r.get::<_, i64>(4)?.unsigned_abs(),
        })
    })
}

/// Per service, its logs with a session, a person and a trace (see `LogReader::linking`).
pub(super) fn linking(
    conn: &Connection,
    filter: &LogFilter,
    blocks: Option<&[BlockSpan]>,
) -> StoreResult<Vec<ServiceLinking>> {
    let Some(w) = filter_where(conn, filter, blocks)? else { return Ok(Vec::new()) };
    let sql = format!(
        "WITH m AS (SELECT service, session_id, distinct_id, trace_id_high, resource_attributes {}) \
         SELECT coalesce(service, '') AS s, count(*) AS n, count(*) FILTER (WHERE session_id <> ''), \
         count(*) FILTER (WHERE distinct_id <> ''), count(trace_id_high), \
         any_value(resource_attributes) FILTER (WHERE contains(resource_attributes, '{SDK_LANGUAGE_ATTRIBUTE}')) \
         FROM m GROUP BY s ORDER BY n DESC, s",
        w.source_sql()
    );
    let count = |r: &Row, i: usize| r.get::<_, i64>(i).map(i64::unsigned_abs);
    query_rows(conn, &sql, &w.source_params(), |r| {
        Ok(ServiceLinking {
            service: r.get(0)?,
            logs: count(r, 1)?,
            with_session: count(r, 2)?,
            with_distinct_id: count(r, 3)?,
            with_trace: count(r, 4)?,
            language: r.get::<_, Option<String>>(5)?.and_then(|json| sdk_language(&json)),
        })
    })
}

/// What [`sample`] reads of a log.
const SAMPLE_COLUMNS: &str = "id, ts, severity, service, body, session_id, distinct_id";

/// Candidates beyond this many fall back to [`search`]: the other predicates of the
/// filter drop most of what the index finds, and a scan is cheaper than reading them.
const MAX_INDEX_CANDIDATES: usize = 16_384;

/// A page of a filter on an indexed id (a session, person, trace or attribute value, see
/// `crate::id_index`): the index's newest candidates read from DuckDB with the whole
/// filter; when its other predicates drop some, four times as many, and so on, until
/// [`search`] (narrowed by the text index's `blocks`) is cheaper.
pub(super) fn search_indexed(
    conn: &Connection,
    filter: &LogFilter,
    limit: usize,
    after: Option<PageCursor>,
    blocks: Option<&[BlockSpan]>,
    index: &IdIndex,
    lookup: &Lookup,
) -> StoreResult<LogPage> {
    let snapshot = index.snapshot(lookup);
    let mut wanted = limit.max(1);
    let logs = loop {
        if wanted > MAX_INDEX_CANDIDATES {
            return search(conn, filter, limit, after, blocks);
        }
        let found = snapshot
            .newest(lookup, filter, after, wanted)
            .map_err(|e| StoreError::internal("cannot read the id index", e))?;
        let mut logs = rows_of(conn, filter, &found.keys)?;
        if logs.len() >= limit || !found.more {
            logs.truncate(limit);
            break logs;
        }
        wanted = wanted.saturating_mul(4);
    };
    Ok(LogPage { next: next_cursor(&logs, limit), logs })
}

/// Where the page after `logs` starts, when it was full.
fn next_cursor(logs: &[StoredLog], limit: usize) -> Option<PageCursor> {
    (logs.len() == limit)
        .then(|| logs.last().map(|l| PageCursor { timestamp_ns: l.record.timestamp_ns, id: l.id }))
        .flatten()
}

pub(super) fn get(conn: &Connection, project_id: ProjectId, id: LogId) -> StoreResult<Option<StoredLog>> {
    let sql = format!("SELECT {} FROM logs WHERE project_id = ? AND id = ?", *LOG_COLUMNS);
    Ok(query_logs(conn, &sql, &[Value::BigInt(project_id), Value::BigInt(id.0)])?.pop())
}

pub(super) fn tail(
    conn: &Connection,
    filter: &LogFilter,
    blocks: Option<&[BlockSpan]>,
    after: LogId,
    limit: usize,
) -> StoreResult<Vec<StoredLog>> {
    let Some(mut w) = filter_where(conn, filter, blocks)? else { return Ok(Vec::new()) };
    w.push("id > ?", [Value::BigInt(after.0)]);
    let sql = format!("SELECT {} FROM logs {} ORDER BY id LIMIT {limit}", *LOG_COLUMNS, w.sql());
    query_logs(conn, &sql, &w.params())
}

/// The project's logs with an id in `(after, upto]`, in id order, at most `limit`.
pub(super) fn by_id(
    conn: &Connection,
    project: ProjectId,
    after: i64,
    upto: i64,
    limit: usize,
) -> StoreResult<Vec<StoredLog>> {
    let sql = format!(
        "SELECT {} FROM logs WHERE project_id = ? AND id > ? AND id <= ? ORDER BY id LIMIT {limit}",
        *LOG_COLUMNS
    );
    query_logs(conn, &sql, &[Value::BigInt(project), Value::BigInt(after), Value::BigInt(upto)])
}

/// Histogram counts. Filters on project, time, severity and service only (the default
/// view) read whole minutes from the per-minute rollup and scan logs only for the partial
/// minutes at the edges; any other filter scans the logs in range, a sample of them when
/// that would be more than [`EXACT_SCAN_LOGS`] (see [`sample_step`]).
pub(super) fn histogram(
    conn: &Connection,
    filter: &LogFilter,
    blocks: Option<&[BlockSpan]>,
    bucket_ns: i64,
    breakdown: Breakdown,
) -> StoreResult<Histogram> {
    tether_store::check_bucket_width(bucket_ns)?;
    let (counts, step) = counts(conn, filter, blocks, bucket_ns, Key::of(breakdown))?;
    let buckets = counts
        .into_iter()
        .map(|((start_ns, key), count)| HistogramBucket {
            start_ns,
            key: breakdown_key(breakdown, key),
            count: count as u64,
        })
        .collect();
    Ok(Histogram { buckets, approximate: step > 1 })
}

/// Logs per (bucket, key as text) and the sampling step (1 when exact), as [`histogram`]
/// says.
fn counts(
    conn: &Connection,
    filter: &LogFilter,
    blocks: Option<&[BlockSpan]>,
    bucket_ns: i64,
    key: Key,
) -> StoreResult<(Counts, i64)> {
    let rollup_ok = !filter.narrower_than_counts() && bucket_ns % MINUTE_NS == 0;
    let mut counts: Counts = Default::default();
    let (first_minute, end_minute) =
        (filter.from_ns.div_euclid(MINUTE_NS) * MINUTE_NS, filter.to_ns.div_euclid(MINUTE_NS) * MINUTE_NS);
    let whole_from = if first_minute == filter.from_ns { first_minute } else { first_minute + MINUTE_NS };
    let mut step = 1;
    if rollup_ok && whole_from < end_minute {
        rollup_counts(conn, filter, whole_from, end_minute, bucket_ns, key, &mut counts)?;
        for (from, to) in [(filter.from_ns, whole_from), (end_minute, filter.to_ns)] {
            if from < to {
                let edge = LogFilter { from_ns: from, to_ns: to, ..filter.clone() };
                scan_counts(conn, &edge, blocks, bucket_ns, key, 1, &mut counts)?;
            }
        }
    } else {
        step = sample_step(conn, filter, blocks)?;
        scan_counts(conn, filter, blocks, bucket_ns, key, step, &mut counts)?;
    }
    Ok((counts, step))
}

type Counts = BTreeMap<(i64, String), i64>;

/// A histogram whose scan would read more logs than this counts a sample instead: a search
/// for a common term reads and decodes every body in range (1.2–1.5 s per 10 M logs), an
/// attribute filter compares every row's keys. Its estimate of each bucket is unbiased
/// (every vector of rows is as likely to be read), so the chart's shape holds.
const EXACT_SCAN_LOGS: u64 = 2_000_000;

/// Counts one row in `step` (a power of two, 1 when exact): the rows of one 2,048-row
/// vector in every `step`, by row number, so DuckDB decodes only the sampled vectors and
/// every time range is sampled evenly (logs are stored in about the order they arrive).
/// Only the predicates that make a scan expensive — text and attributes — are sampled;
/// the others (a session, a trace, a service) are cheap column comparisons and counted
/// exactly.
fn sample_step(conn: &Connection, filter: &LogFilter, blocks: Option<&[BlockSpan]>) -> StoreResult<i64> {
    let costly = filter.query.as_ref().is_some_and(LogExpr::reads_bodies_or_attributes);
    if !costly || blocks.is_some_and(|b| b.len() <= MAX_UNION_BLOCKS) {
        return Ok(1);
    }
    let logs = match blocks {
        Some(blocks) => blocks.len() as i64 * i64::from(crate::text_index::BLOCK_LOGS),
        None => {
            let sql = "SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM log_minute_counts \
                       WHERE project_id = ? AND minute >= ? AND minute < ?";
            let mut stmt = conn.prepare_cached(sql).map_err(db_err("cannot prepare a count"))?;
            let from_minute = filter.from_ns.div_euclid(MINUTE_NS) * MINUTE_NS;
            stmt.query_row(params![filter.project_id, from_minute, filter.to_ns], |r| r.get::<_, i64>(0))
                .map_err(db_err("count failed"))?
        }
    };
    Ok((logs.max(1) as u64).div_ceil(EXACT_SCAN_LOGS).next_power_of_two() as i64)
}

const MINUTE_NS: i64 = 60_000_000_000;

fn breakdown_key(breakdown: Breakdown, key: String) -> String {
    match breakdown {
        Breakdown::Severity => {
            key.parse::<u8>().ok().and_then(Severity::from_code).map_or(key, |s| s.as_str().to_owned())
        }
        Breakdown::Service => key,
    }
}

/// What counts are keyed by: `columns` (of both `logs` and `log_minute_counts`) to group
/// by, and `text`, the key as text over them, computed once per group rather than per row
/// (casting every row's severity to text was 6 % of a 24 h facet request's CPU).
#[derive(Clone, Copy)]
struct Key {
    columns: &'static str,
    text: &'static str,
}

impl Key {
    fn of(breakdown: Breakdown) -> Key {
        match breakdown {
            Breakdown::Severity => Key { columns: "severity", text: "CAST(severity AS VARCHAR)" },
            Breakdown::Service => Key { columns: "service", text: "service" },
        }
    }

    /// A service, U+001F and a severity's code (see [`totals`]).
    const SERVICE_AND_SEVERITY: Key =
        Key { columns: "service, severity", text: "service || chr(31) || CAST(severity AS VARCHAR)" };

    /// `SELECT bucket, key, n` over the groups of `groups`, a query selecting `bucket`, the
    /// key's columns and `n` grouped by them.
    fn select(self, groups: &str) -> String {
        format!("SELECT bucket, {}, n FROM ({groups})", self.text)
    }
}

/// Adds the (bucket, key, count) rows of `sql` to `counts`, each count times `scale`.
fn add_counts(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    scale: i64,
    counts: &mut Counts,
) -> StoreResult<()> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err("cannot prepare histogram"))?;
    let rows = stmt
        .query_map(params_from_iter(params.iter()), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
        })
        .map_err(db_err("histogram query failed"))?;
    for row in rows {
        let (start, key, n) = row.map_err(db_err("cannot read histogram row"))?;
        *counts.entry((start, key)).or_default() += n * scale;
    }
    Ok(())
}

fn scan_counts(
    conn: &Connection,
    filter: &LogFilter,
    blocks: Option<&[BlockSpan]>,
    bucket_ns: i64,
    key: Key,
    step: i64,
    counts: &mut Counts,
) -> StoreResult<()> {
    let Some(mut w) = filter_where(conn, filter, blocks)? else { return Ok(()) };
    if step > 1 {
        // Ranges are never read then (see `sample_step`), so `rowid` is the table's.
        w.push("rowid % ? < 2048", [Value::BigInt(2048 * step)]);
    }
    let sql = format!(
        "SELECT (ts // {bucket_ns}) * {bucket_ns} AS bucket, {}, count(*) AS n {} GROUP BY ALL",
        key.columns,
        w.source_sql()
    );
    let sql = key.select(&sql);
    add_counts(conn, &sql, &w.source_params(), step, counts)
}

/// The per-minute counts of `filter`'s project, severities and services from `from_minute`
/// up to `to_minute`.
fn rollup_where(filter: &LogFilter, from_minute: i64, to_minute: i64) -> Where {
    let mut w = Where::default();
    w.push("project_id = ?", [Value::BigInt(filter.project_id)]);
    w.push("minute >= ? AND minute < ?", [Value::BigInt(from_minute), Value::BigInt(to_minute)]);
    w.push_in("severity", filter.severities.iter().map(|s| Value::UTinyInt(s.code())));
    w.push_in("service", filter.services.iter().map(|s| Value::Text(s.clone())));
    w
}

fn rollup_counts(
    conn: &Connection,
    filter: &LogFilter,
    from_minute: i64,
    to_minute: i64,
    bucket_ns: i64,
    key: Key,
    counts: &mut Counts,
) -> StoreResult<()> {
    let w = rollup_where(filter, from_minute, to_minute);
    let sql = format!(
        "SELECT (minute // {bucket_ns}) * {bucket_ns} AS bucket, {}, CAST(sum(n) AS BIGINT) AS n \
         FROM log_minute_counts {} GROUP BY ALL",
        key.columns,
        w.sql()
    );
    let sql = key.select(&sql);
    add_counts(conn, &sql, &w.params(), 1, counts)
}

/// Logs, sessions and people of a search, counted over every match. Not estimated, however
/// many logs that reads (a common term: ~0.9 s per 10 M logs on 2 cores): an estimate from
/// a sample of time slices (runs of candidate blocks, the GEE estimator) took ~60 ms at 10 M
/// logs but said 5,302 sessions and 4,297 users for 22,630 and 7,242, and 27,746 sessions
/// and 26,152 users for 226,670 and 72,380 at 100 M — a session's logs sit together in
/// time, so a sample of slices sees few sessions often rather than many once, and no
/// estimator of distinct values from it is unbiased. Unbiased samples were no cheaper:
/// counting the sessions and people whose hash falls in 1/8 or 1/16 (within 3 %) took
/// 900–1,080 ms against 843 exact, since decoding the bodies is the cost either way.
pub(super) fn summary(
    conn: &Connection,
    filter: &LogFilter,
    blocks: Option<&[BlockSpan]>,
) -> StoreResult<LogSummary> {
    let Some(w) = filter_where(conn, filter, blocks)? else { return Ok(LogSummary::default()) };
    let sql = format!(
        "SELECT count(*), count(DISTINCT session_id), count(DISTINCT distinct_id) {}",
        w.source_sql()
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err("cannot prepare log summary"))?;
    let [logs, sessions, users] = stmt
        .query_row(params_from_iter(w.source_params().iter()), |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?]))
        .map_err(db_err("log summary failed"))?
        .map(|c: i64| c as u64);
    Ok(LogSummary { logs, sessions, users, approximate: false })
}

/// Logs per service and per severity over the whole filter: the histogram with one bucket,
/// keyed by both at once (a service, U+001F, a severity's code), so the per-minute counts
/// answer it whenever they can in one query (and one per partial minute at the edges).
pub(super) fn totals(
    conn: &Connection,
    filter: &LogFilter,
    blocks: Option<&[BlockSpan]>,
) -> StoreResult<(Vec<CountedValue>, Vec<CountedValue>)> {
    let whole = ((filter.to_ns.saturating_sub(filter.from_ns)) / MINUTE_NS)
        .saturating_add(2)
        .saturating_mul(MINUTE_NS);
    let (mut services, mut severities) = (BTreeMap::<String, u64>::new(), BTreeMap::<String, u64>::new());
    for ((_, key), n) in counts(conn, filter, blocks, whole, Key::SERVICE_AND_SEVERITY)?.0 {
        let (service, severity) = key.rsplit_once('\u{1f}').unwrap_or((&key, ""));
        *services.entry(service.to_owned()).or_default() += n as u64;
        *severities.entry(breakdown_key(Breakdown::Severity, severity.to_owned())).or_default() += n as u64;
    }
    let listed = |m: BTreeMap<String, u64>| {
        m.into_iter().map(|(value, count)| CountedValue { value, count }).collect()
    };
    Ok((listed(services), listed(severities)))
}

/// The start of the newest whole minutes that hold at least `n` logs by the per-minute
/// counts (which answer only filters not [`LogFilter::narrower_than_counts`]), or the
/// filter's start when the range holds fewer: where [`newest_start`] can begin.
pub(super) fn rollup_start(conn: &Connection, filter: &LogFilter, n: i64) -> StoreResult<i64> {
    let first_minute = filter.from_ns.div_euclid(MINUTE_NS) * MINUTE_NS;
    let w = rollup_where(filter, first_minute, filter.to_ns);
    let sql = format!(
        "SELECT max(minute) FROM (SELECT minute, sum(sum(n)) OVER (ORDER BY minute DESC) AS newer \
         FROM log_minute_counts {} GROUP BY minute) WHERE newer >= {n}",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err("cannot prepare a count"))?;
    let minute = stmt
        .query_row(params_from_iter(w.params().iter()), |r| r.get::<_, Option<i64>>(0))
        .map_err(db_err("count failed"))?;
    Ok(minute.map_or(filter.from_ns, |m| m.max(filter.from_ns)))
}

/// The time from which on `w` has its newest `n` logs (the filter's start when it has
/// fewer), found by time slices that grow ×4 from [`FIRST_SLICE`] of the range (or from
/// `first_slice_start`, e.g. [`rollup_start`]), as in [`search_slices`], so a sample of the newest matches reads recent data, not the whole
/// range. The sample is then a plain time range: choosing the newest by `ORDER BY ts DESC
/// LIMIT` made DuckDB materialize every sampled column of the whole slice first.
pub(super) fn newest_start(
    conn: &Connection,
    w: &Where,
    filter: &LogFilter,
    n: i64,
    first_slice_start: Option<i64>,
) -> StoreResult<i64> {
    let (lower, mut start) = (filter.from_ns, filter.to_ns);
    let mut width = match first_slice_start {
        Some(slice_start) => (start - slice_start).max(MINUTE_NS),
        None => ((start - lower) / FIRST_SLICE).max(MINUTE_NS),
    };
    let mut found = 0;
    while start > lower {
        let slice_start = start.saturating_sub(width).max(lower);
        let mut slice = w.clone();
        slice.push("ts >= ? AND ts < ?", [Value::BigInt(slice_start), Value::BigInt(start)]);
        // The count, and the time of the newest log still missing (when the slice has it).
        let missing = n - found;
        let sql = format!("SELECT count(*), list_min(max(ts, {missing})) {}", slice.source_sql());
        let mut stmt = conn.prepare_cached(&sql).map_err(db_err("cannot prepare a count"))?;
        let (count, oldest) = stmt
            .query_row(params_from_iter(slice.source_params().iter()), |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
            })
            .map_err(db_err("count failed"))?;
        match oldest {
            Some(ts) if count >= missing => return Ok(ts),
            _ => found += count,
        }
        start = slice_start;
        width = width.saturating_mul(4);
    }
    Ok(start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DuckAnalytics;
    use tether_store::LogWriter;
    use tether_store::conformance::logs::sample;

    /// A sampled histogram (one 2,048-row vector in four) estimates every bucket of a
    /// search: the matches are spread evenly, so each estimate is near the exact count.
    #[tokio::test]
    async fn a_sampled_histogram_estimates_every_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let store = DuckAnalytics::open(&dir.path().join("a.duckdb")).await.unwrap();
        const MINUTE: i64 = 60_000_000_000;
        let logs: Vec<StoredLog> = (0..65_536)
            .map(|i| {
                let body = if i % 3 == 0 { "timeout waiting for db" } else { "ok" };
                StoredLog { id: LogId(i + 1), record: sample(1, i * (4 * MINUTE / 65_536), body) }
            })
            .collect();
        store.append_logs(logs).await.unwrap();
        let filter = LogFilter { query: Some(LogExpr::body("TIMEOUT")), ..LogFilter::new(1, 0, 4 * MINUTE) };
        let (exact, sampled) = store
            .read(move |conn| {
                let mut exact = Counts::default();
                scan_counts(conn, &filter, None, MINUTE, Key::of(Breakdown::Severity), 1, &mut exact)?;
                let mut sampled = Counts::default();
                scan_counts(conn, &filter, None, MINUTE, Key::of(Breakdown::Severity), 4, &mut sampled)?;
                Ok((exact, sampled))
            })
            .await
            .unwrap();
        assert_eq!(exact.values().sum::<i64>(), 21_846);
        assert_eq!(exact.len(), 4, "{exact:?}");
        assert!(
            sampled.values().all(|c| c % 4 == 0) && sampled != exact,
            "scaled from a sample: {sampled:?}"
        );
        for (bucket, count) in &exact {
            let estimate = sampled.get(bucket).copied().unwrap_or(0);
            assert!((estimate - count).abs() * 10 < *count, "{bucket:?}: {estimate} for {count}");
        }
    }

    /// Sessions and people cluster in time: each session here is 40 consecutive logs, as a
    /// visit is minutes of one day. A summary over many candidate blocks is counted, not
    /// estimated: the estimate from runs of blocks saw a quarter of the sessions of a common
    /// term at 10 M logs, an eighth at 100 M.
    #[tokio::test]
    async fn a_summary_of_many_blocks_counts_sessions_that_cluster_in_time_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let store = DuckAnalytics::open(&dir.path().join("a.duckdb")).await.unwrap();
        const N: i64 = 60_000;
        let logs: Vec<StoredLog> = (0..N)
            .map(|i| {
                let body = if i % 10 == 3 { "request timed out after 30s" } else { "ok" };
                let mut record = sample(1, i, body);
                record.session_id = Some(format!("s{}", i / 40));
                record.distinct_id = Some(format!("u{}", i / 120));
                StoredLog { id: LogId(i + 1), record }
            })
            .collect();
        store.append_logs(logs).await.unwrap();
        let blocks: Vec<BlockSpan> = (0..N / 60)
            .rev()
            .map(|b| BlockSpan {
                first_id: b * 60 + 1,
                last_id: b * 60 + 60,
                min_ts: b * 60,
                max_ts: b * 60 + 59,
            })
            .collect();
        let filter = LogFilter { query: Some(LogExpr::body("TIMED OUT")), ..LogFilter::new(1, 0, N) };
        let counted = store.read(move |conn| summary(conn, &filter, Some(&blocks))).await.unwrap();
        assert_eq!(
            (counted.logs, counted.sessions, counted.users, counted.approximate),
            (6_000, 1_500, 500, false)
        );
    }

    /// A search over many logs is sampled in whole vectors, one in `step`, and by the id
    /// remainder times `step`: what it returns is exactly the matches that pass both, newest
    /// first.
    #[tokio::test]
    async fn a_sampled_search_keeps_the_matches_of_some_vectors_and_remainders() {
        let dir = tempfile::tempdir().unwrap();
        let store = DuckAnalytics::open(&dir.path().join("a.duckdb")).await.unwrap();
        let logs: Vec<StoredLog> = (0..65_536)
            .map(|i| {
                let body = if i % 3 == 0 { "timeout waiting for db" } else { "ok" };
                StoredLog { id: LogId(i + 1), record: sample(1, i * 1000, body) }
            })
            .collect();
        store.append_logs(logs).await.unwrap();
        // As many candidate blocks as 6 M logs: one vector in four is read.
        let block = |i: i64| BlockSpan { first_id: i * 2048, last_id: i * 2048 + 2047, min_ts: i, max_ts: i };
        let many: Vec<BlockSpan> = (0..3000).map(block).collect();
        let filter = LogFilter { query: Some(LogExpr::body("TIMEOUT")), ..LogFilter::new(1, 0, 1 << 40) };
        let keep = 500;
        let got =
            store.read(move |conn| super::sample(conn, &filter, Some(&many), keep, 100_000)).await.unwrap();
        // Rows were appended in id order, so a log's row number is its id − 1.
        let expected: Vec<i64> = (1..=65_536i64)
            .rev()
            .filter(|id| (id - 1) % 3 == 0 && (id - 1) % 8192 < 2048 && id % 10_007 < 4 * 500)
            .collect();
        assert!(expected.len() > 500, "{}", expected.len());
        assert_eq!(got.iter().map(|l| l.id.0).collect::<Vec<_>>(), expected);
        assert!(got.iter().all(|l| l.body == "timeout waiting for db"));
    }

    /// Only text and attribute predicates over more than `EXACT_SCAN_LOGS` are
    /// sampled, at a power of two.
    #[test]
    fn only_costly_filters_over_many_logs_are_sampled() {
        let conn = Connection::open_in_memory().unwrap();
        let block = |i: i64| BlockSpan { first_id: i * 2048, last_id: i * 2048 + 2047, min_ts: i, max_ts: i };
        let many: Vec<BlockSpan> = (0..3000).map(block).collect();
        let few: Vec<BlockSpan> = (0..100).map(block).collect();
        let search = LogFilter { query: Some(LogExpr::body("x")), ..LogFilter::new(1, 0, 1) };
        assert_eq!(sample_step(&conn, &search, Some(&many)).unwrap(), 4, "6.1 M logs, 2 M read");
        assert_eq!(sample_step(&conn, &search, Some(&few)).unwrap(), 1);
        let session = LogFilter { session_id: Some("s".into()), ..LogFilter::new(1, 0, 1) };
        assert_eq!(sample_step(&conn, &session, Some(&many)).unwrap(), 1);
    }
}
