//! `/s/`: session-recording snapshots into durable chunks and per-session summaries.

use axum::Json;
use axum::extract::{Request, State};
use serde_json::{Value, json};
use tether_ingest::posthog::snapshots::{encode_chunk, snapshot_chunks};
use tether_model::RecordingChunk;

use super::MAX_RECORDING_BYTES;
use super::events::decode_request;
use crate::{ApiError, AppState};

pub(super) async fn capture(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let (project, capture) =
        decode_request(&state, request, MAX_RECORDING_BYTES, MAX_RECORDING_BYTES).await?;
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
