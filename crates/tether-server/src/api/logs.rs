//! `GET /api/projects/{id}/logs…`: search, one log, histogram, facets, live tail.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::{Value, json};
use tether_model::ProjectId;
use tether_store::{Breakdown, LogQuery, StoredLog};

use super::authorize_project;
use super::params::{self, LogParams, MAX_LIMIT, encode_cursor, format_ns};
use crate::{ApiError, AppState};

/// A log as the list endpoints return it.
#[derive(Serialize)]
pub(crate) struct LogJson {
    /// A string: ids exceed JavaScript's exact integer range.
    id: String,
    timestamp: String,
    severity: &'static str,
    service: String,
    body: String,
    session_id: Option<String>,
    distinct_id: Option<String>,
    trace_id: String,
    span_id: String,
    attributes: Value,
    resource_attributes: Value,
}

fn attrs_json(attrs: &tether_model::Attributes) -> Value {
    serde_json::to_value(attrs).unwrap_or_else(|_| json!({}))
}

impl From<&StoredLog> for LogJson {
    fn from(log: &StoredLog) -> Self {
        let r = &log.record;
        LogJson {
            id: log.id.0.to_string(),
            timestamp: format_ns(r.timestamp_ns),
            severity: r.severity.as_str(),
            service: r.service.clone(),
            body: r.body.clone(),
            session_id: r.session_id.clone(),
            distinct_id: r.distinct_id.clone(),
            trace_id: r.trace_id.clone(),
            span_id: r.span_id.clone(),
            attributes: attrs_json(&r.attributes),
            resource_attributes: attrs_json(&r.resource_attributes),
        }
    }
}

/// The parsed and authorized parameters of a `logs…` request: checks the caller may read
/// the project in the path, then parses the query string.
pub(super) struct LogRequest(LogParams);

impl axum::extract::FromRequestParts<AppState> for LogRequest {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let Path(path): Path<Vec<(String, String)>> = Path::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("no such project"))?;
        let project_id: ProjectId = path
            .iter()
            .find(|(k, _)| k == "project_id")
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| ApiError::not_found("no such project"))?;
        authorize_project(state, &parts.headers, project_id).await?;
        params::parse(parts.uri.query(), project_id, state.app().now_ms().saturating_mul(1_000_000))
            .map(LogRequest)
    }
}

/// A page of logs, newest first; `next_cursor` asks for the next one.
#[derive(Serialize)]
pub(super) struct LogPage {
    results: Vec<LogJson>,
    has_more: bool,
    next_cursor: Option<String>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<LogPage>, ApiError> {
    let page = state.logs().search(LogQuery { filter: p.filter, limit: p.limit, after: p.cursor }).await?;
    Ok(Json(LogPage {
        results: page.logs.iter().map(LogJson::from).collect(),
        has_more: page.next.is_some(),
        next_cursor: page.next.map(encode_cursor),
    }))
}

#[derive(Serialize)]
struct ScopeJson {
    name: String,
    version: String,
    attributes: Value,
}

/// One log with everything it was sent with.
#[derive(Serialize)]
pub(super) struct LogDetail {
    #[serde(flatten)]
    log: LogJson,
    observed_timestamp: String,
    severity_text: String,
    severity_number: i32,
    trace_flags: u32,
    event_name: String,
    scope: ScopeJson,
}

/// The log with id text `log_id` of a project; 404 when there is none.
pub(super) async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, log_id)): Path<(ProjectId, String)>,
) -> Result<Json<LogDetail>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let log = state.app().log(project_id, &log_id).await?;
    let r = &log.record;
    Ok(Json(LogDetail {
        log: LogJson::from(&log),
        observed_timestamp: format_ns(r.observed_timestamp_ns),
        severity_text: r.severity_text.clone(),
        severity_number: r.severity_number,
        trace_flags: r.trace_flags,
        event_name: r.event_name.clone(),
        scope: ScopeJson {
            name: r.scope_name.clone(),
            version: r.scope_version.clone(),
            attributes: attrs_json(&r.scope_attributes),
        },
    }))
}

#[derive(Serialize)]
struct Bucket {
    start: String,
    total: u64,
    counts: std::collections::BTreeMap<String, u64>,
}

/// Counts per bucket over the whole range, empty buckets included.
#[derive(Serialize)]
pub(super) struct HistogramJson {
    from: String,
    to: String,
    bucket_seconds: i64,
    breakdown: &'static str,
    buckets: Vec<Bucket>,
    approximate: bool,
}

pub(super) async fn histogram(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<HistogramJson>, ApiError> {
    let (from, to) = (p.filter.from_ns, p.filter.to_ns);
    let histogram = state.app().histogram(p.filter, p.breakdown).await?;
    Ok(Json(HistogramJson {
        from: format_ns(from),
        to: format_ns(to),
        bucket_seconds: histogram.width_ns / 1_000_000_000,
        breakdown: match p.breakdown {
            Breakdown::Severity => "severity",
            Breakdown::Service => "service",
        },
        buckets: histogram
            .buckets
            .into_iter()
            .map(|(start, counts)| Bucket { start: format_ns(start), total: counts.values().sum(), counts })
            .collect(),
        approximate: histogram.approximate,
    }))
}

pub(super) async fn facets(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<tether_store::Facets>, ApiError> {
    Ok(Json(state.logs().facets(p.filter, 50, 10).await?))
}

/// Logs and the cursor to ask with next.
#[derive(Serialize)]
pub(super) struct TailJson {
    results: Vec<LogJson>,
    cursor: String,
}

/// Live tail (`tether_app::App::tail`): without `after`, no logs and the cursor meaning
/// "from now on"; with it, what arrived since (oldest first) and the cursor to ask with next.
pub(super) async fn tail(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<TailJson>, ApiError> {
    let limit = if p.limit == params::DEFAULT_LIMIT { MAX_LIMIT } else { p.limit };
    let poll = state.app().tail(p.filter, p.after, limit).await?;
    Ok(Json(TailJson {
        results: poll.logs.iter().map(LogJson::from).collect(),
        cursor: poll.cursor.0.to_string(),
    }))
}

/// A session's logs, oldest first; `truncated` when there were more.
#[derive(Serialize)]
pub(super) struct SessionLogs {
    results: Vec<LogJson>,
    truncated: bool,
}

/// `sessions/{id}/logs`: the session's backend logs, oldest first, for the replay's log
/// panel (`tether_app::App::session_logs`).
pub(super) async fn session_logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, session_id)): Path<(ProjectId, String)>,
) -> Result<Json<SessionLogs>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let (logs, truncated) = state.app().session_logs(project_id, &session_id).await?;
    Ok(Json(SessionLogs { results: logs.iter().map(LogJson::from).collect(), truncated }))
}

/// `logs/summary`: "N logs · N sessions · N users" for the same filters as the list.
pub(super) async fn summary(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<tether_store::LogSummary>, ApiError> {
    Ok(Json(state.logs().summary(p.filter).await?))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FlagsQuery {
    /// Comma-separated session ids.
    ids: String,
}

#[derive(Serialize)]
struct SessionFlagsJson {
    has_recording: bool,
    exceptions: u64,
    session_id: String,
}

#[derive(Serialize)]
pub(super) struct SessionFlagsList {
    results: Vec<SessionFlagsJson>,
}

/// `sessions/flags?ids=a,b`: which of a page's sessions were recorded and hit exceptions,
/// for the ▶ and ⚠ marks on log rows.
pub(super) async fn session_flags(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    query: Result<axum::extract::Query<FlagsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SessionFlagsList>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let axum::extract::Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let ids: Vec<String> =
        q.ids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let results = state
        .app()
        .session_flags(project_id, ids)
        .await?
        .into_iter()
        .map(|f| SessionFlagsJson {
            has_recording: f.has_recording,
            exceptions: f.exceptions,
            session_id: f.session_id,
        })
        .collect();
    Ok(Json(SessionFlagsList { results }))
}
