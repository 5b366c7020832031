//! From decoded OTLP to normalized records: timestamps, severity, body text, hex ids,
//! typed attributes, service name, and the resolved session and person ids.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use tether_model::{
    AttrValue, Attributes, LogRecord, ProjectId, Severity, resolve_distinct_id, resolve_session_id,
};

/// Per-record limits; a record over them is rejected (and reported), never truncated.
#[derive(Debug, Clone, Copy)]
pub struct RecordLimits {
    /// Largest body plus attributes, in bytes of their stored text.
    pub max_record_bytes: usize,
}

impl Default for RecordLimits {
    fn default() -> Self {
        RecordLimits { max_record_bytes: 1024 * 1024 }
    }
}

/// The records to store and what was rejected, for OTLP `partial_success`.
#[derive(Debug, Default)]
pub struct Normalized {
    pub records: Vec<LogRecord>,
    pub rejected: u64,
    /// Why records were rejected (empty when none were).
    pub rejection_reason: String,
}

/// Normalizes every record of a request for `project_id`; `now_ns` is the receive time,
/// used where the sender gave neither a timestamp nor an observed timestamp.
pub fn normalize(
    request: ExportLogsServiceRequest,
    project_id: ProjectId,
    now_ns: i64,
    limits: RecordLimits,
) -> Normalized {
    let mut out = Normalized::default();
    for resource_logs in request.resource_logs {
        let resource_attributes =
            Arc::new(attributes(resource_logs.resource.map(|r| r.attributes).unwrap_or_default()));
        let service = match resource_attributes.get("service.name") {
            Some(AttrValue::String(s)) => s.clone(),
            _ => String::new(),
        };
        for scope_logs in resource_logs.scope_logs {
            let (scope_name, scope_version, scope_attributes) = match scope_logs.scope {
                Some(s) => (s.name, s.version, Arc::new(attributes(s.attributes))),
                None => Default::default(),
            };
            for record in scope_logs.log_records {
                let observed = nanos(record.observed_time_unix_nano).unwrap_or(now_ns);
                let timestamp = nanos(record.time_unix_nano).unwrap_or(observed);
                let body = body_text(record.body);
                let log_attributes = attributes(record.attributes);
                let size = body.len() + approx_size(&log_attributes);
                if size > limits.max_record_bytes {
                    out.rejected += 1;
                    out.rejection_reason = format!(
                        "log records over {} bytes (body plus attributes) were rejected",
                        limits.max_record_bytes
                    );
                    continue;
                }
                out.records.push(LogRecord {
                    project_id,
                    timestamp_ns: timestamp,
                    observed_timestamp_ns: observed,
                    severity: Severity::from_otlp(record.severity_number, &record.severity_text),
                    severity_text: record.severity_text,
                    severity_number: record.severity_number,
                    service: service.clone(),
                    body,
                    session_id: resolve_session_id(&log_attributes, &resource_attributes),
                    distinct_id: resolve_distinct_id(&log_attributes, &resource_attributes),
                    trace_id: id_hex(&record.trace_id, 16),
                    span_id: id_hex(&record.span_id, 8),
                    trace_flags: record.flags,
                    event_name: record.event_name,
                    scope_name: scope_name.clone(),
                    scope_version: scope_version.clone(),
                    attributes: log_attributes,
                    resource_attributes: resource_attributes.clone(),
                    scope_attributes: scope_attributes.clone(),
                });
            }
        }
    }
    out
}

/// OTLP times are u64 nanoseconds; 0 means unset, and values past i64 cannot be real.
fn nanos(value: u64) -> Option<i64> {
    i64::try_from(value).ok().filter(|v| *v > 0)
}

/// Ids of the wrong length or all zeroes are invalid per the OTLP spec: stored empty.
fn id_hex(bytes: &[u8], len: usize) -> String {
    if bytes.len() == len && bytes.iter().any(|b| *b != 0) { hex::encode(bytes) } else { String::new() }
}

fn body_text(body: Option<AnyValue>) -> String {
    match body.and_then(|b| b.value) {
        None => String::new(),
        Some(any_value::Value::StringValue(s)) => s,
        Some(other) => serde_json::to_string(&value(other)).unwrap_or_default(),
    }
}

fn attributes(kvs: Vec<KeyValue>) -> Attributes {
    Attributes(
        kvs.into_iter()
            .map(|kv| (kv.key, kv.value.and_then(|v| v.value).map_or(AttrValue::Empty, value)))
            .collect(),
    )
}

fn value(v: any_value::Value) -> AttrValue {
    use any_value::Value as V;
    match v {
        V::StringValue(s) => AttrValue::String(s),
        V::BoolValue(b) => AttrValue::Bool(b),
        V::IntValue(i) => AttrValue::Int(i),
        V::DoubleValue(d) => AttrValue::Double(d),
        V::BytesValue(b) => {
            use base64::Engine;
            AttrValue::Bytes(base64::engine::general_purpose::STANDARD.encode(b))
        }
        V::ArrayValue(a) => {
            AttrValue::Array(a.values.into_iter().map(|v| v.value.map_or(AttrValue::Empty, value)).collect())
        }
        V::KvlistValue(kv) => AttrValue::KvList(attributes(kv.values)),
    }
}

/// A cheap upper-bound-ish estimate of an attribute set's stored size.
fn approx_size(attrs: &Attributes) -> usize {
    attrs.0.iter().map(|(k, v)| k.len() + 8 + value_size(v)).sum()
}

fn value_size(v: &AttrValue) -> usize {
    match v {
        AttrValue::String(s) | AttrValue::Bytes(s) => s.len(),
        AttrValue::Array(items) => items.iter().map(value_size).sum::<usize>() + items.len(),
        AttrValue::KvList(kv) => approx_size(kv),
        _ => 8,
    }
}
