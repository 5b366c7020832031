//! The log processor that copies the current request's ids onto each log record.

use opentelemetry::InstrumentationScope;
use opentelemetry::logs::{AnyValue, LogRecord as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};

use crate::{RequestTrace, Stamp};

/// Log attribute Tether (and PostHog Logs) read the session id from.
pub const SESSION_ATTRIBUTE: &str = "sessionId";
/// Log attribute Tether (and PostHog Logs) read the person's distinct id from.
pub const DISTINCT_ID_ATTRIBUTE: &str = "posthogDistinctId";
/// OpenTelemetry's semantic-convention name for the session id, for other tools.
pub const SEMCONV_SESSION_ATTRIBUTE: &str = "session.id";
/// The browser tab the request came from.
pub const WINDOW_ATTRIBUTE: &str = "posthogWindowId";

/// Adds `sessionId`, `session.id`, `posthogDistinctId` and `posthogWindowId` to each log
/// emitted while a stamped request is handled, and the request's trace (see
/// [`RequestTrace`]) to a log that has none. An attribute the log already has is kept.
///
/// Processors see a record in the order they were added to the logger provider, so add this
/// one **before** the exporting (batch or simple) processor.
#[derive(Debug, Clone, Copy, Default)]
pub struct StampProcessor;

impl LogProcessor for StampProcessor {
    fn emit(&self, record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        if record.trace_context().is_none()
            && let Some(trace) = RequestTrace::current()
        {
            record.set_trace_context(trace.trace_id, trace.span_id, Some(trace.flags));
        }
        let Some(stamp) = Stamp::current() else { return };
        let present: Vec<String> = record.attributes_iter().map(|(k, _)| k.as_str().to_owned()).collect();
        let mut add = |key: &'static str, value: &Option<String>| {
            if let Some(value) = value
                && !present.iter().any(|k| k == key)
            {
                record.add_attribute(key, AnyValue::from(value.clone()));
            }
        };
        add(SESSION_ATTRIBUTE, &stamp.session_id);
        add(SEMCONV_SESSION_ATTRIBUTE, &stamp.session_id);
        add(DISTINCT_ID_ATTRIBUTE, &stamp.distinct_id);
        add(WINDOW_ATTRIBUTE, &stamp.window_id);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
}
