//! Session-recording payloads: `$snapshot` events carrying rrweb events, the per-chunk
//! summary a recordings list needs, and decoding of posthog-js's `cv: "2024-10"` fields.

use std::io::{Read, Write};

use serde_json::Value;

use tether_model::RecordingStats;

use super::events::CapturedEvent;
use crate::body::{InflateError, inflate};
use crate::{Budget, DecodeError};

/// rrweb event types and incremental sources used below.
const FULL_SNAPSHOT: i64 = 2;
const INCREMENTAL: i64 = 3;
const META: i64 = 4;
const PLUGIN: i64 = 6;
const SOURCE_MUTATION: i64 = 0;
const SOURCE_MOUSE_INTERACTION: i64 = 2;
const SOURCE_INPUT: i64 = 5;
const SOURCE_STYLESHEET_RULE: i64 = 8;
/// Incremental sources that mean a person was doing something.
const ACTIVE_SOURCES: [i64; 6] = [1, 2, 3, 4, 5, 6];
/// Gaps between activity longer than this do not count as active time.
const ACTIVE_GAP_MS: i64 = 5_000;

/// The rrweb events of one session window from one request.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotChunk {
    pub session_id: String,
    pub window_id: String,
    pub distinct_id: String,
    /// rrweb events in timestamp order, `cv` compression expanded: ready for a player.
    pub events: Vec<Value>,
    pub stats: RecordingStats,
}

/// A posthog-js session id: at most 70 letters, digits and dashes.
pub fn valid_session_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 70 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Collects the `$snapshot` events of a request into one chunk per session window, with
/// their `cv` fields expanded within `budget`.
pub fn snapshot_chunks(
    events: Vec<CapturedEvent>,
    budget: &mut Budget,
) -> Result<Vec<SnapshotChunk>, DecodeError> {
    let bad = |msg: String| DecodeError::Malformed(msg);
    let mut chunks: Vec<SnapshotChunk> = Vec::new();
    for (i, mut e) in events.into_iter().enumerate() {
        if e.event != "$snapshot" {
            continue;
        }
        let session_id =
            e.session_id.clone().ok_or_else(|| bad(format!("event {i}: $snapshot has no $session_id")))?;
        if !valid_session_id(&session_id) {
            return Err(bad(format!(
                "event {i}: invalid $session_id (expected up to 70 letters, digits or dashes)"
            )));
        }
        let window_id =
            e.window_id.clone().filter(|w| valid_session_id(w)).unwrap_or_else(|| session_id.clone());
        let data = match e.properties.remove("$snapshot_data") {
            Some(Value::Array(items)) => items,
            Some(item @ Value::Object(_)) => vec![item],
            _ => return Err(bad(format!("event {i}: $snapshot has no $snapshot_data"))),
        };
        // Items without a positive numeric timestamp cannot be placed on a timeline.
        let items = data.into_iter().filter(|item| item["timestamp"].as_i64().is_some_and(|t| t > 0));
        match chunks.iter_mut().find(|c| c.session_id == session_id && c.window_id == window_id) {
            Some(chunk) => chunk.events.extend(items),
            None => chunks.push(SnapshotChunk {
                session_id,
                window_id,
                distinct_id: e.distinct_id,
                events: items.collect(),
                stats: RecordingStats::default(),
            }),
        }
    }
    chunks.retain(|c| !c.events.is_empty());
    for chunk in &mut chunks {
        chunk.events.sort_by_cached_key(|e| e["timestamp"].as_i64().unwrap_or(0));
        // Expanded once here, at ingest, so playback only concatenates stored chunks.
        for event in &mut chunk.events {
            decompress_event(event, budget)?;
        }
        chunk.stats = summarize(&chunk.events);
    }
    Ok(chunks)
}

/// Counts clicks, key presses, console errors and active time over rrweb events.
pub fn summarize(events: &[Value]) -> RecordingStats {
    let mut s = RecordingStats { first_ms: i64::MAX, last_ms: i64::MIN, ..Default::default() };
    let mut last_active: Option<i64> = None;
    for e in events {
        let ts = e["timestamp"].as_i64().unwrap_or(0);
        s.first_ms = s.first_ms.min(ts);
        s.last_ms = s.last_ms.max(ts);
        let kind = e["type"].as_i64().unwrap_or(-1);
        let data = &e["data"];
        match kind {
            FULL_SNAPSHOT => s.has_full_snapshot = true,
            META if s.first_url.is_none() => s.first_url = data["href"].as_str().map(str::to_owned),
            INCREMENTAL => {
                let source = data["source"].as_i64().unwrap_or(-1);
                // MouseInteraction type 2 is a click.
                if source == SOURCE_MOUSE_INTERACTION && data["type"].as_i64() == Some(2) {
                    s.clicks += 1;
                }
                if source == SOURCE_INPUT {
                    s.keypresses += 1;
                }
                if ACTIVE_SOURCES.contains(&source) {
                    if let Some(prev) = last_active {
                        let gap = ts - prev;
                        if gap > 0 && gap <= ACTIVE_GAP_MS {
                            s.active_ms += gap;
                        }
                    }
                    last_active = Some(ts);
                }
            }
            PLUGIN
                if data["plugin"].as_str() == Some("rrweb/console@1")
                    && data["payload"]["level"].as_str() == Some("error") =>
            {
                s.console_errors += 1;
            }
            _ => {}
        }
    }
    if events.is_empty() {
        s.first_ms = 0;
        s.last_ms = 0;
    }
    s
}

/// Expands posthog-js's `cv: "2024-10"` compression in place: gzip streams carried as
/// strings of one char per byte, in full snapshots' `data` and in mutation and stylesheet
/// fields. Fields that fail to decode are left as they are; what they expand to is
/// charged to `budget` (twice: the text, and its parsed form of about the same size), and
/// running out of it is the error.
pub fn decompress_event(event: &mut Value, budget: &mut Budget) -> Result<(), DecodeError> {
    if event["cv"].as_str() != Some("2024-10") {
        return Ok(());
    }
    let kind = event["type"].as_i64();
    let source = event["data"]["source"].as_i64();
    if kind == Some(FULL_SNAPSHOT) {
        if let Some(decoded) = gunzip_chars(&event["data"], budget)? {
            event["data"] = decoded;
        }
    } else if kind == Some(INCREMENTAL) {
        let fields: &[&str] = match source {
            Some(SOURCE_MUTATION) => &["adds", "removes", "texts", "attributes"],
            Some(SOURCE_STYLESHEET_RULE) => &["adds", "removes"],
            _ => &[],
        };
        for field in fields {
            if let Some(decoded) = gunzip_chars(&event["data"][*field], budget)? {
                event["data"][*field] = decoded;
            }
        }
    }
    if let Value::Object(obj) = event {
        obj.remove("cv");
    }
    Ok(())
}

/// A `cv` field's JSON, `None` when it is not a string of a gzip stream of JSON.
fn gunzip_chars(field: &Value, budget: &mut Budget) -> Result<Option<Value>, DecodeError> {
    let Some(s) = field.as_str() else { return Ok(None) };
    let Some(bytes) = s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect::<Option<Vec<u8>>>() else {
        return Ok(None);
    };
    let out = match inflate(flate2::read::GzDecoder::new(&bytes[..]), budget) {
        Ok(out) => out,
        Err(InflateError::Budget(e)) => return Err(e),
        Err(InflateError::Io(_)) => return Ok(None),
    };
    budget.charge(out.len())?;
    Ok(serde_json::from_slice(&out).ok())
}

/// Gzips a JSON array of rrweb events for storage.
pub fn encode_chunk(events: &[serde_json::Value]) -> (Vec<u8>, u64) {
    // Serialized from the slice: copying the events into an array first cost more than
    // the gzip.
    let json = serde_json::to_string(events).unwrap_or_default();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(json.as_bytes());
    (enc.finish().unwrap_or_default(), json.len() as u64)
}

/// The events of a stored chunk as JSON text without the enclosing brackets
/// (`{…},{…}`), so that chunks can be concatenated into one array without parsing them.
pub fn chunk_events_json(blob: &[u8]) -> Result<Vec<u8>, String> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(blob)
        .read_to_end(&mut json)
        .map_err(|e| format!("corrupt recording chunk: {e}"))?;
    let text = json.trim_ascii();
    match (text.first(), text.last()) {
        (Some(b'['), Some(b']')) => Ok(text[1..text.len() - 1].trim_ascii().to_vec()),
        _ => Err("corrupt recording chunk: not a JSON array".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write;

    fn gzip_chars(v: &Value) -> String {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(v.to_string().as_bytes()).unwrap();
        enc.finish().unwrap().into_iter().map(char::from).collect()
    }

    #[test]
    fn cv_fields_expand() {
        let node = json!({"node": {"type": 0, "childNodes": []}, "initialOffset": {"top": 0, "left": 0}});
        let mut full = json!({"type": 2, "data": gzip_chars(&node), "timestamp": 1, "cv": "2024-10"});
        decompress_event(&mut full, &mut Budget::new(1 << 20)).unwrap();
        assert_eq!(full, json!({"type": 2, "data": node, "timestamp": 1}));
        let adds = json!([{"parentId": 1, "node": {"type": 3, "textContent": "hi"}}]);
        let mut m = json!({"type": 3, "data": {"source": 0, "adds": gzip_chars(&adds), "removes": gzip_chars(&json!([])), "texts": gzip_chars(&json!([])), "attributes": gzip_chars(&json!([]))}, "timestamp": 2, "cv": "2024-10"});
        decompress_event(&mut m, &mut Budget::new(1 << 20)).unwrap();
        assert_eq!(m["data"]["adds"], adds);
        let mut plain = json!({"type": 3, "data": {"source": 1}, "timestamp": 3});
        let before = plain.clone();
        decompress_event(&mut plain, &mut Budget::new(0)).unwrap();
        assert_eq!(plain, before);
    }

    #[test]
    fn cv_fields_share_one_budget() {
        // Four fields of ~1 MB each (charged about twice: the inflated text as allocated,
        // and its parsed form): every one fits the budget alone, together they do not.
        let big = json!(vec!["x".repeat(1000); 1000]);
        let mut m = json!({"type": 3, "data": {"source": 0, "adds": gzip_chars(&big), "removes": gzip_chars(&big), "texts": gzip_chars(&big), "attributes": gzip_chars(&big)}, "timestamp": 2, "cv": "2024-10"});
        let one = big.to_string().len();
        assert!(m.to_string().len() < one / 20, "the fields are small on the wire");
        let err = decompress_event(&mut m.clone(), &mut Budget::new(5 * one)).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { decompressed: true, .. }), "{err}");
        decompress_event(&mut m, &mut Budget::new(10 * one)).unwrap();
        assert_eq!(m["data"]["texts"], big);
    }

    #[test]
    fn summary_counts_activity() {
        let events = vec![
            json!({"type": 4, "data": {"href": "https://shop/"}, "timestamp": 1000}),
            json!({"type": 2, "data": {}, "timestamp": 1001}),
            json!({"type": 3, "data": {"source": 2, "type": 2}, "timestamp": 2000}),
            json!({"type": 3, "data": {"source": 5, "text": "a"}, "timestamp": 3000}),
            json!({"type": 3, "data": {"source": 1}, "timestamp": 20000}),
            json!({"type": 6, "data": {"plugin": "rrweb/console@1", "payload": {"level": "error"}}, "timestamp": 20500}),
        ];
        let s = summarize(&events);
        assert_eq!((s.first_ms, s.last_ms), (1000, 20500));
        assert_eq!(s.first_url.as_deref(), Some("https://shop/"));
        assert_eq!((s.clicks, s.keypresses, s.console_errors), (1, 1, 1));
        assert_eq!(s.active_ms, 1000);
        assert!(s.has_full_snapshot);
    }

    #[test]
    fn stored_chunks_concatenate_without_parsing() {
        let events = vec![json!({"type": 3, "timestamp": 1}), json!({"type": 3, "timestamp": 2})];
        let (blob, size) = encode_chunk(&events);
        assert!(size > 0);
        let inner = chunk_events_json(&blob).unwrap();
        let joined = format!("[{},{}]", String::from_utf8_lossy(&inner), String::from_utf8_lossy(&inner));
        let back: Vec<Value> = serde_json::from_str(&joined).unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(chunk_events_json(&encode_chunk(&[]).0).unwrap(), b"");
        assert!(chunk_events_json(b"not gzip").is_err());
    }

    #[test]
    fn session_ids_are_checked() {
        assert!(valid_session_id("01a21a2c-e777-7dd2-bbad-cd7c0a9958e7"));
        for bad in ["", "a b", "x/../y", &"a".repeat(71)] {
            assert!(!valid_session_id(bad), "{bad}");
        }
    }
}
