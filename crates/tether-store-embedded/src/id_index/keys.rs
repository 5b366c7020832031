//! What a log is found by in the id index: 64-bit keys of its ids, and the keys a filter
//! looks up.

use std::borrow::Cow;

use tether_model::{AttrValue, ProjectId};
use tether_store::{Condition, Field, LogFilter, StoredLog};

use crate::duck::columns::trace_id_to_columns;

/// Attribute values longer than this are not indexed (a filter on one reads DuckDB).
const MAX_VALUE_BYTES: usize = 256;

/// What one log is found by: a 64-bit hash of the project, a kind (`s` session, `p`
/// person, `t` trace, `a` attribute) and the value (a trace id's 16 bytes; an attribute's
/// key and value, as filters compare it: text, integers in decimal). A hash rather than
/// the text: tantivy's time went to building the term dictionary (an FST) when merging
/// segments (a third of the CPU at 70k logs/s, nearly all of it random ids), which eight
/// bytes per term cut, and the dictionary shrinks with it. Two values sharing a hash only
/// add a candidate, which reading the row drops — except where the index counts a filter
/// by itself (`exact`): there a key sharing the hash of a looked-up value would add its
/// logs, with a chance of about one in 10^7 per lookup at 100 M logs (~45 M distinct keys
/// of [`KEY_BITS`] bits).
fn key(project: ProjectId, kind: u8, parts: &[&[u8]]) -> u64 {
    let mut bytes = Vec::with_capacity(9 + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    bytes.extend(project.to_le_bytes());
    bytes.push(kind);
    for part in parts {
        bytes.extend_from_slice(part);
        bytes.push(0x1f);
    }
    twox_hash::XxHash3_128::oneshot(&bytes) as u64 & ((1 << KEY_BITS) - 1)
}

/// The bits of a key: tantivy writes a u64 term as 8 bytes whose high ones, all zero,
/// every term shares in the dictionary, so each bit less is paid by no term (48 instead of
/// 64: the key dictionary of the benchmark's 10 M logs 9.2 → 7.5 bytes/log).
const KEY_BITS: u32 = 48;

pub(super) fn session_key(project: ProjectId, session: &str) -> u64 {
    key(project, b's', &[session.as_bytes()])
}

pub(super) fn person_key(project: ProjectId, distinct_id: &str) -> u64 {
    key(project, b'p', &[distinct_id.as_bytes()])
}

/// The key of a trace id, if the text is one as DuckDB's columns read it (32 hex digits,
/// any case), so the index and the read that confirms it agree.
pub(super) fn trace_key(project: ProjectId, trace_hex: &str) -> Option<u64> {
    let (high, low) = trace_id_to_columns(trace_hex)?;
    Some(key(project, b't', &[&[high.to_be_bytes(), low.to_be_bytes()].concat()]))
}

fn attribute_key(project: ProjectId, name: &str, value: &str) -> u64 {
    key(project, b'a', &[name.as_bytes(), value.as_bytes()])
}

/// Whether an attribute value is indexed: text that can identify something (at least 4
/// digits, or 16 characters — request and order ids, UUIDs, emails), at most
/// [`MAX_VALUE_BYTES`]. Values like a region or a status code are shared by so many logs
/// that a scan answers them as fast, and they would cost a posting per log.
fn indexed_value(value: &str) -> bool {
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    (digits >= 4 || value.chars().count() >= 16) && value.len() <= MAX_VALUE_BYTES
}

/// The keys a log is indexed under. An attribute holding the log's session or distinct id
/// (`sessionId`, how SDKs send it) is found by that id's key.
pub(super) fn keys_of(log: &StoredLog) -> Vec<u64> {
    let r = &log.record;
    let project = r.project_id;
    let mut keys = Vec::with_capacity(r.attributes.len() + 3);
    keys.extend(r.session_id.as_deref().map(|s| session_key(project, s)));
    keys.extend(r.distinct_id.as_deref().map(|p| person_key(project, p)));
    keys.extend(trace_key(project, &r.trace_id));
    for (name, value) in &r.attributes.0 {
        let Some(text) = attribute_text(value) else { continue };
        let is_id = [&r.session_id, &r.distinct_id].iter().any(|id| id.as_deref() == Some(&*text));
        if !is_id && indexed_value(&text) {
            keys.push(attribute_key(project, name, &text));
        }
    }
    keys
}

/// An attribute value as `attr=k=v` compares it, for the scalars that can be ids.
fn attribute_text(value: &AttrValue) -> Option<Cow<'_, str>> {
    match value {
        AttrValue::String(s) | AttrValue::Bytes(s) => Some(Cow::Borrowed(s)),
        AttrValue::Int(i) => Some(Cow::Owned(i.to_string())),
        _ => None,
    }
}

/// The lookups a filter implies, as groups of keys: a log matches when it has a key of
/// every group. `None` when no predicate of the filter is indexed.
pub(crate) fn filter_keys(filter: &LogFilter) -> Option<Vec<Vec<u64>>> {
    let project = filter.project_id;
    let mut groups = Vec::new();
    if let Some(session) = &filter.session_id {
        groups.push(vec![session_key(project, session)]);
    }
    if !filter.distinct_ids.is_empty() {
        groups.push(filter.distinct_ids.iter().map(|p| person_key(project, p)).collect());
    }
    if let Some(trace) = &filter.trace_id {
        // Text that is no trace id matches nothing: an empty group.
        groups.push(trace_key(project, trace).into_iter().collect());
    }
    for condition in filter.query.iter().flat_map(|q| q.required()) {
        match condition {
            Condition::Equals(Field::Session, session) => groups.push(vec![session_key(project, session)]),
            Condition::Equals(Field::Person, person) => groups.push(vec![person_key(project, person)]),
            Condition::Equals(Field::Trace, trace) => {
                groups.push(trace_key(project, trace).into_iter().collect())
            }
            Condition::AttrEquals { key, value } if indexed_value(value) => {
                // Or the value is the log's own session or distinct id (see [`keys_of`]).
                groups.push(vec![
                    attribute_key(project, key, value),
                    session_key(project, value),
                    person_key(project, value),
                ]);
            }
            _ => {}
        }
    }
    (!groups.is_empty()).then_some(groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_model::{Attributes, LogId, LogRecord, Severity};
    use tether_store::LogExpr;

    #[test]
    fn values_that_can_identify_something_are_indexed() {
        for id in ["95ff2790a3db89d5", "12345", "alice@example.com", "0192f0a1-5cbc-7109-b24f-bafb9503989b"] {
            assert!(indexed_value(id), "{id}");
        }
        for shared in ["eu-west-1", "worker-12", "504", "GET", &"x".repeat(MAX_VALUE_BYTES + 1)] {
            assert!(!indexed_value(shared), "{shared}");
        }
    }

    #[test]
    fn an_attribute_holding_the_session_id_is_found_by_the_sessions_key() {
        let record = LogRecord {
            project_id: 1,
            timestamp_ns: 0,
            observed_timestamp_ns: 0,
            severity: Severity::Info,
            severity_text: String::new(),
            severity_number: 0,
            service: String::new(),
            body: String::new(),
            session_id: Some("0192f0a1-sess".into()),
            distinct_id: None,
            trace_id: String::new(),
            span_id: String::new(),
            trace_flags: 0,
            event_name: String::new(),
            scope_name: String::new(),
            scope_version: String::new(),
            attributes: Attributes(vec![("sessionId".into(), AttrValue::String("0192f0a1-sess".into()))]),
            resource_attributes: Default::default(),
            scope_attributes: Default::default(),
        };
        let keys = keys_of(&StoredLog { id: LogId(1), record });
        assert_eq!(keys.len(), 1, "the session once, not again as an attribute");
        let mut filter = LogFilter::new(1, 0, 1);
        filter.query = Some(LogExpr::attr_equals("sessionId", "0192f0a1-sess"));
        let groups = filter_keys(&filter).unwrap();
        assert!(groups[0].contains(&keys[0]));
        filter.query = Some(LogExpr::attr_equals("sessionId", "eu-west-1"));
        assert!(filter_keys(&filter).is_none(), "not indexed: the scan answers");
    }
}
