//! The normalized log record: what ingestion produces and every store keeps.

use std::sync::Arc;

use crate::{Attributes, Severity};

/// A project's numeric id; every stored row carries one.
pub type ProjectId = i64;

/// A log's id: assigned by the writer at ingestion, unique and increasing in arrival order,
/// so it doubles as the live-tail cursor ("what arrived since").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogId(pub i64);

/// One log record after decoding and normalization.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    pub project_id: ProjectId,
    /// Unix nanoseconds of the event; the observed time when the sender left it 0.
    pub timestamp_ns: i64,
    /// Unix nanoseconds when it was observed (by the sender's SDK/collector, else by us).
    pub observed_timestamp_ns: i64,
    pub severity: Severity,
    /// The sender's severity text, kept as sent.
    pub severity_text: String,
    /// The sender's severity number (0 when unset).
    pub severity_number: i32,
    /// Resource attribute `service.name`, or "" when absent.
    pub service: String,
    /// A string body as is; a structured body as JSON text.
    pub body: String,
    /// Resolved session id (see [`crate::resolve_session_id`]).
    pub session_id: Option<String>,
    /// Resolved person distinct id (see [`crate::resolve_distinct_id`]).
    pub distinct_id: Option<String>,
    /// Lowercase hex, 32 characters, or empty.
    pub trace_id: String,
    /// Lowercase hex, 16 characters, or empty.
    pub span_id: String,
    pub trace_flags: u32,
    pub event_name: String,
    pub scope_name: String,
    pub scope_version: String,
    pub attributes: Attributes,
    /// Shared by every record of one resource (and scope): ingestion allocates them once.
    pub resource_attributes: Arc<Attributes>,
    pub scope_attributes: Arc<Attributes>,
}
