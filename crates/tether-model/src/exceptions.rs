//! `$exception` events into issue keys. Grouping follows the spirit of PostHog's error
//! tracking: the client's `$exception_fingerprint` when given; otherwise the exception types
//! plus the in-app frames' file/module and function — no line numbers, so a redeploy does not
//! open new issues — with the message only when there are no frames, and the first frame
//! when none is in-app.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Frames kept of one exception's stack: the outermost and the innermost half each, as
/// Sentry keeps them; stacks deeper than this are recursion, and resolving every frame
/// through a source map is work a sender could otherwise make unbounded.
pub const MAX_FRAMES: usize = 256;

/// Cuts every stack of `$exception_list` to [`MAX_FRAMES`], dropping frames from the
/// middle and noting where under `frames_omitted` (`[first dropped, end]`, Sentry's field).
/// Returns how many frames were dropped.
pub fn cap_frames(list: &mut Value) -> usize {
    let mut dropped = 0;
    for exception in list.as_array_mut().into_iter().flatten() {
        let Some(frames) = exception.pointer_mut("/stacktrace/frames").and_then(Value::as_array_mut) else {
            continue;
        };
        let n = frames.len();
        if n <= MAX_FRAMES {
            continue;
        }
        let (head, tail) = (MAX_FRAMES / 2, n - MAX_FRAMES / 2);
        frames.drain(head..tail);
        dropped += tail - head;
        if let Some(stacktrace) = exception.get_mut("stacktrace").and_then(Value::as_object_mut) {
            stacktrace.insert("frames_omitted".into(), serde_json::json!([head, tail]));
        }
    }
    dropped
}

/// What grouping and the issue page need from one `$exception` event.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionInfo {
    pub fingerprint: String,
    /// The first exception's type (the name).
    pub name: String,
    /// The first exception's message (the description).
    pub message: String,
    /// `$exception_list` as sent, for the stack trace view.
    pub exception_list: Value,
    pub handled: Option<bool>,
    pub level: String,
}

/// Reads an `$exception` event's properties; `None` when it has no usable exception list.
pub fn exception_info(properties: &Map<String, Value>) -> Option<ExceptionInfo> {
    let list = properties.get("$exception_list")?.as_array()?;
    let first = list.first()?;
    let name = first["type"].as_str().filter(|s| !s.is_empty()).unwrap_or("Error").to_owned();
    let message = first["value"].as_str().unwrap_or("").to_owned();
    let mut hasher = Sha256::new();
    for exception in list {
        hasher.update(exception["type"].as_str().unwrap_or("Error").as_bytes());
        hasher.update([0]);
        let frames: Vec<&Value> =
            exception["stacktrace"]["frames"].as_array().map(|f| f.iter().collect()).unwrap_or_default();
        if frames.is_empty() {
            hasher.update(exception["value"].as_str().unwrap_or("").as_bytes());
            hasher.update([0]);
            continue;
        }
        let in_app: Vec<&Value> =
            frames.iter().copied().filter(|f| f["in_app"].as_bool() == Some(true)).collect();
        let chosen = if in_app.is_empty() { vec![frames[0]] } else { in_app };
        for frame in chosen {
            for key in ["filename", "module", "function"] {
                hasher.update(frame[key].as_str().unwrap_or("").as_bytes());
                hasher.update([0]);
            }
        }
    }
    let computed = hex::encode(hasher.finalize());
    let fingerprint = match properties.get("$exception_fingerprint") {
        Some(Value::String(f)) if !f.is_empty() && f.len() <= 64 => f.clone(),
        Some(Value::String(f)) if !f.is_empty() => hex::encode(Sha256::digest(f.as_bytes())),
        Some(v @ Value::Array(_)) => hex::encode(Sha256::digest(v.to_string().as_bytes())),
        _ => computed,
    };
    Some(ExceptionInfo {
        fingerprint,
        name,
        message,
        exception_list: Value::Array(list.clone()),
        handled: first["mechanism"]["handled"].as_bool(),
        level: properties.get("$exception_level").and_then(Value::as_str).unwrap_or("error").to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn frame(file: &str, func: &str, line: i64, in_app: bool) -> Value {
        json!({"filename": file, "function": func, "lineno": line, "colno": 1, "in_app": in_app})
    }

    fn list(kind: &str, msg: &str, frames: Vec<Value>) -> Map<String, Value> {
        props(
            json!({"$exception_list": [{"type": kind, "value": msg, "stacktrace": {"type": "raw", "frames": frames}}]}),
        )
    }

    #[test]
    fn deep_stacks_keep_both_ends() {
        let frames: Vec<Value> = (0..10_000).map(|i| frame(&format!("f{i}.js"), "g", 1, true)).collect();
        let mut list = json!([{"type": "RangeError", "stacktrace": {"frames": frames}}]);
        assert_eq!(cap_frames(&mut list), 10_000 - MAX_FRAMES);
        let kept = list[0]["stacktrace"]["frames"].as_array().unwrap();
        assert_eq!(kept.len(), MAX_FRAMES);
        assert_eq!(kept[0]["filename"], "f0.js");
        assert_eq!(kept[MAX_FRAMES - 1]["filename"], "f9999.js");
        assert_eq!(list[0]["stacktrace"]["frames_omitted"], json!([128, 9872]));
        let mut short = json!([{"stacktrace": {"frames": [frame("a.js", "f", 1, true)]}}]);
        assert_eq!(cap_frames(&mut short), 0);
    }

    #[test]
    fn grouping_rules() {
        let fp = |m: Map<String, Value>| exception_info(&m).unwrap().fingerprint;
        let a = fp(list("TypeError", "x is undefined", vec![frame("main.js", "handleClick", 10, true)]));
        // Same code path, new message and line: same issue.
        assert_eq!(
            a,
            fp(list("TypeError", "y is undefined", vec![frame("main.js", "handleClick", 99, true)]))
        );
        // Different function or type: different issue.
        assert_ne!(a, fp(list("TypeError", "x", vec![frame("main.js", "submit", 10, true)])));
        assert_ne!(a, fp(list("RangeError", "x", vec![frame("main.js", "handleClick", 10, true)])));
        // Library frames don't matter when there are in-app ones.
        assert_eq!(
            a,
            fp(list(
                "TypeError",
                "z",
                vec![frame("vendor.js", "lib", 1, false), frame("main.js", "handleClick", 3, true)]
            ))
        );
        // Without frames the message decides.
        assert_ne!(fp(list("Error", "one", vec![])), fp(list("Error", "two", vec![])));
        // No in-app frame: the first frame decides.
        assert_ne!(
            fp(list("Error", "m", vec![frame("a.js", "f", 1, false)])),
            fp(list("Error", "m", vec![frame("b.js", "f", 1, false)]))
        );
        let mut custom = list("Error", "m", vec![]);
        custom.insert("$exception_fingerprint".into(), json!("checkout-timeout"));
        assert_eq!(fp(custom), "checkout-timeout");
    }

    #[test]
    fn info_from_the_posthog_js_fixture_shape() {
        let p = props(
            json!({"$exception_list": [{"type": "Error", "value": "boom handled", "mechanism": {"type": "generic", "handled": true}, "stacktrace": {"type": "raw", "frames": [frame("https://app.example.com/static/js/main.abc123.js", "handleClick", 12, true)]}}], "$exception_level": "error"}),
        );
        let info = exception_info(&p).unwrap();
        assert_eq!(
            (info.name.as_str(), info.message.as_str(), info.handled),
            ("Error", "boom handled", Some(true))
        );
        assert!(exception_info(&props(json!({"$exception_list": []}))).is_none());
        assert!(exception_info(&props(json!({}))).is_none());
    }
}
