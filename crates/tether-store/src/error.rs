//! One error type for every store, classified by how callers handle it.

use std::error::Error as StdError;
use std::sync::Arc;

/// How a storage failure should be handled by its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is invalid (a bad filter, a duplicate token).
    InvalidInput,
    NotFound,
    /// Temporarily unable to serve; the caller may retry.
    Unavailable,
    /// A bug or a broken backend; logged, never shown to clients in detail.
    Internal,
}

/// A storage error: its kind, a message fit for logs, and the backend's error as source.
/// Cloning is cheap, so one failed group commit can answer each of its waiters with the
/// same error, kind included.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        StoreError { kind, message: message.into(), source: None }
    }

    /// An internal error wrapping the backend's own error.
    pub fn internal(context: &str, source: impl StdError + Send + Sync + 'static) -> Self {
        StoreError {
            kind: ErrorKind::Internal,
            message: format!("{context}: {source}"),
            source: Some(Arc::new(source)),
        }
    }

    /// The backend cannot be reached (refused, timed out, restarting): callers answer 503
    /// with `Retry-After`, and the next call tries again.
    pub fn unavailable(context: &str, source: impl StdError + Send + Sync + 'static) -> Self {
        StoreError {
            kind: ErrorKind::Unavailable,
            message: format!("{context}: {source}"),
            source: Some(Arc::new(source)),
        }
    }

    /// The backend's own error, for a backend to inspect what it wrapped (as the concrete
    /// type: `source()` would show the `Arc` around it).
    pub fn backend_error(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        self.source.as_deref()
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}
