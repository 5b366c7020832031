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
    let key = operator_key(auth::hash_secret(&api_key), &api_key);
    let created = meta.create_first_project("Default project", &token, key).await?;
    Ok(created.map(|(project, _)| FirstStart { project, api_key }))
}

/// What the operator key (the owner-less admin key made at first start) is to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorKey {
    /// No operator key: every owner-less key is revoked.
    Disabled,
    /// This secret (`phx_…`) and no other: a different one is revoked and this one made.
    Rotated(String),
}

impl std::str::FromStr for OperatorKey {
    type Err = String;

    fn from_str(s: &str) -> Result<OperatorKey, String> {
        match s.trim() {
            "disabled" => Ok(OperatorKey::Disabled),
            key if key.starts_with(auth::API_KEY_PREFIX) && key.len() >= 24 && key.len() <= 128 => {
                Ok(OperatorKey::Rotated(key.to_owned()))
            }
            _ => Err(format!(
                "expected \"disabled\" or a key of {} and at least 20 more characters",
                auth::API_KEY_PREFIX
            )),
        }
    }
}

/// Makes the operator key what `wanted` says, at start: the keys without an owner that do
/// not match are revoked (so a leaked operator key is rotated by configuring a new one).
/// Returns how many were revoked.
pub async fn set_operator_key(meta: &dyn MetadataStore, wanted: &OperatorKey) -> StoreResult<usize> {
    // The configured key, if it is already the operator key.
    let current = match wanted {
        OperatorKey::Disabled => None,
        OperatorKey::Rotated(secret) => {
            meta.api_key_by_hash(&auth::hash_secret(secret)).await?.filter(|k| k.user_id.is_none())
        }
    };
    let mut revoked = 0;
    for key in meta.api_keys().await? {
        if key.user_id.is_none() && current.as_ref().is_none_or(|c| c.id != key.id) {
            meta.revoke_api_key(key.id).await?;
            revoked += 1;
        }
    }
    if let (OperatorKey::Rotated(secret), None) = (wanted, current) {
        meta.create_api_key(operator_key(auth::hash_secret(secret), secret)).await?;
    }
    Ok(revoked)
}

/// The operator's key: no user's, acting as an admin (for automation and first steps).
fn operator_key(secret_hash: String, secret: &str) -> NewApiKey {
    NewApiKey {
        name: "admin".into(),
        scope: KeyScope::AllProjects,
        user_id: None,
        secret_hash,
        prefix: secret.chars().take(8).collect(),
        expires_at_ms: None,
        role: None,
    }
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
