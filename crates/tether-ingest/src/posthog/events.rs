//! Capture payloads into events: the three envelope shapes, token and distinct id lookup,
//! timestamps with clock-skew correction, and the person operations an event carries.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

pub use tether_model::CapturedEvent;

use super::raw::starts;
use crate::DecodeError;

/// Longest distinct id kept (longer ones are cut, as PostHog does).
const MAX_DISTINCT_ID: usize = 200;
/// Client timestamps further ahead than this are replaced by the receive time.
const MAX_FUTURE_MS: i64 = 23 * 3600 * 1000;

/// A decoded capture request: the envelope's token (if any) and its events.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    pub token: Option<String>,
    pub events: Vec<CapturedEvent>,
}

impl Capture {
    /// The project token: the envelope's, else the first event that names one.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref().or_else(|| self.events.iter().find_map(|e| e.token.as_deref()))
    }
}

fn bad(msg: impl Into<String>) -> DecodeError {
    DecodeError::Malformed(msg.into())
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `{api_key|token, batch, sent_at}`: the batch envelope (a lone event reads as one without
/// a batch).
#[derive(Deserialize)]
struct Envelope<'a> {
    api_key: Option<Value>,
    token: Option<Value>,
    sent_at: Option<Value>,
    #[serde(borrow)]
    batch: Option<&'a RawValue>,
}

/// What Tether reads of an event besides its properties, which stay text. (No
/// `#[serde(flatten)]` here or below: it buffers every other field as a tree.)
#[derive(Deserialize)]
struct WireEvent<'a> {
    event: Option<Value>,
    distinct_id: Option<Value>,
    token: Option<Value>,
    #[serde(rename = "$token")]
    dollar_token: Option<Value>,
    api_key: Option<Value>,
    uuid: Option<Value>,
    timestamp: Option<Value>,
    offset: Option<Value>,
    sent_at: Option<Value>,
    #[serde(rename = "$set")]
    set: Option<Value>,
    #[serde(rename = "$set_once")]
    set_once: Option<Value>,
    #[serde(rename = "$unset")]
    unset: Option<Value>,
    #[serde(borrow)]
    properties: Option<&'a RawValue>,
}

/// The properties Tether reads; the others are skipped over, not parsed.
#[derive(Deserialize, Default)]
struct KnownProperties {
    distinct_id: Option<Value>,
    token: Option<Value>,
    #[serde(rename = "$session_id")]
    session_id: Option<Value>,
    #[serde(rename = "$window_id")]
    window_id: Option<Value>,
    #[serde(rename = "$current_url")]
    current_url: Option<Value>,
    #[serde(rename = "$ignore_sent_at")]
    ignore_sent_at: Option<Value>,
    #[serde(rename = "$process_person_profile")]
    process_person_profile: Option<Value>,
    #[serde(rename = "$anon_distinct_id")]
    anon_distinct_id: Option<Value>,
    alias: Option<Value>,
    #[serde(rename = "$set")]
    set: Option<Value>,
    #[serde(rename = "$set_once")]
    set_once: Option<Value>,
    #[serde(rename = "$unset")]
    unset: Option<Value>,
}

/// Reads `{api_key|token, batch, sent_at}`, a bare array of events, or one event, from the
/// body's JSON text. `new_uuid` names events that came without a uuid.
pub fn parse_capture(
    body: &[u8],
    now_ms: i64,
    new_uuid: &mut dyn FnMut() -> String,
) -> Result<Capture, DecodeError> {
    let invalid = |e: serde_json::Error| bad(format!("invalid JSON: {e}"));
    // Each level is read once for what it holds: the body's first character says which.
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let (token, sent_at, items): (_, _, Vec<&RawValue>) = match first {
        Some(b'[') => (None, None, serde_json::from_slice(body).map_err(invalid)?),
        Some(b'{') => {
            let envelope: Envelope = serde_json::from_slice(body).map_err(|e| match e.classify() {
                serde_json::error::Category::Data => bad(e.to_string()),
                _ => invalid(e),
            })?;
            match envelope.batch {
                Some(batch) if starts(batch) == b'[' => (
                    text(envelope.api_key.as_ref()).or_else(|| text(envelope.token.as_ref())),
                    envelope.sent_at.as_ref().and_then(Value::as_str).and_then(parse_iso_ms),
                    serde_json::from_str(batch.get()).map_err(invalid)?,
                ),
                Some(_) => return Err(bad("batch must be an array")),
                None => (None, None, vec![serde_json::from_slice(body).map_err(invalid)?]),
            }
        }
        _ => match serde_json::from_slice::<&RawValue>(body) {
            Ok(_) => return Err(bad("body must be an event, an array of events, or a batch")),
            Err(e) => return Err(invalid(e)),
        },
    };
    let events = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            parse_event(item, sent_at, now_ms, new_uuid).map_err(|e| bad(format!("event {i}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Capture { token, events })
}

fn parse_event(
    item: &RawValue,
    envelope_sent_at: Option<i64>,
    now_ms: i64,
    new_uuid: &mut dyn FnMut() -> String,
) -> Result<CapturedEvent, String> {
    if starts(item) != b'{' {
        return Err("must be an object".into());
    }
    let wire: WireEvent = serde_json::from_str(item.get()).map_err(|e| e.to_string())?;
    let event = text(wire.event.as_ref()).ok_or("has no event name")?;
    let (properties, known) = match wire.properties {
        None => ("{}".to_owned(), KnownProperties::default()),
        Some(p) if p.get() == "null" => ("{}".to_owned(), KnownProperties::default()),
        Some(p) if starts(p) == b'{' => {
            let known = serde_json::from_str(p.get()).map_err(|e| format!("properties: {e}"))?;
            (p.get().to_owned(), known)
        }
        Some(_) => return Err("properties must be an object".into()),
    };
    let distinct_id = match wire.distinct_id.as_ref().or(known.distinct_id.as_ref()) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        Some(v @ (Value::Array(_) | Value::Object(_))) => v.to_string(),
        _ => return Err("has no distinct_id".into()),
    };
    let distinct_id: String = distinct_id.chars().take(MAX_DISTINCT_ID).collect();
    let token = [&wire.token, &wire.dollar_token, &wire.api_key]
        .into_iter()
        .find_map(|v| text(v.as_ref()))
        .or_else(|| text(known.token.as_ref()));
    let uuid = text(wire.uuid.as_ref()).unwrap_or_else(new_uuid);
    let iso = |v: &Option<Value>| v.as_ref().and_then(Value::as_str).and_then(parse_iso_ms);
    let sent_at = iso(&wire.sent_at).or(envelope_sent_at);
    let ignore_sent_at = known.ignore_sent_at.as_ref().and_then(Value::as_bool).unwrap_or(false);
    let timestamp_ms = event_time(
        iso(&wire.timestamp),
        wire.offset.as_ref().and_then(Value::as_i64),
        if ignore_sent_at { None } else { sent_at },
        now_ms,
    );
    // The properties' operations first, the top level's over them.
    let merged = |ops: [Option<Value>; 2]| {
        let mut out = Map::new();
        for m in ops.into_iter().flatten().filter_map(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        }) {
            out.extend(m);
        }
        out
    };
    let set = merged([known.set, wire.set]);
    let set_once = merged([known.set_once, wire.set_once]);
    let unset = [known.unset, wire.unset]
        .into_iter()
        .flatten()
        .filter_map(|v| match v {
            Value::Array(keys) => Some(keys),
            _ => None,
        })
        .flatten()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();
    let other = match event.as_str() {
        "$identify" => known.anon_distinct_id.as_ref(),
        "$create_alias" => known.alias.as_ref(),
        _ => None,
    };
    Ok(CapturedEvent {
        session_id: text(known.session_id.as_ref()),
        window_id: text(known.window_id.as_ref()),
        current_url: text(known.current_url.as_ref()),
        merge_from: other.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned),
        makes_person: known.process_person_profile != Some(Value::Bool(false)),
        uuid,
        event,
        distinct_id,
        timestamp_ms,
        properties,
        set,
        set_once,
        unset,
        token,
    })
}

/// PostHog's rule: `offset` (old SDKs) means `now − offset`; else the client timestamp
/// corrected by the client's clock skew (`sent_at − now`); else now. Never > 23 h ahead.
fn event_time(timestamp: Option<i64>, offset: Option<i64>, sent_at: Option<i64>, now_ms: i64) -> i64 {
    let t = match (offset, timestamp, sent_at) {
        (Some(offset), _, _) => now_ms - offset,
        (None, Some(ts), Some(sent)) => ts - (sent - now_ms),
        (None, Some(ts), None) => ts,
        (None, None, _) => now_ms,
    };
    if t - now_ms > MAX_FUTURE_MS { now_ms } else { t }
}

/// Parses an RFC 3339 / ISO 8601 timestamp to Unix milliseconds.
pub fn parse_iso_ms(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_795_735_480_000;

    fn parse(body: Value) -> Result<Capture, DecodeError> {
        parse_capture(body.to_string().as_bytes(), NOW, &mut uuids())
    }

    fn uuids() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("generated-{n}")
        }
    }

    #[test]
    fn shapes_tokens_and_ids() {
        let batch = json!({"api_key": "phc_a", "batch": [{"event": "$pageview", "properties": {"distinct_id": "d1", "$session_id": "s1", "$window_id": "w1", "$current_url": "https://x/"}, "timestamp": "2026-11-26T23:24:40.000Z", "uuid": "u1"}]});
        let c = parse(batch).unwrap();
        assert_eq!(c.token(), Some("phc_a"));
        let e = &c.events[0];
        assert_eq!((e.uuid.as_str(), e.event.as_str(), e.distinct_id.as_str()), ("u1", "$pageview", "d1"));
        assert_eq!(e.session_id.as_deref(), Some("s1"));
        assert_eq!(e.window_id.as_deref(), Some("w1"));
        assert_eq!(e.current_url.as_deref(), Some("https://x/"));
        assert_eq!(e.timestamp_ms, 1_795_735_480_000);

        let array = json!([{"event": "x", "distinct_id": 42, "properties": {"token": "phc_b"}}]);
        let c = parse(array).unwrap();
        assert_eq!(c.token(), Some("phc_b"));
        assert_eq!(c.events[0].distinct_id, "42");
        assert_eq!(c.events[0].uuid, "generated-1");
        assert_eq!(c.events[0].timestamp_ms, NOW);

        let one = json!({"event": "x", "token": "phc_c", "properties": {"distinct_id": "d"}});
        assert_eq!(parse(one).unwrap().token(), Some("phc_c"));
    }

    #[test]
    fn timestamps_follow_offset_and_skew() {
        assert_eq!(event_time(Some(1000), Some(500), None, NOW), NOW - 500);
        // The client clock runs 10 s fast: sent_at is 10 s ahead of now.
        assert_eq!(event_time(Some(NOW + 5_000), None, Some(NOW + 10_000), NOW), NOW - 5_000);
        assert_eq!(event_time(Some(NOW + 48 * 3_600_000), None, None, NOW), NOW);
    }

    #[test]
    fn person_operations_are_collected() {
        let e = json!({"event": "$identify", "properties": {"distinct_id": "user-1", "$anon_distinct_id": "anon", "$set": {"plan": "pro"}}, "$set": {"email": "u@x"}, "$set_once": {"first": 1}, "$unset": ["old"]});
        let c = parse(e).unwrap();
        let e = &c.events[0];
        assert_eq!(Value::Object(e.set.clone()), json!({"plan": "pro", "email": "u@x"}));
        assert_eq!(Value::Object(e.set_once.clone()), json!({"first": 1}));
        assert_eq!(e.unset, ["old"]);
        assert_eq!(e.merge_from.as_deref(), Some("anon"));
        assert!(e.makes_person);
        // Stored as sent, operations included (as PostHog keeps them).
        assert_eq!(e.properties_map()["$set"], json!({"plan": "pro"}));

        let alias = json!({"event": "$create_alias", "properties": {"distinct_id": "u", "alias": "a", "$process_person_profile": false}});
        let e = parse(alias).unwrap().events.remove(0);
        assert_eq!((e.merge_from.as_deref(), e.makes_person), (Some("a"), false));
    }

    #[test]
    fn properties_are_kept_as_sent() {
        let body = r#"[{"event": "x", "properties": {"distinct_id": "d", "n": 1.50, "s": "caf\u00e9", "nested": {"a": [1, 2]}}}]"#;
        let c = parse_capture(body.as_bytes(), NOW, &mut uuids()).unwrap();
        assert_eq!(
            c.events[0].properties,
            r#"{"distinct_id": "d", "n": 1.50, "s": "caf\u00e9", "nested": {"a": [1, 2]}}"#
        );
        let c = parse(json!([{"event": "x", "distinct_id": "d", "properties": null}])).unwrap();
        assert_eq!(c.events[0].properties, "{}");
    }

    #[test]
    fn invalid_events_are_named() {
        let cases = [
            (json!({"batch": {}}), "batch must be an array"),
            (json!([{"properties": {"distinct_id": "d"}}]), "event 0: has no event name"),
            (json!([{"event": "x"}]), "event 0: has no distinct_id"),
            (json!([{"event": "x", "distinct_id": "d"}, 5]), "event 1: must be an object"),
            (json!("text"), "body must be"),
            (json!([{"event": "x", "distinct_id": "d", "properties": [1]}]), "properties must be an object"),
        ];
        for (body, want) in cases {
            let err = parse(body).unwrap_err().to_string();
            assert!(err.contains(want), "{want}: {err}");
        }
        let err = parse_capture(b"[{\"event\": ", NOW, &mut uuids()).unwrap_err().to_string();
        assert!(err.starts_with("invalid JSON"), "{err}");
    }
}
