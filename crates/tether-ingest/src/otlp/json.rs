//! OTLP/JSON into the protobuf types, written for what real senders emit rather than only
//! the strict spec: 64-bit integers as strings or numbers, severity numbers as integers or
//! enum names, empty `{}` values, lowerCamelCase or snake_case keys, and JSON Lines (one
//! request per line, merged) as PostHog's Logs endpoint accepts.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::{Map, Value};

use crate::DecodeError;

type Result<T> = std::result::Result<T, DecodeError>;

fn bad(msg: impl Into<String>) -> DecodeError {
    DecodeError::Malformed(msg.into())
}

/// Decodes one OTLP/JSON `ExportLogsServiceRequest`, or several as JSON Lines.
pub(super) fn decode(body: &[u8]) -> Result<ExportLogsServiceRequest> {
    let text = std::str::from_utf8(body).map_err(|_| bad("OTLP/JSON body is not UTF-8"))?;
    match serde_json::from_str::<Value>(text) {
        Ok(value) => request(&value),
        Err(whole_err) => {
            let mut merged = ExportLogsServiceRequest::default();
            let mut lines = text.lines().filter(|l| !l.trim().is_empty()).peekable();
            if lines.peek().is_none() {
                return Err(bad("empty OTLP/JSON body"));
            }
            for (n, line) in lines.enumerate() {
                let value: Value = serde_json::from_str(line).map_err(|e| {
                    if n == 0 {
                        bad(format!("invalid JSON: {whole_err}"))
                    } else {
                        bad(format!("invalid JSON on line {}: {e}", n + 1))
                    }
                })?;
                merged.resource_logs.extend(request(&value)?.resource_logs);
            }
            Ok(merged)
        }
    }
}

fn request(value: &Value) -> Result<ExportLogsServiceRequest> {
    let obj = value.as_object().ok_or_else(|| bad("OTLP/JSON body must be an object"))?;
    Ok(ExportLogsServiceRequest { resource_logs: list(obj, "resourceLogs", "resource_logs", resource_logs)? })
}

/// Reads an array field that may be absent or null (then empty).
fn list<T>(obj: &Map<String, Value>, camel: &str, snake: &str, f: fn(&Value) -> Result<T>) -> Result<Vec<T>> {
    match field(obj, camel, snake) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(f).collect(),
        Some(_) => Err(bad(format!("{camel} must be an array"))),
    }
}

fn field<'a>(obj: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<&'a Value> {
    obj.get(camel).or_else(|| obj.get(snake))
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>> {
    value.as_object().ok_or_else(|| bad(format!("{what} must be an object")))
}

fn string(obj: &Map<String, Value>, camel: &str, snake: &str) -> Result<String> {
    match field(obj, camel, snake) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(bad(format!("{camel} must be a string"))),
    }
}

/// A 64-bit unsigned integer sent as a JSON string (the spec) or number (common).
fn uint64(obj: &Map<String, Value>, camel: &str, snake: &str) -> Result<u64> {
    match field(obj, camel, snake) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64))
            .ok_or_else(|| bad(format!("{camel} must be a non-negative integer"))),
        Some(Value::String(s)) if s.is_empty() => Ok(0),
        Some(Value::String(s)) => {
            s.parse().map_err(|_| bad(format!("{camel} must be an integer, got {s:?}")))
        }
        Some(_) => Err(bad(format!("{camel} must be an integer"))),
    }
}

fn uint32(obj: &Map<String, Value>, camel: &str, snake: &str) -> Result<u32> {
    u32::try_from(uint64(obj, camel, snake)?).map_err(|_| bad(format!("{camel} is out of range")))
}

fn resource_logs(value: &Value) -> Result<ResourceLogs> {
    let obj = object(value, "resourceLogs item")?;
    let resource = match field(obj, "resource", "resource") {
        None | Some(Value::Null) => None,
        Some(r) => {
            let r = object(r, "resource")?;
            Some(Resource {
                attributes: list(r, "attributes", "attributes", key_value)?,
                dropped_attributes_count: uint32(r, "droppedAttributesCount", "dropped_attributes_count")?,
                entity_refs: Vec::new(),
            })
        }
    };
    Ok(ResourceLogs {
        resource,
        scope_logs: list(obj, "scopeLogs", "scope_logs", scope_logs)?,
        schema_url: string(obj, "schemaUrl", "schema_url")?,
    })
}

fn scope_logs(value: &Value) -> Result<ScopeLogs> {
    let obj = object(value, "scopeLogs item")?;
    let scope = match field(obj, "scope", "scope") {
        None | Some(Value::Null) => None,
        Some(s) => {
            let s = object(s, "scope")?;
            Some(InstrumentationScope {
                name: string(s, "name", "name")?,
                version: string(s, "version", "version")?,
                attributes: list(s, "attributes", "attributes", key_value)?,
                dropped_attributes_count: uint32(s, "droppedAttributesCount", "dropped_attributes_count")?,
            })
        }
    };
    Ok(ScopeLogs {
        scope,
        log_records: list(obj, "logRecords", "log_records", log_record)?,
        schema_url: string(obj, "schemaUrl", "schema_url")?,
    })
}

fn log_record(value: &Value) -> Result<LogRecord> {
    let obj = object(value, "logRecords item")?;
    Ok(LogRecord {
        time_unix_nano: uint64(obj, "timeUnixNano", "time_unix_nano")?,
        observed_time_unix_nano: uint64(obj, "observedTimeUnixNano", "observed_time_unix_nano")?,
        severity_number: severity_number(field(obj, "severityNumber", "severity_number"))?,
        severity_text: string(obj, "severityText", "severity_text")?,
        body: match field(obj, "body", "body") {
            None | Some(Value::Null) => None,
            Some(b) => Some(any_value(b)?),
        },
        attributes: list(obj, "attributes", "attributes", key_value)?,
        dropped_attributes_count: uint32(obj, "droppedAttributesCount", "dropped_attributes_count")?,
        flags: uint32(obj, "flags", "flags")?,
        trace_id: id_bytes(obj, "traceId", "trace_id")?,
        span_id: id_bytes(obj, "spanId", "span_id")?,
        event_name: string(obj, "eventName", "event_name")?,
    })
}

fn severity_number(value: Option<&Value>) -> Result<i32> {
    match value {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| bad("severityNumber must be an integer")),
        Some(Value::String(name)) => SeverityNumber::from_str_name(name)
            .map(|s| s as i32)
            .or_else(|| name.parse().ok())
            .ok_or_else(|| bad(format!("unknown severityNumber {name:?}"))),
        Some(_) => Err(bad("severityNumber must be an integer")),
    }
}

/// Trace and span ids are hex in OTLP/JSON. Invalid ids are dropped (the record is not
/// associated with a trace), as the spec tells receivers to treat them.
fn id_bytes(obj: &Map<String, Value>, camel: &str, snake: &str) -> Result<Vec<u8>> {
    let text = string(obj, camel, snake)?;
    Ok(hex::decode(text.trim()).unwrap_or_default())
}

fn key_value(value: &Value) -> Result<KeyValue> {
    let obj = object(value, "attribute")?;
    let key = match obj.get("key") {
        Some(Value::String(k)) => k.clone(),
        _ => return Err(bad("attribute key must be a string")),
    };
    let value = match obj.get("value") {
        None | Some(Value::Null) => None,
        Some(v) => Some(any_value(v)?),
    };
    Ok(KeyValue { key, value })
}

fn any_value(value: &Value) -> Result<AnyValue> {
    use any_value::Value as V;
    let obj = object(value, "AnyValue")?;
    let Some((kind, inner)) = obj.iter().find(|(_, v)| !v.is_null()) else {
        return Ok(AnyValue { value: None });
    };
    let v = match (kind.as_str(), inner) {
        ("stringValue" | "string_value", Value::String(s)) => V::StringValue(s.clone()),
        ("boolValue" | "bool_value", Value::Bool(b)) => V::BoolValue(*b),
        ("intValue" | "int_value", Value::Number(n)) => {
            V::IntValue(n.as_i64().ok_or_else(|| bad("intValue must be a 64-bit integer"))?)
        }
        ("intValue" | "int_value", Value::String(s)) => {
            V::IntValue(s.parse().map_err(|_| bad(format!("intValue must be an integer, got {s:?}")))?)
        }
        ("doubleValue" | "double_value", Value::Number(n)) => {
            V::DoubleValue(n.as_f64().ok_or_else(|| bad("doubleValue must be a number"))?)
        }
        // The proto3 JSON mapping writes non-finite doubles as strings.
        ("doubleValue" | "double_value", Value::String(s)) => {
            V::DoubleValue(s.parse().map_err(|_| bad(format!("doubleValue must be a number, got {s:?}")))?)
        }
        ("bytesValue" | "bytes_value", Value::String(s)) => {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|_| bad("bytesValue must be base64"))?;
            V::BytesValue(bytes)
        }
        ("arrayValue" | "array_value", Value::Object(a)) => {
            V::ArrayValue(ArrayValue { values: list(a, "values", "values", any_value)? })
        }
        ("kvlistValue" | "kvlist_value", Value::Object(kv)) => {
            V::KvlistValue(KeyValueList { values: list(kv, "values", "values", key_value)? })
        }
        (kind, _) => return Err(bad(format!("unsupported AnyValue field {kind:?} or wrong type"))),
    };
    Ok(AnyValue { value: Some(v) })
}
