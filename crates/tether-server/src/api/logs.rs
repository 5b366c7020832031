//! `GET /api/projects/{id}/logs…`: search, one log, histogram, facets, live tail.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::value::RawValue;
use std::sync::Arc;

use tether_model::{Attributes, ProjectId, Severity};
use tether_store::{AttributeFacet, Breakdown, CountedValue, LogQuery, StoredLog};
use utoipa::ToSchema;

use super::authorize_project;
use tether_app::search::{self, DEFAULT_LIMIT, MAX_LIMIT, Search, encode_cursor};

use super::params::{LogSearch, format_ns};
use crate::{ApiError, AppState};

/// A log as the list endpoints return it.
#[derive(Serialize, ToSchema)]
#[schema(as = Log)]
pub(crate) struct LogJson {
    /// A string: ids exceed JavaScript's exact integer range.
    id: String,
    timestamp: String,
    severity: Severity,
    service: String,
    body: String,
    session_id: Option<String>,
    distinct_id: Option<String>,
    trace_id: String,
    span_id: String,
    #[schema(value_type = std::collections::HashMap<String, Value>)]
    attributes: Attributes,
    // Shared by the logs of a resource: written from the store's, not copied per log.
    #[schema(value_type = std::collections::HashMap<String, Value>)]
    #[serde(serialize_with = "shared")]
    resource_attributes: Arc<Attributes>,
    /// The log pattern of the body (see `logs/patterns`).
    pattern: PatternRef,
}

/// A log pattern's id and template; `pattern:"<template>"` in `q` selects its logs.
#[derive(Serialize, ToSchema)]
pub(crate) struct PatternRef {
    /// 16 hex digits, the same for the same template in every request.
    pub(crate) id: String,
    pub(crate) template: String,
}

/// The logs as the API shows them, each with its pattern.
pub(crate) async fn logs_json(
    state: &AppState,
    project_id: ProjectId,
    logs: Vec<StoredLog>,
) -> Result<Vec<LogJson>, ApiError> {
    let patterns = state.app().patterns_of(project_id, &logs).await?;
    Ok(logs
        .into_iter()
        .zip(patterns)
        .map(|(log, (id, template))| LogJson::new(log, PatternRef { id, template }))
        .collect())
}

/// Logs as the list endpoints write them: each log serialized on rayon's threads, the list
/// then written as those texts are (a session's 1,000 logs are ~0.8 MB of JSON: written in
/// the one thread of the answer, a third of its time).
pub(crate) struct LogRows(Vec<Box<RawValue>>);

impl Serialize for LogRows {
    fn serialize<S: serde::Serializer>(&self, to: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(to)
    }
}

/// [`logs_json`], serialized (see [`LogRows`]).
async fn log_rows(
    state: &AppState,
    project_id: ProjectId,
    logs: Vec<StoredLog>,
) -> Result<LogRows, ApiError> {
    let logs = logs_json(state, project_id, logs).await?;
    // Off the async threads, which would otherwise wait for rayon's; pages of up to 64
    // logs are serialized in one piece of work.
    let write = move || {
        let rows = logs.into_par_iter().with_min_len(64).map(|log| serde_json::value::to_raw_value(&log));
        rows.collect::<Result<Vec<_>, _>>()
    };
    let rows = tokio::task::spawn_blocking(write).await.map_err(|_| ApiError::internal())?;
    let rows = rows.map_err(|e| {
        tracing::error!(error = %e, "cannot write a log as JSON");
        ApiError::internal()
    })?;
    Ok(LogRows(rows))
}

/// Attributes are written as they are (an object of their values), not through a
/// `serde_json::Value` per log: building those was a fifth of a session's 1,000 logs.
fn shared<S: serde::Serializer>(attributes: &Arc<Attributes>, to: S) -> Result<S::Ok, S::Error> {
    attributes.as_ref().serialize(to)
}

impl LogJson {
    /// Takes the log's texts, not copies (copying was a tenth of a session's 1,000 logs).
    pub(crate) fn new(log: StoredLog, pattern: PatternRef) -> Self {
        let r = log.record;
        LogJson {
            id: log.id.0.to_string(),
            timestamp: format_ns(r.timestamp_ns),
            severity: r.severity,
            service: r.service,
            body: r.body,
            session_id: r.session_id,
            distinct_id: r.distinct_id,
            trace_id: r.trace_id,
            span_id: r.span_id,
            attributes: r.attributes,
            resource_attributes: r.resource_attributes,
            pattern,
        }
    }
}

/// The parsed and authorized parameters of a `logs…` request: checks the caller may read
/// the project in the path, then parses the query string.
pub(crate) struct LogRequest(pub(crate) Search);

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
        let now_ns = state.app().now_ms().saturating_mul(1_000_000);
        Ok(LogRequest(search::parse(parts.uri.query(), project_id, now_ns)?))
    }
}

/// A page of logs, newest first; `next_cursor` asks for the next one.
#[derive(Serialize, ToSchema)]
pub(crate) struct LogPage {
    #[schema(value_type = Vec<LogJson>)]
    results: LogRows,
    has_more: bool,
    next_cursor: Option<String>,
    /// The texts the query looks for in bodies (not those it excludes), to mark in each line.
    highlight: Vec<String>,
}

#[utoipa::path(get, path = "/api/projects/{project_id}/logs", tag = "logs",
    params(super::ProjectPath, LogSearch), responses((status = 200, body = LogPage)))]
pub(super) async fn list(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<LogPage>, ApiError> {
    let highlight = p.filter.query.iter().flat_map(|q| q.sought_texts()).map(str::to_owned).collect();
    let project_id = p.filter.project_id;
    let page = state.logs().search(LogQuery { filter: p.filter, limit: p.limit, after: p.cursor }).await?;
    Ok(Json(LogPage {
        has_more: page.next.is_some(),
        next_cursor: page.next.map(encode_cursor),
        results: log_rows(&state, project_id, page.logs).await?,
        highlight,
    }))
}

#[derive(Serialize, ToSchema)]
#[schema(as = Scope)]
pub(crate) struct ScopeJson {
    name: String,
    version: String,
    #[schema(value_type = std::collections::HashMap<String, Value>)]
    #[serde(serialize_with = "shared")]
    attributes: Arc<Attributes>,
}

/// One log with everything it was sent with.
#[derive(Serialize, ToSchema)]
pub(crate) struct LogDetail {
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
#[utoipa::path(get, path = "/api/projects/{project_id}/logs/{log_id}", tag = "logs",
    params(super::ProjectPath, ("log_id" = String, Path)), responses((status = 200, body = LogDetail)))]
pub(super) async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, log_id)): Path<(ProjectId, String)>,
) -> Result<Json<LogDetail>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let log = state.app().log(project_id, &log_id).await?;
    // One log: copied, so its other fields stay readable below.
    let json = logs_json(&state, project_id, vec![log.clone()]).await?.remove(0);
    let r = log.record;
    Ok(Json(LogDetail {
        log: json,
        observed_timestamp: format_ns(r.observed_timestamp_ns),
        severity_text: r.severity_text,
        severity_number: r.severity_number,
        trace_flags: r.trace_flags,
        event_name: r.event_name,
        scope: ScopeJson { name: r.scope_name, version: r.scope_version, attributes: r.scope_attributes },
    }))
}

#[derive(Serialize, ToSchema)]
#[schema(as = HistogramBucket)]
pub(crate) struct Bucket {
    start: String,
    total: u64,
    counts: std::collections::BTreeMap<String, u64>,
}

/// Counts per bucket over the whole range, empty buckets included.
#[derive(Serialize, ToSchema)]
#[schema(as = Histogram)]
pub(crate) struct HistogramJson {
    from: String,
    to: String,
    bucket_seconds: i64,
    /// `severity` or `service`: what `counts` are keyed by.
    #[schema(value_type = String)]
    breakdown: &'static str,
    buckets: Vec<Bucket>,
    approximate: bool,
}

/// Counts per bucket of the search, by severity or service.
#[utoipa::path(get, path = "/api/projects/{project_id}/logs/histogram", tag = "logs",
    params(super::ProjectPath, LogSearch), responses((status = 200, body = HistogramJson)))]
pub(super) async fn histogram(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<HistogramJson>, ApiError> {
    let (from, to) = (p.filter.from_ns, p.filter.to_ns);
    let histogram = state.app().histogram(p.filter, p.breakdown).await?;
    let end = histogram.buckets.last().map_or(to, |(start, _)| (start + histogram.width_ns).min(to));
    Ok(Json(HistogramJson {
        from: format_ns(from),
        to: format_ns(end),
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

/// The search's services, severities and attributes with their counts, for the filters.
#[utoipa::path(get, path = "/api/projects/{project_id}/logs/facets", tag = "logs",
    params(super::ProjectPath, LogSearch), responses((status = 200, body = FacetsJson)))]
pub(super) async fn facets(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<FacetsJson>, ApiError> {
    let f = state.logs().facets(p.filter, 50, 10).await?;
    let counted = |values: Vec<CountedValue>| {
        values.into_iter().map(|v| CountedJson { value: v.value, count: v.count }).collect::<Vec<_>>()
    };
    Ok(Json(FacetsJson {
        services: counted(f.services),
        severities: counted(f.severities),
        attributes: f
            .attributes
            .into_iter()
            .map(|a: AttributeFacet| AttributeFacetJson {
                key: a.key,
                count: a.count,
                values: counted(a.values),
            })
            .collect(),
        sampled: f.sampled,
    }))
}

/// A value and how many logs have it.
#[derive(Serialize, ToSchema)]
#[schema(as = CountedValue)]
pub(crate) struct CountedJson {
    value: String,
    count: u64,
}

/// An attribute key, how many logs carry it, and its most frequent values.
#[derive(Serialize, ToSchema)]
#[schema(as = AttributeFacet)]
pub(crate) struct AttributeFacetJson {
    key: String,
    count: u64,
    values: Vec<CountedJson>,
}

/// Value distributions over the logs matching a search.
#[derive(Serialize, ToSchema)]
#[schema(as = Facets)]
pub(crate) struct FacetsJson {
    services: Vec<CountedJson>,
    severities: Vec<CountedJson>,
    attributes: Vec<AttributeFacetJson>,
    /// The service and severity counts are of a sample of the newest matching logs.
    sampled: bool,
}

/// How many logs match a search, and how many distinct sessions and people they carry.
#[derive(Serialize, ToSchema)]
#[schema(as = Summary)]
pub(crate) struct SummaryJson {
    logs: u64,
    sessions: u64,
    users: u64,
    /// The counts are estimated from a sample; exact when false.
    approximate: bool,
}

/// Logs and the cursor to ask with next.
#[derive(Serialize, ToSchema)]
#[schema(as = TailPoll)]
pub(crate) struct TailJson {
    #[schema(value_type = Vec<LogJson>)]
    results: LogRows,
    cursor: String,
}

/// Live tail (`tether_app::App::tail`): without `after`, no logs and the cursor meaning
/// "from now on"; with it, what arrived since (oldest first) and the cursor to ask with next.
#[utoipa::path(get, path = "/api/projects/{project_id}/logs/tail", tag = "logs",
    params(super::ProjectPath, LogSearch), responses((status = 200, body = TailJson)))]
pub(super) async fn tail(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<TailJson>, ApiError> {
    let limit = if p.limit == DEFAULT_LIMIT { MAX_LIMIT } else { p.limit };
    let project_id = p.filter.project_id;
    let poll = state.app().tail(p.filter, p.after, limit).await?;
    Ok(Json(TailJson {
        results: log_rows(&state, project_id, poll.logs).await?,
        cursor: poll.cursor.0.to_string(),
    }))
}

/// A session's logs, oldest first; `truncated` when there were more.
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionLogs {
    #[schema(value_type = Vec<LogJson>)]
    results: LogRows,
    truncated: bool,
}

/// `sessions/{id}/logs`: the session's backend logs, oldest first, for the replay's log
/// panel (`tether_app::App::session_logs`).
#[utoipa::path(get, path = "/api/projects/{project_id}/sessions/{session_id}/logs", tag = "logs",
    params(super::ProjectPath, ("session_id" = String, Path)), responses((status = 200, body = SessionLogs)))]
pub(super) async fn session_logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, session_id)): Path<(ProjectId, String)>,
) -> Result<Json<SessionLogs>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let (logs, truncated) = state.app().session_logs(project_id, &session_id).await?;
    Ok(Json(SessionLogs { results: log_rows(&state, project_id, logs).await?, truncated }))
}

/// `logs/summary`: "N logs · N sessions · N users" for the same filters as the list.
#[utoipa::path(get, path = "/api/projects/{project_id}/logs/summary", tag = "logs",
    params(super::ProjectPath, LogSearch), responses((status = 200, body = SummaryJson)))]
pub(super) async fn summary(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<SummaryJson>, ApiError> {
    let s = state.logs().summary(p.filter).await?;
    Ok(Json(SummaryJson { logs: s.logs, sessions: s.sessions, users: s.users, approximate: s.approximate }))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct FlagsQuery {
    /// Comma-separated session ids.
    ids: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = SessionFlags)]
pub(crate) struct SessionFlagsJson {
    has_recording: bool,
    exceptions: u64,
    session_id: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SessionFlagsList {
    results: Vec<SessionFlagsJson>,
}

/// `sessions/flags?ids=a,b`: which of a page's sessions were recorded and hit exceptions,
/// for the ▶ and ⚠ marks on log rows.
#[utoipa::path(get, path = "/api/projects/{project_id}/sessions/flags", tag = "logs",
    params(super::ProjectPath, FlagsQuery), responses((status = 200, body = SessionFlagsList)))]
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
