//! Recordings: the list, one summary, and every rrweb event of a session for the player.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use tether_app::recordings::{ListedRecording, RecordingFilter};
use tether_ingest::posthog::snapshots::chunk_events_json;
use tether_model::ProjectId;
use utoipa::{IntoParams, ToSchema};

use super::authorize_project;
use super::params::{format_ns, parse_time_ms};
use crate::{ApiError, AppState};

/// Filters of the recordings list.
#[derive(serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only this person's recordings (under any of their distinct ids).
    distinct_id: Option<String>,
    /// RFC 3339 time or relative (`-24h`).
    from: Option<String>,
    to: Option<String>,
    /// Seconds.
    min_duration: Option<i64>,
    /// Only recordings with (true) or without (false) console errors or exceptions.
    has_errors: Option<bool>,
    /// 1 to 1,000; 100 when absent.
    limit: Option<usize>,
}

/// A recording as the API shows it: the index's summary, its exception count (from the
/// event store) and readable times.
#[derive(Serialize, ToSchema)]
#[schema(as = Recording)]
pub(crate) struct RecordingJson {
    session_id: String,
    distinct_id: String,
    start_ms: i64,
    end_ms: i64,
    start_time: String,
    end_time: String,
    duration_ms: i64,
    active_ms: i64,
    first_url: Option<String>,
    clicks: u64,
    keypresses: u64,
    console_errors: u64,
    exceptions: u64,
    /// Bytes of rrweb JSON received.
    size: u64,
    has_full_snapshot: bool,
}

impl From<ListedRecording> for RecordingJson {
    fn from(l: ListedRecording) -> Self {
        let r = l.recording;
        RecordingJson {
            start_time: format_ns(r.start_ms.saturating_mul(1_000_000)),
            end_time: format_ns(r.end_ms.saturating_mul(1_000_000)),
            session_id: r.session_id,
            distinct_id: r.distinct_id,
            start_ms: r.start_ms,
            end_ms: r.end_ms,
            duration_ms: r.duration_ms,
            active_ms: r.active_ms,
            first_url: r.first_url,
            clicks: r.clicks,
            keypresses: r.keypresses,
            console_errors: r.console_errors,
            exceptions: l.exceptions,
            size: r.size,
            has_full_snapshot: r.has_full_snapshot,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RecordingList {
    results: Vec<RecordingJson>,
}

/// Recordings, newest first.
#[utoipa::path(get, path = "/api/projects/{project_id}/recordings", tag = "recordings",
    params(super::ProjectPath, ListQuery), responses((status = 200, body = RecordingList)))]
pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RecordingList>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("invalid limit: expected a number from 1 to 1000"));
    }
    let filter = RecordingFilter {
        project_id,
        distinct_id: q.distinct_id,
        from_ms: parse_time_ms("from", q.from.as_deref())?,
        to_ms: parse_time_ms("to", q.to.as_deref())?,
        min_duration_ms: q.min_duration.map(|s| s.saturating_mul(1000)),
        has_errors: q.has_errors,
        limit,
    };
    let results = state.app().recordings(filter).await?.into_iter().map(RecordingJson::from).collect();
    Ok(Json(RecordingList { results }))
}

/// One session's recording.
#[utoipa::path(get, path = "/api/projects/{project_id}/recordings/{session_id}", tag = "recordings",
    params(super::ProjectPath, ("session_id" = String, Path)), responses((status = 200, body = RecordingJson)))]
pub(super) async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, session_id)): Path<(ProjectId, String)>,
) -> Result<Json<RecordingJson>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let recording = state.app().recording(project_id, &session_id).await?;
    recording.map(|r| Json(r.into())).ok_or_else(|| ApiError::not_found("No recording for this session"))
}

/// Every rrweb event of the session, per window: `{"session_id", "windows": [{"window_id",
/// "events": […]}]}`. Chunks were stored sorted, de-duplicated against SDK retries and with
/// `cv` expanded, so this streams them back concatenated, chunk by chunk, without parsing:
/// a few chunks are fetched ahead from the blob store, never the whole session at once.
#[utoipa::path(get, path = "/api/projects/{project_id}/recordings/{session_id}/snapshots", tag = "recordings",
    params(super::ProjectPath, ("session_id" = String, Path)), responses((status = 200, body = Snapshots)))]
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

/// The rrweb events of a session, per window (streamed; see [`snapshots`]).
#[derive(Serialize, ToSchema)]
pub(crate) struct Snapshots {
    session_id: String,
    windows: Vec<SnapshotWindow>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SnapshotWindow {
    window_id: String,
    /// rrweb events as recorded (`type`, `timestamp`, `data`), oldest first.
    events: Vec<Value>,
}

/// A captured event of a session.
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionEvent {
    uuid: String,
    event: String,
    timestamp_ms: i64,
    timestamp: String,
    distinct_id: String,
    current_url: Option<String>,
    /// The first exception of `$exception_list`, frames resolved where a source map is
    /// known; `null` for other events.
    #[schema(value_type = Option<super::errors::Exception>)]
    exception: Option<Value>,
    /// What the person did in words: `click on button "Checkout"`, a page view's URL, an
    /// exception's message; `null` when the name says it all.
    label: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SessionEventList {
    results: Vec<SessionEvent>,
}

/// `sessions/{id}/events`: the session's captured events (oldest first, at most 1,000), for
/// the replay's Events and Errors tabs.
#[utoipa::path(get, path = "/api/projects/{project_id}/sessions/{session_id}/events", tag = "recordings",
    params(super::ProjectPath, ("session_id" = String, Path)), responses((status = 200, body = SessionEventList)))]
pub(super) async fn session_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, session_id)): Path<(ProjectId, String)>,
) -> Result<Json<SessionEventList>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let results = state
        .app()
        .session_events(project_id, &session_id)
        .await?
        .into_iter()
        .map(|tether_app::recordings::SessionEvent { event: e, exception, label }| SessionEvent {
            timestamp: format_ns(e.timestamp_ms.saturating_mul(1_000_000)),
            uuid: e.uuid,
            event: e.event,
            timestamp_ms: e.timestamp_ms,
            distinct_id: e.distinct_id,
            current_url: e.current_url,
            exception,
            label,
        })
        .collect();
    Ok(Json(SessionEventList { results }))
}
