//! The PostHog-compatible capture surface: what the unmodified posthog-js calls.
//! Wire contract: `shared/reference/posthog-js-wire-protocol.md` (posthog-js 1.449.x).

mod config;
mod events;
mod recordings;
mod static_files;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use tower_http::cors::CorsLayer;

use crate::edge::rate::Kind;
use crate::{ApiError, AppState, auth};
use tether_store::Project;

/// Events endpoints accept whole batches up to this size (after decompression); a single
/// event may be at most [`MAX_EVENT_BYTES`].
pub(crate) const MAX_BATCH_BYTES: usize = 20 * 1024 * 1024;
pub(crate) const MAX_EVENT_BYTES: usize = 2 * 1024 * 1024;
/// `/s/` (session recording) bodies.
pub(crate) const MAX_RECORDING_BYTES: usize = 25 * 1024 * 1024;

pub(crate) fn router() -> Router<AppState> {
    let mut r = Router::new();
    for path in ["/e", "/i/v0/e", "/batch", "/capture", "/track", "/engage"] {
        r = r
            .route(path, post(events::capture).get(events::capture))
            .route(&format!("{path}/"), post(events::capture).get(events::capture));
    }
    for path in ["/s", "/s/"] {
        r = r.route(path, post(recordings::capture));
    }
    for path in ["/flags", "/flags/", "/decide", "/decide/"] {
        r = r.route(path, post(config::flags).get(config::flags));
    }
    r.route("/static/{name}", get(static_files::unversioned))
        .route("/static/{version}/{name}", get(static_files::versioned))
        .route("/array/{token}/config", get(config::remote_config))
        .route("/array/{token}/{file}", get(config::remote_config_script))
        // The SDK posts from any site, with credentials, and reads the responses: mirror
        // the origin and requested headers (X-POSTHOG-* included), as PostHog does.
        .layer(CorsLayer::very_permissive())
}

/// The project a capture request is for: its token must be a known project token.
pub(crate) async fn project_for(state: &AppState, token: Option<&str>) -> Result<Project, ApiError> {
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("No token provided"))?;
    auth::validate_project_token(token)?;
    state.meta().project_by_token(token).await?.ok_or_else(|| ApiError::unauthorized("Unknown project token"))
}

/// Takes `cost` from the project's rate of `kind` (its `ingest_limits`); over it, 503 with
/// `Retry-After`: posthog-js drops a batch answered 429 but retries a 503, no sooner than
/// `Retry-After` says, so nothing a site sends within its long-run rate is lost.
pub(crate) fn check_rate(state: &AppState, project: &Project, kind: Kind, cost: u64) -> Result<(), ApiError> {
    let limits = &project.settings.ingest_limits;
    let (rate, unit) = match kind {
        Kind::Events => (limits.events_per_second, "events"),
        Kind::RecordingBytes => (limits.recording_bytes_per_second, "recording bytes"),
    };
    state.rates().take(project.id, kind, rate, cost).map_err(|seconds| {
        state.metrics().rate_limited[kind as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ApiError::retry_later(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!("this project is over its limit of {rate} {unit} per second; retry in {seconds} s"),
            seconds,
        )
    })
}

pub(crate) fn header(headers: &HeaderMap, name: axum::http::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
