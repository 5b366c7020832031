//! Recordings: the list, one summary, and every rrweb event of a session for the player.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Value, json};
use tether_ingest::posthog::snapshots::chunk_events_json;
use tether_model::ProjectId;
use tether_store::{ErrorFilter, ExceptionScope, Recording, RecordingQuery};

use super::authorize_project;
use super::params::{format_ns, parse_time_ms};
use crate::{ApiError, AppState};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    distinct_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// Seconds.
    min_duration: Option<i64>,
    has_errors: Option<bool>,
    limit: Option<usize>,
}

/// A recording as the API shows it: the index's summary, its exception count (from the
/// event store) and readable times.
pub(crate) fn recording_json(r: &Recording, exceptions: u64) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or_else(|_| json!({}));
    v["exceptions"] = json!(exceptions);
    v["start_time"] = json!(format_ns(r.start_ms.saturating_mul(1_000_000)));
    v["end_time"] = json!(format_ns(r.end_ms.saturating_mul(1_000_000)));
    v
}

/// How far outside a list's time range an exception may be and still mark a recording in
/// it as "with errors": a session's exceptions happen during the session, and sessions
/// last hours at most.
const ERROR_MARGIN_MS: i64 = 86_400_000;

/// Recordings with their exception counts, which live in the event store.
pub(crate) async fn with_exceptions(
    state: &AppState,
    project_id: ProjectId,
    recordings: &[Recording],
) -> Result<Vec<Value>, ApiError> {
    let ids: Vec<String> = recordings.iter().map(|r| r.session_id.clone()).collect();
    let counts: std::collections::HashMap<String, u64> = if ids.is_empty() {
        Default::default()
    } else {
        let scope = ExceptionScope { project_id, ..Default::default() };
        state.events().session_exception_counts(scope, ids).await?.into_iter().collect()
    };
    Ok(recordings
        .iter()
        .map(|r| recording_json(r, counts.get(&r.session_id).copied().unwrap_or(0)))
        .collect())
}

pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let distinct_ids = match &q.distinct_id {
        Some(d) => state.app().person_ids(project_id, d).await?,
        None => Vec::new(),
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("invalid limit: expected a number from 1 to 1000"));
    }
    let (from_ms, to_ms) = (parse_time_ms("from", q.from.as_deref())?, parse_time_ms("to", q.to.as_deref())?);
    // "With errors" spans two stores: sessions with exceptions come from the event store,
    // console errors from the recording index, which combines the two.
    let errors = match q.has_errors {
        None => None,
        Some(has_errors) => {
            let scope = ExceptionScope {
                project_id,
                from_ms: from_ms.map(|t| t - ERROR_MARGIN_MS),
                to_ms: to_ms.map(|t| t + ERROR_MARGIN_MS),
                ..Default::default()
            };
            let sessions = state.events().session_exception_counts(scope, Vec::new()).await?;
            Some(ErrorFilter {
                has_errors,
                sessions_with_exceptions: sessions.into_iter().map(|(s, _)| s).collect(),
            })
        }
    };
    let recordings = state
        .recordings()
        .index
        .recordings(RecordingQuery {
            project_id,
            distinct_ids,
            from_ms,
            to_ms,
            min_duration_ms: q.min_duration.map(|s| s.saturating_mul(1000)),
            errors,
            limit,
        })
        .await?;
    Ok(Json(json!({ "results": with_exceptions(&state, project_id, &recordings).await? })))
}

pub(super) async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, session_id)): Path<(ProjectId, String)>,
) -> Result<Json<Value>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let r = state
        .recordings()
        .index
        .recording(project_id, &session_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No recording for this session"))?;
    Ok(Json(with_exceptions(&state, project_id, std::slice::from_ref(&r)).await?.remove(0)))
}

/// Every rrweb event of the session, per window: `{"session_id", "windows": [{"window_id",
/// "events": […]}]}`. Chunks were stored sorted, de-duplicated against SDK retries and with
/// `cv` expanded, so this streams them back concatenated, chunk by chunk, without parsing:
/// a few chunks are fetched ahead from the blob store, never the whole session at once.
pub(super) async fn snapshots(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, session_id)): Path<(ProjectId, String)>,
) -> Result<Response, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let mut chunks = Box::pin(state.recordings().session_chunks(project_id, &session_id).await?.peekable());
    if chunks.as_mut().peek().await.is_none() {
        return Err(ApiError::not_found("No recording for this session"));
    }
    let head = format!("{{\"session_id\":{},\"windows\":[", json!(session_id));
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        if tx.send(Ok(Bytes::from(head))).await.is_err() {
            return;
        }
        let mut window: Option<String> = None;
        let mut first_in_window = true;
        while let Some(next) = chunks.next().await {
            let (window_id, blob) = match next {
                Ok(chunk) => chunk,
                Err(e) => {
                    // The status is already sent: end the body early so the client sees
                    // invalid JSON rather than a silently partial recording.
                    tracing::error!(error = %e, "cannot read recording chunk");
                    let _ = tx.send(Err(std::io::Error::other(e))).await;
                    return;
                }
            };
            let mut out = Vec::new();
            if window.as_deref() != Some(window_id.as_str()) {
                let close = if window.is_some() { "]}," } else { "" };
                out.extend(format!("{close}{{\"window_id\":{},\"events\":[", json!(window_id)).into_bytes());
                window = Some(window_id);
                first_in_window = true;
            }
            // Inflating is CPU work: off the async reactor.
            let events = tokio::task::spawn_blocking(move || chunk_events_json(&blob)).await;
            match events {
                Ok(Ok(events)) if events.is_empty() => {}
                Ok(Ok(events)) => {
                    if !first_in_window {
                        out.push(b',');
                    }
                    first_in_window = false;
                    out.extend(events);
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "unreadable recording chunk");
                    let _ = tx.send(Err(std::io::Error::other(e))).await;
                    return;
                }
                Err(e) => {
                    tracing::error!(error = %e, "recording chunk task failed");
                    let _ = tx.send(Err(std::io::Error::other(e))).await;
                    return;
                }
            }
            if !out.is_empty() && tx.send(Ok(Bytes::from(out))).await.is_err() {
                return;
            }
        }
        let _ = tx.send(Ok(Bytes::from_static(b"]}]}"))).await;
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `sessions/{id}/events`: the session's captured events (oldest first, at most 1,000), for
/// the replay's Events and Errors tabs.
pub(super) async fn session_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, session_id)): Path<(ProjectId, String)>,
) -> Result<Json<Value>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let events = state.events().session_events(project_id, &session_id, 1000).await?;
    let mut results = Vec::with_capacity(events.len());
    for e in &events {
        // The first exception, with its frames resolved where a source map is known.
        // Parsed only where the text names the list.
        let listed = e.properties.contains("\"$exception_list\"");
        let exception = match listed.then(|| e.property("$exception_list")).flatten() {
            Some(list) => state.symbolicate(project_id, &list).await.get(0).cloned(),
            None => None,
        };
        results.push(json!({
            "uuid": e.uuid,
            "event": e.event,
            "timestamp_ms": e.timestamp_ms,
            "timestamp": format_ns(e.timestamp_ms.saturating_mul(1_000_000)),
            "distinct_id": e.distinct_id,
            "current_url": e.current_url,
            "exception": exception,
        }));
    }
    Ok(Json(json!({ "results": results })))
}
