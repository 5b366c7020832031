//! The JSON API under `/api`, authorized by a login session or a personal API key, each
//! with its user's role (see `auth::Principal`).

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
mod users;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{delete, get, patch, post, put};
use tether_model::ProjectId;
use tether_store::{Project, Role};

use crate::auth::Principal;
pub(crate) use symbols::MAX_SYMBOL_SET_DECODED;

use crate::{ApiError, AppState, auth};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/login", post(session::login))
        .route("/api/logout", post(session::logout))
        .route("/api/me", get(session::me))
        .route("/api/me/password", post(session::change_password))
        .route("/api/me/sessions", get(session::sessions))
        .route("/api/me/sessions/{session_id}", delete(session::end_session))
        .route("/api/users", get(users::list))
        .route("/api/users/{user_id}", patch(users::update).delete(users::remove))
        .route("/api/invites", get(users::invites).post(users::invite))
        .route("/api/invites/{invite_id}", delete(users::revoke_invite))
        .route("/api/invite/{token}", get(users::show))
        .route("/api/invite/{token}/accept", post(users::accept))
        .route("/api/projects", get(projects::list).post(projects::create))
        .route("/api/projects/{project_id}", patch(projects::rename))
        .route("/api/projects/{project_id}/api_keys", post(projects::create_key))
        .route("/api/api_keys", get(projects::list_keys).post(projects::create_own_key))
        .route("/api/api_keys/{key_id}", delete(projects::revoke_key))
        .route("/api/projects/{project_id}/logs", get(logs::list))
        .route("/api/projects/{project_id}/logs/histogram", get(logs::histogram))
        .route("/api/projects/{project_id}/logs/facets", get(logs::facets))
        .route("/api/projects/{project_id}/logs/tail", get(logs::tail))
        .route("/api/projects/{project_id}/logs/summary", get(logs::summary))
        .route("/api/projects/{project_id}/sessions/flags", get(logs::session_flags))
        .route("/api/projects/{project_id}/logs/{log_id}", get(logs::one))
        .route("/api/projects/{project_id}/logs/{log_id}/related_errors", get(errors::related))
        .route("/api/projects/{project_id}/settings", patch(projects::update_settings))
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
        .route("/api/projects/{project_id}/error_tracking/releases", post(symbols::create_release))
        .route(
            "/api/projects/{project_id}/error_tracking/releases/hash/{hash_id}",
            get(symbols::release_by_hash),
        )
        .route(
            "/api/projects/{project_id}/error_tracking/symbol_sets/bulk_check_upload",
            post(symbols::bulk_check),
        )
        .route(
            "/api/projects/{project_id}/error_tracking/symbol_sets/bulk_start_upload",
            post(symbols::bulk_start),
        )
        .route(
            "/api/projects/{project_id}/error_tracking/symbol_sets/bulk_finish_upload",
            post(symbols::bulk_finish),
        )
        .route("/api/projects/{project_id}/error_tracking/symbol_sets/{set_id}/upload", put(symbols::upload))
        .route("/api/projects/{project_id}/alerts", get(alerts::list).post(alerts::create))
        .route("/api/projects/{project_id}/alerts/{alert_id}", put(alerts::update).delete(alerts::delete))
        .route("/api/projects/{project_id}/alerts/{alert_id}/history", get(alerts::history))
        .route("/api/{*rest}", axum::routing::any(|| async { ApiError::not_found("no such API endpoint") }))
}

/// Checks the caller may read `project_id` (404 before 403, so a project-scoped key
/// learns nothing it could not already guess).
pub(crate) async fn authorize_project(
    state: &AppState,
    headers: &HeaderMap,
    project_id: ProjectId,
) -> Result<Project, ApiError> {
    authorize_project_as(state, headers, project_id, Role::Viewer, "reading").await.map(|(p, _)| p)
}

/// Checks the caller may see `project_id` and has at least the role `needed` for `doing`
/// (said in the 403: "changing an issue's status needs the member role; you are a viewer").
pub(crate) async fn authorize_project_as(
    state: &AppState,
    headers: &HeaderMap,
    project_id: ProjectId,
    needed: Role,
    doing: &str,
) -> Result<(Project, Principal), ApiError> {
    let caller = auth::principal(state, headers).await?;
    let project = state
        .meta()
        .project(project_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("project {project_id} not found")))?;
    if !caller.may_read(project_id) {
        return Err(ApiError::forbidden(format!("this API key may not read project {project_id}")));
    }
    caller.require(needed, doing)?;
    Ok((project, caller))
}

/// The origin a caller reached Tether at (its `Host`), for links and URLs handed back to it.
pub(crate) fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if state.behind_tls_proxy() { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// Checks the caller acts on the whole instance (a user or an all-projects key) with at
/// least the role `needed` for `doing`.
pub(crate) async fn authorize_instance(
    state: &AppState,
    headers: &HeaderMap,
    needed: Role,
    doing: &str,
) -> Result<Principal, ApiError> {
    let caller = auth::principal(state, headers).await?;
    if !caller.instance_wide() {
        return Err(ApiError::forbidden(format!("{doing} needs an all-projects API key, not a project's")));
    }
    caller.require(needed, doing)?;
    Ok(caller)
}
