//! The JSON API under `/api`, authorized by a login session or a personal API key, each
//! with its user's role (see `auth::Principal`).

mod alerts;
mod errors;
mod logs;
pub(crate) mod openapi;
pub(crate) mod params;
mod patterns;
mod persons;
mod projects;
mod recordings;
mod requests;
mod search_sessions;
mod session;
mod symbols;
pub(crate) mod throttle;
mod users;

use axum::Router;
use axum::http::HeaderMap;
use tether_model::ProjectId;
use tether_store::{Project, Role};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Principal;
pub(crate) use symbols::MAX_SYMBOL_SET_DECODED;

use crate::{ApiError, AppState, auth};

/// The `/api` routes with their OpenAPI document, served at `/api/openapi.json`.
pub(crate) fn router() -> Router<AppState> {
    let (router, doc) = documented_routes();
    router
        .layer(axum::Extension(std::sync::Arc::new(doc)))
        .route("/api/{*rest}", axum::routing::any(|| async { ApiError::not_found("no such API endpoint") }))
}

/// Every `/api` route, each registered with its OpenAPI description (`utoipa_axum`'s
/// `routes!` refuses a handler without one), so the document names every route there is.
pub(crate) fn documented_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .routes(routes!(session::me))
        .routes(routes!(session::change_password))
        .routes(routes!(session::sessions))
        .routes(routes!(session::end_session))
        .routes(routes!(users::list))
        .routes(routes!(users::update, users::remove))
        .routes(routes!(users::set_membership))
        .routes(routes!(users::invites, users::invite))
        .routes(routes!(users::revoke_invite))
        .routes(routes!(users::show))
        .routes(routes!(users::accept))
        .routes(routes!(projects::list, projects::create))
        .routes(routes!(projects::rename))
        .routes(routes!(projects::create_key))
        .routes(routes!(projects::list_keys, projects::create_own_key))
        .routes(routes!(projects::revoke_key))
        .routes(routes!(projects::update_settings))
        .routes(routes!(logs::list))
        .routes(routes!(logs::histogram))
        .routes(routes!(logs::facets))
        .routes(routes!(logs::tail))
        .routes(routes!(logs::summary))
        .routes(routes!(patterns::patterns))
        .routes(routes!(patterns::compare))
        .routes(routes!(search_sessions::search_sessions))
        .routes(routes!(logs::session_flags))
        .routes(routes!(logs::one))
        .routes(routes!(logs::session_logs))
        .routes(routes!(errors::related))
        .routes(routes!(errors::list))
        .routes(routes!(errors::one, errors::update))
        .routes(routes!(recordings::list))
        .routes(routes!(recordings::one))
        .routes(routes!(recordings::snapshots))
        .routes(routes!(recordings::session_events))
        .routes(routes!(requests::session_requests))
        .routes(routes!(requests::linking))
        .routes(routes!(persons::list))
        .routes(routes!(persons::one))
        .routes(routes!(symbols::create_release))
        .routes(routes!(symbols::release_by_hash))
        .routes(routes!(symbols::bulk_check))
        .routes(routes!(symbols::bulk_start))
        .routes(routes!(symbols::bulk_finish))
        .routes(routes!(symbols::upload))
        .routes(routes!(alerts::list, alerts::create))
        .routes(routes!(alerts::update, alerts::delete))
        .routes(routes!(alerts::history))
        .routes(routes!(openapi::openapi_json))
        .split_for_parts();
    (router, openapi::unique_operation_ids(doc))
}

/// The project every `/api/projects/{project_id}/…` path names.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the OpenAPI derive only.
pub(crate) struct ProjectPath {
    /// The project's id (Settings shows it).
    project_id: i64,
}

/// Checks the caller may read `project_id` (404 when they may not, as for a project that
/// does not exist).
pub(crate) async fn authorize_project(
    state: &AppState,
    headers: &HeaderMap,
    project_id: ProjectId,
) -> Result<Project, ApiError> {
    authorize_project_as(state, headers, project_id, Role::Viewer, "reading").await.map(|(p, _)| p)
}

/// Checks the caller may see `project_id` and has at least the role `needed` for `doing`
/// in it. A project the caller is not a member of is answered like one that does not exist
/// (404), so its existence does not leak; a role too low is a 403 that says which is needed.
pub(crate) async fn authorize_project_as(
    state: &AppState,
    headers: &HeaderMap,
    project_id: ProjectId,
    needed: Role,
    doing: &str,
) -> Result<(Project, Principal), ApiError> {
    let caller = auth::principal(state, headers).await?;
    let not_found = || ApiError::not_found(format!("project {project_id} not found"));
    let role = caller.access(state.users()).await?.role_in(project_id).ok_or_else(not_found)?;
    let project = state.meta().project(project_id).await?.ok_or_else(not_found)?;
    auth::require(role, needed, doing)?;
    Ok((project, caller))
}

/// The origin for links and URLs Tether hands out: the configured `public_url`, else the
/// one the caller reached Tether at (its `Host`, which the caller chooses).
pub(crate) fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(origin) = state.public_url() {
        return origin.to_owned();
    }
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
