//! `/e/`, `/i/v0/e/`, `/batch/` and friends: events, exceptions into issues, and persons.

use axum::Json;
use axum::extract::{Query, Request, State};
use axum::http::{Method, header};
use serde_json::{Value, json};
use tether_ingest::posthog::events::{Capture, CapturedEvent, parse_capture};
use tether_ingest::posthog::{self};
use tether_model::exceptions::cap_frames;
use tether_store::Project;

use super::{MAX_BATCH_BYTES, MAX_EVENT_BYTES, check_rate, header as header_str, project_for};
use crate::body::read_limited;
use crate::clock::now_ms;
use crate::edge::memory::RequestMemory;
use crate::edge::rate::Kind;
use crate::{ApiError, AppState};

#[derive(serde::Deserialize)]
struct CaptureQuery {
    compression: Option<String>,
    /// Legacy GET capture: the payload in the query string.
    data: Option<String>,
}

/// A random UUIDv4 for events the sender did not name.
pub(crate) fn new_uuid() -> String {
    let b: [u8; 16] = rand::random();
    let h = hex::encode(b);
    format!("{}-{}-4{}-{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[16..20], &h[20..32])
}

/// A decoded capture request: its project, its events (as the caller's `then` made them),
/// and what is left of its decoding budget (for the `cv` fields of recordings, expanded
/// later).
pub(crate) struct Decoded<T> {
    pub project: Project,
    pub capture: T,
    pub budget: tether_ingest::Budget,
    /// The body's size as sent (what recording rates count).
    pub body_bytes: usize,
}

/// Decodes a capture request of any supported encoding (body, or `?data=` for legacy GETs)
/// within the request's budget and `memory`, runs `then` on its events in the same turn on
/// the CPU pool (each turn is a thread hand-off and back: two per `/e/` request were a
/// tenth of its CPU in context switches), and resolves the project its token names.
pub(crate) async fn decode_request<T: Send + 'static>(
    state: &AppState,
    request: Request,
    limit: usize,
    memory: &RequestMemory,
    then: impl FnOnce(Capture) -> Result<T, ApiError> + Send + 'static,
) -> Result<Decoded<T>, ApiError> {
    let (parts, body) = request.into_parts();
    let Query(query) =
        Query::<CaptureQuery>::try_from_uri(&parts.uri).map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (bytes, content_type) = if parts.method == Method::GET {
        let data = query.data.ok_or_else(|| ApiError::bad_request("GET capture needs a data parameter"))?;
        let form = format!("data={}", form_urlencoded::byte_serialize(data.as_bytes()).collect::<String>());
        (form.into_bytes().into(), Some("application/x-www-form-urlencoded".to_owned()))
    } else {
        (
            read_limited(body, state.body_limits(limit, memory)).await?,
            header_str(&parts.headers, header::CONTENT_TYPE).map(str::to_owned),
        )
    };
    let compression = query.compression;
    let body_bytes = bytes.len();
    let mut budget = state.decoding_budget(limit, memory);
    let decoded = state
        .on_cpu(move || {
            let text = posthog::decode_capture_body(
                &bytes,
                content_type.as_deref(),
                compression.as_deref(),
                &mut budget,
            )?;
            drop(bytes);
            let capture = parse_capture(&text, now_ms(), &mut new_uuid)?;
            let token = capture.token().map(str::to_owned);
            Ok::<_, ApiError>((token, then(capture)?, budget))
        })
        .await??;
    let (token, capture, budget) = decoded;
    let project = project_for(state, token.as_deref()).await?;
    Ok(Decoded { project, capture, budget, body_bytes })
}

pub(super) async fn capture(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    // Held until the events are committed: they wait in the commit queue until then.
    let memory = state.request_memory();
    let decoded =
        decode_request(&state, request, MAX_BATCH_BYTES, &memory, |c| prepare(c.events, MAX_EVENT_BYTES))
            .await?;
    let Decoded { project, capture: (events, frames_dropped), .. } = decoded;
    check_rate(&state, &project, Kind::Events, events.len() as u64)?;
    state.metrics().frames_dropped.fetch_add(frames_dropped, std::sync::atomic::Ordering::Relaxed);
    state.check_disk()?;
    state.capture().store_events(project.id, events).await?;
    // Exactly 200 with a body: posthog-js retries anything else, 204 included.
    Ok(Json(json!({ "status": 1 })))
}

/// CPU work before storing: each event's size checked, and exception frames capped (the
/// rest dropped; their count is returned). Recordings' snapshot events are left out (`/s/`
/// stores their data as chunks).
fn prepare(
    events: Vec<CapturedEvent>,
    max_event_bytes: usize,
) -> Result<(Vec<CapturedEvent>, u64), ApiError> {
    let mut out = Vec::with_capacity(events.len());
    let mut frames_dropped = 0;
    for (i, mut event) in events.into_iter().enumerate() {
        if event.event == "$snapshot" {
            continue;
        }
        if event.event == "$exception" {
            // Rare, and read whole anyway: parsed, capped, and written back.
            let mut properties = event.properties_map();
            if let Some(list) = properties.get_mut("$exception_list") {
                let dropped = cap_frames(list);
                if dropped > 0 {
                    frames_dropped += dropped as u64;
                    event.properties = Value::Object(properties).to_string();
                }
            }
        }
        if event.properties.len() > max_event_bytes {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("event {i} exceeds the limit of {max_event_bytes} bytes"),
            ));
        }
        out.push(event);
    }
    Ok((out, frames_dropped))
}
