//! How a log's fields map to the compact columns of `logs` (`compact_logs.sql`,
//! `slot_attributes.sql`, `slot_keys.sql`): attributes as a value column per entry
//! ("slots", their keys joined in one column) plus a MAP for entries beyond them, one type
//! letter per entry; trace and span ids as integers.
//! Appends go through one Arrow batch per call: DuckDB takes it column by column, where
//! appending a MAP value per row cost half the ingest speed (27k instead of 60k records/s).
//! Events are appended the same way (`events_batch`).

use std::sync::{Arc, LazyLock};

use duckdb::arrow::array::{
    ArrayRef, Int32Builder, Int64Builder, MapBuilder, RecordBatch, StringBuilder, UInt8Builder,
    UInt32Builder, UInt64Builder,
};
use duckdb::types::Value;
use tether_model::{AttrValue, Attributes, Event};
use tether_store::{ErrorKind, StoreError, StoreResult, StoredLog};

/// Attribute entries stored in their own `attr_value_N` columns (N from 1), in the
/// record's order, their keys joined by [`KEY_SEPARATOR`] in `attribute_keys`; later
/// entries go to the `more_attributes` MAP. Twelve covers the records of most producers; an
/// unused slot costs next to nothing (a NULL).
pub(super) const SLOTS: usize = 12;

/// Joins the slots' keys in `attribute_keys` (U+001F, the unit separator: SQL splits on
/// `chr(31)`). A record with a key holding it keeps every entry in the MAP.
pub(super) const KEY_SEPARATOR: char = '\u{1f}';

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
    let mut keys = text();
    let mut slots: Vec<StringBuilder> = (0..SLOTS).map(|_| text()).collect();
    let mut more = MapBuilder::new(None, text(), text());
    let (mut types, mut resource, mut scope) = (text(), text(), text());
    let (mut resource_json, mut scope_json) = (JsonMemo::default(), JsonMemo::default());
    for log in logs {
        let r = &log.record;
        project.append_value(r.project_id);
        id.append_value(log.id.0);
        ts.append_value(r.timestamp_ns);
        observed.append_value(r.observed_timestamp_ns.wrapping_sub(r.timestamp_ns));
        severity.append_value(r.severity.code());
        severity_text.append_option(unless(r.severity_text.as_str(), r.severity.otlp_text()));
        severity_number.append_option(unless(r.severity_number, r.severity.otlp_number()));
        service.append_value(&r.service);
        body.append_value(&r.body);
        session.append_option(r.session_id.as_deref());
        distinct.append_option(r.distinct_id.as_deref());
        let trace = hex_id(&r.trace_id, 32, "trace_id")?.map(halves);
        trace_high.append_option(trace.map(|t| t.0));
        trace_low.append_option(trace.map(|t| t.1));
        span.append_option(hex_id(&r.span_id, 16, "span_id")?.map(|s| s as u64));
        flags.append_value(r.trace_flags);
        event.append_option(unless(r.event_name.as_str(), ""));
        scope_name.append_option(unless(r.scope_name.as_str(), ""));
        scope_version.append_option(unless(r.scope_version.as_str(), ""));
        let ids = LogIds { session: r.session_id.as_deref(), distinct: r.distinct_id.as_deref() };
        types.append_value(append_attributes(&mut keys, &mut slots, &mut more, &r.attributes, ids));
        resource.append_option(unless(resource_json.get(&r.resource_attributes), "{}"));
        scope.append_option(unless(scope_json.get(&r.scope_attributes), "{}"));
    }
    let mut columns: Vec<(String, ArrayRef)> = vec![
        ("project_id".into(), Arc::new(project.finish())),
        ("id".into(), Arc::new(id.finish())),
        ("ts".into(), Arc::new(ts.finish())),
        ("observed_delta".into(), Arc::new(observed.finish())),
        ("severity".into(), Arc::new(severity.finish())),
        ("severity_text".into(), Arc::new(severity_text.finish())),
        ("severity_number".into(), Arc::new(severity_number.finish())),
        ("service".into(), Arc::new(service.finish())),
        ("body".into(), Arc::new(body.finish())),
        ("session_id".into(), Arc::new(session.finish())),
        ("distinct_id".into(), Arc::new(distinct.finish())),
        ("trace_id_high".into(), Arc::new(trace_high.finish())),
        ("trace_id_low".into(), Arc::new(trace_low.finish())),
        ("span_id".into(), Arc::new(span.finish())),
        ("trace_flags".into(), Arc::new(flags.finish())),
        ("event_name".into(), Arc::new(event.finish())),
        ("scope_name".into(), Arc::new(scope_name.finish())),
        ("scope_version".into(), Arc::new(scope_version.finish())),
    ];
    columns.push(("attribute_keys".into(), Arc::new(keys.finish())));
    for (i, value) in slots.iter_mut().enumerate() {
        columns.push((format!("attr_value_{}", i + 1), Arc::new(value.finish())));
    }
    columns.extend([
        ("more_attributes".into(), Arc::new(more.finish()) as ArrayRef),
        ("attribute_types".into(), Arc::new(types.finish())),
        ("resource_attributes".into(), Arc::new(resource.finish())),
        ("scope_attributes".into(), Arc::new(scope.finish())),
    ]);
    RecordBatch::try_from_iter(columns).map_err(|e| StoreError::internal("cannot build the log batch", e))
}

/// `value`, or NULL when it is what the column stands for when NULL (`default`): even a
/// constant text costs a bit per row in DuckDB, a NULL column next to nothing. Applied to
/// the severity text and number (NULL: the level's OTLP name and first number, what most
/// SDKs send), event and scope names and version (NULL: empty) and resource and scope
/// attributes (NULL: none) — ~1 byte per log on the benchmark data.
fn unless<T: PartialEq>(value: T, default: T) -> Option<T> {
    (value != default).then_some(value)
}

/// Appends one log's attribute entries — the first [`SLOTS`] to the slot columns (the
/// unused ones NULL) and their keys to `attribute_keys` (NULL for none), the rest to the
/// `more_attributes` MAP — and returns its `attribute_types`. A key given twice keeps its first value (the JSON form did the
/// same). Each value is stored as the text a filter compares against: strings as they are,
/// numbers and booleans as JSON writes them, arrays and key/value lists as JSON, empty
/// values as NULL. Scalars are formatted into one reused buffer: this runs for every
/// attribute of every log.
///
/// A string in a slot equal to the log's session id or distinct id (the attribute the id
/// was read from, e.g. `sessionId`) is stored as a type letter only — `S` or `P`, the value
/// NULL — and read back from the `session_id` / `distinct_id` columns: the same long random
/// text twice per log was ~9 of the 33 bytes per log the attribute values took (benchmark
/// data). [`ATTRIBUTE_VALUE`] resolves them in SQL.
fn append_attributes(
    keys: &mut StringBuilder,
    slots: &mut [StringBuilder],
    more: &mut MapBuilder<StringBuilder, StringBuilder>,
    attrs: &Attributes,
    ids: LogIds<'_>,
) -> String {
    use std::fmt::Write;
    let mut types = String::with_capacity(attrs.len());
    let mut number = String::new();
    let mut doubles = ryu::Buffer::new();
    let joinable = !attrs.0.iter().take(slots.len()).any(|(key, _)| key.contains(KEY_SEPARATOR));
    let slot_count = if joinable { slots.len() } else { 0 };
    let mut slot_keys = String::new();
    let mut stored = 0;
    for (i, (key, value)) in attrs.0.iter().enumerate() {
        if attrs.0[..i].iter().any(|(earlier, _)| earlier == key) {
            continue;
        }
        let in_slot = stored < slot_count;
        let (letter, text): (char, Option<std::borrow::Cow<'_, str>>) = match value {
            AttrValue::String(s) if in_slot && ids.session == Some(s.as_str()) => ('S', None),
            AttrValue::String(s) if in_slot && ids.distinct == Some(s.as_str()) => ('P', None),
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
        if in_slot {
            if stored > 0 {
                slot_keys.push(KEY_SEPARATOR);
            }
            slot_keys.push_str(key);
            slots[stored].append_option(text);
        } else {
            more.keys().append_value(key);
            more.values().append_option(text);
        }
        stored += 1;
    }
    let in_slots = stored.min(slot_count);
    keys.append_option((in_slots > 0).then_some(slot_keys));
    for values in slots.iter_mut().skip(in_slots) {
        values.append_null();
    }
    // NULL rather than an empty MAP when the slots held everything: an empty MAP in every
    // row cost ~1 byte per log. Appending only fails when keys and values differ in count.
    let _ = more.append(stored > in_slots);
    types
}

/// The ids of a log whose values attributes may stand for (see [`append_attributes`]).
#[derive(Clone, Copy)]
pub(super) struct LogIds<'a> {
    pub(super) session: Option<&'a str>,
    pub(super) distinct: Option<&'a str>,
}

/// `CASE <the slot of ?> WHEN 1 THEN {then(1)} … ELSE {otherwise} END`, the key a bound
/// parameter: the slot holding that key (keys are unique within a log), else `otherwise`.
/// DuckDB splits and searches `attribute_keys` once per dictionary entry, not per row:
/// counting the logs with a key over 2 M took 3 ms, against 54 comparing twelve key
/// columns.
fn by_key(then: impl Fn(usize) -> String, otherwise: &str) -> String {
    let arms: String = (1..=SLOTS).map(|i| format!(" WHEN {i} THEN {}", then(i))).collect();
    format!("CASE list_position(string_split(attribute_keys, chr(31)), ?){arms} ELSE {otherwise} END")
}

/// Slot `i`'s value as filters see it: its text, or the session or distinct id it stands
/// for (type letter `S` / `P`, see [`append_attributes`]).
fn slot_value(i: usize) -> String {
    format!(
        "coalesce(attr_value_{i}, CASE substr(attribute_types, {i}, 1) \
         WHEN 'S' THEN session_id WHEN 'P' THEN distinct_id END)"
    )
}

/// The columns a log's attributes are read from, as filters see them: the slots' keys, the
/// slots, the MAP, the slots' types and the ids a slot of type `S` / `P` stands for.
pub(super) static ATTRIBUTE_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let slots = (1..=SLOTS).map(|i| format!("attr_value_{i}, "));
    format!(
        "attribute_keys, {}more_attributes, attribute_types, session_id, distinct_id",
        slots.collect::<String>()
    )
});

/// An attribute's value in SQL, with two bound parameters, both the key.
pub(super) static ATTRIBUTE_VALUE: LazyLock<String> =
    LazyLock::new(|| by_key(slot_value, "more_attributes[?]"));

/// Whether a log has an attribute, with two bound parameters, both the key.
pub(super) static ATTRIBUTE_EXISTS: LazyLock<String> =
    LazyLock::new(|| by_key(|_| "true".into(), "coalesce(map_contains(more_attributes, ?), false)"));

/// The inverse of [`append_attributes`], from `attribute_keys`, the slot columns, the
/// `more_attributes` MAP, `attribute_types` and the log's ids.
pub(super) fn attributes_from_columns(
    slot_keys: Option<&str>,
    slots: Vec<Option<String>>,
    more: Value,
    types: &str,
    ids: LogIds<'_>,
) -> Attributes {
    let in_slots =
        slot_keys.into_iter().flat_map(|keys| keys.split(KEY_SEPARATOR)).map(str::to_owned).zip(slots);
    let more: Vec<(String, Option<String>)> = match more {
        Value::Map(map) => map
            .iter()
            .filter_map(|(key, value)| match (key, value) {
                (Value::Text(key), Value::Text(value)) => Some((key.clone(), Some(value.clone()))),
                (Value::Text(key), _) => Some((key.clone(), None)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let entries = in_slots.chain(more).zip(types.chars().chain(std::iter::repeat('s')));
    Attributes(
        entries
            .map(|((key, value), letter)| {
                let stands_for = match letter {
                    'S' => ids.session,
                    'P' => ids.distinct,
                    _ => None,
                };
                if let Some(id) = stands_for {
                    return (key, AttrValue::String(id.to_owned()));
                }
                let Some(text) = value else { return (key, AttrValue::Empty) };
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
                (key, value)
            })
            .collect(),
    )
}

/// A trace or span id of `digits` hex digits in any case (empty for none) as an integer.
pub(crate) fn hex_id(hex: &str, digits: usize, name: &str) -> StoreResult<Option<u128>> {
    if hex.is_empty() {
        return Ok(None);
    }
    let mut bytes = [0u8; 16];
    let at = 16usize.saturating_sub(digits / 2);
    match hex::decode_to_slice(hex, &mut bytes[at..]) {
        Ok(()) => Ok(Some(u128::from_be_bytes(bytes))),
        Err(_) => Err(StoreError::new(
            ErrorKind::InvalidInput,
            format!("{name} must be {digits} hex digits, got {hex:?}"),
        )),
    }
}

/// A trace id (hex digits in any case) as its two column halves; `None` when the text is
/// not a trace id.
pub(crate) fn trace_id_to_columns(hex: &str) -> Option<(u64, u64)> {
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

/// The rows of `events` as one Arrow batch, columns in the table's order. A row at a time
/// (nine values through the C API each) was a tenth of the server's CPU on `/e/` at 64
/// clients, on the write connection every request waits for.
pub(super) fn events_batch(events: &[&Event]) -> StoreResult<RecordBatch> {
    let n = events.len();
    let text = |bytes: usize| StringBuilder::with_capacity(n, bytes);
    let (mut project, mut ts) = (Int64Builder::with_capacity(n), Int64Builder::with_capacity(n));
    let (mut uuid, mut event, mut distinct_id) = (text(n * 36), text(n * 16), text(n * 24));
    let (mut session_id, mut window_id, mut url) = (text(n * 36), text(n * 36), text(n * 48));
    let mut properties = text(events.iter().map(|e| e.properties.len()).sum());
    for e in events {
        project.append_value(e.project_id);
        uuid.append_value(&e.uuid);
        event.append_value(&e.event);
        distinct_id.append_value(&e.distinct_id);
        session_id.append_option(e.session_id.as_deref());
        window_id.append_option(e.window_id.as_deref());
        ts.append_value(e.timestamp_ms);
        url.append_option(e.current_url.as_deref());
        properties.append_value(&e.properties);
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("project_id", Arc::new(project.finish())),
        ("uuid", Arc::new(uuid.finish())),
        ("event", Arc::new(event.finish())),
        ("distinct_id", Arc::new(distinct_id.finish())),
        ("session_id", Arc::new(session_id.finish())),
        ("window_id", Arc::new(window_id.finish())),
        ("ts_ms", Arc::new(ts.finish())),
        ("current_url", Arc::new(url.finish())),
        ("properties", Arc::new(properties.finish())),
    ];
    RecordBatch::try_from_iter(columns).map_err(|e| StoreError::internal("cannot build the event batch", e))
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
