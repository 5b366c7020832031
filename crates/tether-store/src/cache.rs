//! A read cache in front of the metadata and user stores. Ingest looks up the project of
//! a token on every request and the API a key or login session on every call: free on
//! SQLite, a network round trip each on PostgreSQL. Entries live a few seconds
//! ([`DEFAULT_TTL`] unless configured); changes made through this process drop the entries they affect at once,
//! changes made by another process are seen when the entry expires. Everything else passes
//! straight through. (`moka` is the well-kept concurrent cache of the field.)

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moka::future::Cache;
use tether_model::ProjectId;

use crate::{
    ApiKey, Invite, LoginSession, Membership, MetadataStore, NewApiKey, Project, ProjectSettings, Role,
    StoreError, StoreResult, User, UserStore,
};

/// The default of how long another process's change (a revoked key, new settings) may go
/// unseen here.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);
const CAPACITY: u64 = 10_000;

fn cache<K, V>(ttl: Duration) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder().max_capacity(CAPACITY).time_to_live(ttl).build()
}

/// Caches [`MetadataStore`]'s project and key lookups and [`UserStore`]'s session and user
/// lookups. A change made through this cache is seen here at once; one made by another
/// process within the TTL.
pub struct CachedMeta {
    meta: Arc<dyn MetadataStore>,
    users: Arc<dyn UserStore>,
    by_token: Cache<String, Option<Project>>,
    by_id: Cache<ProjectId, Option<Project>>,
    keys: Cache<String, Option<ApiKey>>,
    /// Session token hash → its user, for sessions valid at least `ttl` longer.
    sessions: Cache<String, Option<User>>,
    /// User id → the user (the owner of an API key).
    users_by_id: Cache<i64, Option<User>>,
    /// User id → their memberships (asked on every project request).
    memberships: Cache<i64, Vec<Membership>>,
    ttl: Duration,
}

impl CachedMeta {
    /// Entries live `ttl` (see [`DEFAULT_TTL`]).
    pub fn new(meta: Arc<dyn MetadataStore>, users: Arc<dyn UserStore>, ttl: Duration) -> CachedMeta {
        CachedMeta {
            meta,
            users,
            by_token: cache(ttl),
            by_id: cache(ttl),
            keys: cache(ttl),
            sessions: cache(ttl),
            users_by_id: cache(ttl),
            memberships: cache(ttl),
            ttl,
        }
    }

    /// A user's role changed or they were removed: their cached sessions (which carry the
    /// user) and entry go.
    async fn forget_user(&self, id: i64) {
        self.sessions.invalidate_all();
        self.users_by_id.invalidate(&id).await;
        self.memberships.invalidate(&id).await;
    }

    async fn forget_project(&self, project: &Project) {
        self.by_token.invalidate(&project.token).await;
        self.by_id.invalidate(&project.id).await;
    }
}

/// Runs `load` unless `key` is cached; errors are not cached.
async fn cached<K, V, F>(cache: &Cache<K, V>, key: K, load: F) -> StoreResult<V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    F: std::future::Future<Output = StoreResult<V>>,
{
    cache.try_get_with(key, load).await.map_err(|e: Arc<StoreError>| (*e).clone())
}

#[async_trait]
impl MetadataStore for CachedMeta {
    async fn create_project(&self, name: &str, token: &str) -> StoreResult<Project> {
        let project = self.meta.create_project(name, token).await?;
        self.forget_project(&project).await;
        Ok(project)
    }

    async fn create_first_project(
        &self,
        name: &str,
        token: &str,
        key: NewApiKey,
    ) -> StoreResult<Option<(Project, ApiKey)>> {
        let created = self.meta.create_first_project(name, token, key).await?;
        self.by_token.invalidate_all();
        self.by_id.invalidate_all();
        self.keys.invalidate_all();
        Ok(created)
    }

    async fn projects(&self) -> StoreResult<Vec<Project>> {
        self.meta.projects().await
    }

    async fn project(&self, id: ProjectId) -> StoreResult<Option<Project>> {
        cached(&self.by_id, id, self.meta.project(id)).await
    }

    async fn project_by_token(&self, token: &str) -> StoreResult<Option<Project>> {
        cached(&self.by_token, token.to_owned(), self.meta.project_by_token(token)).await
    }

    async fn rename_project(&self, id: ProjectId, name: &str) -> StoreResult<Project> {
        let project = self.meta.rename_project(id, name).await?;
        self.forget_project(&project).await;
        Ok(project)
    }

    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        let hash = key.secret_hash.clone();
        let created = self.meta.create_api_key(key).await?;
        self.keys.invalidate(&hash).await;
        Ok(created)
    }

    async fn api_key_by_hash(&self, secret_hash: &str) -> StoreResult<Option<ApiKey>> {
        cached(&self.keys, secret_hash.to_owned(), self.meta.api_key_by_hash(secret_hash)).await
    }

    async fn api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        self.meta.api_keys().await
    }

    async fn touch_api_key(&self, id: i64, at_ms: i64) -> StoreResult<()> {
        self.meta.touch_api_key(id, at_ms).await
    }

    async fn revoke_api_key(&self, id: i64) -> StoreResult<()> {
        self.meta.revoke_api_key(id).await?;
        // Keys are cached by hash, which the id does not give: drop them all (rare).
        self.keys.invalidate_all();
        Ok(())
    }

    async fn set_project_settings(&self, id: ProjectId, settings: ProjectSettings) -> StoreResult<Project> {
        let project = self.meta.set_project_settings(id, settings).await?;
        self.forget_project(&project).await;
        Ok(project)
    }

    async fn claim_node_number(&self) -> StoreResult<i64> {
        self.meta.claim_node_number().await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.meta.ping().await
    }
}

#[async_trait]
impl UserStore for CachedMeta {
    async fn create_user(&self, username: &str, password_hash: &str, role: Role) -> StoreResult<User> {
        self.users.create_user(username, password_hash, role).await
    }

    async fn create_first_user(&self, username: &str, password_hash: &str) -> StoreResult<Option<User>> {
        self.users.create_first_user(username, password_hash).await
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        self.users.user_by_name(username).await
    }

    async fn user(&self, id: i64) -> StoreResult<Option<User>> {
        cached(&self.users_by_id, id, self.users.user(id)).await
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        self.users.users().await
    }

    async fn user_count(&self) -> StoreResult<u64> {
        self.users.user_count().await
    }

    async fn set_role(&self, id: i64, role: Role) -> StoreResult<User> {
        let user = self.users.set_role(id, role).await?;
        self.forget_user(id).await;
        Ok(user)
    }

    async fn delete_user(&self, id: i64) -> StoreResult<()> {
        self.users.delete_user(id).await?;
        self.forget_user(id).await;
        // Their keys are revoked too.
        self.keys.invalidate_all();
        Ok(())
    }

    async fn memberships(&self, user_id: i64) -> StoreResult<Vec<Membership>> {
        cached(&self.memberships, user_id, self.users.memberships(user_id)).await
    }

    async fn set_membership(
        &self,
        user_id: i64,
        project_id: ProjectId,
        role: Option<Role>,
    ) -> StoreResult<()> {
        self.users.set_membership(user_id, project_id, role).await?;
        self.memberships.invalidate(&user_id).await;
        Ok(())
    }

    async fn set_password(&self, username: &str, password_hash: &str) -> StoreResult<bool> {
        let changed = self.users.set_password(username, password_hash).await?;
        // The user's sessions are gone: no cached one may still log them in here.
        self.sessions.invalidate_all();
        Ok(changed)
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        user_agent: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        self.users.create_session(token_hash, user_id, user_agent, expires_at_ms).await?;
        self.sessions.invalidate(token_hash).await;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<User>> {
        // Only a session still valid a TTL from now is cached, so no cached entry outlives
        // its session; one about to expire is looked up every time.
        let until = now_ms.saturating_add(self.ttl.as_millis() as i64);
        let cached_user =
            cached(&self.sessions, token_hash.to_owned(), self.users.session_user(token_hash, until)).await?;
        match cached_user {
            Some(user) => Ok(Some(user)),
            None => {
                self.sessions.invalidate(token_hash).await;
                self.users.session_user(token_hash, now_ms).await
            }
        }
    }

    async fn sessions(&self, user_id: i64, now_ms: i64) -> StoreResult<Vec<LoginSession>> {
        self.users.sessions(user_id, now_ms).await
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        self.users.delete_session(token_hash).await?;
        self.sessions.invalidate(token_hash).await;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now_ms: i64) -> StoreResult<u64> {
        // Cached sessions are valid a TTL longer than any expired one: nothing to forget.
        self.users.delete_expired_sessions(now_ms).await
    }

    async fn delete_session_by_id(&self, user_id: i64, id: &str) -> StoreResult<()> {
        self.users.delete_session_by_id(user_id, id).await?;
        // Sessions are cached by token hash, which the short id does not give.
        self.sessions.invalidate_all();
        Ok(())
    }

    async fn create_invite(
        &self,
        token_hash: &str,
        role: Role,
        projects: Option<&[Membership]>,
        created_by: i64,
        expires_at_ms: i64,
    ) -> StoreResult<Invite> {
        self.users.create_invite(token_hash, role, projects, created_by, expires_at_ms).await
    }

    async fn invites(&self, now_ms: i64) -> StoreResult<Vec<Invite>> {
        self.users.invites(now_ms).await
    }

    async fn invite_by_hash(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<Invite>> {
        self.users.invite_by_hash(token_hash, now_ms).await
    }

    async fn accept_invite(
        &self,
        token_hash: &str,
        now_ms: i64,
        username: &str,
        password_hash: &str,
    ) -> StoreResult<User> {
        self.users.accept_invite(token_hash, now_ms, username, password_hash).await
    }

    async fn revoke_invite(&self, id: i64) -> StoreResult<()> {
        self.users.revoke_invite(id).await
    }
}
