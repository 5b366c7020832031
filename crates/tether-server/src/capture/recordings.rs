//! `/s/`: session-recording snapshots into durable chunks and per-session summaries.

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method};
use serde_json::{Value, json};
use tether_ingest::posthog::snapshots::{encode_chunk, snapshot_chunks};
use tether_model::RecordingChunk;

use super::events::{CaptureQuery, decode_request};
use super::{MAX_RECORDING_BYTES, project_for};
use crate::{ApiError, AppState};

pub(super) async fn capture(
    State(state): State<AppState>,
    method: Method,
    Query(query): Query<CaptureQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let capture = decode_request(&method, &headers, &query, body, MAX_RECORDING_BYTES).await?;
    let project = project_for(&state, capture.token()).await?;
    let chunks = snapshot_chunks(capture.events).map_err(ApiError::bad_request)?;
    for chunk in chunks {
        let project_id = project.id;
        // Compressing a chunk is CPU work: off the async reactor.
        let record = tokio::task::spawn_blocking(move || {
            let (blob, size) = encode_chunk(&chunk.events);
            RecordingChunk {
                project_id,
                session_id: chunk.session_id,
                window_id: chunk.window_id,
                distinct_id: chunk.distinct_id,
                blob,
                size,
                stats: chunk.stats,
            }
        })
        .await
        .map_err(|_| ApiError::internal())?;
        state.recordings().append_chunk(record).await?;
    }
    Ok(Json(json!({ "status": 1 })))
}
