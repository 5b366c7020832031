//! Network requests posthog-js records into a replay: `rrweb/network@1` plugin events
//! (`{"type":6,"data":{"plugin":"rrweb/network@1","payload":{"requests":[…]}}}`), each request
//! a browser PerformanceEntry as JSON plus what the SDK adds (`method`, `status`,
//! `timestamp`, `endTime`, headers and bodies when allowed). What the replay's Network tab
//! lists, and what is joined to backend logs.

use serde_json::Value;
use serde_json::value::RawValue;

/// The plugin name posthog-js records network requests under.
pub const NETWORK_PLUGIN: &str = "rrweb/network@1";
/// The rrweb event type of plugin events.
const PLUGIN_EVENT: i64 = 6;
/// Longest URL kept (a data: URL can be megabytes).
const MAX_URL_LEN: usize = 2048;
/// Longest header map or body kept, as JSON text.
const MAX_PAYLOAD_LEN: usize = 64 * 1024;

/// One network request of a replay.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkRequest {
    pub url: String,
    /// Known when posthog-js wrapped the call (headers or bodies recorded); the browser's
    /// timing entries do not say.
    pub method: Option<String>,
    /// The response status (the SDK's, else the timing entry's `responseStatus`).
    pub status: Option<u16>,
    /// What made it: `fetch`, `xmlhttprequest`, `navigation` (the page's document), `script`…
    pub initiator: String,
    /// Unix milliseconds.
    pub start_ms: i64,
    pub end_ms: i64,
    /// The trace the server named in `Server-Timing: traceparent;desc="00-{trace}-…"`
    /// (lowercase hex).
    pub trace_id: Option<String>,
    /// Recorded only when the project allows it.
    pub request_headers: Option<Value>,
    pub response_headers: Option<Value>,
    pub request_body: Option<Value>,
    pub response_body: Option<Value>,
}

impl NetworkRequest {
    /// True for calls a backend answers for the page (its document, fetch, XHR, beacons),
    /// as opposed to the scripts, styles and images it loads.
    pub fn is_api_call(&self) -> bool {
        matches!(self.initiator.as_str(), "fetch" | "xmlhttprequest" | "navigation" | "beacon")
    }
}

/// The network requests among rrweb events given as JSON text without the enclosing
/// brackets (a stored chunk, see `snapshots::chunk_events_json`). Other events are skipped
/// after a glance at their text; a request without a URL or start time is left out.
pub fn network_requests(events: &[u8]) -> Result<Vec<NetworkRequest>, String> {
    let mut text = Vec::with_capacity(events.len() + 2);
    text.push(b'[');
    text.extend_from_slice(events);
    text.push(b']');
    let events: Vec<&RawValue> =
        serde_json::from_slice(&text).map_err(|e| format!("corrupt recording chunk: {e}"))?;
    let mut out = Vec::new();
    for event in events {
        if !event.get().contains(NETWORK_PLUGIN) {
            continue;
        }
        let Ok(event) = serde_json::from_str::<Value>(event.get()) else { continue };
        if event["type"].as_i64() != Some(PLUGIN_EVENT) || event["data"]["plugin"] != NETWORK_PLUGIN {
            continue;
        }
        let requests = event["data"]["payload"]["requests"].as_array().into_iter().flatten();
        out.extend(requests.filter_map(request));
    }
    Ok(out)
}

/// One recorded request; `None` for timing entries that are not requests (paint, server
/// timings listed on their own) and for entries without a URL or time.
fn request(entry: &Value) -> Option<NetworkRequest> {
    let kind = entry["entryType"].as_str();
    if !matches!(kind, None | Some("resource" | "navigation")) {
        return None;
    }
    let url: String = entry["name"].as_str().filter(|u| !u.is_empty())?.chars().take(MAX_URL_LEN).collect();
    let origin = entry["timeOrigin"].as_f64();
    let start_ms = entry["timestamp"]
        .as_f64()
        .or_else(|| Some(origin? + entry["startTime"].as_f64()?))
        .filter(|t| *t > 0.0)? as i64;
    let end_ms = origin
        .zip(entry["endTime"].as_f64().or_else(|| entry["responseEnd"].as_f64()))
        .map(|(o, end)| (o + end) as i64)
        .or_else(|| Some(start_ms + entry["duration"].as_f64()? as i64))
        .unwrap_or(start_ms)
        .max(start_ms);
    let status = [&entry["status"], &entry["responseStatus"]]
        .into_iter()
        .find_map(|s| s.as_u64().filter(|s| *s > 0))
        .and_then(|s| u16::try_from(s).ok());
    let initiator = match (kind, entry["initiatorType"].as_str()) {
        (Some("navigation"), _) => "navigation",
        (_, Some(initiator)) => initiator,
        _ => "other",
    };
    Some(NetworkRequest {
        url,
        method: entry["method"].as_str().map(|m| m.to_ascii_uppercase()),
        status,
        initiator: initiator.to_owned(),
        start_ms,
        end_ms,
        trace_id: entry["serverTiming"].as_array().into_iter().flatten().find_map(trace_of_timing),
        request_headers: payload(&entry["requestHeaders"]),
        response_headers: payload(&entry["responseHeaders"]),
        request_body: payload(&entry["requestBody"]),
        response_body: payload(&entry["responseBody"]),
    })
}

/// The trace id of a `traceparent` server timing (`desc` is `00-{trace}-{span}-{flags}`).
fn trace_of_timing(timing: &Value) -> Option<String> {
    if timing["name"] != "traceparent" {
        return None;
    }
    let mut parts = timing["description"].as_str()?.split('-');
    let (_version, trace) = (parts.next()?, parts.next()?);
    let hex =
        trace.len() == 32 && trace.bytes().all(|b| b.is_ascii_hexdigit()) && trace.bytes().any(|b| b != b'0');
    hex.then(|| trace.to_ascii_lowercase())
}

/// A header map or body as recorded, unless absent or too large to keep.
fn payload(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::String(s) if s.len() > MAX_PAYLOAD_LEN => {
            Some(Value::String(format!("[{} bytes, too large to show]", s.len())))
        }
        other if other.to_string().len() > MAX_PAYLOAD_LEN => {
            Some(Value::String("[too large to show]".into()))
        }
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn chunk(events: &[Value]) -> Vec<u8> {
        let text = serde_json::to_string(events).unwrap();
        text.as_bytes()[1..text.len() - 1].to_vec()
    }

    fn network(requests: Value) -> Value {
        json!({"type": 6, "timestamp": 1_780_000_000_500i64, "data": {"plugin": NETWORK_PLUGIN, "payload": {"requests": requests}}})
    }

    /// What Chromium's timing entries and posthog-js make of a fetch to a backend that
    /// names its trace, of the page's own document, and of a wrapped call with a body.
    #[test]
    fn recorded_requests_are_read_with_their_trace() {
        let events = [
            json!({"type": 3, "timestamp": 1_780_000_000_100i64, "data": {"source": 2, "type": 2}}),
            network(json!([
                {"name": "http://shop.test/api/checkout", "entryType": "resource", "initiatorType": "fetch",
                 "startTime": 1200.4, "endTime": 1450.0, "duration": 249.6, "timeOrigin": 1_780_000_000_000i64,
                 "timestamp": 1_780_000_001_200i64, "responseStatus": 502,
                 "serverTiming": [{"name": "traceparent", "duration": 0,
                   "description": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}]},
                {"name": "traceparent", "entryType": "serverTiming", "timestamp": 1_780_000_001_200i64, "duration": 0},
                {"name": "", "entryType": "paint", "startTime": 30},
                {"name": "http://shop.test/order", "entryType": "navigation", "initiatorType": "navigation",
                 "startTime": 0, "duration": 80, "timeOrigin": 1_780_000_000_000i64, "timestamp": 1_780_000_000_000i64,
                 "responseStatus": 200, "isInitial": true},
                {"name": "http://shop.test/api/cart", "initiatorType": "fetch", "method": "post", "status": 201,
                 "startTime": 2000, "endTime": 2010, "timeOrigin": 1_780_000_000_000i64, "timestamp": 1_780_000_002_000i64,
                 "requestBody": "{\"item\":1}", "responseHeaders": {"content-type": "application/json"}},
                {"entryType": "resource", "initiatorType": "img", "startTime": 5},
            ])),
        ];
        let got = network_requests(&chunk(&events)).unwrap();
        assert_eq!(got.len(), 3, "{got:#?}");
        let checkout = &got[0];
        assert_eq!(checkout.url, "http://shop.test/api/checkout");
        assert_eq!((checkout.start_ms, checkout.end_ms), (1_780_000_001_200, 1_780_000_001_450));
        assert_eq!((checkout.status, checkout.method.as_deref()), (Some(502), None));
        assert_eq!(checkout.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert!(checkout.is_api_call());
        assert_eq!(
            (got[1].initiator.as_str(), got[1].status, got[1].trace_id.as_deref()),
            ("navigation", Some(200), None)
        );
        let cart = &got[2];
        assert_eq!((cart.method.as_deref(), cart.status), (Some("POST"), Some(201)));
        assert_eq!(cart.request_body, Some(json!("{\"item\":1}")));
        assert_eq!(cart.response_headers, Some(json!({"content-type": "application/json"})));
    }

    #[test]
    fn other_plugins_and_broken_entries_are_no_requests() {
        let events = [
            json!({"type": 6, "timestamp": 1, "data": {"plugin": "rrweb/console@1", "payload": {"level": "log", "payload": ["rrweb/network@1"]}}}),
            network(json!({"not": "a list"})),
            network(json!([{"name": "http://x.test/", "initiatorType": "fetch"}])),
        ];
        assert_eq!(network_requests(&chunk(&events)).unwrap(), []);
        assert!(network_requests(b"{\"type\":").is_err());
    }
}
