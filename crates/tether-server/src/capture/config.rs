//! Remote config (`/array/{token}/config[.js]`) and feature flags (`/flags`, `/decide`).

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tether_store::{NetworkCapture, Privacy, ProjectSettings};

use tether_ingest::posthog;

use super::{MAX_EVENT_BYTES, project_for};
use crate::body::read_limited;
use crate::{ApiError, AppState};

/// The remote config posthog-js reads at start. It turns on what Tether can use: session
/// recording to `/s/` (with console logs and network requests), exception autocapture and
/// autocapture, and gzip.
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
            "networkPayloadCapture": network_payloads(settings.network),
            "urlTriggers": [],
            "urlBlocklist": [],
            "eventTriggers": [],
            "scriptConfig": null,
            "recordCanvas": false,
            "masking": masking(&settings.privacy)
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
        "capturePerformance": { "network_timing": settings.network.requests, "web_vitals": false },
        "heatmaps": false,
        "captureDeadClicks": false,
        "elementsChainAsString": true,
        "sessionRecording": recording,
        "siteApps": []
    })
}

/// Which payloads posthog-js adds to the network requests it records (`null`: none; the
/// requests' timings follow `capturePerformance.network_timing`).
fn network_payloads(network: NetworkCapture) -> Value {
    if network.headers || network.bodies {
        json!({ "recordHeaders": network.headers, "recordBody": network.bodies })
    } else {
        Value::Null
    }
}

/// The project's privacy settings in the shape posthog-js reads (`sessionRecording.masking`):
/// an empty selector is left out rather than sent as one that matches nothing.
fn masking(privacy: &Privacy) -> Value {
    let selector = |s: &str| if s.is_empty() { Value::Null } else { Value::from(s) };
    json!({
        "maskAllInputs": privacy.mask_all_inputs,
        "maskTextSelector": selector(&privacy.mask_text_selector),
        "blockSelector": selector(&privacy.block_selector),
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

/// `/flags` and `/decide`. Tether has no feature flags yet: every evaluation answers "none",
/// which the SDK takes as a normal, successful response. Older SDKs read the remote config
/// from here (`/decide/`, or `/flags/?config=true` before posthog-js 1.350), so those get
/// the project's config merged in, found by the token in the body.
pub(super) async fn flags(State(state): State<AppState>, request: Request) -> Json<Value> {
    let mut out =
        json!({ "flags": {}, "featureFlags": {}, "errorsWhileComputingFlags": false, "quotaLimited": [] });
    let uri = request.uri().clone();
    let wants_config = uri.path().starts_with("/decide")
        || uri.query().is_some_and(|q| q.split('&').any(|p| p == "config=true"));
    if !wants_config {
        return Json(out);
    }
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let memory = state.request_memory();
    let Ok(bytes) = read_limited(request.into_body(), state.body_limits(MAX_EVENT_BYTES, &memory)).await
    else {
        return Json(out);
    };
    let mut budget = state.decoding_budget(MAX_EVENT_BYTES, &memory);
    let body = state
        .on_cpu(move || {
            let text =
                posthog::decode_capture_body(&bytes, content_type.as_deref(), None, &mut budget).ok()?;
            serde_json::from_slice::<Value>(&text).ok()
        })
        .await
        .ok()
        .flatten()
        .unwrap_or(Value::Null);
    let token = ["token", "api_key"].iter().find_map(|k| body.get(*k).and_then(Value::as_str));
    if let Ok(project) = project_for(&state, token).await
        && let (Value::Object(out), Value::Object(config)) =
            (&mut out, config_json(&project.token, project.settings))
    {
        out.extend(config);
    }
    Json(out)
}
