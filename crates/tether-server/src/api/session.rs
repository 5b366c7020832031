//! UI login: a username and password for a cookie session (`HttpOnly`, `SameSite=Lax`),
//! failed attempts throttled per user and client (see `throttle`).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Value, json};

use tether_store::User;

use crate::auth::{self, Principal, SESSION_COOKIE};
use crate::{ApiError, AppState};

/// How long a login lasts.
const SESSION_DAYS: i64 = 14;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Login {
    pub(super) username: String,
    pub(super) password: String,
}

fn session_cookie(value: &str, max_age_secs: i64) -> HeaderValue {
    let cookie = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The throttle's key of a username (names are compared without case).
fn user_key(username: &str) -> String {
    format!("user:{}", username.to_lowercase())
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
    let mut keys = vec![user_key(username)];
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
        tracing::warn!(username, client = keys.get(1).map(String::as_str), "login throttled");
        return Ok(throttled(&state, wait));
    }
    let found = state.users().user_by_name(&username).await?;
    // Verify even for unknown users, so timing does not tell which usernames exist.
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, auth::DUMMY_PASSWORD_HASH.to_owned()),
    };
    let ok = verify_password(&state, login.password, hash).await?;
    let Some(user) = user.filter(|_| ok) else {
        state.logins().failed(&keys).await;
        state.metrics().logins_failed.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(username, client = keys.get(1).map(String::as_str), "failed login");
        return Err(ApiError::unauthorized("Wrong username or password"));
    };
    state.logins().forget(&keys[0]).await;
    start_session(&state, &headers, user, json!({})).await
}

/// The 429 of a throttled password check, with when to try again.
fn throttled(state: &AppState, wait: std::time::Duration) -> Response {
    state.metrics().logins_throttled.fetch_add(1, Ordering::Relaxed);
    let secs = wait.as_secs() + 1;
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many failed logins; try again in {secs} s"),
    )
    .into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// Logs `user` in: a new session and its cookie, in a response carrying `body` with the
/// user added.
pub(super) async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    user: User,
    mut body: Value,
) -> Result<Response, ApiError> {
    let token = auth::generate_secret("tss_");
    let max_age = SESSION_DAYS * 86_400;
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let agent: String = agent.chars().take(300).collect();
    let expires = crate::clock::now_ms() + max_age * 1000;
    state.users().create_session(&auth::hash_secret(&token), user.id, &agent, expires).await?;
    body["user"] = json!(user);
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&token, max_age));
    Ok(response)
}

/// Runs argon2 work off the async threads, a few at once (argon2 is slow on purpose: a
/// flood of logins must not stall everything else).
async fn argon2<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = state.password_checks().acquire().await.map_err(|_| ApiError::internal())?;
    tokio::task::spawn_blocking(work).await.map_err(|_| ApiError::internal())
}

pub(super) async fn hash_password(state: &AppState, password: String) -> Result<String, ApiError> {
    argon2(state, move || auth::hash_password(&password)).await
}

async fn verify_password(state: &AppState, password: String, hash: String) -> Result<bool, ApiError> {
    argon2(state, move || auth::verify_password(&password, &hash)).await
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
    match auth::principal(&state, &headers).await? {
        Principal::User(user) => Ok(Json(json!({ "user": user }))),
        Principal::Key { key, owner } => {
            Ok(Json(json!({ "api_key": { "id": key.id, "name": key.name }, "user": owner })))
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `POST /api/me/password`: the logged-in user changes their password (the current one
/// checked). Every session of theirs ends; this one goes on with a new cookie.
pub(super) async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<PasswordChange>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let user = logged_in(&state, &headers).await?;
    let Json(change) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    auth::check_new_password(&change.new_password).map_err(ApiError::bad_request)?;
    // Wrong current passwords count as failed logins of the user: a stolen session cannot
    // guess the password faster than the login page could.
    let keys = [user_key(&user.username)];
    if let Some(wait) = state.logins().wait(&keys).await {
        return Ok(throttled(&state, wait));
    }
    let (_, hash) = state.users().user_by_name(&user.username).await?.ok_or_else(ApiError::internal)?;
    if !verify_password(&state, change.current_password, hash).await? {
        state.logins().failed(&keys).await;
        state.metrics().logins_failed.fetch_add(1, Ordering::Relaxed);
        return Err(ApiError::bad_request("the current password is wrong"));
    }
    let hash = hash_password(&state, change.new_password).await?;
    state.users().set_password(&user.username, &hash).await?;
    start_session(&state, &headers, user, json!({})).await
}

/// The user of a cookie session: what only a person may do (their password, their
/// sessions) is not done with an API key.
async fn logged_in(state: &AppState, headers: &HeaderMap) -> Result<User, ApiError> {
    match auth::principal(state, headers).await? {
        Principal::User(user) => Ok(user),
        Principal::Key { .. } => Err(ApiError::forbidden("log in to the UI for this: API keys may not")),
    }
}

/// `GET /api/me/sessions`: the caller's login sessions, the current one marked.
pub(super) async fn sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let user = logged_in(&state, &headers).await?;
    let current = auth::cookie(&headers, SESSION_COOKIE).map(auth::hash_secret).unwrap_or_default();
    let sessions = state.users().sessions(user.id, crate::clock::now_ms()).await?;
    let results: Vec<Value> = sessions
        .into_iter()
        .map(|s| {
            let this = current.starts_with(&s.id);
            let mut v = json!(s);
            v["current"] = json!(this);
            v
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}

/// `DELETE /api/me/sessions/{id}`: ends one of the caller's sessions (a lost laptop).
pub(super) async fn end_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = logged_in(&state, &headers).await?;
    state.users().delete_session_by_id(user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
