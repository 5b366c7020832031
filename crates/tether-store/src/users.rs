//! UI accounts and their login sessions.

use async_trait::async_trait;

use crate::StoreResult;

/// A person who logs in to the UI. Users may read and manage every project.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
}

/// Accounts and sessions. Passwords and session tokens are stored only as hashes, made by
/// the caller.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user; a taken username is `InvalidInput`.
    async fn create_user(&self, username: &str, password_hash: &str) -> StoreResult<User>;
    /// Creates the user only if there is no user yet (in any process sharing the store);
    /// `None` when there was one.
    async fn create_first_user(&self, username: &str, password_hash: &str) -> StoreResult<Option<User>>;
    /// The user and their password hash.
    async fn user_by_name(&self, username: &str) -> StoreResult<Option<(User, String)>>;
    async fn user_count(&self) -> StoreResult<u64>;
    /// Replaces the user's password hash and ends every session of theirs (in one step:
    /// no session outlives the change); false when there is no such user.
    async fn set_password(&self, username: &str, password_hash: &str) -> StoreResult<bool>;
    async fn create_session(&self, token_hash: &str, user_id: i64, expires_at_ms: i64) -> StoreResult<()>;
    /// The user of a session that has not expired at `now_ms`.
    async fn session_user(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<User>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
}
