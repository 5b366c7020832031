//! The JSON read API under `/api`, authorized by personal API keys.

mod errors;
mod logs;
pub(crate) mod params;
mod persons;
mod projects;
mod recordings;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{delete, get};
use tether_model::ProjectId;
use tether_store::{ApiKey, KeyScope, Project};

use crate::{ApiError, AppState, auth};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/projects", get(projects::list).post(projects::create))
        .route("/api/projects/{project_id}/api_keys", axum::routing::post(projects::create_key))
        .route("/api/api_keys", get(projects::list_keys))
        .route("/api/api_keys/{key_id}", delete(projects::revoke_key))
        .route("/api/projects/{project_id}/logs", get(logs::list))
        .route("/api/projects/{project_id}/logs/histogram", get(logs::histogram))
        .route("/api/projects/{project_id}/logs/facets", get(logs::facets))
        .route("/api/projects/{project_id}/logs/tail", get(logs::tail))
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
        .route("/api/projects/{project_id}/persons/{distinct_id}", get(persons::one))
        .fallback(|| async { ApiError::not_found("no such API endpoint") })
}

/// Checks the caller's key and that it may read `project_id` (404 before 403, so a
/// project-scoped key learns nothing it could not already guess).
pub(crate) async fn authorize_project(
    state: &AppState,
    headers: &HeaderMap,
    project_id: ProjectId,
) -> Result<Project, ApiError> {
    let key = auth::api_key(state.meta(), headers).await?;
    let project = state
        .meta()
        .project(project_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("project {project_id} not found")))?;
    if !auth::may_read(&key, project_id) {
        return Err(ApiError::forbidden(format!("this API key may not read project {project_id}")));
    }
    Ok(project)
}

/// Checks the caller's key may manage every project (only such keys create projects and keys).
pub(crate) async fn authorize_admin(state: &AppState, headers: &HeaderMap) -> Result<ApiKey, ApiError> {
    let key = auth::api_key(state.meta(), headers).await?;
    if key.scope != KeyScope::AllProjects {
        return Err(ApiError::forbidden("only an all-projects API key may do this"));
    }
    Ok(key)
}
