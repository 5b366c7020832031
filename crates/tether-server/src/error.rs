//! The one table from error kinds to HTTP statuses and gRPC codes. Clients get a one-line
//! reason as `{"error": "…"}`; internal details are logged once and never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tether_app::commit::SubmitError;
use tether_ingest::DecodeError;
use tether_store::{ErrorKind, StoreError};

/// Seconds a client is told to wait when Tether is overloaded.
pub(crate) const RETRY_AFTER_SECS: u64 = 1;

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds to wait before retrying, for 429 and 503 ([`RETRY_AFTER_SECS`] when unset).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into(), retry_after: None }
    }
    /// Refused for now: try again in `seconds` (429 or 503).
    pub fn retry_later(status: StatusCode, message: impl Into<String>, seconds: u64) -> Self {
        ApiError { retry_after: Some(seconds), ..Self::new(status, message) }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    pub fn overloaded() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "ingestion queue is full, retry shortly")
    }
    /// A store cannot be reached right now (503 with `Retry-After`).
    pub fn unavailable() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "storage is unavailable, retry shortly")
    }
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }

    /// The gRPC status carrying the same meaning.
    pub fn to_grpc(&self) -> tonic::Status {
        let code = match self.status {
            StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => tonic::Code::InvalidArgument,
            StatusCode::UNAUTHORIZED => tonic::Code::Unauthenticated,
            StatusCode::FORBIDDEN => tonic::Code::PermissionDenied,
            StatusCode::NOT_FOUND => tonic::Code::NotFound,
            StatusCode::PAYLOAD_TOO_LARGE => tonic::Code::ResourceExhausted,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => tonic::Code::Unavailable,
            _ => tonic::Code::Internal,
        };
        tonic::Status::new(code, self.message.clone())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, axum::Json(serde_json::json!({ "error": self.message }))).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE || self.status == StatusCode::TOO_MANY_REQUESTS {
            let seconds = self.retry_after.unwrap_or(RETRY_AFTER_SECS);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        // An oversize or late body may not have been read to its end: the connection cannot
        // carry another request.
        if self.status == StatusCode::PAYLOAD_TOO_LARGE || self.status == StatusCode::REQUEST_TIMEOUT {
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

impl ApiError {
    /// The answer for a store error that was already logged (by the group commit, once
    /// for all of its waiters).
    pub(crate) fn from_logged(e: &StoreError) -> Self {
        match e.kind() {
            ErrorKind::InvalidInput => ApiError::bad_request(e.to_string()),
            ErrorKind::NotFound => ApiError::not_found(e.to_string()),
            ErrorKind::Unavailable => ApiError::unavailable(),
            ErrorKind::Internal => ApiError::internal(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e.kind() {
            ErrorKind::Unavailable => tracing::warn!(error = %e, "storage unavailable"),
            ErrorKind::Internal => tracing::error!(error = %e, "storage error"),
            ErrorKind::InvalidInput | ErrorKind::NotFound => {}
        }
        ApiError::from_logged(&e)
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Overloaded => ApiError::overloaded(),
            SubmitError::Stopped => {
                ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "server is shutting down")
            }
            // The writer task logged it, once for the whole group.
            SubmitError::Store(e) => ApiError::from_logged(&e),
        }
    }
}

impl From<DecodeError> for ApiError {
    fn from(e: DecodeError) -> Self {
        let status = match e {
            DecodeError::Malformed(_) => StatusCode::BAD_REQUEST,
            DecodeError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            DecodeError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            DecodeError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_store_is_a_503_and_a_full_queue_too() {
        let unavailable = SubmitError::Store(StoreError::new(ErrorKind::Unavailable, "down"));
        assert_eq!(ApiError::from(unavailable).status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            ApiError::from(SubmitError::Overloaded).status,
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
