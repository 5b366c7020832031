//! What the PostHog-compatible capture path stores: events, exception occurrences, recording
//! chunks, and the person operations events carry.

use serde_json::{Map, Value};

use crate::ProjectId;

/// A captured analytics event (any name, `$exception` and `$identify` included).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub project_id: ProjectId,
    /// The SDK's event uuid: the de-duplication key within a project.
    pub uuid: String,
    pub event: String,
    pub distinct_id: String,
    pub session_id: Option<String>,
    pub window_id: Option<String>,
    /// Unix milliseconds.
    pub timestamp_ms: i64,
    pub current_url: Option<String>,
    /// The properties: a JSON object's text. Capture serializes them once (checking the
    /// event's size on the way) and stores write the text as it is; re-encoding JSON that
    /// is only stored cost a tenth of the server's CPU on `/e/`.
    pub properties: String,
}

impl Event {
    /// One property, read from the stored text (absent if the text is not an object).
    pub fn property(&self, name: &str) -> Option<Value> {
        object(&self.properties).remove(name)
    }

    /// Every property, read from the stored text (empty if the text is not an object).
    pub fn properties_map(&self) -> Map<String, Value> {
        object(&self.properties)
    }
}

/// One `$exception` event, linked to the issue its fingerprint belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionRecord {
    pub project_id: ProjectId,
    pub uuid: String,
    pub issue_id: i64,
    pub session_id: Option<String>,
    pub window_id: Option<String>,
    pub distinct_id: String,
    pub timestamp_ms: i64,
    pub url: Option<String>,
    pub name: String,
    pub message: String,
    /// `$exception_list` as sent (types, values, mechanisms, stack frames).
    pub exception_list: Value,
}

/// Activity counted over a stretch of rrweb events.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordingStats {
    pub first_ms: i64,
    pub last_ms: i64,
    pub first_url: Option<String>,
    pub clicks: u64,
    pub keypresses: u64,
    pub console_errors: u64,
    pub active_ms: i64,
    pub has_full_snapshot: bool,
}

/// A stored piece of a recording: one request's rrweb events of one session window.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingChunk {
    pub project_id: ProjectId,
    pub session_id: String,
    pub window_id: String,
    pub distinct_id: String,
    /// The rrweb events as a gzip-compressed JSON array (still `cv`-compressed inside);
    /// `Bytes` so a group commit can keep a copy of a request cheaply.
    pub blob: bytes::Bytes,
    /// Uncompressed JSON size in bytes.
    pub size: u64,
    pub stats: RecordingStats,
}

/// A person change carried by one event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PersonUpdate {
    pub project_id: ProjectId,
    pub distinct_id: String,
    /// Other distinct ids that now belong to the same person (`$identify`'s
    /// `$anon_distinct_id`, `$create_alias`'s `alias`).
    pub merge_from: Vec<String>,
    pub set: Map<String, Value>,
    pub set_once: Map<String, Value>,
    pub unset: Vec<String>,
    pub timestamp_ms: i64,
}

/// One event as posthog-js sent it, decoded and checked (`tether-ingest` makes them).
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedEvent {
    pub uuid: String,
    pub event: String,
    pub distinct_id: String,
    /// Unix milliseconds, skew-corrected.
    pub timestamp_ms: i64,
    pub session_id: Option<String>,
    pub window_id: Option<String>,
    pub current_url: Option<String>,
    /// The properties: a JSON object's text as sent (`$set` and the other person operations
    /// included, as PostHog keeps them). Only the properties Tether reads are parsed (into
    /// the fields here); building a JSON tree of all of them to write it out again was a
    /// sixth of the server's CPU on `/e/` and a quarter on `/s/`.
    pub properties: String,
    /// Person properties to set, set once, and remove (top level or in properties).
    pub set: Map<String, Value>,
    pub set_once: Map<String, Value>,
    pub unset: Vec<String>,
    /// Another distinct id this event says is the same person (`$identify`'s
    /// `$anon_distinct_id`, `$create_alias`'s `alias`).
    pub merge_from: Option<String>,
    /// False for events sent with `$process_person_profile: false` (anonymous, in
    /// posthog-js's default mode): they make no person.
    pub makes_person: bool,
    /// The token this event names itself, if any.
    pub token: Option<String>,
}

impl CapturedEvent {
    /// The properties parsed (empty if the text is not an object), for the events that need
    /// all of them (exceptions).
    pub fn properties_map(&self) -> Map<String, Value> {
        object(&self.properties)
    }
}

/// A JSON object's text parsed; empty when it is not an object.
fn object(text: &str) -> Map<String, Value> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}
