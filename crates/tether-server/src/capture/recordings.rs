//! `/s/`: session-recording snapshots into durable chunks and per-session summaries.

use axum::Json;
use axum::extract::{Request, State};
use serde_json::{Value, json};
use tether_ingest::posthog::snapshots::{encode_chunk, snapshot_chunks};
use tether_model::RecordingChunk;

use super::events::{Decoded, decode_request};
use super::{MAX_RECORDING_BYTES, check_rate};
use crate::edge::rate::Kind;
use crate::{ApiError, AppState};

pub(super) async fn capture(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    // Held until the chunks are committed: they wait in the commit queue until then.
    let memory = state.request_memory();
    let Decoded { project, capture, mut budget, body_bytes } =
        decode_request(&state, request, MAX_RECORDING_BYTES, &memory, Ok).await?;
    // Before the costly part (expanding `cv` fields, compressing chunks): the envelope
    // named the project, so its rate is known.
    check_rate(&state, &project, Kind::RecordingBytes, body_bytes as u64)?;
    let project_id = project.id;
    // Expanding and compressing chunks is CPU work: off the async reactor.
    let records = state
        .on_cpu(move || {
            let chunks = snapshot_chunks(capture.events, &mut budget)?;
            Ok::<_, ApiError>(
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
                    .collect::<Vec<_>>(),
            )
        })
        .await??;
    // With other requests' chunks in one commit; a full queue answers 503 (retried).
    state.check_disk()?;
    state.capture().store_chunks(records).await?;
    Ok(Json(json!({ "status": 1 })))
}
