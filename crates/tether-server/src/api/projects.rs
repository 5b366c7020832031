//! Projects and personal API keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tether_model::ProjectId;
use tether_store::{ApiKey, KeyScope, NewApiKey, Privacy, ProjectSettings, Retention};

use super::{authorize_admin, authorize_project};
use crate::{ApiError, AppState, auth};

pub(super) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let caller = auth::principal(state.meta(), state.users(), &headers).await?;
    let projects: Vec<_> =
        state.meta().projects().await?.into_iter().filter(|p| caller.may_read(p.id)).collect();
    Ok(Json(json!({ "results": projects })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewProject {
    name: String,
}

pub(super) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewProject>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    authorize_admin(&state, &headers).await?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let name = body.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::bad_request("invalid name: expected 1 to 200 characters"));
    }
    let token = auth::generate_secret(auth::PROJECT_TOKEN_PREFIX);
    let project = state.meta().create_project(name, &token).await?;
    Ok((StatusCode::CREATED, Json(json!(project))))
}

#[derive(Serialize)]
struct KeyJson {
    id: i64,
    name: String,
    /// `null` for keys that may read every project.
    project_id: Option<ProjectId>,
    prefix: String,
    created_at_ms: i64,
}

impl From<ApiKey> for KeyJson {
    fn from(k: ApiKey) -> Self {
        KeyJson {
            id: k.id,
            name: k.name,
            project_id: match k.scope {
                KeyScope::AllProjects => None,
                KeyScope::Project(id) => Some(id),
            },
            prefix: k.prefix,
            created_at_ms: k.created_at_ms,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewKey {
    name: String,
}

/// Creates a key that may read one project. The secret is in this response only.
pub(super) async fn create_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    body: Result<Json<NewKey>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let secret = auth::generate_secret(auth::API_KEY_PREFIX);
    let key = state
        .meta()
        .create_api_key(NewApiKey {
            name: body.name.trim().to_owned(),
            scope: KeyScope::Project(project_id),
            secret_hash: auth::hash_secret(&secret),
            prefix: secret[..8].to_owned(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "key": KeyJson::from(key), "secret": secret }))))
}

pub(super) async fn list_keys(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authorize_admin(&state, &headers).await?;
    let keys: Vec<KeyJson> = state.meta().api_keys().await?.into_iter().map(KeyJson::from).collect();
    Ok(Json(json!({ "results": keys })))
}

pub(super) async fn revoke_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key_id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    authorize_admin(&state, &headers).await?;
    state.meta().revoke_api_key(key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH /api/projects/{id}/settings`: what the project's SDKs are told to capture and
/// how long its data is kept. Fields left out keep their values (`{"retention":
/// {"logs_days": 7}}` changes only that).
pub(super) async fn update_settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let Json(patch) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let project =
        state.meta().project(project_id).await?.ok_or_else(|| ApiError::not_found("no such project"))?;
    let Value::Object(mut merged) = json!(project.settings) else {
        return Err(ApiError::internal());
    };
    merge(&mut merged, patch)?;
    let settings: ProjectSettings = serde_json::from_value(Value::Object(merged))
        .map_err(|e| ApiError::bad_request(format!("invalid settings: {e}")))?;
    let r = settings.retention;
    for (name, days) in
        [("logs_days", r.logs_days), ("events_days", r.events_days), ("recordings_days", r.recordings_days)]
    {
        if !(1..=Retention::MAX_DAYS).contains(&days) {
            return Err(ApiError::bad_request(format!(
                "invalid retention.{name}: expected 1 to {} days",
                Retention::MAX_DAYS
            )));
        }
    }
    for (name, selector) in [
        ("mask_text_selector", &settings.privacy.mask_text_selector),
        ("block_selector", &settings.privacy.block_selector),
    ] {
        check_selector(name, selector)?;
    }
    let project = state.meta().set_project_settings(project_id, settings).await?;
    Ok(Json(json!(project)))
}

/// A selector is handed to every recorded browser as it is, so it is kept short and free of
/// control characters. Its CSS syntax is the browser's to judge: a parser here would refuse
/// selectors that newer browsers accept. rrweb treats a selector that does not parse as
/// matching nothing (masking nothing), so the UI checks each one with the browser's own
/// parser before saving.
fn check_selector(name: &str, selector: &str) -> Result<(), ApiError> {
    if selector.len() > Privacy::MAX_SELECTOR_LEN {
        return Err(ApiError::bad_request(format!(
            "invalid privacy.{name}: longer than {} characters",
            Privacy::MAX_SELECTOR_LEN
        )));
    }
    if selector.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!("invalid privacy.{name}: contains a control character")));
    }
    Ok(())
}

/// Applies a JSON merge patch's objects onto `target` (RFC 7386 without deletes: settings
/// always have every field).
fn merge(target: &mut serde_json::Map<String, Value>, patch: Value) -> Result<(), ApiError> {
    let Value::Object(fields) = patch else {
        return Err(ApiError::bad_request("invalid settings: expected a JSON object"));
    };
    for (key, value) in fields {
        if let Some(Value::Object(slot)) = target.get_mut(&key)
            && value.is_object()
        {
            merge(slot, value)?;
            continue;
        }
        // An unknown key is kept too, so that deserializing names it in the error.
        target.insert(key, value);
    }
    Ok(())
}
