//! The trace of each request: the caller's W3C `traceparent` when it sent a valid one, else a
//! new trace, with a span id of this request. Its logs carry the trace id, and the response
//! names it in `Server-Timing`, where the browser's resource timing (and so posthog-js's
//! network recording) can read it: that is how a request in a replay finds its logs.

use http::HeaderMap;
use opentelemetry::{Context, SpanId, TraceFlags, TraceId};

/// Server-Timing metric whose description is the request's `traceparent`.
pub const SERVER_TIMING_METRIC: &str = "traceparent";

/// The trace a request's logs belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTrace {
    pub trace_id: TraceId,
    /// This request's span in the trace (new for each request).
    pub span_id: SpanId,
    pub flags: TraceFlags,
}

impl RequestTrace {
    /// The trace of the caller's `traceparent` (version 00, non-zero ids) with a new span,
    /// else a new trace.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let caller = headers.get("traceparent").and_then(|v| v.to_str().ok()).and_then(parse_traceparent);
        let (trace_id, flags) = caller.unwrap_or_else(|| (random_trace_id(), TraceFlags::SAMPLED));
        Self { trace_id, span_id: random_span_id(), flags }
    }

    /// The trace of the request being handled on this task.
    pub fn current() -> Option<Self> {
        Context::map_current(|cx| cx.get::<Self>().copied())
    }

    /// As a W3C `traceparent` value: `00-{trace}-{span}-{flags}`.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.span_id, self.flags.to_u8())
    }

    /// The `Server-Timing` entry naming this trace: `traceparent;desc="00-…"`.
    pub fn server_timing(&self) -> String {
        format!("{SERVER_TIMING_METRIC};desc=\"{}\"", self.traceparent())
    }
}

/// The trace id and flags of a `traceparent` header (W3C Trace Context, version 00).
fn parse_traceparent(value: &str) -> Option<(TraceId, TraceFlags)> {
    let mut parts = value.trim().split('-');
    let (version, trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex =
        |s: &str, len: usize| s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if version != "00" || parts.next().is_some() || !hex(trace, 32) || !hex(span, 16) || !hex(flags, 2) {
        return None;
    }
    let trace_id = TraceId::from_hex(trace).ok().filter(|t| *t != TraceId::INVALID)?;
    SpanId::from_hex(span).ok().filter(|s| *s != SpanId::INVALID)?;
    let flags = TraceFlags::new(u8::from_str_radix(flags, 16).ok()?);
    Some((trace_id, flags))
}

fn random_trace_id() -> TraceId {
    TraceId::from_bytes(rand::random::<u128>().max(1).to_be_bytes())
}

fn random_span_id() -> SpanId {
    SpanId::from_bytes(rand::random::<u64>().max(1).to_be_bytes())
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn with_traceparent(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_callers_trace_is_continued_in_a_new_span() {
        let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let trace = RequestTrace::from_headers(&with_traceparent(caller));
        assert_eq!(trace.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(trace.span_id.to_string(), "00f067aa0ba902b7");
        assert!(trace.traceparent().starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(trace.traceparent().ends_with("-01"));
        assert_eq!(trace.server_timing(), format!("traceparent;desc=\"{}\"", trace.traceparent()));
    }

    #[test]
    fn an_invalid_traceparent_starts_a_new_trace() {
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "garbage",
        ] {
            let trace = RequestTrace::from_headers(&with_traceparent(bad));
            assert_ne!(trace.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736", "{bad}");
            assert_ne!(trace.trace_id, TraceId::INVALID);
        }
        let a = RequestTrace::from_headers(&HeaderMap::new());
        let b = RequestTrace::from_headers(&HeaderMap::new());
        assert_ne!(a.trace_id, b.trace_id, "each request without a caller's trace gets its own");
    }
}
