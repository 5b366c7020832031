//! UI login: a username and password for a cookie session (`HttpOnly`, `SameSite=Lax`),
//! failed attempts throttled per user and client (see `throttle`).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;
use tether_store::User;
use utoipa::ToSchema;

use super::users::UserJson;
use crate::auth::{self, Principal, SESSION_COOKIE};
use crate::{ApiError, AppState};

/// How long a login lasts.
const SESSION_DAYS: i64 = 14;

#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Login {
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

/// Who is logging in, for the throttle: the username and the client's address (see
/// `client_addr`: the right-most hop not written by a trusted proxy).
fn throttle_keys(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    username: &str,
) -> Vec<String> {
    let client = peer.map(|p| state.trusted_proxies().client(p.ip(), headers));
    let mut keys = vec![user_key(username)];
    keys.extend(client.map(|c| format!("client:{c}")));
    keys
}

/// The longest username a login is looked up, throttled and logged by: no account has a
/// longer one (see `auth::check_username`), and a longer one must not grow the throttle's
/// keys or the log.
const MAX_LOGIN_NAME_CHARS: usize = 128;

/// Logs in with a username and password; the answer sets the session cookie.
#[utoipa::path(post, path = "/api/login", tag = "session", request_body = Login,
    responses((status = 200, body = LoggedIn), (status = 429, description = "too many failed logins; see Retry-After")),
    security(()))]
pub(super) async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(login) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let username: String = login.username.trim().chars().take(MAX_LOGIN_NAME_CHARS).collect();
    let keys = throttle_keys(&state, &headers, peer.map(|Extension(ConnectInfo(p))| p), &username);
    if let Err(wait) = state.logins().reserve(&keys).await {
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
        state.metrics().logins_failed.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(username, client = keys.get(1).map(String::as_str), "failed login");
        return Err(ApiError::unauthorized("Wrong username or password"));
    };
    state.logins().succeeded(&keys).await;
    start_session(&state, &headers, user).await
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

/// Who just logged in.
#[derive(Serialize, ToSchema)]
pub(crate) struct LoggedIn {
    user: UserJson,
}

/// Logs `user` in: a new session, and its cookie on an answer naming the user.
pub(super) async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    user: User,
) -> Result<Response, ApiError> {
    let token = auth::generate_secret("tss_");
    let max_age = SESSION_DAYS * 86_400;
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let agent: String = agent.chars().take(300).collect();
    let expires = crate::clock::now_ms() + max_age * 1000;
    state.users().create_session(&auth::hash_secret(&token), user.id, &agent, expires).await?;
    let mut response = Json(LoggedIn { user: user.into() }).into_response();
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

/// Ends the caller's login session and clears its cookie.
#[utoipa::path(post, path = "/api/logout", tag = "session", responses((status = 204, description = "logged out")))]
pub(super) async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = auth::cookie(&headers, SESSION_COOKIE) {
        state.users().delete_session(&auth::hash_secret(token)).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie("", 0));
    Ok(response)
}

/// The API key a request was made with.
#[derive(Serialize, ToSchema)]
pub(crate) struct KeyName {
    id: i64,
    name: String,
}

/// Who the caller is: a logged-in user, or an API key and its owner (`null` for the
/// operator key made at first start).
#[derive(Serialize, ToSchema)]
pub(crate) struct Me {
    user: Option<UserJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<KeyName>,
}

#[utoipa::path(get, path = "/api/me", tag = "session", responses((status = 200, body = Me)))]
pub(super) async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Me>, ApiError> {
    Ok(Json(match auth::principal(&state, &headers).await? {
        Principal::User(user) => Me { user: Some(user.into()), api_key: None },
        Principal::Key { key, owner } => {
            Me { user: owner.map(UserJson::from), api_key: Some(KeyName { id: key.id, name: key.name }) }
        }
    }))
}

#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `POST /api/me/password`: the logged-in user changes their password (the current one
/// checked). Every session of theirs ends; this one goes on with a new cookie.
#[utoipa::path(post, path = "/api/me/password", tag = "session", request_body = PasswordChange,
    responses((status = 200, body = LoggedIn)))]
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
    if let Err(wait) = state.logins().reserve(&keys).await {
        return Ok(throttled(&state, wait));
    }
    let (_, hash) = state.users().user_by_name(&user.username).await?.ok_or_else(ApiError::internal)?;
    if !verify_password(&state, change.current_password, hash).await? {
        state.metrics().logins_failed.fetch_add(1, Ordering::Relaxed);
        return Err(ApiError::bad_request("the current password is wrong"));
    }
    state.logins().succeeded(&keys).await;
    let hash = hash_password(&state, change.new_password).await?;
    state.users().set_password(&user.username, &hash).await?;
    start_session(&state, &headers, user).await
}

/// The user of a cookie session: what only a person may do (their password, their
/// sessions) is not done with an API key.
async fn logged_in(state: &AppState, headers: &HeaderMap) -> Result<User, ApiError> {
    match auth::principal(state, headers).await? {
        Principal::User(user) => Ok(user),
        Principal::Key { .. } => Err(ApiError::forbidden("log in to the UI for this: API keys may not")),
    }
}

/// A login session as its owner sees it. `id` is a prefix of the token's hash: enough to
/// name the session, nothing to log in with.
#[derive(Serialize, ToSchema)]
#[schema(as = LoginSession)]
pub(crate) struct LoginSessionJson {
    id: String,
    user_agent: String,
    created_at_ms: i64,
    expires_at_ms: i64,
    /// The session of this request.
    current: bool,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LoginSessionList {
    results: Vec<LoginSessionJson>,
}

/// `GET /api/me/sessions`: the caller's login sessions, the current one marked.
#[utoipa::path(get, path = "/api/me/sessions", tag = "session", responses((status = 200, body = LoginSessionList)))]
pub(super) async fn sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<LoginSessionList>, ApiError> {
    let user = logged_in(&state, &headers).await?;
    let current = auth::cookie(&headers, SESSION_COOKIE).map(auth::hash_secret).unwrap_or_default();
    let sessions = state.users().sessions(user.id, crate::clock::now_ms()).await?;
    let results = sessions
        .into_iter()
        .map(|s| LoginSessionJson {
            current: current.starts_with(&s.id),
            id: s.id,
            user_agent: s.user_agent,
            created_at_ms: s.created_at_ms,
            expires_at_ms: s.expires_at_ms,
        })
        .collect();
    Ok(Json(LoginSessionList { results }))
}

/// `DELETE /api/me/sessions/{id}`: ends one of the caller's sessions (a lost laptop).
#[utoipa::path(delete, path = "/api/me/sessions/{session_id}", tag = "session", params(("session_id" = String, Path)),
    responses((status = 204, description = "ended")))]
pub(super) async fn end_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = logged_in(&state, &headers).await?;
    state.users().delete_session_by_id(user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
