//! One error type for every store, classified by how callers handle it.

use std::error::Error as StdError;

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
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync>>,
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
            source: Some(Box::new(source)),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}
