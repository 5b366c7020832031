//! One block of logs as bytes, column by column: the numbers of every log together, then
//! every body, every session id, every value of one attribute key…, so zstd (with the
//! store's trained dictionary) sees alike values side by side. Lossless for every field of
//! a [`StoredLog`] but the project, which the block's folder says. The format is our own
//! because no library reads one row of a small compressed block cheaply: DuckDB decodes a
//! 2,048-row vector per column, tantivy's document store keeps whole records (79 bytes/log
//! against this layout's 49 on the benchmark's logs, see DESIGN.md).

use std::sync::Arc;

use tether_model::{AttrValue, Attributes, LogId, LogRecord, ProjectId, Severity};
use tether_store::{StoreResult, StoredLog};

use super::varint::{Reader, put_bytes, put_signed, put_unsigned};
use crate::duck::columns::hex_id;

/// The streams of a block, in the order they are written; its tables borrow from the
/// logs (encoding is on the ingest path: a clone per log was a cost of every append).
#[derive(Default)]
struct Streams<'a> {
    /// Per log: id, time and observed-time deltas, severity, severity number, flags, and
    /// indexes into the block's tables (service, key list, resource, scope).
    numbers: Vec<u8>,
    /// Per log: severity text, event name, scope name and version (mostly empty).
    texts: Vec<u8>,
    bodies: Vec<u8>,
    /// Per log: session and distinct id, each absent (0) or its length + 1 and bytes.
    people: Vec<u8>,
    /// Per log: trace id (0 or 1 and 16 bytes), span id (0 or 1 and 8 bytes).
    traces: Vec<u8>,
    /// Tables: services, key lists, resource and scope attribute sets.
    services: Vec<&'a str>,
    /// Attribute lists, compared by their keys alone.
    key_lists: Vec<&'a Attributes>,
    resources: Vec<&'a Arc<Attributes>>,
    scopes: Vec<&'a Arc<Attributes>>,
    /// Each attribute key's values, in the order the key was first seen.
    values: Vec<(&'a str, Vec<u8>)>,
}

/// How an attribute value is written: a tag byte, then its payload.
mod tag {
    pub(super) const STRING: u8 = 0;
    pub(super) const INT: u8 = 1;
    pub(super) const DOUBLE: u8 = 2;
    pub(super) const TRUE: u8 = 3;
    pub(super) const FALSE: u8 = 4;
    pub(super) const BYTES: u8 = 5;
    pub(super) const ARRAY: u8 = 6;
    pub(super) const KV_LIST: u8 = 7;
    pub(super) const EMPTY: u8 = 8;
    /// A string equal to the log's session id (how SDKs send it: `sessionId`), kept once.
    pub(super) const SESSION: u8 = 9;
    /// A string equal to the log's distinct id.
    pub(super) const PERSON: u8 = 10;
}

fn index_of<T: Copy>(table: &mut Vec<T>, value: T, same: impl Fn(T, T) -> bool) -> usize {
    match table.iter().position(|&t| same(t, value)) {
        Some(i) => i,
        None => {
            table.push(value);
            table.len() - 1
        }
    }
}

/// A trace or span id's bytes (16 or 8), or 0 when it has none.
fn put_hex(out: &mut Vec<u8>, id: Option<&[u8]>) {
    match id {
        Some(bytes) => {
            out.push(1);
            out.extend_from_slice(bytes);
        }
        None => out.push(0),
    }
}

/// Whether two shared attribute sets are equal (the logs of one OTLP resource or scope
/// share its set: no need to compare them).
fn same_set(a: &Arc<Attributes>, b: &Arc<Attributes>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// Whether two attribute lists have the same keys in the same order.
fn same_keys(a: &Attributes, b: &Attributes) -> bool {
    a.0.iter().map(|(k, _)| k).eq(b.0.iter().map(|(k, _)| k))
}

fn put_optional(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(t) => {
            put_unsigned(out, t.len() as u64 + 1);
            out.extend_from_slice(t.as_bytes());
        }
        None => put_unsigned(out, 0),
    }
}

fn put_value(out: &mut Vec<u8>, value: &AttrValue, ids: [Option<&str>; 2]) {
    match value {
        AttrValue::String(s) if ids[0] == Some(s.as_str()) => out.push(tag::SESSION),
        AttrValue::String(s) if ids[1] == Some(s.as_str()) => out.push(tag::PERSON),
        AttrValue::String(s) => {
            out.push(tag::STRING);
            put_bytes(out, s.as_bytes());
        }
        AttrValue::Int(i) => {
            out.push(tag::INT);
            put_signed(out, *i);
        }
        AttrValue::Double(d) => {
            out.push(tag::DOUBLE);
            out.extend_from_slice(&d.to_le_bytes());
        }
        AttrValue::Bool(b) => out.push(if *b { tag::TRUE } else { tag::FALSE }),
        AttrValue::Bytes(s) => {
            out.push(tag::BYTES);
            put_bytes(out, s.as_bytes());
        }
        AttrValue::Array(items) => {
            out.push(tag::ARRAY);
            put_unsigned(out, items.len() as u64);
            items.iter().for_each(|item| put_value(out, item, [None, None]));
        }
        AttrValue::KvList(kv) => {
            out.push(tag::KV_LIST);
            put_attributes(out, kv);
        }
        AttrValue::Empty => out.push(tag::EMPTY),
    }
}

fn put_attributes(out: &mut Vec<u8>, attributes: &Attributes) {
    put_unsigned(out, attributes.0.len() as u64);
    for (key, value) in &attributes.0 {
        put_bytes(out, key.as_bytes());
        put_value(out, value, [None, None]);
    }
}

/// The block's bytes (uncompressed). Refuses a trace or span id that is not hex.
pub(crate) fn encode(logs: &[StoredLog]) -> StoreResult<Vec<u8>> {
    let mut s = Streams::default();
    let (mut id, mut ts) = (0i64, 0i64);
    for log in logs {
        let r = &log.record;
        let trace = hex_id(&r.trace_id, 32, "trace_id")?.map(u128::to_be_bytes);
        let span = hex_id(&r.span_id, 16, "span_id")?.map(|s| (s as u64).to_be_bytes());
        let n = &mut s.numbers;
        put_signed(n, log.id.0.wrapping_sub(id));
        put_signed(n, r.timestamp_ns.wrapping_sub(ts));
        put_signed(n, r.observed_timestamp_ns.wrapping_sub(r.timestamp_ns));
        (id, ts) = (log.id.0, r.timestamp_ns);
        n.push(r.severity.code());
        put_signed(n, i64::from(r.severity_number));
        put_unsigned(n, u64::from(r.trace_flags));
        for index in [
            index_of(&mut s.services, r.service.as_str(), |a, b| a == b),
            index_of(&mut s.key_lists, &r.attributes, same_keys),
            index_of(&mut s.resources, &r.resource_attributes, same_set),
            index_of(&mut s.scopes, &r.scope_attributes, same_set),
        ] {
            put_unsigned(&mut s.numbers, index as u64);
        }
        for text in [&r.severity_text, &r.event_name, &r.scope_name, &r.scope_version] {
            put_bytes(&mut s.texts, text.as_bytes());
        }
        put_bytes(&mut s.bodies, r.body.as_bytes());
        put_optional(&mut s.people, r.session_id.as_deref());
        put_optional(&mut s.people, r.distinct_id.as_deref());
        put_hex(&mut s.traces, trace.as_ref().map(|t| &t[..]));
        put_hex(&mut s.traces, span.as_ref().map(|t| &t[..]));
        let ids = [r.session_id.as_deref(), r.distinct_id.as_deref()];
        for (key, value) in &r.attributes.0 {
            let stream = match s.values.iter().position(|(k, _)| k == key) {
                Some(i) => i,
                None => {
                    s.values.push((key, Vec::new()));
                    s.values.len() - 1
                }
            };
            put_value(&mut s.values[stream].1, value, ids);
        }
    }
    let mut out = Vec::new();
    put_unsigned(&mut out, logs.len() as u64);
    for stream in [&s.numbers, &s.texts, &s.bodies, &s.people, &s.traces] {
        put_bytes(&mut out, stream);
    }
    // The tables as one length-prefixed part: a reader that keeps no log of the block
    // steps over them without building them.
    let mut tables = Vec::new();
    put_unsigned(&mut tables, s.services.len() as u64);
    s.services.iter().for_each(|service| put_bytes(&mut tables, service.as_bytes()));
    put_unsigned(&mut tables, s.key_lists.len() as u64);
    for list in &s.key_lists {
        put_unsigned(&mut tables, list.0.len() as u64);
        list.0.iter().for_each(|(key, _)| put_bytes(&mut tables, key.as_bytes()));
    }
    for table in [&s.resources, &s.scopes] {
        put_unsigned(&mut tables, table.len() as u64);
        table.iter().for_each(|attributes| put_attributes(&mut tables, attributes));
    }
    put_bytes(&mut out, &tables);
    put_unsigned(&mut out, s.values.len() as u64);
    for (key, values) in &s.values {
        put_bytes(&mut out, key.as_bytes());
        put_bytes(&mut out, values);
    }
    Ok(out)
}

use super::varint::corrupt;

fn read_value(r: &mut Reader, ids: [&Option<String>; 2]) -> StoreResult<AttrValue> {
    Ok(match r.byte()? {
        tag::STRING => AttrValue::String(r.text()?),
        tag::INT => AttrValue::Int(r.signed()?),
        tag::DOUBLE => AttrValue::Double(f64::from_le_bytes(r.array()?)),
        tag::TRUE => AttrValue::Bool(true),
        tag::FALSE => AttrValue::Bool(false),
        tag::BYTES => AttrValue::Bytes(r.text()?),
        tag::ARRAY => {
            let n = r.unsigned()? as usize;
            AttrValue::Array((0..n).map(|_| read_value(r, [&None, &None])).collect::<StoreResult<_>>()?)
        }
        tag::KV_LIST => AttrValue::KvList(read_attributes(r)?),
        tag::EMPTY => AttrValue::Empty,
        tag::SESSION => AttrValue::String(ids[0].clone().ok_or_else(corrupt)?),
        tag::PERSON => AttrValue::String(ids[1].clone().ok_or_else(corrupt)?),
        _ => return Err(corrupt()),
    })
}

fn read_attributes(r: &mut Reader) -> StoreResult<Attributes> {
    let n = r.unsigned()? as usize;
    let mut attributes = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let key = r.text()?;
        attributes.push((key, read_value(r, [&None, &None])?));
    }
    Ok(Attributes(attributes))
}

fn read_optional(r: &mut Reader) -> StoreResult<Option<String>> {
    match r.unsigned()? {
        0 => Ok(None),
        n => Ok(Some(r.text_of(n as usize - 1)?)),
    }
}

/// Steps over what [`put_optional`] wrote.
fn read_optional_len(r: &mut Reader) -> StoreResult<()> {
    match r.unsigned()? {
        0 => Ok(()),
        n => r.take(n as usize - 1).map(drop),
    }
}

fn read_hex(r: &mut Reader, bytes: usize) -> StoreResult<String> {
    match r.byte()? {
        0 => Ok(String::new()),
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let hex =
                r.take(bytes)?.iter().flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            Ok(hex.map(char::from).collect())
        }
    }
}

fn table<'a, T>(
    r: &mut Reader<'a>,
    mut item: impl FnMut(&mut Reader<'a>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let n = r.unsigned()? as usize;
    (0..n).map(|_| item(r)).collect()
}

/// The values of attribute `key`.
fn stream<'v, 'a>(values: &'v mut [(&str, Reader<'a>)], key: &str) -> StoreResult<&'v mut Reader<'a>> {
    values.iter_mut().find(|(k, _)| *k == key).map(|(_, r)| r).ok_or_else(corrupt)
}

/// Steps over a value [`put_value`] wrote.
fn skip_value(r: &mut Reader) -> StoreResult<()> {
    match r.byte()? {
        tag::STRING | tag::BYTES => drop(r.bytes()?),
        tag::INT => drop(r.signed()?),
        tag::DOUBLE => drop(r.array::<8>()?),
        tag::ARRAY => {
            for _ in 0..r.unsigned()? {
                skip_value(r)?;
            }
        }
        tag::KV_LIST => {
            for _ in 0..r.unsigned()? {
                r.bytes()?;
                skip_value(r)?;
            }
        }
        tag::TRUE | tag::FALSE | tag::EMPTY | tag::SESSION | tag::PERSON => {}
        _ => return Err(corrupt()),
    }
    Ok(())
}

/// The logs of a block [`encode`] wrote, in the order they were given.
pub(crate) fn decode(bytes: &[u8], project_id: ProjectId) -> StoreResult<Vec<StoredLog>> {
    decode_where(bytes, project_id, |_| true)
}

/// What [`decode_where`] shows of a log before building it.
pub(crate) struct Peek<'a> {
    /// Its place in the block.
    pub(crate) index: usize,
    pub(crate) id: i64,
    pub(crate) timestamp_ns: i64,
    pub(crate) body: &'a str,
}

impl Peek<'_> {
    /// What a built log shows (`index`: its place in its block).
    pub(crate) fn of(index: usize, log: &StoredLog) -> Peek<'_> {
        Peek { index, id: log.id.0, timestamp_ns: log.record.timestamp_ns, body: &log.record.body }
    }
}

/// The logs of a block for which `keep` holds, in the order they were given. Which are
/// kept is decided from the times, ids and bodies alone; a block keeping none is left
/// there, and the others are stepped over without being built (a trace's 8 logs, or the
/// few whose body holds a text, from blocks of 32).
pub(crate) fn decode_where(
    bytes: &[u8],
    project_id: ProjectId,
    mut keep: impl FnMut(&Peek) -> bool,
) -> StoreResult<Vec<StoredLog>> {
    let mut r = Reader::new(bytes);
    let count = r.unsigned()? as usize;
    let mut numbers = Reader::new(r.bytes()?);
    let mut texts = Reader::new(r.bytes()?);
    let mut bodies = Reader::new(r.bytes()?);
    let mut people = Reader::new(r.bytes()?);
    let mut traces = Reader::new(r.bytes()?);
    let mut tables = Reader::new(r.bytes()?);
    let mut kept = Vec::with_capacity(count.min(1 << 16));
    {
        let (mut numbers, mut bodies) = (numbers.clone(), bodies.clone());
        let (mut id, mut ts) = (0i64, 0i64);
        for index in 0..count {
            id = id.wrapping_add(numbers.signed()?);
            ts = ts.wrapping_add(numbers.signed()?);
            skip_numbers(&mut numbers)?;
            let body = std::str::from_utf8(bodies.bytes()?).map_err(|_| corrupt())?;
            kept.push(keep(&Peek { index, id, timestamp_ns: ts, body }));
        }
    }
    if !kept.contains(&true) {
        return Ok(Vec::new());
    }
    // Texts borrowed and attribute sets built when a kept log names them: a session's or
    // trace's logs keep one log of a block, and building every table of it (up to one
    // resource per service) allocated several times what the log itself does.
    let services = table(&mut tables, Reader::str)?;
    let key_lists = table(&mut tables, |r| table(r, Reader::str))?;
    let mut resources = AttributeSets::read(&mut tables)?;
    let mut scopes = AttributeSets::read(&mut tables)?;
    let mut values = table(&mut r, |r| Ok((r.str()?, Reader::new(r.bytes()?))))?;
    let (mut id, mut ts) = (0i64, 0i64);
    let mut logs = Vec::new();
    for keep in kept {
        let n = &mut numbers;
        id = id.wrapping_add(n.signed()?);
        ts = ts.wrapping_add(n.signed()?);
        let observed = ts.wrapping_add(n.signed()?);
        let severity = Severity::from_code(n.byte()?).ok_or_else(corrupt)?;
        let severity_number = i32::try_from(n.signed()?).map_err(|_| corrupt())?;
        let trace_flags = u32::try_from(n.unsigned()?).map_err(|_| corrupt())?;
        let mut table_index = || n.unsigned().map(|i| i as usize);
        let (service, key_list, resource, scope) =
            (table_index()?, table_index()?, table_index()?, table_index()?);
        let body = bodies.bytes()?;
        let key_list = key_lists.get(key_list).ok_or_else(corrupt)?;
        if !keep {
            for _ in 0..4 {
                texts.bytes()?;
            }
            read_optional_len(&mut people)?;
            read_optional_len(&mut people)?;
            for bytes in [16, 8] {
                if traces.byte()? != 0 {
                    traces.take(bytes)?;
                }
            }
            for key in key_list {
                skip_value(stream(&mut values, key)?)?;
            }
            continue;
        }
        let t = &mut texts;
        let (severity_text, event_name, scope_name, scope_version) =
            (t.text()?, t.text()?, t.text()?, t.text()?);
        let (session_id, distinct_id) = (read_optional(&mut people)?, read_optional(&mut people)?);
        let (trace_id, span_id) = (read_hex(&mut traces, 16)?, read_hex(&mut traces, 8)?);
        let mut attributes = Vec::with_capacity(key_list.len());
        for key in key_list {
            attributes
                .push((key.to_string(), read_value(stream(&mut values, key)?, [&session_id, &distinct_id])?));
        }
        let record = LogRecord {
            project_id,
            timestamp_ns: ts,
            observed_timestamp_ns: observed,
            severity,
            severity_text,
            severity_number,
            service: services.get(service).ok_or_else(corrupt)?.to_string(),
            body: String::from_utf8(body.to_vec()).map_err(|_| corrupt())?,
            session_id,
            distinct_id,
            trace_id,
            span_id,
            trace_flags,
            event_name,
            scope_name,
            scope_version,
            attributes: Attributes(attributes),
            resource_attributes: resources.get(resource)?,
            scope_attributes: scopes.get(scope)?,
        };
        logs.push(StoredLog { id: LogId(id), record });
    }
    Ok(logs)
}

/// A block's table of attribute sets (resources or scopes): each set's bytes, built once
/// when first asked for.
struct AttributeSets<'a> {
    sets: Vec<(&'a [u8], Option<Arc<Attributes>>)>,
}

impl<'a> AttributeSets<'a> {
    fn read(r: &mut Reader<'a>) -> StoreResult<AttributeSets<'a>> {
        let sets = table(r, |r| {
            let start = r.remaining();
            for _ in 0..r.unsigned()? {
                r.bytes()?;
                skip_value(r)?;
            }
            Ok((&start[..start.len() - r.remaining().len()], None))
        })?;
        Ok(AttributeSets { sets })
    }

    fn get(&mut self, i: usize) -> StoreResult<Arc<Attributes>> {
        let (bytes, built) = self.sets.get_mut(i).ok_or_else(corrupt)?;
        if built.is_none() {
            *built = Some(Arc::new(read_attributes(&mut Reader::new(bytes))?));
        }
        built.clone().ok_or_else(corrupt)
    }
}

/// Steps over a log's numbers after its id and time (see [`Streams::numbers`]).
fn skip_numbers(n: &mut Reader) -> StoreResult<()> {
    n.signed()?;
    n.byte()?;
    for _ in 0..6 {
        n.unsigned()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_store::ErrorKind;

    /// The suite's sample log with every field set away from its default.
    fn log(id: i64, body: &str, attributes: Vec<(&str, AttrValue)>) -> StoredLog {
        let at = 1_700_000_000_000_000_000 + id * 1000;
        let record = LogRecord {
            observed_timestamp_ns: at - 5,
            severity: Severity::Warn,
            severity_text: "WARNING".into(),
            severity_number: 13,
            session_id: Some("s-1".into()),
            distinct_id: (id % 2 == 0).then(|| "user@example.com".into()),
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: if id % 3 == 0 { String::new() } else { "b7ad6b7169203331".into() },
            trace_flags: 1,
            event_name: "checkout.failed".into(),
            attributes: Attributes(attributes.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
            scope_attributes: Arc::new(Attributes(vec![("lib".into(), AttrValue::Bool(true))])),
            ..tether_store::conformance::logs::sample(7, at, body)
        };
        StoredLog { id: LogId(id), record }
    }

    #[test]
    fn every_field_and_attribute_type_round_trips() {
        let logs = vec![
            log(
                10,
                "GET /a",
                vec![("sessionId", AttrValue::String("s-1".into())), ("n", AttrValue::Int(-3))],
            ),
            log(
                12,
                "héllo",
                vec![
                    ("d", AttrValue::Double(0.1)),
                    ("b", AttrValue::Bool(false)),
                    ("raw", AttrValue::Bytes("AAE=".into())),
                    ("list", AttrValue::Array(vec![AttrValue::Int(1), AttrValue::String("x".into())])),
                    ("map", AttrValue::KvList(Attributes(vec![("k".into(), AttrValue::Empty)]))),
                    ("user", AttrValue::String("user@example.com".into())),
                ],
            ),
            log(11, "", vec![]),
        ];
        let bytes = encode(&logs).unwrap();
        assert_eq!(decode(&bytes, 7).unwrap(), logs);
        let some = decode_where(&bytes, 7, |p| p.id != 12 && p.body.len() < 10).unwrap();
        assert_eq!(some, [logs[0].clone(), logs[2].clone()], "the logs kept, the others stepped over");
    }

    #[test]
    fn ids_that_are_not_hex_are_refused_and_damage_is_an_error_not_a_panic() {
        let mut bad = log(1, "x", vec![]);
        bad.record.trace_id = "zz".into();
        assert_eq!(encode(&[bad]).unwrap_err().kind(), ErrorKind::InvalidInput);
        let bytes = encode(&[log(1, "x", vec![("k", AttrValue::Int(1))])]).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], 7).is_err(), "a block cut at {cut} is refused");
        }
    }
}
