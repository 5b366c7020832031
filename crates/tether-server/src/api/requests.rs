//! Request by request (`tether_app::requests`): a recorded session's network requests with
//! the backend logs and issues each caused, and how linkable a project's logs are.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::Value;
use tether_app::requests::SessionRequest;
use tether_app::requests::linking::{ServiceHealth, UnlinkedRoute};
use tether_model::ProjectId;
use utoipa::ToSchema;

use super::authorize_project;
use super::errors::IssueJson;
use super::logs::{LogJson, LogRequest, logs_json};
use super::params::{LogSearch, format_ns};
use crate::{ApiError, AppState};

/// A network request of a replay with the logs and issues it caused.
#[derive(Serialize, ToSchema)]
#[schema(as = NetworkRequest)]
pub(crate) struct RequestJson {
    window_id: String,
    url: String,
    /// Known when posthog-js recorded headers or bodies (it wraps the call then).
    method: Option<String>,
    status: Option<u16>,
    /// `fetch`, `xmlhttprequest`, `navigation` (the page's document), `script`, `img`…
    initiator: String,
    /// A call a backend answers for the page (its document, fetch, XHR, a beacon), as
    /// opposed to the scripts, styles and images it loads.
    backend_call: bool,
    start: String,
    start_ms: i64,
    duration_ms: i64,
    /// The trace the backend named in `Server-Timing`.
    trace_id: Option<String>,
    /// How the logs were found: `trace` (the trace id the backend named) or
    /// `session_route_time` (the session's logs that mention the path, about then); `null`
    /// when none were.
    #[schema(value_type = Option<String>)]
    matched: Option<&'static str>,
    logs: Vec<LogJson>,
    /// Issues of exceptions the tab threw within 5 s after this failed request.
    issues: Vec<IssueJson>,
    /// Recorded only where the project's settings allow (header maps; bodies as text).
    request_headers: Option<Value>,
    response_headers: Option<Value>,
    request_body: Option<Value>,
    response_body: Option<Value>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = NetworkRequestList)]
pub(crate) struct RequestsJson {
    results: Vec<RequestJson>,
}

/// `sessions/{id}/requests`: the network requests of the session's recording, oldest first
/// (at most 2,000), each with its backend logs, the issues it caused and how they matched.
#[utoipa::path(get, path = "/api/projects/{project_id}/sessions/{session_id}/requests", tag = "recordings",
    params(super::ProjectPath, ("session_id" = String, Path)), responses((status = 200, body = RequestsJson)))]
pub(super) async fn session_requests(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, session_id)): Path<(ProjectId, String)>,
) -> Result<Json<RequestsJson>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let mut requests = state
        .app()
        .session_requests(project_id, &session_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No recording for this session"))?;
    // Every request's logs named in one pass through the pattern catalog, then dealt back.
    let mut all_logs = Vec::new();
    let counts: Vec<usize> = requests
        .iter_mut()
        .map(|r| {
            let n = r.logs.len();
            all_logs.append(&mut r.logs);
            n
        })
        .collect();
    let mut named = logs_json(&state, project_id, all_logs).await?.into_iter();
    let mut results = Vec::with_capacity(requests.len());
    for (SessionRequest { window_id, request: r, matched, issues, .. }, n) in requests.into_iter().zip(counts)
    {
        results.push(RequestJson {
            backend_call: r.is_api_call(),
            window_id,
            start: format_ns(r.start_ms.saturating_mul(1_000_000)),
            start_ms: r.start_ms,
            duration_ms: r.end_ms - r.start_ms,
            url: r.url,
            method: r.method,
            status: r.status,
            initiator: r.initiator,
            trace_id: r.trace_id,
            matched: matched.map(|m| m.as_str()),
            logs: named.by_ref().take(n).collect(),
            issues: issues.iter().map(|i| IssueJson::new(&i.issue, None)).collect(),
            request_headers: r.request_headers,
            response_headers: r.response_headers,
            request_body: r.request_body,
            response_body: r.response_body,
        });
    }
    Ok(Json(RequestsJson { results }))
}

/// How linkable one service's logs are.
#[derive(Serialize, ToSchema)]
#[schema(as = ServiceLinking)]
pub(crate) struct ServiceLinkingJson {
    service: String,
    logs: u64,
    with_session: u64,
    with_distinct_id: u64,
    with_trace: u64,
    /// `telemetry.sdk.language` of its OpenTelemetry SDK, when sent.
    language: Option<String>,
    /// What would link more of its logs; `null` when most are linked.
    fix: Option<String>,
}

impl From<ServiceHealth> for ServiceLinkingJson {
    fn from(ServiceHealth { linking: l, fix }: ServiceHealth) -> Self {
        ServiceLinkingJson {
            service: l.service,
            logs: l.logs,
            with_session: l.with_session,
            with_distinct_id: l.with_distinct_id,
            with_trace: l.with_trace,
            language: l.language,
            fix,
        }
    }
}

/// Requests of one route in recordings that found no backend log.
#[derive(Serialize, ToSchema)]
#[schema(as = UnlinkedRoute)]
pub(crate) struct UnlinkedRouteJson {
    host: String,
    /// The path with id-like segments as `:id`.
    route: String,
    requests: u64,
    sessions: u64,
    example_session: String,
    /// On the page's own host.
    same_origin: bool,
    fix: String,
}

impl From<UnlinkedRoute> for UnlinkedRouteJson {
    fn from(r: UnlinkedRoute) -> Self {
        UnlinkedRouteJson {
            host: r.host,
            route: r.route,
            requests: r.requests,
            sessions: r.sessions,
            example_session: r.example_session,
            same_origin: r.same_origin,
            fix: r.fix,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = LinkingHealth)]
pub(crate) struct LinkingJson {
    /// Most logs first.
    services: Vec<ServiceLinkingJson>,
    /// Most requests first.
    unlinked_routes: Vec<UnlinkedRouteJson>,
    /// Backend calls (documents, fetch, XHR) in the recordings read, and how many found logs.
    requests: u64,
    linked_requests: u64,
    /// The newest recordings of the range, at most 20.
    recordings_read: usize,
}

/// `linking`: per service over the range, the share of logs with a session, a person and a
/// trace; the requests in the range's newest recordings that found no backend logs, by
/// route; the fix for each gap. Takes the logs list's filters (`from`, `to`, `service` …).
#[utoipa::path(get, path = "/api/projects/{project_id}/linking", tag = "logs",
    params(super::ProjectPath, LogSearch), responses((status = 200, body = LinkingJson)))]
pub(super) async fn linking(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<LinkingJson>, ApiError> {
    let health = state.app().linking(p.filter).await?;
    Ok(Json(LinkingJson {
        services: health.services.into_iter().map(Into::into).collect(),
        unlinked_routes: health.unlinked_routes.into_iter().map(Into::into).collect(),
        requests: health.requests,
        linked_requests: health.linked_requests,
        recordings_read: health.recordings_read,
    }))
}
