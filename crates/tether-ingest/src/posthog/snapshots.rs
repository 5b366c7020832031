//! Session-recording payloads: `$snapshot` events carrying rrweb events, the per-chunk
//! summary a recordings list needs, and decoding of posthog-js's `cv: "2024-10"` fields.

use std::io::{Read, Write};

use serde::Deserialize;
use serde_json::value::RawValue;

use tether_model::RecordingStats;

use super::events::CapturedEvent;
use super::raw::{Lenient, Members, starts};
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
#[derive(Debug, Clone)]
pub struct SnapshotChunk {
    pub session_id: String,
    pub window_id: String,
    pub distinct_id: String,
    /// rrweb events in timestamp order, `cv` compression expanded: ready for a player. Kept
    /// as the JSON text they came as (a player reads them, Tether only their heads).
    pub events: Vec<Box<RawValue>>,
    pub stats: RecordingStats,
}

/// What Tether reads of an rrweb event (its summary, its `cv` expansion); the rest of it,
/// the bulk of a recording, is never parsed.
#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct RrwebHead {
    timestamp: Lenient<i64>,
    #[serde(rename = "type")]
    kind: Lenient<i64>,
    cv: Lenient<String>,
    data: Lenient<DataHead>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
struct DataHead {
    source: Lenient<i64>,
    #[serde(rename = "type")]
    kind: Lenient<i64>,
    href: Lenient<String>,
    plugin: Lenient<String>,
    payload: Lenient<PayloadHead>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
struct PayloadHead {
    level: Lenient<String>,
}

impl RrwebHead {
    /// The head of one rrweb event's text (empty when it is not an object).
    pub fn of(event: &RawValue) -> RrwebHead {
        serde_json::from_str(event.get()).unwrap_or_default()
    }

    fn data(&self) -> Option<&DataHead> {
        self.data.0.as_ref()
    }

    fn source(&self) -> Option<i64> {
        self.data().and_then(|d| d.source.0)
    }
}

/// A posthog-js session id: at most 70 letters, digits and dashes.
pub fn valid_session_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 70 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Where a `$snapshot` event's rrweb events are.
#[derive(Deserialize)]
struct SnapshotProperties<'a> {
    #[serde(rename = "$snapshot_data", borrow)]
    data: Option<&'a RawValue>,
}

/// Collects the `$snapshot` events of a request into one chunk per session window, with
/// their `cv` fields expanded within `budget`.
pub fn snapshot_chunks(
    events: Vec<CapturedEvent>,
    budget: &mut Budget,
) -> Result<Vec<SnapshotChunk>, DecodeError> {
    let bad = |msg: String| DecodeError::Malformed(msg);
    // Each chunk with its events and their heads, in arrival order until sorted.
    type Items = Vec<(Box<RawValue>, RrwebHead)>;
    let mut chunks: Vec<(SnapshotChunk, Items)> = Vec::new();
    for (i, e) in events.into_iter().enumerate() {
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
        let no_data = || bad(format!("event {i}: $snapshot has no $snapshot_data"));
        let properties: SnapshotProperties =
            serde_json::from_str(&e.properties).map_err(|e| bad(format!("event {i}: {e}")))?;
        let data = properties.data.ok_or_else(no_data)?;
        let items: Vec<&RawValue> = match starts(data) {
            b'[' => serde_json::from_str(data.get()).map_err(|e| bad(format!("event {i}: {e}")))?,
            b'{' => vec![data],
            _ => return Err(no_data()),
        };
        // Items without a positive numeric timestamp cannot be placed on a timeline.
        let items = items
            .into_iter()
            .map(|item| (item, RrwebHead::of(item)))
            .filter(|(_, head)| head.timestamp.0.is_some_and(|t| t > 0))
            .map(|(item, head)| (item.to_owned(), head));
        match chunks.iter_mut().find(|(c, _)| c.session_id == session_id && c.window_id == window_id) {
            Some((_, known)) => known.extend(items),
            None => chunks.push((
                SnapshotChunk {
                    session_id,
                    window_id,
                    distinct_id: e.distinct_id,
                    events: Vec::new(),
                    stats: RecordingStats::default(),
                },
                items.collect(),
            )),
        }
    }
    let mut out = Vec::with_capacity(chunks.len());
    for (mut chunk, mut items) in chunks {
        if items.is_empty() {
            continue;
        }
        // Stable: events of the same millisecond keep the order they were recorded in.
        items.sort_by_key(|(_, head)| head.timestamp.0.unwrap_or(0));
        chunk.stats = summarize(&items.iter().map(|(_, head)| head).collect::<Vec<_>>());
        for (event, head) in items {
            // Expanded once here, at ingest, so playback only concatenates stored chunks.
            let expanded = expand_cv(&event, &head, budget)?;
            chunk.events.push(expanded.unwrap_or(event));
        }
        out.push(chunk);
    }
    Ok(out)
}

/// Counts clicks, key presses, console errors and active time over rrweb events' heads.
pub fn summarize(events: &[&RrwebHead]) -> RecordingStats {
    let mut s = RecordingStats { first_ms: i64::MAX, last_ms: i64::MIN, ..Default::default() };
    let mut last_active: Option<i64> = None;
    for e in events {
        let ts = e.timestamp.0.unwrap_or(0);
        s.first_ms = s.first_ms.min(ts);
        s.last_ms = s.last_ms.max(ts);
        let data = e.data();
        match e.kind.0.unwrap_or(-1) {
            FULL_SNAPSHOT => s.has_full_snapshot = true,
            META if s.first_url.is_none() => s.first_url = data.and_then(|d| d.href.0.clone()),
            INCREMENTAL => {
                let source = e.source().unwrap_or(-1);
                // MouseInteraction type 2 is a click.
                if source == SOURCE_MOUSE_INTERACTION && data.and_then(|d| d.kind.0) == Some(2) {
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
                if data.is_some_and(|d| {
                    d.plugin.0.as_deref() == Some("rrweb/console@1")
                        && d.payload.0.as_ref().and_then(|p| p.level.0.as_deref()) == Some("error")
                }) =>
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

/// Expands posthog-js's `cv: "2024-10"` compression: gzip streams carried as strings of one
/// char per byte, in full snapshots' `data` and in mutation and stylesheet fields. `None`
/// when the event has no such compression; fields that fail to decode are left as they are.
/// What they expand to is charged to `budget` (twice: the text as inflated, and the copy it
/// is spliced into), and running out of it is the error. The expanded text is spliced in
/// without being parsed into a tree.
pub fn expand_cv(
    event: &RawValue,
    head: &RrwebHead,
    budget: &mut Budget,
) -> Result<Option<Box<RawValue>>, DecodeError> {
    if head.cv.0.as_deref() != Some("2024-10") {
        return Ok(None);
    }
    let Ok(members) = serde_json::from_str::<Members>(event.get()) else { return Ok(None) };
    let kind = head.kind.0;
    let fields: &[&str] = match (kind, head.source()) {
        (Some(INCREMENTAL), Some(SOURCE_MUTATION)) => &["adds", "removes", "texts", "attributes"],
        (Some(INCREMENTAL), Some(SOURCE_STYLESHEET_RULE)) => &["adds", "removes"],
        _ => &[],
    };
    let mut data = None;
    if kind == Some(FULL_SNAPSHOT) {
        if let Some(field) = members.get("data") {
            data = gunzip_chars(field, budget)?;
        }
    } else if let Some(inner) = members.get("data").filter(|_| !fields.is_empty()) {
        let inner = serde_json::from_str::<Members>(inner.get()).ok();
        if let Some(inner) = inner {
            let mut expanded = Vec::new();
            for field in fields {
                if let Some(text) = inner.get(field).map(|v| gunzip_chars(v, budget)).transpose()?.flatten() {
                    expanded.push((*field, text));
                }
            }
            let replace: Vec<(&str, &str)> = expanded.iter().map(|(k, v)| (*k, v.as_str())).collect();
            data = Some(inner.write(&replace, ""));
        }
    }
    let replace: Vec<(&str, &str)> = data.iter().map(|d| ("data", d.as_str())).collect();
    let text = members.write(&replace, "cv");
    budget.charge(text.len())?;
    Ok(RawValue::from_string(text).ok())
}

/// A `cv` field's JSON text, `None` when it is not a string of a gzip stream of JSON.
fn gunzip_chars(field: &RawValue, budget: &mut Budget) -> Result<Option<String>, DecodeError> {
    let Ok(s) = serde_json::from_str::<String>(field.get()) else { return Ok(None) };
    let Some(bytes) = s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect::<Option<Vec<u8>>>() else {
        return Ok(None);
    };
    let out = match inflate(flate2::read::GzDecoder::new(&bytes[..]), budget) {
        Ok(out) => out,
        Err(InflateError::Budget(e)) => return Err(e),
        Err(InflateError::Io(_)) => return Ok(None),
    };
    let Ok(text) = String::from_utf8(out) else { return Ok(None) };
    // Spliced into the event's text as it is: it must be one JSON value.
    Ok(serde_json::from_str::<&RawValue>(&text).is_ok().then_some(text))
}

/// Gzips a JSON array of rrweb events for storage; returns it and the JSON's length.
pub fn encode_chunk(events: &[Box<RawValue>]) -> (Vec<u8>, u64) {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut size = 2;
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(b"[");
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            let _ = enc.write_all(b",");
            size += 1;
        }
        let _ = enc.write_all(event.get().as_bytes());
        size += event.get().len() as u64;
    }
    let _ = enc.write_all(b"]");
    (enc.finish().unwrap_or_default(), size)
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
    use serde_json::{Value, json};
    use std::io::Write;

    /// `event` with its `cv` fields expanded, as a chunk would store it.
    fn expand(event: &Value, budget: &mut Budget) -> Result<Value, DecodeError> {
        let raw = serde_json::value::to_raw_value(event).unwrap();
        Ok(match expand_cv(&raw, &RrwebHead::of(&raw), budget)? {
            Some(expanded) => serde_json::from_str(expanded.get()).unwrap(),
            None => event.clone(),
        })
    }

    fn raw(events: &[Value]) -> Vec<Box<RawValue>> {
        events.iter().map(|e| serde_json::value::to_raw_value(e).unwrap()).collect()
    }

    fn gzip_chars(v: &Value) -> String {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(v.to_string().as_bytes()).unwrap();
        enc.finish().unwrap().into_iter().map(char::from).collect()
    }

    #[test]
    fn cv_fields_expand() {
        let node = json!({"node": {"type": 0, "childNodes": []}, "initialOffset": {"top": 0, "left": 0}});
        let full = json!({"type": 2, "data": gzip_chars(&node), "timestamp": 1, "cv": "2024-10"});
        let full = expand(&full, &mut Budget::new(1 << 20)).unwrap();
        assert_eq!(full, json!({"type": 2, "data": node, "timestamp": 1}));
        let adds = json!([{"parentId": 1, "node": {"type": 3, "textContent": "hi"}}]);
        let m = json!({"type": 3, "data": {"source": 0, "adds": gzip_chars(&adds), "removes": gzip_chars(&json!([])), "texts": gzip_chars(&json!([])), "attributes": gzip_chars(&json!([]))}, "timestamp": 2, "cv": "2024-10"});
        let m = expand(&m, &mut Budget::new(1 << 20)).unwrap();
        assert_eq!(
            m,
            json!({"type": 3, "data": {"source": 0, "adds": adds, "removes": [], "texts": [], "attributes": []}, "timestamp": 2})
        );
        let plain = json!({"type": 3, "data": {"source": 1}, "timestamp": 3});
        assert_eq!(expand(&plain, &mut Budget::new(0)).unwrap(), plain);
        // A field that is not a gzip stream stays as it was sent; `cv` goes.
        let odd = json!({"type": 2, "data": "not gzip", "timestamp": 4, "cv": "2024-10"});
        assert_eq!(
            expand(&odd, &mut Budget::new(1 << 20)).unwrap(),
            json!({"type": 2, "data": "not gzip", "timestamp": 4})
        );
    }

    #[test]
    fn cv_fields_share_one_budget() {
        // Four fields of ~1 MB each (charged about twice: the inflated text as allocated,
        // and its parsed form): every one fits the budget alone, together they do not.
        let big = json!(vec!["x".repeat(1000); 1000]);
        let m = json!({"type": 3, "data": {"source": 0, "adds": gzip_chars(&big), "removes": gzip_chars(&big), "texts": gzip_chars(&big), "attributes": gzip_chars(&big)}, "timestamp": 2, "cv": "2024-10"});
        let one = big.to_string().len();
        assert!(m.to_string().len() < one / 20, "the fields are small on the wire");
        let err = expand(&m, &mut Budget::new(5 * one)).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { decompressed: true, .. }), "{err}");
        let m = expand(&m, &mut Budget::new(14 * one)).unwrap();
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
        let heads: Vec<RrwebHead> = raw(&events).iter().map(|e| RrwebHead::of(e)).collect();
        let s = summarize(&heads.iter().collect::<Vec<_>>());
        assert_eq!((s.first_ms, s.last_ms), (1000, 20500));
        assert_eq!(s.first_url.as_deref(), Some("https://shop/"));
        assert_eq!((s.clicks, s.keypresses, s.console_errors), (1, 1, 1));
        assert_eq!(s.active_ms, 1000);
        assert!(s.has_full_snapshot);
    }

    #[test]
    fn stored_chunks_concatenate_without_parsing() {
        let events = raw(&[json!({"type": 3, "timestamp": 1}), json!({"type": 3, "timestamp": 2})]);
        let (blob, size) = encode_chunk(&events);
        assert_eq!(size, r#"[{"type":3,"timestamp":1},{"type":3,"timestamp":2}]"#.len() as u64);
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
