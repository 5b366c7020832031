//! People: the admin's user list (roles, removal) and invitations — one-time links with an
//! expiry, since there may be no mail server — which the invited person opens to choose a
//! username and password.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tether_store::{Invite, Role};

use super::session::{Login, hash_password, start_session};
use super::{authorize_instance, public_base};
use crate::{ApiError, AppState, auth};

const INVITE_PREFIX: &str = "tin_";
/// How long an invitation link works unless the admin says otherwise, and at most.
const DEFAULT_INVITE_HOURS: i64 = 7 * 24;
const MAX_INVITE_HOURS: i64 = 30 * 24;

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

fn parse_role(name: &str) -> Result<Role, ApiError> {
    Role::parse(name).ok_or_else(|| {
        ApiError::bad_request(format!("invalid role {name:?}: expected admin, member or viewer"))
    })
}

pub(super) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    authorize_instance(&state, &headers, Role::Admin, "managing people").await?;
    Ok(Json(json!({ "results": state.users().users().await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleChange {
    role: String,
}

/// `PATCH /api/users/{id}`: changes a user's role, at once for their sessions and keys.
pub(super) async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(user_id): Path<i64>,
    body: JsonBody<RoleChange>,
) -> Result<Json<Value>, ApiError> {
    authorize_instance(&state, &headers, Role::Admin, "managing people").await?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let user = state.users().set_role(user_id, parse_role(&body.role)?).await?;
    Ok(Json(json!(user)))
}

/// `DELETE /api/users/{id}`: removes a user; their sessions and API keys stop working at
/// their next request.
pub(super) async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(user_id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let caller = authorize_instance(&state, &headers, Role::Admin, "managing people").await?;
    if caller.user().is_some_and(|u| u.id == user_id) {
        return Err(ApiError::bad_request("you cannot remove yourself: ask another admin"));
    }
    state.users().delete_user(user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn invites(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authorize_instance(&state, &headers, Role::Admin, "managing people").await?;
    Ok(Json(json!({ "results": state.users().invites(crate::clock::now_ms()).await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewInvite {
    role: String,
    #[serde(default)]
    expires_in_hours: Option<i64>,
}

/// `POST /api/invites`: a one-time link for a new person with `role`. The link is in this
/// response only (only its hash is stored); hand it over by any channel.
pub(super) async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: JsonBody<NewInvite>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let caller = authorize_instance(&state, &headers, Role::Admin, "managing people").await?;
    let Some(inviter) = caller.user() else {
        return Err(ApiError::forbidden("invitations are made by a person: log in, or use your own API key"));
    };
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let role = parse_role(&body.role)?;
    let hours = body.expires_in_hours.unwrap_or(DEFAULT_INVITE_HOURS);
    if !(1..=MAX_INVITE_HOURS).contains(&hours) {
        return Err(ApiError::bad_request(format!(
            "invalid expires_in_hours: expected 1 to {MAX_INVITE_HOURS}"
        )));
    }
    let token = auth::generate_secret(INVITE_PREFIX);
    let expires = crate::clock::now_ms() + hours * 3_600_000;
    let invite = state.users().create_invite(&auth::hash_secret(&token), role, inviter.id, expires).await?;
    let url = format!("{}/invite/{token}", public_base(&state, &headers));
    Ok((StatusCode::CREATED, Json(json!({ "invite": invite, "url": url }))))
}

pub(super) async fn revoke_invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(invite_id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    authorize_instance(&state, &headers, Role::Admin, "managing people").await?;
    state.users().revoke_invite(invite_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The usable invitation of a link's token, or why there is none.
async fn usable(state: &AppState, token: &str) -> Result<Invite, ApiError> {
    let gone = || {
        ApiError::not_found("this invitation link is unknown, used, revoked or expired: ask for a new one")
    };
    if !token.starts_with(INVITE_PREFIX) || token.len() > 128 {
        return Err(gone());
    }
    state.users().invite_by_hash(&auth::hash_secret(token), crate::clock::now_ms()).await?.ok_or_else(gone)
}

/// `GET /api/invite/{token}` (no login): what the link offers, for the page that opens it.
pub(super) async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let invite = usable(&state, &token).await?;
    let by = state.users().user(invite.created_by).await?.map(|u| u.username);
    Ok(Json(json!({ "role": invite.role, "expires_at_ms": invite.expires_at_ms, "invited_by": by })))
}

/// `POST /api/invite/{token}/accept` (no login): creates the person's account with the
/// invitation's role and logs them in. The link works once.
pub(super) async fn accept(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: JsonBody<Login>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    usable(&state, &token).await?;
    let username = body.username.trim();
    auth::check_username(username).map_err(ApiError::bad_request)?;
    auth::check_new_password(&body.password).map_err(ApiError::bad_request)?;
    let hash = hash_password(&state, body.password).await?;
    let user = state
        .users()
        .accept_invite(&auth::hash_secret(&token), crate::clock::now_ms(), username, &hash)
        .await?;
    tracing::info!(username = user.username, role = user.role.as_str(), "invitation accepted");
    start_session(&state, &headers, user, json!({})).await
}
