//! People: the admin's user list (roles, removal) and invitations — one-time links with an
//! expiry, since there may be no mail server — which the invited person opens to choose a
//! username and password.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tether_model::ProjectId;
use tether_store::{Invite, Membership, Role, User};
use utoipa::ToSchema;

use super::session::{LoggedIn, Login, hash_password, start_session};
use super::{authorize_instance, public_base};
use crate::{ApiError, AppState, auth};

const INVITE_PREFIX: &str = "tin_";

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

fn parse_role(name: &str) -> Result<Role, ApiError> {
    Role::parse_named(name).map_err(ApiError::bad_request)
}

/// A person who logs in to the UI.
#[derive(Serialize, ToSchema)]
#[schema(as = User)]
pub(crate) struct UserJson {
    id: i64,
    username: String,
    /// The instance role: an admin manages people and projects and is an admin of every
    /// project; anyone else sees the projects they are a member of.
    role: Role,
    created_at_ms: i64,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        UserJson { id: u.id, username: u.username, role: u.role, created_at_ms: u.created_at_ms }
    }
}

/// A user's role in one project.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Membership)]
pub(crate) struct MembershipJson {
    #[schema(value_type = i64)]
    project_id: ProjectId,
    role: Role,
}

impl From<Membership> for MembershipJson {
    fn from(m: Membership) -> Self {
        MembershipJson { project_id: m.project_id, role: m.role }
    }
}

/// A user with the projects they are a member of.
#[derive(Serialize, ToSchema)]
#[schema(as = TeamMember)]
pub(crate) struct PersonJson {
    #[serde(flatten)]
    user: UserJson,
    /// Their projects (empty for admins, who see every project).
    projects: Vec<MembershipJson>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct UserList {
    results: Vec<PersonJson>,
}

/// Every user with their project memberships (admins).
#[utoipa::path(get, path = "/api/users", tag = "people", responses((status = 200, body = UserList)))]
pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<UserList>, ApiError> {
    authorize_instance(&state, &headers, Role::Admin, "managing people").await?;
    let mut results = Vec::new();
    for user in state.users().users().await? {
        let projects =
            state.users().memberships(user.id).await?.into_iter().map(MembershipJson::from).collect();
        results.push(PersonJson { user: user.into(), projects });
    }
    Ok(Json(UserList { results }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MembershipChange {
    /// `admin`, `member` or `viewer` in this project; `null` takes the project away.
    role: Option<String>,
}

/// `PUT /api/users/{user_id}/projects/{project_id}`: gives a user a role in one project, or
/// (`{"role": null}`) takes the project away, at once for their sessions and keys. Instance
/// admins see every project whatever their memberships.
#[utoipa::path(put, path = "/api/users/{user_id}/projects/{project_id}", tag = "people",
    params(("user_id" = i64, Path), ("project_id" = i64, Path)), request_body = MembershipChange,
    responses((status = 204, description = "changed")))]
pub(super) async fn set_membership(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((user_id, project_id)): Path<(i64, ProjectId)>,
    body: JsonBody<MembershipChange>,
) -> Result<StatusCode, ApiError> {
    authorize_instance(&state, &headers, Role::Admin, "managing people").await?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let role = body.role.as_deref().map(parse_role).transpose()?;
    state.users().set_membership(user_id, project_id, role).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleChange {
    /// `admin`, `member` or `viewer`.
    role: String,
}

/// `PATCH /api/users/{id}`: changes a user's role, at once for their sessions and keys.
#[utoipa::path(patch, path = "/api/users/{user_id}", tag = "people", params(("user_id" = i64, Path)),
    request_body = RoleChange, responses((status = 200, body = UserJson)))]
pub(super) async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(user_id): Path<i64>,
    body: JsonBody<RoleChange>,
) -> Result<Json<UserJson>, ApiError> {
    authorize_instance(&state, &headers, Role::Admin, "managing people").await?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let user = state.users().set_role(user_id, parse_role(&body.role)?).await?;
    Ok(Json(user.into()))
}

/// `DELETE /api/users/{id}`: removes a user; their sessions and API keys stop working at
/// their next request.
#[utoipa::path(delete, path = "/api/users/{user_id}", tag = "people", params(("user_id" = i64, Path)),
    responses((status = 204, description = "removed")))]
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

/// A pending invitation (its link is shown once, when made).
#[derive(Serialize, ToSchema)]
#[schema(as = Invite)]
pub(crate) struct InviteJson {
    id: i64,
    role: Role,
    /// The projects the new account becomes a member of; `null`: every project, with `role`.
    projects: Option<Vec<MembershipJson>>,
    /// The user who invited.
    created_by: i64,
    created_at_ms: i64,
    expires_at_ms: i64,
}

impl From<Invite> for InviteJson {
    fn from(i: Invite) -> Self {
        InviteJson {
            id: i.id,
            role: i.role,
            projects: i.projects.map(|list| list.into_iter().map(MembershipJson::from).collect()),
            created_by: i.created_by,
            created_at_ms: i.created_at_ms,
            expires_at_ms: i.expires_at_ms,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct InviteList {
    results: Vec<InviteJson>,
}

/// Pending invitations (admins).
#[utoipa::path(get, path = "/api/invites", tag = "people", responses((status = 200, body = InviteList)))]
pub(super) async fn invites(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<InviteList>, ApiError> {
    authorize_instance(&state, &headers, Role::Admin, "managing people").await?;
    let invites = state.users().invites(crate::clock::now_ms()).await?;
    Ok(Json(InviteList { results: invites.into_iter().map(InviteJson::from).collect() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewInvite {
    /// `admin`, `member` or `viewer`: the instance role.
    role: String,
    /// The projects the new account becomes a member of, each with its role ("member of
    /// Staging only"); absent: every project, with `role`. Admins see every project anyway.
    #[serde(default)]
    projects: Option<Vec<MembershipJson>>,
    /// 1 to 720; a week when absent.
    #[serde(default)]
    expires_in_hours: Option<i64>,
}

/// A new invitation and its one-time link.
#[derive(Serialize, ToSchema)]
pub(crate) struct NewInviteAnswer {
    invite: InviteJson,
    url: String,
}

/// What an invitation link offers.
#[derive(Serialize, ToSchema)]
pub(crate) struct InviteOffer {
    role: Role,
    expires_at_ms: i64,
    /// The inviter's username (`null` if they were removed since).
    invited_by: Option<String>,
}

/// `POST /api/invites`: a one-time link for a new person with `role`. The link is in this
/// response only (only its hash is stored); hand it over by any channel.
#[utoipa::path(post, path = "/api/invites", tag = "people", request_body = NewInvite,
    responses((status = 201, body = NewInviteAnswer)))]
pub(super) async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: JsonBody<NewInvite>,
) -> Result<(StatusCode, Json<NewInviteAnswer>), ApiError> {
    let caller = authorize_instance(&state, &headers, Role::Admin, "managing people").await?;
    let Some(inviter) = caller.user() else {
        return Err(ApiError::forbidden("invitations are made by a person: log in, or use your own API key"));
    };
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let role = parse_role(&body.role)?;
    let projects: Option<Vec<Membership>> = match body.projects {
        None => None,
        Some(list) => {
            let mut granted = Vec::with_capacity(list.len());
            for m in list {
                if state.meta().project(m.project_id).await?.is_none() {
                    return Err(ApiError::bad_request(format!(
                        "invalid projects: project {} not found",
                        m.project_id
                    )));
                }
                granted.push(Membership { project_id: m.project_id, role: m.role });
            }
            Some(granted)
        }
    };
    let hours = tether_model::invite_hours(body.expires_in_hours).map_err(ApiError::bad_request)?;
    let token = auth::generate_secret(INVITE_PREFIX);
    let expires = crate::clock::now_ms() + hours * 3_600_000;
    let invite = state
        .users()
        .create_invite(&auth::hash_secret(&token), role, projects.as_deref(), inviter.id, expires)
        .await?;
    let url = format!("{}/invite/{token}", public_base(&state, &headers));
    Ok((StatusCode::CREATED, Json(NewInviteAnswer { invite: invite.into(), url })))
}

/// Revokes an invitation: its link stops working.
#[utoipa::path(delete, path = "/api/invites/{invite_id}", tag = "people", params(("invite_id" = i64, Path)),
    responses((status = 204, description = "revoked")))]
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
#[utoipa::path(get, path = "/api/invite/{token}", tag = "people", params(("token" = String, Path)),
    responses((status = 200, body = InviteOffer)), security(()))]
pub(super) async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<InviteOffer>, ApiError> {
    let invite = usable(&state, &token).await?;
    let by = state.users().user(invite.created_by).await?.map(|u| u.username);
    Ok(Json(InviteOffer { role: invite.role, expires_at_ms: invite.expires_at_ms, invited_by: by }))
}

/// `POST /api/invite/{token}/accept` (no login): creates the person's account with the
/// invitation's role and logs them in. The link works once.
#[utoipa::path(post, path = "/api/invite/{token}/accept", tag = "people", params(("token" = String, Path)),
    request_body = Login, responses((status = 200, body = LoggedIn, description = "logged in (a session cookie is set)")),
    security(()))]
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
    start_session(&state, &headers, user).await
}
