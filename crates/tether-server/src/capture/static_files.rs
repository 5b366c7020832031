//! `/static/{version}/{name}.js` and `/static/{name}.js`: the SDK files posthog-js loads
//! lazily (recorder, exception autocapture, tracing headers, …), from the pinned package
//! embedded in the binary. Any requested version gets the pinned files: the SDK first tries
//! its own version's path, then the unversioned one.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

fn serve(name: &str) -> Result<Response, ApiError> {
    let bytes = tether_sdk_assets::sdk_file(name)
        .ok_or_else(|| ApiError::not_found(format!("no SDK file {name}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/javascript; charset=utf-8"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response())
}

pub(super) async fn unversioned(Path(name): Path<String>) -> Result<Response, ApiError> {
    serve(&name)
}

pub(super) async fn versioned(Path((_version, name)): Path<(String, String)>) -> Result<Response, ApiError> {
    serve(&name)
}
