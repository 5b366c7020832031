//! Reading request bodies with a size limit, and answering an oversize one so that clients
//! can read the answer.
//!
//! Clients (OTLP exporters, curl, SDKs) send their whole body before they read the answer.
//! A server that answers 413 and closes the connection while the body is still arriving
//! makes the kernel reset it, and the client sees a broken pipe instead of the 413 — then
//! retries the same batch. So the rest of an oversize body is read and dropped (up to a
//! bound in bytes and time, so a client cannot make Tether a sink), then 413 is answered
//! with `Connection: close`.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use futures::StreamExt;

use crate::ApiError;

/// How much of an oversize body is read and dropped before answering.
const DRAIN_BYTES: usize = 256 * 1024 * 1024;
/// How long draining may take.
const DRAIN_TIME: Duration = Duration::from_secs(30);

/// The body, or 413 when it exceeds `limit` bytes.
pub(crate) async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("the request body could not be read"))?;
        if buf.len() + chunk.len() > limit {
            let drain = async {
                let mut drained = 0usize;
                while let Some(Ok(chunk)) = stream.next().await {
                    drained += chunk.len();
                    if drained > DRAIN_BYTES {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body exceeds the limit of {limit} bytes; send smaller batches"),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}
