//! UI accounts, their roles, login sessions, and invitations.

use async_trait::async_trait;

use crate::StoreResult;

use tether_model::ProjectId;
pub use tether_model::Role;

/// A person who logs in to the UI.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub created_at_ms: i64,
}

/// A user's role in one project. An instance admin is an admin of every project and needs
/// none; anyone else sees only the projects they are a member of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Membership {
    pub project_id: ProjectId,
    pub role: Role,
}

/// A login session as its owner sees it in a list. `id` is a prefix of the token's hash:
/// enough to name the session, nothing to log in with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoginSession {
    pub id: String,
    pub user_agent: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// A pending invitation: whoever holds its link may create one account with `role` until
/// it expires or is used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Invite {
    pub id: i64,
    /// The instance role of the account it creates.
    pub role: Role,
    /// The projects the account becomes a member of; `None`: every project there is when it
    /// is accepted, with `role` (an admin invitation needs none: admins see every project).
    pub projects: Option<Vec<Membership>>,
    /// The user who invited.
    pub created_by: i64,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// Accounts, sessions and invitations. Passwords and secret tokens are stored only as
/// hashes, made by the caller.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user; a taken username is `InvalidInput`.
    async fn create_user(&self, username: &str, password_hash: &str, role: Role) -> StoreResult<User>;
    /// Creates an admin only if there is no user yet (in any process sharing the store);
    /// `None` when there was one.
    async fn create_first_user(&self, username: &str, password_hash: &str) -> StoreResult<Option<User>>;
    /// The user and their password hash.
    async fn user_by_name(&self, username: &str) -> StoreResult<Option<(User, String)>>;
    async fn user(&self, id: i64) -> StoreResult<Option<User>>;
    /// Every user, oldest first.
    async fn users(&self) -> StoreResult<Vec<User>>;
    async fn user_count(&self) -> StoreResult<u64>;
    /// Changes a user's instance role. `NotFound` for an unknown user; `InvalidInput` when
    /// it would leave no admin (checked in the same step as the change, so two admins
    /// demoting each other at once cannot both succeed). A demoted admin becomes a member of
    /// every project they were not one of, with the new role: they keep seeing what they saw.
    async fn set_role(&self, id: i64, role: Role) -> StoreResult<User>;
    /// The projects a user is a member of, by project id.
    async fn memberships(&self, user_id: i64) -> StoreResult<Vec<Membership>>;
    /// Makes the user a member of the project with `role`, or (`None`) not a member.
    /// `NotFound` for an unknown user or project.
    async fn set_membership(
        &self,
        user_id: i64,
        project_id: ProjectId,
        role: Option<Role>,
    ) -> StoreResult<()>;
    /// Removes a user: their sessions end, their API keys are revoked and their memberships
    /// go in the same step.
    /// `NotFound` for an unknown user; `InvalidInput` for the last admin.
    async fn delete_user(&self, id: i64) -> StoreResult<()>;
    /// Replaces the user's password hash and ends every session of theirs (in one step:
    /// no session outlives the change); false when there is no such user.
    async fn set_password(&self, username: &str, password_hash: &str) -> StoreResult<bool>;
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        user_agent: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()>;
    /// The user of a session that has not expired at `now_ms`.
    async fn session_user(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<User>>;
    /// The user's sessions that have not expired at `now_ms`, newest first.
    async fn sessions(&self, user_id: i64, now_ms: i64) -> StoreResult<Vec<LoginSession>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Deletes the sessions expired at `now_ms` (they log no one in, but their rows would
    /// pile up forever); how many.
    async fn delete_expired_sessions(&self, now_ms: i64) -> StoreResult<u64>;
    /// Ends the user's session named by a [`LoginSession::id`]; `NotFound` when the user
    /// has no such session.
    async fn delete_session_by_id(&self, user_id: i64, id: &str) -> StoreResult<()>;
    async fn create_invite(
        &self,
        token_hash: &str,
        role: Role,
        projects: Option<&[Membership]>,
        created_by: i64,
        expires_at_ms: i64,
    ) -> StoreResult<Invite>;
    /// Invitations neither used, revoked nor expired at `now_ms`, newest first.
    async fn invites(&self, now_ms: i64) -> StoreResult<Vec<Invite>>;
    /// The usable invitation with this token hash.
    async fn invite_by_hash(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<Invite>>;
    /// Uses an invitation: creates its user with its memberships (of the projects that still
    /// exist) and consumes it, all or nothing. `NotFound`
    /// when it is unknown, used, revoked or expired (two people racing for one link: one
    /// wins); `InvalidInput` for a taken username (the invitation stays usable).
    async fn accept_invite(
        &self,
        token_hash: &str,
        now_ms: i64,
        username: &str,
        password_hash: &str,
    ) -> StoreResult<User>;
    /// `NotFound` when no usable invitation has this id.
    async fn revoke_invite(&self, id: i64) -> StoreResult<()>;
}
