//! Who is calling: project tokens (`phc_…`, public, write-only, sent by SDKs) for ingest,
//! UI login sessions and personal API keys (`phx_…`, secret, hashed at rest, each a user's)
//! for the API, with the caller's role.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use rand::Rng;
use sha2::{Digest, Sha256};
use tether_model::ProjectId;
use tether_store::{ApiKey, KeyScope, Membership, MetadataStore, Project, Role, User, UserStore};

use crate::{ApiError, AppState};

pub const PROJECT_TOKEN_PREFIX: &str = "phc_";
pub const API_KEY_PREFIX: &str = "phx_";
const MAX_TOKEN_LEN: usize = 128;

/// A new random secret: the prefix and 43 base62 characters (~256 bits).
pub fn generate_secret(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let body: String = (0..43).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("{prefix}{body}")
}

/// The hash under which an API key is stored. Keys are long and random, so a fast hash is
/// enough: there is nothing to brute-force.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The token from `Authorization` (with or without `Bearer `), which wins over `?token=`.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest,
        // "Bearer" with nothing after it (HTTP strips the trailing space) carries no token.
        None if value.eq_ignore_ascii_case("bearer") => "",
        _ => value,
    };
    Some(token.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Hashes a UI password with argon2id (slow on purpose: passwords are guessable).
pub fn hash_password(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt_bytes: [u8; 16] = rand::random();
    let hashed = SaltString::encode_b64(&salt_bytes).and_then(|salt| {
        argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    });
    // Encoding 16 bytes of salt and hashing with default parameters cannot fail.
    hashed.unwrap_or_default()
}

/// Checks a password against a hash made by [`hash_password`].
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash)
        .is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// The shortest password a person may choose.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The rule for a new password (the UI, invitations and `tether admin` alike): the reason
/// when it breaks it.
pub fn check_new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > 1024 {
        return Err(format!(
            "invalid password: expected at least {MIN_PASSWORD_CHARS} characters (at most 1024 bytes)"
        ));
    }
    Ok(())
}

/// The rule for a new username: 1 to 64 letters, digits or `. _ - @`.
pub fn check_username(username: &str) -> Result<(), String> {
    let valid = (1..=64).contains(&username.chars().count())
        && username.chars().all(|c| c.is_alphanumeric() || "._-@".contains(c));
    if !valid {
        return Err("invalid username: expected 1 to 64 letters, digits or . _ - @".into());
    }
    Ok(())
}

/// A valid argon2 hash of no one's password: logins for unknown users verify against it.
pub const DUMMY_PASSWORD_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$JGr6m0Ylbp0gbgvr0FcbfUyx1kAwuCQkmsZnWmSfvmY";

/// Checks the shape of a project token before any lookup, with a reason the sender can act on.
pub fn validate_project_token(token: &str) -> Result<(), ApiError> {
    if token.starts_with(API_KEY_PREFIX) {
        return Err(ApiError::unauthorized(
            "Invalid project token: this is a personal API key (phx_); send the project token (phc_) instead",
        ));
    }
    if !token.starts_with(PROJECT_TOKEN_PREFIX)
        || token.len() > MAX_TOKEN_LEN
        || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(ApiError::unauthorized(
            "Invalid project token: expected phc_ followed by letters and digits",
        ));
    }
    Ok(())
}

/// Resolves the project a write belongs to from its token (header first, then query).
pub async fn project_from_token(
    meta: &dyn MetadataStore,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<Project, ApiError> {
    let token = bearer(headers)
        .or_else(|| query_token.map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned))
        .ok_or_else(|| ApiError::unauthorized("No token provided"))?;
    validate_project_token(&token)?;
    meta.project_by_token(&token).await?.ok_or_else(|| ApiError::unauthorized("Unknown project token"))
}

/// The personal API key of a request, with its owner (`None` for the operator key). A key
/// whose owner was removed is revoked with them, so it is not found.
async fn api_key(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let secret = bearer(headers).ok_or_else(|| {
        ApiError::unauthorized("Missing personal API key: send Authorization: Bearer phx_…")
    })?;
    if !secret.starts_with(API_KEY_PREFIX) {
        return Err(ApiError::unauthorized("Invalid personal API key: expected a key starting with phx_"));
    }
    let key = state
        .meta()
        .api_key_by_hash(&hash_secret(&secret))
        .await?
        .ok_or_else(|| ApiError::unauthorized("Invalid personal API key"))?;
    if key.expires_at_ms.is_some_and(|at| at <= crate::clock::now_ms()) {
        return Err(ApiError::unauthorized("This API key has expired: make a new one"));
    }
    let owner = match key.user_id {
        None => None,
        Some(id) => Some(
            state
                .users()
                .user(id)
                .await?
                .ok_or_else(|| ApiError::unauthorized("Invalid personal API key"))?,
        ),
    };
    state.key_uses().seen(state, key.id).await;
    Ok(Principal::Key { key, owner })
}

/// Records API key use at most once a minute per key and process, so that reading with a
/// key does not write to the metadata store on every request.
#[derive(Default)]
pub struct KeyUses {
    recent: std::sync::Mutex<std::collections::HashMap<i64, i64>>,
}

impl KeyUses {
    const EVERY_MS: i64 = 60_000;

    async fn seen(&self, state: &AppState, key_id: i64) {
        let now = crate::clock::now_ms();
        {
            let Ok(mut recent) = self.recent.lock() else { return };
            if recent.get(&key_id).is_some_and(|&at| now - at < Self::EVERY_MS) {
                return;
            }
            recent.retain(|_, at| now - *at < Self::EVERY_MS);
            recent.insert(key_id, now);
        }
        if let Err(e) = state.meta().touch_api_key(key_id, now).await {
            // Losing a last-used time is not worth failing the read it came with.
            tracing::warn!(key_id, error = %e, "cannot record API key use");
        }
    }
}

/// The cookie that carries a UI login session.
pub const SESSION_COOKIE: &str = "tether_session";

/// Who is calling: a logged-in UI user or a personal API key.
#[derive(Debug, Clone)]
pub enum Principal {
    User(User),
    /// A key acts with its owner's role, within its scope; the operator key (no owner) as
    /// an admin.
    Key {
        key: ApiKey,
        owner: Option<User>,
    },
}

impl Principal {
    /// The instance role: a key's is the lower of its owner's and its cap.
    pub fn role(&self) -> Role {
        match self {
            Principal::User(user) => user.role,
            Principal::Key { key, owner } => owner.as_ref().map_or(Role::Admin, |u| u.role).min(key_cap(key)),
        }
    }

    /// The person behind the call (none for the operator key).
    pub fn user(&self) -> Option<&User> {
        match self {
            Principal::User(user) | Principal::Key { owner: Some(user), .. } => Some(user),
            Principal::Key { owner: None, .. } => None,
        }
    }

    /// Which projects this caller may see, and with which role: an instance admin (and the
    /// operator key) every project as an admin, anyone else the projects they are a member
    /// of, with that membership's role. A key is held to its scope and to its owner's
    /// memberships as they are now, not as they were when it was made.
    pub async fn access(&self, users: &dyn UserStore) -> Result<Access, ApiError> {
        let (owner, scope, cap) = match self {
            Principal::User(user) => (Some(user), KeyScope::AllProjects, Role::Admin),
            Principal::Key { key, owner } => (owner.as_ref(), key.scope, key_cap(key)),
        };
        let memberships = match owner {
            Some(user) if user.role != Role::Admin => Some(users.memberships(user.id).await?),
            _ => None,
        };
        Ok(Access { memberships, scope, cap })
    }

    /// Whether this caller acts on the whole instance (a user, or an all-projects key):
    /// what is not one project's (people, new projects) needs it.
    pub fn instance_wide(&self) -> bool {
        match self {
            Principal::User(_) => true,
            Principal::Key { key, .. } => key.scope == KeyScope::AllProjects,
        }
    }

    /// `Forbidden` unless the caller's instance role is at least `needed`.
    pub fn require(&self, needed: Role, doing: &str) -> Result<(), ApiError> {
        require(self.role(), needed, doing)
    }
}

/// `Forbidden` unless `role` is at least `needed` for `doing` (said in the 403: "changing an
/// issue's status needs the member role; you are a viewer").
pub fn require(role: Role, needed: Role, doing: &str) -> Result<(), ApiError> {
    if role < needed {
        return Err(ApiError::forbidden(format!(
            "{doing} needs the {} role; you are a {}",
            needed.as_str(),
            role.as_str()
        )));
    }
    Ok(())
}

/// The most a key may do: its cap, or everything its owner may.
fn key_cap(key: &ApiKey) -> Role {
    key.role.unwrap_or(Role::Admin)
}

/// The projects a caller may see (see [`Principal::access`]).
pub struct Access {
    /// `None`: every project, as an admin.
    memberships: Option<Vec<Membership>>,
    scope: KeyScope,
    /// The most a key may do, whatever its owner may.
    cap: Role,
}

impl Access {
    /// The caller's role in a project; `None` when they may not see it.
    pub fn role_in(&self, project_id: ProjectId) -> Option<Role> {
        if matches!(self.scope, KeyScope::Project(id) if id != project_id) {
            return None;
        }
        let role = match &self.memberships {
            None => Some(Role::Admin),
            Some(list) => list.iter().find(|m| m.project_id == project_id).map(|m| m.role),
        };
        role.map(|r| r.min(self.cap))
    }
}

/// A cookie's value from the `Cookie` header.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
}

/// The caller of an API request: a bearer API key if one is sent, else the login cookie.
pub async fn principal(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    if bearer(headers).is_some() {
        return api_key(state, headers).await;
    }
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Err(ApiError::unauthorized("Not logged in: log in, or send Authorization: Bearer phx_…"));
    };
    state
        .users()
        .session_user(&hash_secret(token), crate::clock::now_ms())
        .await?
        .map(Principal::User)
        .ok_or_else(|| ApiError::unauthorized("Session expired: log in again"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shapes() {
        assert!(validate_project_token("phc_abcDEF123").is_ok());
        for bad in ["phx_abc", "abc", "phc_ab c", &format!("phc_{}", "a".repeat(200)), "phc_é"] {
            assert!(validate_project_token(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_random_and_hash_stably() {
        let a = generate_secret(API_KEY_PREFIX);
        assert!(a.starts_with("phx_") && a.len() == 47);
        assert_ne!(a, generate_secret(API_KEY_PREFIX));
        assert_eq!(hash_secret("x"), hash_secret("x"));
        assert_ne!(hash_secret(&a), a);
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password("", DUMMY_PASSWORD_HASH));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::COOKIE, "a=1; tether_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "tether"), None);
    }

    #[test]
    fn header_wins_and_bare_tokens_work() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(AUTHORIZATION, "Bearer phc_1".parse().unwrap());
        assert_eq!(bearer(&h).as_deref(), Some("phc_1"));
        h.insert(AUTHORIZATION, "phc_2".parse().unwrap());
        assert_eq!(bearer(&h).as_deref(), Some("phc_2"));
    }
}
