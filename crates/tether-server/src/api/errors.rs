//! Error tracking: issues with their counts, one issue's stack trace and occurrences, status
//! changes, and the seed's question — which issues a log's session hit within ±6 hours.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::Value;
use tether_app::errors::{IssueFilter, Related};
use tether_model::ProjectId;
use tether_store::{Issue, IssueStats, IssueStatus, Role};
use utoipa::{IntoParams, ToSchema};

use super::params::{format_ns, parse_time_ms};
use super::{authorize_project, authorize_project_as};
use crate::{ApiError, AppState};

fn ms_text(ms: i64) -> String {
    format_ns(ms.saturating_mul(1_000_000))
}

/// An issue as the API shows it, with its counts (zero where none were asked for).
#[derive(Serialize, ToSchema)]
#[schema(as = Issue)]
pub(crate) struct IssueJson {
    id: i64,
    name: String,
    description: String,
    status: IssueStatus,
    fingerprint: String,
    first_seen: String,
    last_seen: String,
    occurrences: u64,
    sessions: u64,
    users: u64,
}

impl IssueJson {
    pub(crate) fn new(issue: &Issue, stats: Option<&IssueStats>) -> IssueJson {
        IssueJson {
            id: issue.id,
            name: issue.name.clone(),
            description: issue.description.clone(),
            status: issue.status,
            fingerprint: issue.fingerprint.clone(),
            first_seen: ms_text(issue.first_seen_ms),
            last_seen: ms_text(issue.last_seen_ms),
            occurrences: stats.map_or(0, |s| s.occurrences),
            sessions: stats.map_or(0, |s| s.sessions),
            users: stats.map_or(0, |s| s.users),
        }
    }
}

/// One row of the issue list.
#[derive(Serialize, ToSchema)]
pub(crate) struct ListedIssue {
    #[serde(flatten)]
    issue: IssueJson,
    /// Occurrences per day over the last two weeks, oldest first.
    sparkline: Vec<u64>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct IssueList {
    results: Vec<ListedIssue>,
}

#[derive(serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct IssueQuery {
    /// `active`, `resolved` or `suppressed`.
    status: Option<String>,
    /// Only issues this person (any of their distinct ids) hit.
    distinct_id: Option<String>,
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// Issues, most recently seen first, each with its counts and a two-week sparkline.
#[utoipa::path(get, path = "/api/projects/{project_id}/error_tracking/issues", tag = "errors",
    params(super::ProjectPath, IssueQuery), responses((status = 200, body = IssueList)))]
pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    query: Result<Query<IssueQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<IssueList>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status =
        query.status.as_deref().map(IssueStatus::parse_named).transpose().map_err(ApiError::bad_request)?;
    let (from_ms, to_ms) =
        (parse_time_ms("from", query.from.as_deref())?, parse_time_ms("to", query.to.as_deref())?);
    let filter =
        IssueFilter { project_id, status, distinct_id: query.distinct_id, text: query.q, from_ms, to_ms };
    let results = state
        .app()
        .issues(filter)
        .await?
        .into_iter()
        .map(|i| ListedIssue { issue: IssueJson::new(&i.issue, i.stats.as_ref()), sparkline: i.sparkline })
        .collect();
    Ok(Json(IssueList { results }))
}

#[derive(Serialize, ToSchema)]
#[schema(as = Occurrence)]
pub(crate) struct OccurrenceJson {
    uuid: String,
    timestamp: String,
    session_id: Option<String>,
    distinct_id: String,
    url: Option<String>,
    message: String,
}

/// An entry of posthog-js's `$exception_list` as the API sends it back: kept as captured
/// (so its other fields pass through), frames resolved where a source map is known. Only
/// describes that JSON to OpenAPI and the UI; the server handles it as JSON.
#[derive(ToSchema)]
#[allow(dead_code)] // Read by the OpenAPI derive only.
pub(crate) struct Exception {
    r#type: Option<String>,
    value: Option<String>,
    stacktrace: Option<Stacktrace>,
}

#[derive(ToSchema)]
#[allow(dead_code)] // Read by the OpenAPI derive only.
pub(crate) struct Stacktrace {
    frames: Option<Vec<Frame>>,
}

/// A stack frame: resolved through an uploaded source map when one is known (`resolved`,
/// with the frame as sent under `raw` and lines of source around it).
#[derive(ToSchema)]
#[allow(dead_code)] // Read by the OpenAPI derive only.
pub(crate) struct Frame {
    filename: Option<String>,
    function: Option<String>,
    lineno: Option<u32>,
    colno: Option<u32>,
    in_app: Option<bool>,
    resolved: Option<bool>,
    context_line: Option<String>,
    pre_context: Option<Vec<String>>,
    post_context: Option<Vec<String>>,
    raw: Option<RawFrame>,
}

/// A frame as the SDK sent it.
#[derive(ToSchema)]
#[allow(dead_code)] // Read by the OpenAPI derive only.
pub(crate) struct RawFrame {
    filename: Option<String>,
    function: Option<String>,
    lineno: Option<u32>,
    colno: Option<u32>,
}

/// One issue: its counts, its newest exception with frames resolved where a source map is
/// known, and its newest occurrences.
#[derive(Serialize, ToSchema)]
#[schema(as = IssueDetail)]
pub(crate) struct IssueDetailJson {
    #[serde(flatten)]
    issue: IssueJson,
    /// Its newest exception (`$exception_list` entries, frames resolved), `null` if none.
    #[schema(value_type = Option<Vec<Exception>>)]
    latest_exception: Value,
    /// The properties sent with the newest occurrence (`$browser`, `$os`, `$current_url`,
    /// `$lib_version`, the app's own …), without the exception list; empty when unknown.
    #[schema(value_type = std::collections::HashMap<String, Value>)]
    latest_properties: Value,
    occurrences_list: Vec<OccurrenceJson>,
}

#[utoipa::path(get, path = "/api/projects/{project_id}/error_tracking/issues/{issue_id}", tag = "errors",
    params(super::ProjectPath, ("issue_id" = i64, Path)), responses((status = 200, body = IssueDetailJson)))]
pub(super) async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, issue_id)): Path<(ProjectId, i64)>,
) -> Result<Json<IssueDetailJson>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let detail = state.app().issue(project_id, issue_id).await?;
    let latest_exception = detail.latest_exception.unwrap_or(Value::Null);
    Ok(Json(IssueDetailJson {
        issue: IssueJson::new(&detail.issue, detail.stats.as_ref()),
        latest_exception,
        latest_properties: Value::Object(detail.latest_properties),
        occurrences_list: detail
            .occurrences
            .into_iter()
            .map(|e| OccurrenceJson {
                uuid: e.uuid,
                timestamp: ms_text(e.timestamp_ms),
                session_id: e.session_id,
                distinct_id: e.distinct_id,
                url: e.url,
                message: e.message,
            })
            .collect(),
    }))
}

#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusChange {
    status: IssueStatus,
}

/// Changes an issue's status (members and admins).
#[utoipa::path(patch, path = "/api/projects/{project_id}/error_tracking/issues/{issue_id}", tag = "errors",
    params(super::ProjectPath, ("issue_id" = i64, Path)), request_body = StatusChange, responses((status = 200, body = IssueJson)))]
pub(super) async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, issue_id)): Path<(ProjectId, i64)>,
    body: Result<Json<StatusChange>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<IssueJson>, ApiError> {
    authorize_project_as(&state, &headers, project_id, Role::Member, "changing an issue's status").await?;
    let Json(change) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let issue = state.issues().set_issue_status(project_id, issue_id, change.status).await?;
    Ok(Json(IssueJson::new(&issue, None)))
}

/// An issue a log's session hit near the log.
#[derive(Serialize, ToSchema)]
#[schema(as = RelatedIssue)]
pub(crate) struct RelatedIssueJson {
    #[serde(flatten)]
    issue: IssueJson,
    occurrences_in_session: u64,
    last_seen_in_session: String,
}

/// Whether the log names a session to look in.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RelatedStatus {
    Ok,
    NoSession,
}

/// `related_errors`: `status` is `no_session` when the log names no session.
#[derive(Serialize, ToSchema)]
pub(crate) struct RelatedErrors {
    status: RelatedStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<String>,
    results: Vec<RelatedIssueJson>,
}

/// `logs/{id}/related_errors`: issues with at least one exception in the log's session
/// within ±6 h of the log (`tether_app::errors`), most recently seen first, at most 100.
#[utoipa::path(get, path = "/api/projects/{project_id}/logs/{log_id}/related_errors", tag = "errors",
    params(super::ProjectPath, ("log_id" = String, Path)), responses((status = 200, body = RelatedErrors)))]
pub(super) async fn related(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, log_id)): Path<(ProjectId, String)>,
) -> Result<Json<RelatedErrors>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    Ok(Json(match state.app().related_to_log(project_id, &log_id).await? {
        Related::NoSession => {
            RelatedErrors { status: RelatedStatus::NoSession, session_id: None, results: Vec::new() }
        }
        Related::Issues { session_id, issues } => RelatedErrors {
            status: RelatedStatus::Ok,
            session_id: Some(session_id),
            results: issues
                .iter()
                .map(|r| RelatedIssueJson {
                    issue: IssueJson::new(&r.issue, None),
                    occurrences_in_session: r.occurrences_in_session,
                    last_seen_in_session: ms_text(r.last_seen_in_session_ms),
                })
                .collect(),
        },
    }))
}
