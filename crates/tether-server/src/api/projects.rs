//! Projects and personal API keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tether_model::ProjectId;
use tether_store::{ApiKey, KeyScope, NewApiKey, Project, ProjectSettings, Role};
use utoipa::ToSchema;

use super::{authorize_instance, authorize_project_as};
use crate::auth::Principal;
use crate::{ApiError, AppState, auth};

/// A project as the API shows it.
#[derive(Serialize, ToSchema)]
#[schema(as = Project)]
pub(crate) struct ProjectJson {
    #[schema(value_type = i64)]
    id: ProjectId,
    name: String,
    /// The public, write-only token (`phc_…`) SDKs send data with.
    token: String,
    created_at_ms: i64,
    settings: ProjectSettings,
    /// The caller's role in this project (in lists; `null` elsewhere).
    role: Option<Role>,
}

impl From<Project> for ProjectJson {
    fn from(p: Project) -> Self {
        ProjectJson {
            id: p.id,
            name: p.name,
            token: p.token,
            created_at_ms: p.created_at_ms,
            settings: p.settings,
            role: None,
        }
    }
}

/// The projects the caller may read.
#[derive(Serialize, ToSchema)]
pub(crate) struct ProjectList {
    results: Vec<ProjectJson>,
}

/// The projects the caller may read, oldest first, each with the caller's role in it.
#[utoipa::path(get, path = "/api/projects", tag = "projects", responses((status = 200, body = ProjectList)))]
pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ProjectList>, ApiError> {
    let access = auth::principal(&state, &headers).await?.access(state.users()).await?;
    let results = state
        .meta()
        .projects()
        .await?
        .into_iter()
        .filter_map(|p| {
            let role = access.role_in(p.id)?;
            Some(ProjectJson { role: Some(role), ..ProjectJson::from(p) })
        })
        .collect();
    Ok(Json(ProjectList { results }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewProject {
    name: String,
}

/// `POST /api/projects` (admins): a new project with its own token.
#[utoipa::path(post, path = "/api/projects", tag = "projects", request_body = NewProject,
    responses((status = 201, body = ProjectJson)))]
pub(super) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewProject>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<ProjectJson>), ApiError> {
    authorize_instance(&state, &headers, Role::Admin, "creating a project").await?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let token = auth::generate_secret(auth::PROJECT_TOKEN_PREFIX);
    let project = state
        .meta()
        .create_project(tether_model::valid_name(&body.name).map_err(ApiError::bad_request)?, &token)
        .await?;
    Ok((StatusCode::CREATED, Json(project.into())))
}

/// `PATCH /api/projects/{id}`: renames a project (its token, data and links stay).
#[utoipa::path(patch, path = "/api/projects/{project_id}", tag = "projects", params(super::ProjectPath),
    request_body = NewProject, responses((status = 200, body = ProjectJson)))]
pub(super) async fn rename(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    body: Result<Json<NewProject>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ProjectJson>, ApiError> {
    authorize_project_as(&state, &headers, project_id, Role::Admin, "renaming a project").await?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let project = state
        .meta()
        .rename_project(project_id, tether_model::valid_name(&body.name).map_err(ApiError::bad_request)?)
        .await?;
    Ok(Json(project.into()))
}

/// A personal API key (never its secret).
#[derive(Serialize, ToSchema)]
#[schema(as = ApiKey)]
pub(crate) struct KeyJson {
    id: i64,
    name: String,
    /// `null` for keys that may read every project.
    #[schema(value_type = Option<i64>)]
    project_id: Option<ProjectId>,
    /// Whose key it is (`null`: the operator key made at first start).
    user_id: Option<i64>,
    username: Option<String>,
    prefix: String,
    created_at_ms: i64,
    last_used_at_ms: Option<i64>,
    /// When it stops working (`null`: when revoked).
    expires_at_ms: Option<i64>,
    /// The most it may do (`null`: whatever its owner may).
    role: Option<Role>,
}

impl KeyJson {
    /// A key as listed, with its owner's username (`None`: the operator key).
    fn new(k: ApiKey, username: Option<String>) -> Self {
        KeyJson {
            id: k.id,
            name: k.name,
            project_id: match k.scope {
                KeyScope::AllProjects => None,
                KeyScope::Project(id) => Some(id),
            },
            user_id: k.user_id,
            username,
            prefix: k.prefix,
            created_at_ms: k.created_at_ms,
            last_used_at_ms: k.last_used_at_ms,
            expires_at_ms: k.expires_at_ms,
            role: k.role,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKey {
    name: String,
    /// Only for `POST /api/api_keys`: the one project the key may read; absent or `null`
    /// for all of them.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    project_id: Option<ProjectId>,
    /// Days until it stops working, 1 to 3650; absent: until revoked.
    #[serde(default)]
    expires_in_days: Option<i64>,
    /// `viewer`, `member` or `admin`: the most it may do, less than its owner's role if
    /// lower (a read-only key for a dashboard); absent: what its owner may.
    #[serde(default)]
    role: Option<String>,
}

/// Longest a key may be made to last, in days (ten years).
const MAX_KEY_DAYS: i64 = 3650;

/// A new key with its secret, shown this once.
#[derive(Serialize, ToSchema)]
pub(crate) struct NewKeyAnswer {
    key: KeyJson,
    secret: String,
}

/// API keys.
#[derive(Serialize, ToSchema)]
pub(crate) struct KeyList {
    results: Vec<KeyJson>,
}

/// `POST /api/api_keys`: a key of the caller's own, acting with their role, for one
/// project or all. The secret is in this response only.
#[utoipa::path(post, path = "/api/api_keys", tag = "api keys", request_body = NewKey,
    responses((status = 201, body = NewKeyAnswer)))]
pub(super) async fn create_own_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewKey>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<NewKeyAnswer>), ApiError> {
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (caller, scope) = match body.project_id {
        None => (
            authorize_instance(&state, &headers, Role::Viewer, "an all-projects key").await?,
            KeyScope::AllProjects,
        ),
        Some(id) => (
            authorize_project_as(&state, &headers, id, Role::Viewer, "a key").await?.1,
            KeyScope::Project(id),
        ),
    };
    issue_key(&state, &caller, &body, scope).await
}

/// `POST /api/projects/{id}/api_keys`: a key of the caller's own that may read one project.
#[utoipa::path(post, path = "/api/projects/{project_id}/api_keys", tag = "api keys", params(super::ProjectPath),
    request_body = NewKey, responses((status = 201, body = NewKeyAnswer)))]
pub(super) async fn create_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    body: Result<Json<NewKey>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<NewKeyAnswer>), ApiError> {
    let (_, caller) = authorize_project_as(&state, &headers, project_id, Role::Viewer, "a key").await?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if body.project_id.is_some_and(|id| id != project_id) {
        return Err(ApiError::bad_request("invalid project_id: this path names the key's project"));
    }
    issue_key(&state, &caller, &body, KeyScope::Project(project_id)).await
}

async fn issue_key(
    state: &AppState,
    caller: &Principal,
    asked: &NewKey,
    scope: KeyScope,
) -> Result<(StatusCode, Json<NewKeyAnswer>), ApiError> {
    // A key that could make keys would outlive its own revocation (or its scope) through
    // them; only a logged-in person makes keys.
    if matches!(caller, Principal::Key { .. }) {
        return Err(ApiError::forbidden(
            "API keys are made by a person logged in to Tether, not by another key",
        ));
    }
    let name = tether_model::valid_name(&asked.name).map_err(ApiError::bad_request)?;
    let expires_at_ms = match asked.expires_in_days {
        None => None,
        Some(days) if (1..=MAX_KEY_DAYS).contains(&days) => Some(crate::clock::now_ms() + days * 86_400_000),
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "invalid expires_in_days: expected 1 to {MAX_KEY_DAYS}"
            )));
        }
    };
    let role = asked.role.as_deref().map(Role::parse_named).transpose().map_err(ApiError::bad_request)?;
    let secret = auth::generate_secret(auth::API_KEY_PREFIX);
    let owner = caller.user().cloned();
    let key = state
        .meta()
        .create_api_key(NewApiKey {
            name: name.to_owned(),
            scope,
            user_id: owner.as_ref().map(|u| u.id),
            secret_hash: auth::hash_secret(&secret),
            prefix: secret[..8].to_owned(),
            expires_at_ms,
            role,
        })
        .await?;
    let key = KeyJson::new(key, owner.map(|u| u.username));
    Ok((StatusCode::CREATED, Json(NewKeyAnswer { key, secret })))
}

/// `GET /api/api_keys`: the caller's own keys; an admin sees everyone's.
#[utoipa::path(get, path = "/api/api_keys", tag = "api keys", responses((status = 200, body = KeyList)))]
pub(super) async fn list_keys(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<KeyList>, ApiError> {
    let caller = auth::principal(&state, &headers).await?;
    let everyone = caller.role() == Role::Admin && caller.instance_wide();
    let keys = state.app().api_keys(caller.user().map(|u| u.id), everyone).await?;
    let results = keys.into_iter().map(|(k, username)| KeyJson::new(k, username)).collect();
    Ok(Json(KeyList { results }))
}

/// `DELETE /api/api_keys/{id}`: revokes one of the caller's keys, or any key for an admin.
#[utoipa::path(delete, path = "/api/api_keys/{key_id}", tag = "api keys", params(("key_id" = i64, Path)),
    responses((status = 204, description = "revoked")))]
pub(super) async fn revoke_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key_id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let caller = auth::principal(&state, &headers).await?;
    let keys = state.meta().api_keys().await?;
    let key = keys.iter().find(|k| k.id == key_id).ok_or_else(|| ApiError::not_found("API key not found"))?;
    let own = caller.user().is_some_and(|u| key.user_id == Some(u.id));
    if !own {
        if !caller.instance_wide() {
            return Err(ApiError::forbidden("revoking another's key needs an all-projects API key"));
        }
        caller.require(Role::Admin, "revoking another's key")?;
    }
    state.meta().revoke_api_key(key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH /api/projects/{id}/settings`: what the project's SDKs are told to capture and
/// how long its data is kept. Fields left out keep their values (`{"retention":
/// {"logs_days": 7}}` changes only that).
#[utoipa::path(patch, path = "/api/projects/{project_id}/settings", tag = "projects", params(super::ProjectPath),
    request_body(content = Object, description = "a JSON merge patch of ProjectSettings"),
    responses((status = 200, body = ProjectJson)))]
pub(super) async fn update_settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ProjectJson>, ApiError> {
    authorize_project_as(&state, &headers, project_id, Role::Admin, "changing project settings").await?;
    let Json(patch) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let project =
        state.meta().project(project_id).await?.ok_or_else(|| ApiError::not_found("no such project"))?;
    let settings = project.settings.patched(patch).map_err(ApiError::bad_request)?;
    let project = state.meta().set_project_settings(project_id, settings).await?;
    Ok(Json(project.into()))
}
