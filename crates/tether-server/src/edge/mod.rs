//! The public edge: what anyone holding a project token (public by design: it sits in a
//! site's JavaScript) can make Tether spend, bounded before the work starts.
//!
//! - Connections: at most `max_connections`, headers within `header_timeout` ([`listen`]).
//! - Bodies: read within `body_timeout` (`body::read_limited`), whole requests on the
//!   capture and OTLP routes answered within `request_timeout` ([`deadline`]).
//! - Memory: every request's reading and decoding draws on one pool of bytes in flight
//!   ([`memory`]); decoding also on a per-request budget of a small multiple of its body
//!   limit (`tether_ingest::Budget`), which covers nested compressed fields.
//! - Rates: events and recording bytes per second per project ([`rate`]).
//!
//! Refusals say why: 413 past a request's own budget, 503 + `Retry-After` when the shared
//! pool is full or a project is over its rate (posthog-js drops a batch answered 429 but
//! retries a 503 no sooner than its `Retry-After`), 429 + `Retry-After` for OTLP over its
//! rate (OTLP exporters retry both), 408 for a body or request past its deadline.

pub(crate) mod listen;
pub(crate) mod memory;
pub(crate) mod rate;

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use listen::ConnectionLimits;

use crate::{ApiError, AppState};

/// The public edge's settings (`[server]` in the config file).
#[derive(Debug, Clone, Copy)]
pub struct EdgeLimits {
    pub connections: ConnectionLimits,
    /// Time a client has to send a request's whole body.
    pub body_timeout: Duration,
    /// Time a capture or OTLP request may take from its headers to its answer.
    pub request_timeout: Duration,
    /// Bytes all requests in flight may hold together (bodies as read, and what decoding
    /// them produces); past it requests are answered 503 with `Retry-After`.
    pub in_flight_bytes: usize,
    /// Decoded bytes one request may produce, as a multiple of its body limit.
    pub decoded_multiple: usize,
}

impl Default for EdgeLimits {
    fn default() -> Self {
        EdgeLimits {
            connections: ConnectionLimits { max_connections: 4096, header_timeout: Duration::from_secs(10) },
            body_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            in_flight_bytes: 256 * 1024 * 1024,
            decoded_multiple: 4,
        }
    }
}

/// Answers 503 + `Retry-After` when a request is not done within the configured
/// `request_timeout`: by then its body was read (a slow body is a 408 of its own), so the
/// time went to waiting for a busy server, and the sender should try again later. Records it
/// had queued may still be committed: capture events are kept once by uuid, logs sent again
/// may be stored twice (OTLP is at-least-once).
pub(crate) async fn deadline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.limits().edge.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            state.metrics().requests_timed_out.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the request took longer than {} s; retry shortly", limit.as_secs()),
            )
            .into_response()
        }
    }
}
