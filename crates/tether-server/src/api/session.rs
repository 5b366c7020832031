//! UI login: a username and password for a cookie session (`HttpOnly`, `SameSite=Lax`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::{self, Principal, SESSION_COOKIE};
use crate::{ApiError, AppState};

/// How long a login lasts.
const SESSION_DAYS: i64 = 14;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Login {
    username: String,
    password: String,
}

fn session_cookie(value: &str, max_age_secs: i64) -> HeaderValue {
    let cookie = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(super) async fn login(
    State(state): State<AppState>,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(login) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let wrong = || ApiError::unauthorized("Wrong username or password");
    let found = state.users().user_by_name(login.username.trim()).await?;
    // Verify even for unknown users, so timing does not tell which usernames exist.
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, auth::DUMMY_PASSWORD_HASH.to_owned()),
    };
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&login.password, &hash))
        .await
        .map_err(|_| ApiError::internal())?;
    let user = user.filter(|_| ok).ok_or_else(wrong)?;
    let token = auth::generate_secret("tss_");
    let max_age = SESSION_DAYS * 86_400;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    state.users().create_session(&auth::hash_secret(&token), user.id, now_ms + max_age * 1000).await?;
    let mut response = Json(json!({ "user": user })).into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&token, max_age));
    Ok(response)
}

pub(super) async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = auth::cookie(&headers, SESSION_COOKIE) {
        state.users().delete_session(&auth::hash_secret(token)).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie("", 0));
    Ok(response)
}

pub(super) async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    match auth::principal(state.meta(), state.users(), &headers).await? {
        Principal::User(user) => Ok(Json(json!({ "user": user }))),
        Principal::Key(key) => Ok(Json(json!({ "api_key": { "id": key.id, "name": key.name } }))),
    }
}
