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
    let project_id = project.id;
    // Compressing chunks is CPU work: off the async reactor.
    let records = tokio::task::spawn_blocking(move || {
        chunks
            .into_iter()
            .map(|chunk| {
                let (blob, size) = encode_chunk(&chunk.events);
                RecordingChunk {
                    project_id,
                    session_id: chunk.session_id,
                    window_id: chunk.window_id,
                    distinct_id: chunk.distinct_id,
                    blob: blob.into(),
                    size,
                    stats: chunk.stats,
                }
            })
            .collect()
    })
    .await
    .map_err(|_| ApiError::internal())?;
    // With other requests' chunks in one commit; a full queue answers 503 (retried).
    state.check_disk()?;
    state.chunk_batcher().submit(records).await?;
    Ok(Json(json!({ "status": 1 })))
}
