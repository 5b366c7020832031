//! Capture payloads into events: the three envelope shapes, token and distinct id lookup,
//! timestamps with clock-skew correction, and the person operations an event carries.

use serde_json::{Map, Value};

pub use tether_model::CapturedEvent;

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

/// Reads `{api_key|token, batch, sent_at}`, a bare array of events, or one event.
/// `new_uuid` names events that came without a uuid.
pub fn parse_capture(
    body: Value,
    now_ms: i64,
    new_uuid: &mut dyn FnMut() -> String,
) -> Result<Capture, DecodeError> {
    let (token, sent_at, items) = match body {
        Value::Array(items) => (None, None, items),
        Value::Object(mut obj) if obj.contains_key("batch") => {
            let token = text(obj.get("api_key")).or_else(|| text(obj.get("token")));
            let sent_at = obj.get("sent_at").and_then(Value::as_str).and_then(parse_iso_ms);
            match obj.remove("batch") {
                Some(Value::Array(items)) => (token, sent_at, items),
                _ => return Err(bad("batch must be an array")),
            }
        }
        Value::Object(obj) => (None, None, vec![Value::Object(obj)]),
        _ => return Err(bad("body must be an event, an array of events, or a batch")),
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
    item: Value,
    envelope_sent_at: Option<i64>,
    now_ms: i64,
    new_uuid: &mut dyn FnMut() -> String,
) -> Result<CapturedEvent, String> {
    let Value::Object(mut obj) = item else { return Err("must be an object".into()) };
    let event = text(obj.get("event")).ok_or("has no event name")?;
    let mut properties = match obj.remove("properties") {
        Some(Value::Object(p)) => p,
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err("properties must be an object".into()),
    };
    let distinct_id = match obj.get("distinct_id").or_else(|| properties.get("distinct_id")) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        Some(v @ (Value::Array(_) | Value::Object(_))) => v.to_string(),
        _ => return Err("has no distinct_id".into()),
    };
    let distinct_id: String = distinct_id.chars().take(MAX_DISTINCT_ID).collect();
    let token = ["token", "$token", "api_key"]
        .iter()
        .find_map(|k| text(obj.get(*k)))
        .or_else(|| text(properties.get("token")));
    let uuid = text(obj.get("uuid")).unwrap_or_else(new_uuid);
    let sent_at = obj.get("sent_at").and_then(Value::as_str).and_then(parse_iso_ms).or(envelope_sent_at);
    let ignore_sent_at = properties.get("$ignore_sent_at").and_then(Value::as_bool).unwrap_or(false);
    let timestamp_ms = event_time(
        obj.get("timestamp").and_then(Value::as_str).and_then(parse_iso_ms),
        obj.get("offset").and_then(Value::as_i64),
        if ignore_sent_at { None } else { sent_at },
        now_ms,
    );
    let take_map = |obj: &mut Map<String, Value>, properties: &mut Map<String, Value>, key: &str| {
        let mut out = Map::new();
        for source in [properties.remove(key), obj.remove(key)] {
            if let Some(Value::Object(m)) = source {
                out.extend(m);
            }
        }
        out
    };
    let set = take_map(&mut obj, &mut properties, "$set");
    let set_once = take_map(&mut obj, &mut properties, "$set_once");
    let unset = [properties.remove("$unset"), obj.remove("$unset")]
        .into_iter()
        .flatten()
        .flat_map(|v| match v {
            Value::Array(keys) => keys.into_iter().filter_map(|k| k.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        })
        .collect();
    let prop_text = |k: &str| text(properties.get(k));
    Ok(CapturedEvent {
        session_id: prop_text("$session_id"),
        window_id: prop_text("$window_id"),
        current_url: prop_text("$current_url"),
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
        let c = parse_capture(batch, NOW, &mut uuids()).unwrap();
        assert_eq!(c.token(), Some("phc_a"));
        let e = &c.events[0];
        assert_eq!((e.uuid.as_str(), e.event.as_str(), e.distinct_id.as_str()), ("u1", "$pageview", "d1"));
        assert_eq!(e.session_id.as_deref(), Some("s1"));
        assert_eq!(e.window_id.as_deref(), Some("w1"));
        assert_eq!(e.current_url.as_deref(), Some("https://x/"));
        assert_eq!(e.timestamp_ms, 1_795_735_480_000);

        let array = json!([{"event": "x", "distinct_id": 42, "properties": {"token": "phc_b"}}]);
        let c = parse_capture(array, NOW, &mut uuids()).unwrap();
        assert_eq!(c.token(), Some("phc_b"));
        assert_eq!(c.events[0].distinct_id, "42");
        assert_eq!(c.events[0].uuid, "generated-1");
        assert_eq!(c.events[0].timestamp_ms, NOW);

        let one = json!({"event": "x", "token": "phc_c", "properties": {"distinct_id": "d"}});
        assert_eq!(parse_capture(one, NOW, &mut uuids()).unwrap().token(), Some("phc_c"));
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
        let c = parse_capture(e, NOW, &mut uuids()).unwrap();
        let e = &c.events[0];
        assert_eq!(Value::Object(e.set.clone()), json!({"plan": "pro", "email": "u@x"}));
        assert_eq!(Value::Object(e.set_once.clone()), json!({"first": 1}));
        assert_eq!(e.unset, ["old"]);
        assert!(!e.properties.contains_key("$set"));
    }

    #[test]
    fn invalid_events_are_named() {
        let cases = [
            (json!({"batch": {}}), "batch must be an array"),
            (json!([{"properties": {"distinct_id": "d"}}]), "event 0: has no event name"),
            (json!([{"event": "x"}]), "event 0: has no distinct_id"),
            (json!([{"event": "x", "distinct_id": "d"}, 5]), "event 1: must be an object"),
            (json!("text"), "body must be"),
        ];
        for (body, want) in cases {
            let err = parse_capture(body, NOW, &mut uuids()).unwrap_err().to_string();
            assert!(err.contains(want), "{want}: {err}");
        }
    }
}
