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

pub(super) async fn list(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<Value>, ApiError> {
    let page = state.logs().search(LogQuery { filter: p.filter, limit: p.limit, after: p.cursor }).await?;
    let results: Vec<LogJson> = page.logs.iter().map(LogJson::from).collect();
    Ok(Json(json!({
        "results": results,
        "has_more": page.next.is_some(),
        "next_cursor": page.next.map(encode_cursor),
    })))
}

/// The log with id text `log_id` of a project; 404 when there is none.
pub(super) async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, log_id)): Path<(ProjectId, String)>,
) -> Result<Json<Value>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let log = state.app().log(project_id, &log_id).await?;
    let r = &log.record;
    let mut out = serde_json::to_value(LogJson::from(&log)).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut out {
        map.insert("observed_timestamp".into(), json!(format_ns(r.observed_timestamp_ns)));
        map.insert("severity_text".into(), json!(r.severity_text));
        map.insert("severity_number".into(), json!(r.severity_number));
        map.insert("trace_flags".into(), json!(r.trace_flags));
        map.insert("event_name".into(), json!(r.event_name));
        map.insert(
            "scope".into(),
            json!({ "name": r.scope_name, "version": r.scope_version, "attributes": attrs_json(&r.scope_attributes) }),
        );
    }
    Ok(Json(out))
}

pub(super) async fn histogram(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<Value>, ApiError> {
    let (from, to) = (p.filter.from_ns, p.filter.to_ns);
    let histogram = state.app().histogram(p.filter, p.breakdown).await?;
    let buckets: Vec<Value> = histogram
        .buckets
        .into_iter()
        .map(|(start, counts)| {
            let total: u64 = counts.values().sum();
            json!({ "start": format_ns(start), "total": total, "counts": counts })
        })
        .collect();
    Ok(Json(json!({
        "from": format_ns(from),
        "to": format_ns(to),
        "bucket_seconds": histogram.width_ns / 1_000_000_000,
        "breakdown": match p.breakdown { Breakdown::Severity => "severity", Breakdown::Service => "service" },
        "buckets": buckets,
        "approximate": histogram.approximate,
    })))
}

pub(super) async fn facets(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<Value>, ApiError> {
    let facets = state.logs().facets(p.filter, 50, 10).await?;
    Ok(Json(json!(facets)))
}

/// Live tail (`tether_app::App::tail`): without `after`, no logs and the cursor meaning
/// "from now on"; with it, what arrived since (oldest first) and the cursor to ask with next.
pub(super) async fn tail(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<Value>, ApiError> {
    let limit = if p.limit == params::DEFAULT_LIMIT { MAX_LIMIT } else { p.limit };
    let poll = state.app().tail(p.filter, p.after, limit).await?;
    let results: Vec<LogJson> = poll.logs.iter().map(LogJson::from).collect();
    Ok(Json(json!({ "results": results, "cursor": poll.cursor.0.to_string() })))
}

/// `sessions/{id}/logs`: the session's backend logs, oldest first, for the replay's log
/// panel (`tether_app::App::session_logs`).
pub(super) async fn session_logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, session_id)): Path<(ProjectId, String)>,
) -> Result<Json<Value>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let (logs, truncated) = state.app().session_logs(project_id, &session_id).await?;
    let results: Vec<LogJson> = logs.iter().map(LogJson::from).collect();
    Ok(Json(json!({ "results": results, "truncated": truncated })))
}

/// `logs/summary`: "N logs · N sessions · N users" for the same filters as the list.
pub(super) async fn summary(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.logs().summary(p.filter).await?)))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FlagsQuery {
    /// Comma-separated session ids.
    ids: String,
}

/// `sessions/flags?ids=a,b`: which of a page's sessions were recorded and hit exceptions,
/// for the ▶ and ⚠ marks on log rows.
pub(super) async fn session_flags(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    query: Result<axum::extract::Query<FlagsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let axum::extract::Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let ids: Vec<String> =
        q.ids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let results: Vec<Value> = state
        .app()
        .session_flags(project_id, ids)
        .await?
        .into_iter()
        .map(|f| json!({ "has_recording": f.has_recording, "exceptions": f.exceptions, "session_id": f.session_id }))
        .collect();
    Ok(Json(json!({ "results": results })))
}
