//! How a log's fields map to the compact columns of `logs` (`compact_logs.sql`): attributes
//! as a text MAP plus one type letter per entry, trace and span ids as integers. Appends go
//! through one Arrow batch per call: DuckDB takes it column by column, where appending a
//! MAP value per row cost half the ingest speed (27k instead of 60k records/s).

use std::sync::Arc;

use duckdb::arrow::array::{
    ArrayRef, Int32Builder, Int64Builder, MapBuilder, RecordBatch, StringBuilder, UInt8Builder,
    UInt32Builder, UInt64Builder,
};
use duckdb::types::Value;
use tether_model::{AttrValue, Attributes};
use tether_store::{ErrorKind, StoreError, StoreResult, StoredLog};

/// The JSON of the last attribute set seen: records of one resource or scope share one
/// `Arc`, so each set is serialized once per batch instead of once per record.
#[derive(Default)]
struct JsonMemo {
    last: Option<(Arc<Attributes>, String)>,
}

impl JsonMemo {
    fn get(&mut self, attrs: &Arc<Attributes>) -> &str {
        let fresh = !matches!(&self.last, Some((prev, _)) if Arc::ptr_eq(prev, attrs));
        if fresh {
            self.last = Some((attrs.clone(), attrs.to_json()));
        }
        self.last.as_ref().map_or("{}", |(_, json)| json.as_str())
    }
}

/// The rows of `logs` as Arrow batches, built in two halves on two threads when there are
/// many (building costs ~3 µs per log, a sixth of a commit at 4,000 logs).
pub(super) fn logs_batches(logs: &[StoredLog]) -> StoreResult<Vec<RecordBatch>> {
    if logs.len() < 1000 {
        return Ok(vec![logs_batch(logs)?]);
    }
    let (first, second) = logs.split_at(logs.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| logs_batch(second));
        let first = logs_batch(first)?;
        let second = other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok(vec![first, second])
    })
}

/// The rows of `logs` as one Arrow batch, columns in the table's order.
fn logs_batch(logs: &[StoredLog]) -> StoreResult<RecordBatch> {
    let n = logs.len();
    let text = || StringBuilder::with_capacity(n, n * 16);
    let (mut project, mut id, mut ts, mut observed) = (
        Int64Builder::with_capacity(n),
        Int64Builder::with_capacity(n),
        Int64Builder::with_capacity(n),
        Int64Builder::with_capacity(n),
    );
    let (mut severity, mut severity_text, mut severity_number, mut service) =
        (UInt8Builder::with_capacity(n), text(), Int32Builder::with_capacity(n), text());
    let (mut body, mut session, mut distinct) = (StringBuilder::with_capacity(n, n * 200), text(), text());
    let (mut trace_high, mut trace_low, mut span, mut flags) = (
        UInt64Builder::with_capacity(n),
        UInt64Builder::with_capacity(n),
        UInt64Builder::with_capacity(n),
        UInt32Builder::with_capacity(n),
    );
    let (mut event, mut scope_name, mut scope_version) = (text(), text(), text());
    let mut attributes = MapBuilder::new(None, text(), text());
    let (mut types, mut resource, mut scope) = (text(), text(), text());
    let (mut resource_json, mut scope_json) = (JsonMemo::default(), JsonMemo::default());
    for log in logs {
        let r = &log.record;
        project.append_value(r.project_id);
        id.append_value(log.id.0);
        ts.append_value(r.timestamp_ns);
        observed.append_value(r.observed_timestamp_ns.wrapping_sub(r.timestamp_ns));
        severity.append_value(r.severity.code());
        severity_text.append_value(&r.severity_text);
        severity_number.append_value(r.severity_number);
        service.append_value(&r.service);
        body.append_value(&r.body);
        session.append_option(r.session_id.as_deref());
        distinct.append_option(r.distinct_id.as_deref());
        let trace = hex_id(&r.trace_id, 32, "trace_id")?.map(halves);
        trace_high.append_option(trace.map(|t| t.0));
        trace_low.append_option(trace.map(|t| t.1));
        span.append_option(hex_id(&r.span_id, 16, "span_id")?.map(|s| s as u64));
        flags.append_value(r.trace_flags);
        event.append_value(&r.event_name);
        scope_name.append_value(&r.scope_name);
        scope_version.append_value(&r.scope_version);
        let ids = LogIds { session: r.session_id.as_deref(), distinct: r.distinct_id.as_deref() };
        types.append_value(append_attributes(&mut attributes, &r.attributes, ids));
        resource.append_value(resource_json.get(&r.resource_attributes));
        scope.append_value(scope_json.get(&r.scope_attributes));
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("project_id", Arc::new(project.finish())),
        ("id", Arc::new(id.finish())),
        ("ts", Arc::new(ts.finish())),
        ("observed_delta", Arc::new(observed.finish())),
        ("severity", Arc::new(severity.finish())),
        ("severity_text", Arc::new(severity_text.finish())),
        ("severity_number", Arc::new(severity_number.finish())),
        ("service", Arc::new(service.finish())),
        ("body", Arc::new(body.finish())),
        ("session_id", Arc::new(session.finish())),
        ("distinct_id", Arc::new(distinct.finish())),
        ("trace_id_high", Arc::new(trace_high.finish())),
        ("trace_id_low", Arc::new(trace_low.finish())),
        ("span_id", Arc::new(span.finish())),
        ("trace_flags", Arc::new(flags.finish())),
        ("event_name", Arc::new(event.finish())),
        ("scope_name", Arc::new(scope_name.finish())),
        ("scope_version", Arc::new(scope_version.finish())),
        ("attributes", Arc::new(attributes.finish())),
        ("attribute_types", Arc::new(types.finish())),
        ("resource_attributes", Arc::new(resource.finish())),
        ("scope_attributes", Arc::new(scope.finish())),
    ];
    RecordBatch::try_from_iter(columns).map_err(|e| StoreError::internal("cannot build the log batch", e))
}

/// Appends one log's `attributes` MAP entry and returns its `attribute_types`. A key given
/// twice keeps its first value (a MAP cannot repeat keys; the JSON form did the same). Each
/// value is stored as the text a filter compares against: strings as they are, numbers and
/// booleans as JSON writes them, arrays and key/value lists as JSON, empty values as NULL.
/// Scalars are formatted into one reused buffer: this runs for every attribute of every log.
///
/// A string equal to the log's session id or distinct id (the attribute the id was read
/// from, e.g. `sessionId`) is stored as a type letter only — `S` or `P`, the value NULL —
/// and read back from the `session_id` / `distinct_id` columns: the same long random text
/// twice per log was ~9 of the 33 bytes per log the attribute values took (benchmark data).
/// [`ATTRIBUTE_VALUE`] resolves them in SQL.
fn append_attributes(
    map: &mut MapBuilder<StringBuilder, StringBuilder>,
    attrs: &Attributes,
    ids: LogIds<'_>,
) -> String {
    use std::fmt::Write;
    let mut types = String::with_capacity(attrs.len());
    let mut number = String::new();
    let mut doubles = ryu::Buffer::new();
    for (i, (key, value)) in attrs.0.iter().enumerate() {
        if attrs.0[..i].iter().any(|(earlier, _)| earlier == key) {
            continue;
        }
        let (letter, text): (char, Option<std::borrow::Cow<'_, str>>) = match value {
            AttrValue::String(s) if ids.session == Some(s.as_str()) => ('S', None),
            AttrValue::String(s) if ids.distinct == Some(s.as_str()) => ('P', None),
            AttrValue::String(s) | AttrValue::Bytes(s) => ('s', Some(s.as_str().into())),
            AttrValue::Int(v) => {
                number.clear();
                let _ = write!(number, "{v}");
                ('i', Some(number.as_str().into()))
            }
            AttrValue::Double(d) if d.is_finite() => ('d', Some(doubles.format_finite(*d).into())),
            AttrValue::Double(_) | AttrValue::Empty => ('e', None),
            AttrValue::Bool(b) => ('b', Some(if *b { "true" } else { "false" }.into())),
            AttrValue::Array(_) => ('a', serde_json::to_string(value).ok().map(Into::into)),
            AttrValue::KvList(kv) => ('k', Some(kv.to_json().into())),
        };
        types.push(letter);
        map.keys().append_value(key);
        map.values().append_option(text);
    }
    // Appending a map entry only fails when keys and values differ in count.
    let _ = map.append(true);
    types
}

/// The ids of a log whose values attributes may stand for (see [`append_attributes`]).
#[derive(Clone, Copy)]
pub(super) struct LogIds<'a> {
    pub(super) session: Option<&'a str>,
    pub(super) distinct: Option<&'a str>,
}

/// An attribute's value in SQL, `key` being a bound parameter (`?`): the MAP's text, or the
/// session or distinct id it stands for (type letter `S` / `P`, see [`append_attributes`]).
pub(super) const ATTRIBUTE_VALUE: &str = "CASE substr(attribute_types, list_position(map_keys(attributes), ?), 1) \
     WHEN 'S' THEN session_id WHEN 'P' THEN distinct_id ELSE attributes[?] END";

/// The inverse of [`append_attributes`], from `map_keys(attributes)`,
/// `map_values(attributes)`, `attribute_types` and the log's ids.
pub(super) fn attributes_from_columns(
    keys: Value,
    values: Value,
    types: &str,
    ids: LogIds<'_>,
) -> Attributes {
    let (Value::List(keys), Value::List(values)) = (keys, values) else { return Attributes::default() };
    let entries = keys.into_iter().zip(values).zip(types.chars().chain(std::iter::repeat('s')));
    Attributes(
        entries
            .filter_map(|((key, value), letter)| {
                let Value::Text(key) = key else { return None };
                let stands_for = match letter {
                    'S' => ids.session,
                    'P' => ids.distinct,
                    _ => None,
                };
                if let Some(id) = stands_for {
                    return Some((key, AttrValue::String(id.to_owned())));
                }
                let text = match value {
                    Value::Text(text) => text,
                    _ => return Some((key, AttrValue::Empty)),
                };
                let value = match letter {
                    'i' => text.parse().map_or(AttrValue::String(text), AttrValue::Int),
                    'd' => text.parse().map_or(AttrValue::String(text), AttrValue::Double),
                    'b' => AttrValue::Bool(text == "true"),
                    'a' | 'k' => {
                        serde_json::from_str(&text).map_or(AttrValue::String(text), AttrValue::from_json)
                    }
                    'e' => AttrValue::Empty,
                    _ => AttrValue::String(text),
                };
                Some((key, value))
            })
            .collect(),
    )
}

/// A trace or span id of `digits` hex digits (empty for none) as an integer.
fn hex_id(hex: &str, digits: usize, name: &str) -> StoreResult<Option<u128>> {
    if hex.is_empty() {
        return Ok(None);
    }
    match u128::from_str_radix(hex, 16) {
        Ok(v) if hex.len() == digits && hex.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(Some(v)),
        _ => Err(StoreError::new(
            ErrorKind::InvalidInput,
            format!("{name} must be {digits} hex digits, got {hex:?}"),
        )),
    }
}

/// A trace id (hex digits in any case) as its two column halves; `None` when the text is
/// not a trace id.
pub(super) fn trace_id_to_columns(hex: &str) -> Option<(u64, u64)> {
    hex_id(hex, 32, "trace_id").ok().flatten().map(halves)
}

fn halves(id: u128) -> (u64, u64) {
    ((id >> 64) as u64, id as u64)
}

/// A trace id from its two column halves, as 32 lowercase hex digits ("" for none).
pub(super) fn trace_id_from_columns(high: Option<u64>, low: Option<u64>) -> String {
    match (high, low) {
        (Some(high), Some(low)) => format!("{high:016x}{low:016x}"),
        _ => String::new(),
    }
}

/// A span id from its column, as 16 lowercase hex digits ("" for none).
pub(super) fn span_id_from_column(span: Option<u64>) -> String {
    span.map_or_else(String::new, |s| format!("{s:016x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_bad_ids_are_refused() {
        let trace = "00f92f3577b34da6a3ce929d0e0e4736";
        let (high, low) = trace_id_to_columns(trace).unwrap();
        assert_eq!(trace_id_from_columns(Some(high), Some(low)), trace);
        let span = hex_id("00f067aa0ba902b7", 16, "span_id").unwrap().map(|s| s as u64);
        assert_eq!(span_id_from_column(span), "00f067aa0ba902b7");
        assert_eq!(hex_id("", 32, "trace_id").unwrap(), None);
        assert!(hex_id("abc", 32, "trace_id").is_err());
        assert!(hex_id("+00000000000000f", 16, "span_id").is_err());
    }
}
