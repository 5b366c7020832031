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

use axum::body::HttpBody;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use futures::StreamExt;

use crate::ApiError;
use crate::edge::memory::RequestMemory;

/// How much of an oversize body is read and dropped before answering.
const DRAIN_BYTES: usize = 256 * 1024 * 1024;
/// How long draining may take.
const DRAIN_TIME: Duration = Duration::from_secs(30);

/// How a body may be read: its largest size, the time it has to arrive, and the request's
/// share of the bytes in flight, which every byte read is taken from.
pub(crate) struct BodyLimits<'a> {
    pub limit: usize,
    pub timeout: Duration,
    pub memory: &'a RequestMemory,
}

/// The body; 413 when it exceeds the limit, 408 when it does not arrive in time, 503 when
/// the requests in flight hold all the memory Tether allows them.
pub(crate) async fn read_limited(body: Body, limits: BodyLimits<'_>) -> Result<Bytes, ApiError> {
    let BodyLimits { limit, timeout, memory } = limits;
    let deadline = tokio::time::Instant::now() + timeout;
    let declared = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
    let mut stream = body.into_data_stream();
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body exceeds the limit of {limit} bytes; send smaller batches"),
        )
    };
    if declared > limit {
        drain(stream).await;
        return Err(too_large());
    }
    // Reserved as allocated: the declared length at once, then each growth of the buffer.
    if !memory.reserve(declared) {
        drain(stream).await;
        return Err(ApiError::overloaded());
    }
    let mut buf = Vec::with_capacity(declared);
    loop {
        let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!("the request body did not arrive within {} s", timeout.as_secs()),
                ));
            }
            Ok(None) => break,
            Ok(Some(chunk)) => {
                chunk.map_err(|_| ApiError::bad_request("the request body could not be read"))?
            }
        };
        if buf.len() + chunk.len() > limit {
            drain(stream).await;
            return Err(too_large());
        }
        let needed = buf.len() + chunk.len();
        if needed > buf.capacity() {
            let grown = needed.max(buf.capacity() * 2).min(limit);
            if !memory.reserve(grown - buf.capacity()) {
                drain(stream).await;
                return Err(ApiError::overloaded());
            }
            buf.reserve_exact(grown - buf.len());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

/// Reads and drops the rest of a body (bounded in bytes and time), so the client reads the
/// answer instead of a reset connection.
async fn drain(mut stream: axum::body::BodyDataStream) {
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
}
