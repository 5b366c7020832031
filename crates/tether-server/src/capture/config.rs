//! Remote config (`/array/{token}/config[.js]`) and feature flags (`/flags`, `/decide`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tether_store::ProjectSettings;

use super::project_for;
use crate::{ApiError, AppState};

/// The remote config posthog-js reads at start. It turns on what Tether can use: session
/// recording to `/s/` (with console logs), exception autocapture and autocapture, and gzip.
/// No `surveys` key: its mere presence makes the SDK fetch the surveys bundle.
fn config_json(token: &str, settings: ProjectSettings) -> Value {
    let recording = if settings.session_recording {
        json!({
            "endpoint": "/s/",
            "consoleLogRecordingEnabled": settings.console_log_recording,
            "recorderVersion": "v2",
            "sampleRate": null,
            "minimumDurationMilliseconds": null,
            "linkedFlag": null,
            "networkPayloadCapture": null,
            "urlTriggers": [],
            "urlBlocklist": [],
            "eventTriggers": [],
            "scriptConfig": null,
            "recordCanvas": false
        })
    } else {
        json!(false)
    };
    json!({
        "token": token,
        "supportedCompression": ["gzip", "gzip-js"],
        "hasFeatureFlags": false,
        "autocapture_opt_out": false,
        "autocaptureExceptions": settings.exception_autocapture,
        "errorTracking": { "autocaptureExceptions": settings.exception_autocapture, "suppressionRules": [] },
        "capturePerformance": false,
        "heatmaps": false,
        "captureDeadClicks": false,
        "elementsChainAsString": true,
        "sessionRecording": recording,
        "siteApps": []
    })
}

pub(super) async fn remote_config(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let project =
        project_for(&state, Some(&token)).await.map_err(|_| ApiError::not_found("unknown project token"))?;
    Ok(Json(config_json(&project.token, project.settings)))
}

/// `/array/{token}/config.js`: the same config as a script, for the SDK's script loader.
pub(super) async fn remote_config_script(
    State(state): State<AppState>,
    Path((token, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    if file != "config.js" {
        return Err(ApiError::not_found("no such file"));
    }
    let project =
        project_for(&state, Some(&token)).await.map_err(|_| ApiError::not_found("unknown project token"))?;
    let config = config_json(&project.token, project.settings);
    let token_js = serde_json::to_string(&project.token).unwrap_or_default();
    let script = format!(
        "(function(){{window._POSTHOG_REMOTE_CONFIG=window._POSTHOG_REMOTE_CONFIG||{{}};\
         window._POSTHOG_REMOTE_CONFIG[{token_js}]={{config:{config},siteApps:[]}};}})();"
    );
    Ok(([(header::CONTENT_TYPE, "application/javascript"), (header::CACHE_CONTROL, "no-cache")], script)
        .into_response())
}

/// Tether has no feature flags yet: every evaluation answers "none", which the SDK takes
/// as a normal, successful response.
pub(super) async fn flags() -> Json<Value> {
    Json(json!({ "flags": {}, "featureFlags": {}, "errorsWhileComputingFlags": false, "quotaLimited": [] }))
}
