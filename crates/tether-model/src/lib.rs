//! Domain types shared by every Tether crate: normalized log records, severities, typed
//! attribute values, the rules that resolve a log's session and person ids, and what the
//! PostHog capture path decodes and stores (events, exceptions with their grouping rules,
//! recording chunks, person updates), and
//! what people set (project settings, roles, alert rules) with their validation.
//!
//! Owns: pure data and pure rules. Must not contain: I/O, SQL, HTTP, or protocol decoding
//! (OTLP and PostHog bodies are decoded in `tether-ingest` into these types).

mod attributes;
mod capture;
pub mod exceptions;
mod ids;
mod log;
mod settings;
mod severity;

pub use attributes::{AttrValue, Attributes};
pub use capture::{CapturedEvent, Event, ExceptionRecord, PersonUpdate, RecordingChunk, RecordingStats};
pub use ids::{DistinctId, SessionId, resolve_distinct_id, resolve_session_id};
pub use log::{LOG_ID_NODES, LogId, LogIdGen, LogRecord, ProjectId};
pub use settings::{
    AlertRule, DEFAULT_INVITE_HOURS, IngestLimits, IssueStatus, MAX_ALERT_WINDOW_SECS, MAX_INVITE_HOURS,
    MAX_NAME_CHARS, MAX_WEBHOOK_URL_LEN, NetworkCapture, Privacy, ProjectSettings, Retention, Role,
    invite_hours, valid_name, webhook_url,
};
pub use severity::Severity;
