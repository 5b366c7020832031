//! First start: the default project with its token, the admin API key, and the admin UI user.

use tether_store::{KeyScope, MetadataStore, NewApiKey, Project, StoreResult, UserStore};

use crate::auth;

/// What a first start created. The API key is shown this once; only its hash is stored.
#[derive(Debug, Clone)]
pub struct FirstStart {
    pub project: Project,
    pub api_key: String,
}

/// Creates the default project and an all-projects API key on the first start of the
/// stores. `token` and `api_key` fix their values (for automation); otherwise they are
/// random. Several processes starting at once on one empty database create one project:
/// the others get `None`, as on any later start.
pub async fn first_start(
    meta: &dyn MetadataStore,
    token: Option<&str>,
    api_key: Option<&str>,
) -> StoreResult<Option<FirstStart>> {
    if !meta.projects().await?.is_empty() {
        return Ok(None);
    }
    let token = token.map_or_else(|| auth::generate_secret(auth::PROJECT_TOKEN_PREFIX), str::to_owned);
    let api_key = api_key.map_or_else(|| auth::generate_secret(auth::API_KEY_PREFIX), str::to_owned);
    let key = NewApiKey {
        name: "admin".into(),
        scope: KeyScope::AllProjects,
        // The operator's key: no user's, acting as an admin (for automation and first steps).
        user_id: None,
        secret_hash: auth::hash_secret(&api_key),
        prefix: api_key.chars().take(8).collect(),
    };
    let created = meta.create_first_project("Default project", &token, key).await?;
    Ok(created.map(|(project, _)| FirstStart { project, api_key }))
}

/// Creates the `admin` UI user when there are no users yet (once, however many processes
/// start at once). Returns the password when one was made (given, or random), to be shown
/// once; only its argon2 hash is stored.
pub async fn ensure_admin(users: &dyn UserStore, password: Option<&str>) -> StoreResult<Option<String>> {
    if users.user_count().await? > 0 {
        return Ok(None);
    }
    let password =
        password.map_or_else(|| auth::generate_secret("").chars().take(20).collect(), str::to_owned);
    let hash = {
        let password = password.clone();
        tokio::task::spawn_blocking(move || auth::hash_password(&password))
            .await
            .map_err(|e| tether_store::StoreError::internal("password hashing failed", e))?
    };
    Ok(users.create_first_user("admin", &hash).await?.map(|_| password))
}
