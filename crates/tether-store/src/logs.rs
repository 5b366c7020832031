//! Log storage: batched writes and the typed queries behind the logs API.

use async_trait::async_trait;
use tether_model::{LogId, LogRecord, ProjectId, Severity};

use crate::StoreResult;
use crate::log_expr::{Compare, Condition, Field, LogExpr};

/// A stored log: its id plus the record as ingested.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLog {
    pub id: LogId,
    pub record: LogRecord,
}

/// The predicates shared by every log query. Empty lists and `None` mean "any".
#[derive(Debug, Clone, PartialEq)]
pub struct LogFilter {
    pub project_id: ProjectId,
    /// Inclusive lower bound, Unix nanoseconds.
    pub from_ns: i64,
    /// Exclusive upper bound, Unix nanoseconds.
    pub to_ns: i64,
    /// Any of these severities.
    pub severities: Vec<Severity>,
    /// Any of these services.
    pub services: Vec<String>,
    pub session_id: Option<String>,
    /// Any of these distinct ids (a person's several ids).
    pub distinct_ids: Vec<String>,
    /// Lowercase hex.
    pub trace_id: Option<String>,
    /// What the search box's query asks besides the fields above.
    pub query: Option<LogExpr>,
}

impl LogFilter {
    /// A filter matching every log of a project in a time range.
    pub fn new(project_id: ProjectId, from_ns: i64, to_ns: i64) -> Self {
        LogFilter {
            project_id,
            from_ns,
            to_ns,
            severities: Vec::new(),
            services: Vec::new(),
            session_id: None,
            distinct_ids: Vec::new(),
            trace_id: None,
            query: None,
        }
    }

    /// Adds `expr` to the filter (both must hold). A session, trace, person, service or
    /// severity the whole query requires moves to the filter's own field when that is unset:
    /// the same logs match, and backends find those fields through their indexes.
    pub fn and_query(&mut self, expr: LogExpr) {
        let mut parts = Vec::new();
        for part in self.query.take().into_iter().chain([expr]) {
            match part {
                LogExpr::And(inner) => parts.extend(inner),
                other => parts.push(other),
            }
        }
        parts.retain(|part| !self.hoist(part));
        self.query = (!parts.is_empty()).then(|| LogExpr::all(parts));
    }

    /// Moves a required condition into its field when that is unset; whether it did.
    fn hoist(&mut self, part: &LogExpr) -> bool {
        let LogExpr::Match(condition) = part else { return false };
        match condition {
            Condition::Equals(Field::Session, v) if self.session_id.is_none() => {
                self.session_id = Some(v.clone())
            }
            Condition::Equals(Field::Trace, v) if self.trace_id.is_none() => self.trace_id = Some(v.clone()),
            Condition::Equals(Field::Person, v) if self.distinct_ids.is_empty() => {
                self.distinct_ids = vec![v.clone()]
            }
            Condition::Equals(Field::Service, v) if self.services.is_empty() => {
                self.services = vec![v.clone()]
            }
            Condition::Severity(Compare::Eq, s) if self.severities.is_empty() => self.severities = vec![*s],
            _ => return false,
        }
        true
    }

    /// Whether the filter restricts anything beyond the project, time, severity and service
    /// (what counts kept per minute by those can answer).
    pub fn narrower_than_counts(&self) -> bool {
        self.query.is_some()
            || self.session_id.is_some()
            || !self.distinct_ids.is_empty()
            || self.trace_id.is_some()
    }

    /// The filter's half-open time range, narrowed to `span` (the first and last timestamp
    /// of every log that can match, e.g. a session's, from a backend's session index).
    pub fn range_within(&self, span: Option<(i64, i64)>) -> (i64, i64) {
        match span {
            Some((first, last)) => (self.from_ns.max(first), self.to_ns.min(last.saturating_add(1))),
            None => (self.from_ns, self.to_ns),
        }
    }
}

/// Position after the last log of a page in (timestamp desc, id desc) order. Logs that
/// arrive later never shift it: a page always starts strictly after its cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub timestamp_ns: i64,
    pub id: LogId,
}

/// A page request: newest first, strictly after `after` when given.
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    pub filter: LogFilter,
    pub limit: usize,
    pub after: Option<PageCursor>,
}

/// A page of logs, newest first, and the cursor of the next page if there may be one.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPage {
    pub logs: Vec<StoredLog>,
    pub next: Option<PageCursor>,
}

/// What histogram counts are broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakdown {
    Severity,
    Service,
}

/// Refuses a histogram bucket width that is not positive (every backend's first check of
/// [`LogReader::histogram`]).
pub fn check_bucket_width(bucket_ns: i64) -> StoreResult<()> {
    if bucket_ns <= 0 {
        return Err(crate::StoreError::new(crate::ErrorKind::InvalidInput, "bucket width must be positive"));
    }
    Ok(())
}

/// Count of logs in one bucket for one breakdown value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramBucket {
    /// Bucket start, Unix nanoseconds (a multiple of the bucket width).
    pub start_ns: i64,
    /// The severity name or the service name.
    pub key: String,
    pub count: u64,
}

/// Log counts per time bucket.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Histogram {
    /// Buckets with no logs are omitted.
    pub buckets: Vec<HistogramBucket>,
    /// The counts are estimated from a sample (a backend may do so when counting exactly
    /// would read too many logs); exact when false.
    pub approximate: bool,
}

/// A value and how many logs have it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CountedValue {
    pub value: String,
    pub count: u64,
}

/// An attribute key, how many logs carry it, and its most frequent values.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttributeFacet {
    pub key: String,
    pub count: u64,
    pub values: Vec<CountedValue>,
}

/// Value distributions over the logs matching a filter, for filter autocomplete.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Facets {
    pub services: Vec<CountedValue>,
    pub severities: Vec<CountedValue>,
    pub attributes: Vec<AttributeFacet>,
    /// The service and severity counts are of a sample of recent matching logs, not of
    /// all of them (attribute counts may always be).
    pub sampled: bool,
}

/// How many logs match a filter, and how many distinct sessions and people they carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct LogSummary {
    pub logs: u64,
    pub sessions: u64,
    pub users: u64,
    /// The counts are estimated; exact when false. A backend may estimate only without
    /// bias for values that cluster in time (a distinct-count sketch over every match, not a
    /// sample of time slices, which undercounts sessions many times over) and within 5 %;
    /// both backends count exactly today.
    pub approximate: bool,
}

/// A session among the logs of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionHit {
    pub session_id: String,
    /// The person of its matching logs (the greatest id when they carry several).
    pub distinct_id: Option<String>,
    /// Its first and last matching log.
    pub first_ns: i64,
    pub last_ns: i64,
    /// How many of its logs match.
    pub logs: u64,
}

/// How linkable one service's logs are: how many carry a session, a person, a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLinking {
    /// Empty for logs whose resource named no `service.name`.
    pub service: String,
    pub logs: u64,
    pub with_session: u64,
    pub with_distinct_id: u64,
    pub with_trace: u64,
    /// The language of the OpenTelemetry SDK that sent them (`telemetry.sdk.language` of a
    /// resource of theirs), when one said.
    pub language: Option<String>,
}

/// The resource attribute naming an OpenTelemetry SDK's language.
pub const SDK_LANGUAGE_ATTRIBUTE: &str = "telemetry.sdk.language";

/// The SDK language that resource attributes (their JSON text, as stored) name.
pub fn sdk_language(resource_json: &str) -> Option<String> {
    match tether_model::Attributes::from_json(resource_json).get(SDK_LANGUAGE_ATTRIBUTE) {
        Some(tether_model::AttrValue::String(language)) => Some(language.clone()),
        _ => None,
    }
}

/// What [`LogReader::sample`] divides ids by: a prime, so that the remainders of ids
/// minted from microseconds are spread evenly.
pub const SAMPLE_MODULUS: u32 = 10_007;

/// A log as pattern mining reads it: what it counts and shows, without attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSample {
    pub id: LogId,
    pub timestamp_ns: i64,
    pub severity: Severity,
    pub service: String,
    pub body: String,
    pub session_id: Option<String>,
    pub distinct_id: Option<String>,
}

/// Appends logs.
#[async_trait]
pub trait LogWriter: Send + Sync {
    /// Stores the logs under the ids they carry (minted by the caller, unique). When the call
    /// returns Ok, every log is durable and visible to every reader; when it fails, none is
    /// visible (the caller may retry the same logs with the same ids).
    async fn append_logs(&self, logs: Vec<StoredLog>) -> StoreResult<()>;
    /// Deletes the project's logs with a timestamp before `before_ns` and what was derived
    /// from them (histogram counts, session spans), so no read finds them once the call
    /// returns; returns how many logs there were to delete. Other projects' logs and newer
    /// logs are untouched. Appends meanwhile may wait for a short step of the deletion, never
    /// for all of it.
    async fn delete_logs_before(&self, project_id: ProjectId, before_ns: i64) -> StoreResult<u64>;
}

/// Reads logs. Time ranges are half-open: a log is in `[from_ns, to_ns)` when
/// `from_ns <= timestamp < to_ns`. Reads see every append that returned before they started.
#[async_trait]
pub trait LogReader: Send + Sync {
    async fn search(&self, query: LogQuery) -> StoreResult<LogPage>;
    async fn get(&self, project_id: ProjectId, id: LogId) -> StoreResult<Option<StoredLog>>;
    /// Counts per bucket of `bucket_ns` nanoseconds.
    async fn histogram(
        &self,
        filter: LogFilter,
        bucket_ns: i64,
        breakdown: Breakdown,
    ) -> StoreResult<Histogram>;
    /// Services, severities, and up to `max_keys` attribute keys with their top values.
    async fn facets(&self, filter: LogFilter, max_keys: usize, max_values: usize) -> StoreResult<Facets>;
    /// Counts of the logs matching `filter`, their distinct session ids and distinct ids.
    async fn summary(&self, filter: LogFilter) -> StoreResult<LogSummary>;
    /// The logs matching `filter` whose id is among the first `keep` of every
    /// [`SAMPLE_MODULUS`] (`id % SAMPLE_MODULUS < keep`), newest first, at most `limit`,
    /// read without attributes: a sample spread evenly over the range (ids are minted
    /// from time), the same on every backend, for mining patterns. For a filter on bodies or
    /// attributes over very many logs a backend may read only part of the range, in pieces
    /// spread evenly over it, and keep that many more of their remainders: the sample is
    /// then about as large, but no longer the same everywhere.
    async fn sample(&self, filter: LogFilter, keep: u32, limit: usize) -> StoreResult<Vec<LogSample>>;
    /// The sessions of the logs matching `filter` (logs without one are left out), the one
    /// with the latest match first, at most `limit`.
    async fn sessions(&self, filter: LogFilter, limit: usize) -> StoreResult<Vec<SessionHit>>;
    /// Per service of the logs matching `filter`, how many carry a session, a person and a
    /// trace; most logs first (then by name). Exact counts.
    async fn linking(&self, filter: LogFilter) -> StoreResult<Vec<ServiceLinking>>;
    /// Matching logs whose id is greater than `after`, in id order, at most `limit`. Ids are
    /// minted shortly before their commit, so a caller that re-reads an overlap behind its
    /// newest id (and drops repeats by id) sees logs committed late by another process too.
    async fn tail(&self, filter: LogFilter, after: LogId, limit: usize) -> StoreResult<Vec<StoredLog>>;
    async fn ping(&self) -> StoreResult<()>;
}
