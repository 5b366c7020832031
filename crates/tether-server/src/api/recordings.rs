//! Recordings: the list, one summary, and every rrweb event of a session for the player.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tether_ingest::posthog::snapshots::chunk_events_json;
use tether_model::ProjectId;
use tether_store::{Recording, RecordingQuery};

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

pub(crate) fn recording_json(r: &Recording) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or_else(|_| json!({}));
    v["start_time"] = json!(format_ns(r.start_ms.saturating_mul(1_000_000)));
    v["end_time"] = json!(format_ns(r.end_ms.saturating_mul(1_000_000)));
    v
}

/// Every distinct id of the person behind `distinct_id` (just itself if no person is known).
pub(crate) async fn person_ids(
    state: &AppState,
    project_id: ProjectId,
    distinct_id: &str,
) -> Result<Vec<String>, ApiError> {
    Ok(match state.persons().person(project_id, distinct_id).await? {
        Some(p) => p.distinct_ids,
        None => vec![distinct_id.to_owned()],
    })
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
        Some(d) => person_ids(&state, project_id, d).await?,
        None => Vec::new(),
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("invalid limit: expected a number from 1 to 1000"));
    }
    let recordings = state
        .recordings()
        .recordings(RecordingQuery {
            project_id,
            distinct_ids,
            from_ms: parse_time_ms("from", q.from.as_deref())?,
            to_ms: parse_time_ms("to", q.to.as_deref())?,
            min_duration_ms: q.min_duration.map(|s| s.saturating_mul(1000)),
            has_errors: q.has_errors,
            limit,
        })
        .await?;
    Ok(Json(json!({ "results": recordings.iter().map(recording_json).collect::<Vec<_>>() })))
}

pub(super) async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, session_id)): Path<(ProjectId, String)>,
) -> Result<Json<Value>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let r = state
        .recordings()
        .recording(project_id, &session_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No recording for this session"))?;
    Ok(Json(recording_json(&r)))
}

/// Every rrweb event of the session, per window: `{"session_id", "windows": [{"window_id",
/// "events": […]}]}`. Chunks were stored sorted, de-duplicated against SDK retries and with
/// `cv` expanded, so this streams them back concatenated, chunk by chunk, without parsing.
pub(super) async fn snapshots(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, session_id)): Path<(ProjectId, String)>,
) -> Result<Response, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let chunks = state.recordings().chunks(project_id, &session_id).await?;
    if chunks.is_empty() {
        return Err(ApiError::not_found("No recording for this session"));
    }
    let mut windows: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for (window, blob) in chunks {
        windows.entry(window).or_default().push(blob);
    }
    let head = format!("{{\"session_id\":{},\"windows\":[", json!(session_id));
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    tokio::task::spawn_blocking(move || {
        let send = |bytes: Vec<u8>| tx.blocking_send(Ok(Bytes::from(bytes))).is_ok();
        if !send(head.into_bytes()) {
            return;
        }
        for (w, (window_id, blobs)) in windows.into_iter().enumerate() {
            let open =
                format!("{}{{\"window_id\":{},\"events\":[", if w > 0 { "," } else { "" }, json!(window_id));
            if !send(open.into_bytes()) {
                return;
            }
            let mut first = true;
            for blob in blobs {
                match chunk_events_json(&blob) {
                    Ok(events) if events.is_empty() => {}
                    Ok(mut events) => {
                        if !first {
                            events.insert(0, b',');
                        }
                        first = false;
                        if !send(events) {
                            return;
                        }
                    }
                    Err(e) => {
                        // The status is already sent: end the body early so the client sees
                        // invalid JSON rather than a silently partial recording.
                        tracing::error!(error = %e, "unreadable recording chunk");
                        let _ = tx.blocking_send(Err(std::io::Error::other(e)));
                        return;
                    }
                }
            }
            if !send(b"]}".to_vec()) {
                return;
            }
        }
        send(b"]}".to_vec());
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
    let results: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "uuid": e.uuid,
                "event": e.event,
                "timestamp_ms": e.timestamp_ms,
                "timestamp": format_ns(e.timestamp_ms.saturating_mul(1_000_000)),
                "distinct_id": e.distinct_id,
                "current_url": e.current_url,
                "exception": e.properties.get("$exception_list").and_then(|l| l.get(0)).cloned(),
            })
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}
