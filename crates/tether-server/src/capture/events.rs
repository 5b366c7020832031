//! `/e/`, `/i/v0/e/`, `/batch/` and friends: events, exceptions into issues, and persons.

use axum::Json;
use axum::extract::{Query, Request, State};
use axum::http::{Method, header};
use serde_json::{Value, json};
use tether_ingest::posthog::events::{Capture, CapturedEvent, parse_capture};
use tether_ingest::posthog::exceptions::{cap_frames, exception_info};
use tether_ingest::posthog::{self};
use tether_model::{Event, ExceptionRecord, PersonUpdate};
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

/// A decoded capture request: its project, its events, and what is left of its decoding
/// budget (for the `cv` fields of recordings, expanded later).
pub(crate) struct Decoded {
    pub project: Project,
    pub capture: Capture,
    pub budget: tether_ingest::Budget,
    /// The body's size as sent (what recording rates count).
    pub body_bytes: usize,
}

/// Decodes a capture request of any supported encoding (body, or `?data=` for legacy GETs)
/// within the request's budget and `memory`, and resolves the project its token names.
pub(crate) async fn decode_request(
    state: &AppState,
    request: Request,
    limit: usize,
    memory: &RequestMemory,
) -> Result<Decoded, ApiError> {
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
    let (capture, budget) = state
        .on_cpu(move || {
            let value = posthog::decode_capture_body(
                &bytes,
                content_type.as_deref(),
                compression.as_deref(),
                &mut budget,
            )?;
            drop(bytes);
            let capture = parse_capture(value, now_ms(), &mut new_uuid)?;
            Ok::<_, ApiError>((capture, budget))
        })
        .await??;
    let project = project_for(state, capture.token()).await?;
    Ok(Decoded { project, capture, budget, body_bytes })
}

pub(super) async fn capture(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    // Held until the events are committed: they wait in the commit queue until then.
    let memory = state.request_memory();
    let Decoded { project, capture, .. } = decode_request(&state, request, MAX_BATCH_BYTES, &memory).await?;
    let events = capture.events.iter().filter(|e| e.event != "$snapshot").count();
    check_rate(&state, &project, Kind::Events, events as u64)?;
    let (events, frames_dropped) = state.on_cpu(move || prepare(capture.events, MAX_EVENT_BYTES)).await??;
    state.metrics().frames_dropped.fetch_add(frames_dropped, std::sync::atomic::Ordering::Relaxed);
    store_events(&state, &project, events).await?;
    // Exactly 200 with a body: posthog-js retries anything else, 204 included.
    Ok(Json(json!({ "status": 1 })))
}

/// A captured event with its properties' text, as stored.
pub(crate) struct Prepared {
    event: CapturedEvent,
    properties: String,
}

/// CPU work before storing: exception frames capped (the rest dropped; their count is
/// returned), and each event's properties serialized once, which is also how their size is
/// checked. Recordings' snapshot events are left out (`/s/` stores their data as chunks).
fn prepare(events: Vec<CapturedEvent>, max_event_bytes: usize) -> Result<(Vec<Prepared>, u64), ApiError> {
    let mut out = Vec::with_capacity(events.len());
    let mut frames_dropped = 0;
    for (i, mut event) in events.into_iter().enumerate() {
        if event.event == "$snapshot" {
            continue;
        }
        if event.event == "$exception"
            && let Some(list) = event.properties.get_mut("$exception_list")
        {
            frames_dropped += cap_frames(list) as u64;
        }
        let properties = serde_json::to_string(&event.properties).unwrap_or_default();
        if properties.len() > max_event_bytes {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("event {i} exceeds the limit of {max_event_bytes} bytes"),
            ));
        }
        out.push(Prepared { event, properties });
    }
    Ok((out, frames_dropped))
}

/// Stores captured events: exceptions become issue occurrences, person operations are
/// applied, and every event is kept (de-duplicated by uuid). Returns after all are durable.
pub(crate) async fn store_events(
    state: &AppState,
    project: &Project,
    prepared: Vec<Prepared>,
) -> Result<(), ApiError> {
    state.check_disk()?;
    let mut exceptions = Vec::new();
    for e in prepared.iter().map(|p| &p.event).filter(|e| e.event == "$exception") {
        // Grouped by the frames as written where a source map is known, so a rebuild (new
        // minified names and positions) does not open a new issue; stored as sent.
        let resolved = match e.properties.get("$exception_list") {
            Some(list) => {
                let mut properties = e.properties.clone();
                properties.insert("$exception_list".into(), state.symbolicate(project.id, list).await);
                properties
            }
            None => continue,
        };
        let Some(mut info) = exception_info(&resolved) else { continue };
        info.exception_list = e.properties["$exception_list"].clone();
        let issue_id = state
            .issues()
            .record_occurrence(project.id, &info.fingerprint, &info.name, &info.message, e.timestamp_ms)
            .await?;
        exceptions.push(ExceptionRecord {
            project_id: project.id,
            uuid: e.uuid.clone(),
            issue_id,
            session_id: e.session_id.clone(),
            window_id: e.window_id.clone(),
            distinct_id: e.distinct_id.clone(),
            timestamp_ms: e.timestamp_ms,
            url: e.current_url.clone(),
            name: info.name,
            message: info.message,
            exception_list: info.exception_list,
        });
    }
    let persons = person_updates(project, prepared.iter().map(|p| &p.event));
    let stored: Vec<Event> = prepared
        .into_iter()
        .map(|Prepared { event: e, properties }| Event {
            project_id: project.id,
            uuid: e.uuid,
            event: e.event,
            distinct_id: e.distinct_id,
            session_id: e.session_id,
            window_id: e.window_id,
            timestamp_ms: e.timestamp_ms,
            current_url: e.current_url,
            properties,
        })
        .collect();
    if !exceptions.is_empty() {
        state.events().append_exceptions(exceptions).await?;
    }
    // Persons and events commit in their own groups at the same time: a request waits for
    // the slower commit, not for both in turn. Full queue → 503, which posthog-js retries
    // later with the same uuids (events are stored once; person updates apply again as
    // the same changes).
    let (persons, events) =
        tokio::join!(state.person_batcher().submit(persons), state.event_batcher().submit(stored));
    persons?;
    events?;
    Ok(())
}

/// The person changes of a batch: one per event that carries person operations, and one to
/// create the person of each identified distinct id. Events marked
/// `$process_person_profile: false` (anonymous, in posthog-js's default mode) create none.
fn person_updates<'a>(
    project: &Project,
    events: impl Iterator<Item = &'a CapturedEvent>,
) -> Vec<PersonUpdate> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for e in events {
        if e.properties.get("$process_person_profile") == Some(&Value::Bool(false)) {
            continue;
        }
        let mut merge_from = Vec::new();
        let other = match e.event.as_str() {
            "$identify" => e.properties.get("$anon_distinct_id"),
            "$create_alias" => e.properties.get("alias"),
            _ => None,
        };
        if let Some(id) = other.and_then(Value::as_str).filter(|s| !s.is_empty()) {
            merge_from.push(id.to_owned());
        }
        let has_ops =
            !merge_from.is_empty() || !e.set.is_empty() || !e.set_once.is_empty() || !e.unset.is_empty();
        if has_ops || seen.insert(e.distinct_id.clone()) {
            out.push(PersonUpdate {
                project_id: project.id,
                distinct_id: e.distinct_id.clone(),
                merge_from,
                set: e.set.clone(),
                set_once: e.set_once.clone(),
                unset: e.unset.clone(),
                timestamp_ms: e.timestamp_ms,
            });
        }
    }
    out
}
