//! UI login: a username and password for a cookie session (`HttpOnly`, `SameSite=Lax`),
//! failed attempts throttled per user and client (see `throttle`).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
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

/// Who is logging in, for the throttle: the client address (the first `X-Forwarded-For`
/// hop behind a TLS proxy, which sets it) and the username.
fn throttle_keys(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    username: &str,
) -> Vec<String> {
    let forwarded = state
        .behind_tls_proxy()
        .then(|| {
            headers.get("x-forwarded-for")?.to_str().ok()?.split(',').next().map(|a| a.trim().to_owned())
        })
        .flatten();
    let client = forwarded.or_else(|| peer.map(|p| p.ip().to_string()));
    let mut keys = vec![format!("user:{}", username.to_lowercase())];
    keys.extend(client.map(|c| format!("client:{c}")));
    keys
}

pub(super) async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(login) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let username = login.username.trim().to_owned();
    let keys = throttle_keys(&state, &headers, peer.map(|Extension(ConnectInfo(p))| p), &username);
    if let Some(wait) = state.logins().wait(&keys).await {
        state.metrics().logins_throttled.fetch_add(1, Ordering::Relaxed);
        let secs = wait.as_secs() + 1;
        tracing::warn!(username, client = keys.get(1).map(String::as_str), "login throttled");
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many failed logins; try again in {secs} s"),
        )
        .into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return Ok(response);
    }
    let found = state.users().user_by_name(&username).await?;
    // Verify even for unknown users, so timing does not tell which usernames exist.
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, auth::DUMMY_PASSWORD_HASH.to_owned()),
    };
    let ok = {
        let _permit = state.password_checks().acquire().await.map_err(|_| ApiError::internal())?;
        tokio::task::spawn_blocking(move || auth::verify_password(&login.password, &hash))
            .await
            .map_err(|_| ApiError::internal())?
    };
    let Some(user) = user.filter(|_| ok) else {
        state.logins().failed(&keys).await;
        state.metrics().logins_failed.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(username, client = keys.get(1).map(String::as_str), "failed login");
        return Err(ApiError::unauthorized("Wrong username or password"));
    };
    state.logins().forget(&keys[0]).await;
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
