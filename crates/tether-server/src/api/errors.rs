//! Error tracking: issues with their counts, one issue's stack trace and occurrences, status
//! changes, and the seed's question — which issues a log's session hit within ±6 hours.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use tether_model::ProjectId;
use tether_store::{ExceptionScope, Issue, IssueStats, IssueStatus, Role};

use super::params::{format_ns, parse_time_ms};
use super::{authorize_project, authorize_project_as};
use crate::{ApiError, AppState};

/// The window around a log in which its session's exceptions count as related.
pub(crate) const RELATED_WINDOW_MS: i64 = 6 * 3600 * 1000;
const MAX_RELATED: usize = 100;
/// Most issues one list shows.
const MAX_ISSUES: usize = 1000;
/// Days in an issue's occurrence sparkline.
const SPARKLINE_DAYS: i64 = 14;

fn ms_text(ms: i64) -> String {
    format_ns(ms.saturating_mul(1_000_000))
}

fn issue_json(issue: &Issue, stats: Option<&IssueStats>) -> Value {
    json!({
        "id": issue.id,
        "name": issue.name,
        "description": issue.description,
        "status": issue.status,
        "fingerprint": issue.fingerprint,
        "first_seen": ms_text(issue.first_seen_ms),
        "last_seen": ms_text(issue.last_seen_ms),
        "occurrences": stats.map_or(0, |s| s.occurrences),
        "sessions": stats.map_or(0, |s| s.sessions),
        "users": stats.map_or(0, |s| s.users),
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IssueQuery {
    status: Option<String>,
    /// Only issues this person (any of their distinct ids) hit.
    distinct_id: Option<String>,
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    query: Result<Query<IssueQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            IssueStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request("invalid status: expected active, resolved or suppressed")
            })
        })
        .transpose()?;
    let (from_ms, to_ms) =
        (parse_time_ms("from", query.from.as_deref())?, parse_time_ms("to", query.to.as_deref())?);
    let distinct_ids = match &query.distinct_id {
        Some(d) => super::recordings::person_ids(&state, project_id, d).await?,
        None => Vec::new(),
    };
    let scoped = from_ms.is_some() || to_ms.is_some() || !distinct_ids.is_empty();
    let scope = ExceptionScope { project_id, from_ms, to_ms, distinct_ids, ..Default::default() };
    let stats: HashMap<i64, IssueStats> =
        state.events().issue_stats(scope.clone()).await?.into_iter().map(|s| (s.issue_id, s)).collect();
    // Occurrences per day over the last two weeks, oldest first, for each issue's sparkline.
    let now_ms = crate::clock::now_ms();
    let first_day = (now_ms / 86_400_000 - (SPARKLINE_DAYS - 1)) * 86_400_000;
    let mut sparklines: HashMap<i64, Vec<u64>> = HashMap::new();
    for (issue, day, n) in state
        .events()
        .issue_daily_counts(ExceptionScope { from_ms: Some(first_day), to_ms: None, ..scope })
        .await?
    {
        if let Some(slot) =
            sparklines.entry(issue).or_insert_with(|| vec![0; SPARKLINE_DAYS as usize]).get_mut(day as usize)
        {
            *slot = n;
        }
    }
    let issues = state
        .issues()
        .issues(tether_store::IssueQuery {
            project_id,
            status,
            text: query.q.clone().filter(|q| !q.is_empty()),
            ids: scoped.then(|| stats.keys().copied().collect()),
            limit: MAX_ISSUES,
        })
        .await?;
    let results: Vec<Value> = issues
        .iter()
        .map(|i| {
            let mut v = issue_json(i, stats.get(&i.id));
            v["sparkline"] =
                json!(sparklines.get(&i.id).cloned().unwrap_or_else(|| vec![0; SPARKLINE_DAYS as usize]));
            v
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}

pub(super) async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, issue_id)): Path<(ProjectId, i64)>,
) -> Result<Json<Value>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let issue = state
        .issues()
        .issue(project_id, issue_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("issue {issue_id} not found")))?;
    let scope = ExceptionScope { project_id, issue_id: Some(issue_id), ..Default::default() };
    let stats = state.events().issue_stats(scope.clone()).await?.pop();
    let occurrences = state.events().exceptions(scope, 100).await?;
    let mut out = issue_json(&issue, stats.as_ref());
    out["latest_exception"] = match occurrences.first() {
        Some(e) => state.symbolicate(project_id, &e.exception_list).await,
        None => Value::Null,
    };
    out["occurrences_list"] = occurrences
        .iter()
        .map(|e| {
            json!({
                "uuid": e.uuid,
                "timestamp": ms_text(e.timestamp_ms),
                "session_id": e.session_id,
                "distinct_id": e.distinct_id,
                "url": e.url,
                "message": e.message,
            })
        })
        .collect();
    Ok(Json(out))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusChange {
    status: IssueStatus,
}

pub(super) async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, issue_id)): Path<(ProjectId, i64)>,
    body: Result<Json<StatusChange>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    authorize_project_as(&state, &headers, project_id, Role::Member, "changing an issue's status").await?;
    let Json(change) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let issue = state.issues().set_issue_status(project_id, issue_id, change.status).await?;
    Ok(Json(issue_json(&issue, None)))
}

/// `logs/{id}/related_errors`: issues with at least one exception in the log's session
/// within ±6 h of the log, most recently seen first, at most 100.
pub(super) async fn related(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, log_id)): Path<(ProjectId, String)>,
) -> Result<Json<Value>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let log = super::logs::find_log(&state, project_id, &log_id).await?;
    let Some(session_id) = log.record.session_id.clone() else {
        return Ok(Json(json!({ "status": "no_session", "results": [] })));
    };
    let at_ms = log.record.timestamp_ns / 1_000_000;
    let scope = ExceptionScope {
        project_id,
        session_id: Some(session_id.clone()),
        from_ms: Some(at_ms - RELATED_WINDOW_MS),
        to_ms: Some(at_ms + RELATED_WINDOW_MS),
        ..Default::default()
    };
    let stats: Vec<IssueStats> =
        state.events().issue_stats(scope).await?.into_iter().take(MAX_RELATED).collect();
    // One lookup for every issue, then in the order of the stats (most recent first).
    let issues: HashMap<i64, Issue> = state
        .issues()
        .issues(tether_store::IssueQuery {
            project_id,
            ids: Some(stats.iter().map(|s| s.issue_id).collect()),
            limit: MAX_RELATED,
            ..Default::default()
        })
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let results: Vec<Value> = stats
        .iter()
        .filter_map(|s| {
            let mut v = issue_json(issues.get(&s.issue_id)?, None);
            v["occurrences_in_session"] = json!(s.occurrences);
            v["last_seen_in_session"] = json!(ms_text(s.last_ms));
            Some(v)
        })
        .collect();
    Ok(Json(json!({ "status": "ok", "session_id": session_id, "results": results })))
}
