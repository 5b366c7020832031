//! Who is calling: project tokens (`phc_…`, public, write-only, sent by SDKs) for ingest,
//! personal API keys (`phx_…`, secret, hashed at rest) for reading.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use rand::Rng;
use sha2::{Digest, Sha256};
use tether_model::ProjectId;
use tether_store::{ApiKey, KeyScope, MetadataStore, Project};

use crate::ApiError;

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

/// The personal API key of a read request.
pub async fn api_key(meta: &dyn MetadataStore, headers: &HeaderMap) -> Result<ApiKey, ApiError> {
    let secret = bearer(headers).ok_or_else(|| {
        ApiError::unauthorized("Missing personal API key: send Authorization: Bearer phx_…")
    })?;
    if !secret.starts_with(API_KEY_PREFIX) {
        return Err(ApiError::unauthorized("Invalid personal API key: expected a key starting with phx_"));
    }
    meta.api_key_by_hash(&hash_secret(&secret))
        .await?
        .ok_or_else(|| ApiError::unauthorized("Invalid personal API key"))
}

/// Whether a key may read a project.
pub fn may_read(key: &ApiKey, project_id: ProjectId) -> bool {
    match key.scope {
        KeyScope::AllProjects => true,
        KeyScope::Project(id) => id == project_id,
    }
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
    fn header_wins_and_bare_tokens_work() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(AUTHORIZATION, "Bearer phc_1".parse().unwrap());
        assert_eq!(bearer(&h).as_deref(), Some("phc_1"));
        h.insert(AUTHORIZATION, "phc_2".parse().unwrap());
        assert_eq!(bearer(&h).as_deref(), Some("phc_2"));
    }
}
