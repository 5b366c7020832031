//! `GET /api/projects/{id}/logs/sessions`: the sessions and people behind a search, each
//! with its recording (`tether_app::App::sessions_of_search`). With `q=pattern:"…"`, who a
//! log pattern hit.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::logs::LogRequest;
use super::params::{LogSearch, format_ns};
use crate::{ApiError, AppState};

/// A session among a search's logs.
#[derive(Serialize, ToSchema)]
#[schema(as = SearchSession)]
pub(crate) struct SearchSessionJson {
    session_id: String,
    distinct_id: Option<String>,
    /// Its first and last matching log: a recording opens at the first.
    first_seen: String,
    last_seen: String,
    /// How many of its logs match.
    logs: u64,
    has_recording: bool,
    exceptions: u64,
}

#[derive(Serialize, ToSchema)]
#[schema(as = SearchSessionList)]
pub(crate) struct SearchSessionsJson {
    results: Vec<SearchSessionJson>,
}

/// The sessions (and their people) whose logs match the search, the one with the latest
/// match first; `limit` up to 500.
#[utoipa::path(get, path = "/api/projects/{project_id}/logs/sessions", tag = "logs",
    params(super::ProjectPath, LogSearch), responses((status = 200, body = SearchSessionsJson)))]
pub(super) async fn search_sessions(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<SearchSessionsJson>, ApiError> {
    let found = state.app().sessions_of_search(p.filter, p.limit).await?;
    let results = found
        .into_iter()
        .map(|s| SearchSessionJson {
            session_id: s.hit.session_id,
            distinct_id: s.hit.distinct_id,
            first_seen: format_ns(s.hit.first_ns),
            last_seen: format_ns(s.hit.last_ns),
            logs: s.hit.logs,
            has_recording: s.has_recording,
            exceptions: s.exceptions,
        })
        .collect();
    Ok(Json(SearchSessionsJson { results }))
}
