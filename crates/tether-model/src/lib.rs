//! Domain types shared by every Tether crate: normalized log records, severities, typed
//! attribute values, and the rules that resolve a log's session and person ids.
//!
//! Owns: pure data and pure rules. Must not contain: I/O, SQL, HTTP, or protocol decoding
//! (OTLP and PostHog bodies are decoded in `tether-ingest` into these types).

mod attributes;
mod ids;
mod log;
mod severity;

pub use attributes::{AttrValue, Attributes};
pub use ids::{DistinctId, SessionId, resolve_distinct_id, resolve_session_id};
pub use log::{LogId, LogRecord, ProjectId};
pub use severity::Severity;
