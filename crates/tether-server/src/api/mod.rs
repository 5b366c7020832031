//! The JSON read API under `/api`, authorized by personal API keys.

mod alerts;
mod errors;
mod logs;
pub(crate) mod params;
mod persons;
mod projects;
mod recordings;
mod session;
mod symbols;
pub(crate) mod throttle;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{delete, get};
use tether_model::ProjectId;
use tether_store::Project;

use crate::auth::Principal;
pub(crate) use symbols::MAX_SYMBOL_SET_DECODED;

use crate::{ApiError, AppState, auth};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/login", axum::routing::post(session::login))
        .route("/api/logout", axum::routing::post(session::logout))
        .route("/api/me", get(session::me))
        .route("/api/projects", get(projects::list).post(projects::create))
        .route("/api/projects/{project_id}/api_keys", axum::routing::post(projects::create_key))
        .route("/api/api_keys", get(projects::list_keys))
        .route("/api/api_keys/{key_id}", delete(projects::revoke_key))
        .route("/api/projects/{project_id}/logs", get(logs::list))
        .route("/api/projects/{project_id}/logs/histogram", get(logs::histogram))
        .route("/api/projects/{project_id}/logs/facets", get(logs::facets))
        .route("/api/projects/{project_id}/logs/tail", get(logs::tail))
        .route("/api/projects/{project_id}/logs/summary", get(logs::summary))
        .route("/api/projects/{project_id}/sessions/flags", get(logs::session_flags))
        .route("/api/projects/{project_id}/logs/{log_id}", get(logs::one))
        .route("/api/projects/{project_id}/logs/{log_id}/related_errors", get(errors::related))
        .route("/api/projects/{project_id}/settings", axum::routing::patch(projects::update_settings))
        .route("/api/projects/{project_id}/error_tracking/issues", get(errors::list))
        .route(
            "/api/projects/{project_id}/error_tracking/issues/{issue_id}",
            get(errors::one).patch(errors::update),
        )
        .route("/api/projects/{project_id}/recordings", get(recordings::list))
        .route("/api/projects/{project_id}/recordings/{session_id}", get(recordings::one))
        .route("/api/projects/{project_id}/recordings/{session_id}/snapshots", get(recordings::snapshots))
        .route("/api/projects/{project_id}/sessions/{session_id}/logs", get(logs::session_logs))
        .route("/api/projects/{project_id}/sessions/{session_id}/events", get(recordings::session_events))
        .route("/api/projects/{project_id}/persons/{distinct_id}", get(persons::one))
        .route(
            "/api/projects/{project_id}/error_tracking/releases",
            axum::routing::post(symbols::create_release),
        )
        .route(
            "/api/projects/{project_id}/error_tracking/releases/hash/{hash_id}",
            get(symbols::release_by_hash),
        )
        .route(
            "/api/projects/{project_id}/error_tracking/symbol_sets/bulk_check_upload",
            axum::routing::post(symbols::bulk_check),
        )
        .route(
            "/api/projects/{project_id}/error_tracking/symbol_sets/bulk_start_upload",
            axum::routing::post(symbols::bulk_start),
        )
        .route(
            "/api/projects/{project_id}/error_tracking/symbol_sets/bulk_finish_upload",
            axum::routing::post(symbols::bulk_finish),
        )
        .route(
            "/api/projects/{project_id}/error_tracking/symbol_sets/{set_id}/upload",
            axum::routing::put(symbols::upload),
        )
        .route("/api/projects/{project_id}/alerts", get(alerts::list).post(alerts::create))
        .route(
            "/api/projects/{project_id}/alerts/{alert_id}",
            axum::routing::put(alerts::update).delete(alerts::delete),
        )
        .route("/api/projects/{project_id}/alerts/{alert_id}/history", get(alerts::history))
        .route("/api/{*rest}", axum::routing::any(|| async { ApiError::not_found("no such API endpoint") }))
}

/// Checks the caller's key and that it may read `project_id` (404 before 403, so a
/// project-scoped key learns nothing it could not already guess).
pub(crate) async fn authorize_project(
    state: &AppState,
    headers: &HeaderMap,
    project_id: ProjectId,
) -> Result<Project, ApiError> {
    let caller = auth::principal(state.meta(), state.users(), headers).await?;
    let project = state
        .meta()
        .project(project_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("project {project_id} not found")))?;
    if !caller.may_read(project_id) {
        return Err(ApiError::forbidden(format!("this API key may not read project {project_id}")));
    }
    Ok(project)
}

/// The origin a caller reached Tether at (its `Host`), for links and URLs handed back to it.
pub(crate) fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if state.behind_tls_proxy() { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// Checks the caller may manage every project (a logged-in user or an all-projects key).
pub(crate) async fn authorize_admin(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let caller = auth::principal(state.meta(), state.users(), headers).await?;
    if !caller.is_admin() {
        return Err(ApiError::forbidden("only an all-projects API key may do this"));
    }
    Ok(caller)
}
