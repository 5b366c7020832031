//! Seeded OTLP log batches shaped like a real site's: bodies from ~100 templates of 16 kinds
//! of real logs ([`crate::templates`]); requests of 1–8 logs sharing a request id and a
//! trace; browser sessions of realistic length (minutes to hours, median ~10 minutes) that
//! start and end through the span, ~70 % of requests inside one; people with several
//! sessions. It also keeps what the queries look for, and the true answers the benchmark
//! compares the server's counts with.

use std::collections::HashSet;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::templates::{COMMON_TERM, KINDS, RARE_TERM, TEMPLATES, Template, fill};

fn s(v: impl Into<String>) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Value::StringValue(v.into())) })
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue { key: key.into(), value }
}

/// A browser session: its id, its person (an index), and when it is active.
struct Session {
    id: String,
    person: u32,
    start_ns: i64,
    end_ns: i64,
    logs: u32,
}

/// The request being logged: its service kind, ids and logs still to come.
struct Request {
    kind: usize,
    request_id: String,
    trace_id: Vec<u8>,
    session: Option<usize>,
    left: u32,
}

/// What the queries look for, and the true answers for the counted ones.
#[derive(Debug, Default, Clone)]
pub(crate) struct Probes {
    /// A 16-hex-digit token in exactly one body.
    pub needle: String,
    /// The request id and trace (32 hex digits) of a request of 8 logs.
    pub request_id: String,
    pub trace_id: String,
    /// The session whose log count is nearest 1,000, its count and its person.
    pub session: String,
    pub session_logs: u32,
    pub person: String,
    /// Logs whose body contains [`RARE_TERM`] / [`COMMON_TERM`] (case-insensitively).
    pub rare_logs: u64,
    pub common_logs: u64,
    /// Distinct sessions and people of the common term's logs.
    pub common_sessions: u64,
    pub common_people: u64,
}

/// A string attribute's or body's text ("" for none or another type): how the in-process
/// designs (`tantivy_side`, `row_blocks`) read the generated logs.
pub(crate) fn text(v: &Option<AnyValue>) -> &str {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s,
        _ => "",
    }
}

/// The text of a record's attribute `name` ("" without one).
pub(crate) fn attribute<'a>(record: &'a LogRecord, name: &str) -> &'a str {
    record.attributes.iter().find(|a| a.key == name).map_or("", |a| text(&a.value))
}

/// The `service.name` of a batch's resource ("" without one).
pub(crate) fn service_name(resource: &ResourceLogs) -> &str {
    let attributes = resource.resource.iter().flat_map(|r| &r.attributes);
    attributes.into_iter().find(|a| a.key == "service.name").map_or("", |a| text(&a.value))
}

/// A record's trace id as 32 lowercase hex digits ("" without one).
pub(crate) fn trace_hex(record: &LogRecord) -> String {
    record.trace_id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Kinds of ids [`id_key`] tells apart.
pub(crate) const SESSION: u8 = 1;
pub(crate) const PERSON: u8 = 2;
pub(crate) const TRACE: u8 = 3;
pub(crate) const REQUEST: u8 = 4;

/// A 64-bit key of an id of one kind (the in-process designs hash ids rather than keeping
/// their text); 0 for no id, so a log without a session is not counted as one.
pub(crate) fn id_key(kind: u8, value: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    if value.is_empty() {
        return 0;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (kind, value).hash(&mut hasher);
    hasher.finish()
}

/// Produces batches deterministically from a seed.
pub(crate) struct Generator {
    rng: StdRng,
    sessions: Vec<Session>,
    /// Sessions not yet started (indexes, by start time) and those active now.
    next_session: usize,
    active: Vec<usize>,
    request: Option<Request>,
    produced: u64,
    start_ns: i64,
    step_ns: i64,
    needle_at: u64,
    probes: Probes,
    common_sessions: HashSet<usize>,
    common_people: HashSet<u32>,
    /// Each kind's templates and the sum of their weights.
    kinds: Vec<(Vec<&'static Template>, u32)>,
}

/// Browser sessions per 1,000 logs (30,000 in 10 M), and people per session (8,300 people
/// have those sessions).
const SESSIONS_PER_1000_LOGS: f64 = 3.0;
const PEOPLE_PER_SESSION: f64 = 0.28;

impl Generator {
    /// `logs` records spread evenly over `span_ns` from `start_ns`. The body of record
    /// number `needle_at` carries the needle.
    pub(crate) fn new(seed: u64, start_ns: i64, span_ns: i64, logs: u64, needle_at: u64) -> Generator {
        let mut rng = StdRng::seed_from_u64(seed);
        let count = ((logs as f64 / 1000.0 * SESSIONS_PER_1000_LOGS) as usize).max(50);
        let people = ((count as f64 * PEOPLE_PER_SESSION) as u32).max(10);
        let mut sessions: Vec<Session> = (0..count)
            .map(|_| {
                // Log-normal length: median ~10 minutes, a few last hours.
                let normal: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
                let minutes = (2.3 + normal).exp().min(360.0);
                let start_ns = start_ns + rng.random_range(0..span_ns.max(1));
                // Some people come back often: the first people have most sessions.
                let person = (rng.random::<f64>().powi(2) * f64::from(people)) as u32;
                Session {
                    id: session_id(&mut rng),
                    person,
                    start_ns,
                    end_ns: start_ns + (minutes * 60e9) as i64,
                    logs: 0,
                }
            })
            .collect();
        sessions.sort_by_key(|s| s.start_ns);
        let kinds = (0..KINDS.len())
            .map(|kind| {
                let of_kind: Vec<&Template> = TEMPLATES.iter().filter(|t| t.kind == kind).collect();
                let total = of_kind.iter().map(|t| t.weight).sum();
                (of_kind, total)
            })
            .collect();
        Generator {
            rng,
            sessions,
            next_session: 0,
            active: Vec::new(),
            request: None,
            produced: 0,
            start_ns,
            step_ns: span_ns / logs.max(1) as i64,
            needle_at,
            probes: Probes::default(),
            common_sessions: HashSet::new(),
            common_people: HashSet::new(),
            kinds,
        }
    }

    /// What the queries look for, once every record is produced.
    pub(crate) fn probes(&self) -> Probes {
        let mut probes = self.probes.clone();
        if let Some(s) = self.sessions.iter().min_by_key(|s| s.logs.abs_diff(1000)) {
            probes.session = s.id.clone();
            probes.session_logs = s.logs;
            probes.person = person_id(s.person);
        }
        probes.common_sessions = self.common_sessions.len() as u64;
        probes.common_people = self.common_people.len() as u64;
        probes
    }

    pub(crate) fn batch(&mut self, size: usize) -> ExportLogsServiceRequest {
        let mut by_kind: Vec<Vec<LogRecord>> = vec![Vec::new(); KINDS.len()];
        for _ in 0..size {
            let (kind, record) = self.record();
            by_kind[kind].push(record);
        }
        let resource_logs = by_kind
            .into_iter()
            .enumerate()
            .filter(|(_, records)| !records.is_empty())
            .map(|(kind, log_records)| ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", s(KINDS[kind])),
                        kv("service.version", s("1.42.0")),
                        kv("host.name", s(format!("{}-7d9f-{}", KINDS[kind], self.rng.random_range(0..4)))),
                    ],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs { log_records, ..Default::default() }],
                ..Default::default()
            })
            .collect();
        ExportLogsServiceRequest { resource_logs }
    }

    /// The session a request starting at `ts` belongs to: ~70 % of requests are a browser
    /// session's, when one is active.
    fn session_at(&mut self, ts: i64) -> Option<usize> {
        while self.next_session < self.sessions.len() && self.sessions[self.next_session].start_ns <= ts {
            self.active.push(self.next_session);
            self.next_session += 1;
        }
        if !self.rng.random_bool(0.7) {
            return None;
        }
        while !self.active.is_empty() {
            let at = self.rng.random_range(0..self.active.len());
            let session = self.active[at];
            if self.sessions[session].end_ns > ts {
                return Some(session);
            }
            self.active.swap_remove(at);
        }
        None
    }

    fn new_request(&mut self, ts: i64) -> Request {
        let kind = self.rng.random_range(0..KINDS.len());
        let session = self.session_at(ts);
        let request_id = format!("{:016x}", self.rng.random::<u64>());
        let trace_id = self.rng.random::<[u8; 16]>().to_vec();
        let left = self.rng.random_range(1..=8);
        if left == 8 && self.probes.request_id.is_empty() && self.produced >= self.needle_at {
            self.probes.request_id = request_id.clone();
            self.probes.trace_id = hex(&trace_id);
        }
        Request { kind, request_id, trace_id, session, left }
    }

    fn record(&mut self) -> (usize, LogRecord) {
        self.produced += 1;
        let ts = self.start_ns + self.produced as i64 * self.step_ns;
        let mut request = match self.request.take() {
            Some(r) if r.left > 0 => r,
            _ => self.new_request(ts),
        };
        request.left -= 1;
        let template = self.template(request.kind);
        let mut body = fill(template.text, &mut self.rng);
        if self.produced == self.needle_at {
            let needle = format!("{:016x}", self.rng.random::<u64>());
            body.push_str(&format!(" (correlation {needle})"));
            self.probes.needle = needle;
        }
        let lower = body.to_lowercase();
        if lower.contains(&RARE_TERM.to_lowercase()) {
            self.probes.rare_logs += 1;
        }
        let common = lower.contains(COMMON_TERM);
        if common {
            self.probes.common_logs += 1;
        }
        let mut attributes = vec![
            kv("request_id", s(request.request_id.clone())),
            kv("thread", s(format!("worker-{}", self.rng.random_range(0..16)))),
            kv("region", s(["eu-west-1", "us-east-1", "us-west-2", "ap-south-1"][request.kind % 4])),
        ];
        if let Some(at) = request.session {
            let session = &mut self.sessions[at];
            session.logs += 1;
            attributes.push(kv("sessionId", s(session.id.clone())));
            attributes.push(kv("posthogDistinctId", s(person_id(session.person))));
            if common {
                self.common_sessions.insert(at);
                self.common_people.insert(session.person);
            }
        }
        let record = LogRecord {
            time_unix_nano: ts as u64,
            observed_time_unix_nano: ts as u64,
            severity_number: template.severity,
            severity_text: severity_text(template.severity).into(),
            body: s(body),
            attributes,
            trace_id: request.trace_id.clone(),
            span_id: self.rng.random::<[u8; 8]>().to_vec(),
            ..Default::default()
        };
        let kind = request.kind;
        self.request = Some(request);
        (kind, record)
    }

    /// A template of `kind`, by the templates' weights.
    fn template(&mut self, kind: usize) -> &'static Template {
        let (of_kind, total) = &self.kinds[kind];
        let mut roll = self.rng.random_range(0..(*total).max(1));
        for template in of_kind {
            if roll < template.weight {
                return template;
            }
            roll -= template.weight;
        }
        &TEMPLATES[0]
    }
}

fn severity_text(number: i32) -> &'static str {
    match number {
        ..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        _ => "FATAL",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn person_id(person: u32) -> String {
    format!("user{person}@example.com")
}

/// A UUIDv7-shaped session id.
fn session_id(rng: &mut StdRng) -> String {
    let a: u64 = rng.random();
    let b: u64 = rng.random();
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_share_ids_and_sessions_have_realistic_lengths() {
        let logs = 200_000;
        let mut g = Generator::new(7, 0, 24 * 3_600_000_000_000, logs, logs / 2);
        let mut bodies = HashSet::new();
        let mut by_request: std::collections::HashMap<String, (u32, Vec<u8>)> = Default::default();
        for _ in 0..logs / 1000 {
            for r in
                g.batch(1000).resource_logs.iter().flat_map(|r| &r.scope_logs).flat_map(|s| &s.log_records)
            {
                if let Some(Value::StringValue(b)) = r.body.as_ref().and_then(|b| b.value.as_ref()) {
                    bodies.insert(b.split(' ').take(3).collect::<Vec<_>>().join(" "));
                }
                let Some(Value::StringValue(id)) =
                    r.attributes[0].value.as_ref().and_then(|v| v.value.as_ref())
                else {
                    panic!("request id")
                };
                let entry = by_request.entry(id.clone()).or_insert((0, r.trace_id.clone()));
                entry.0 += 1;
                assert_eq!(entry.1, r.trace_id, "a request's logs share its trace");
            }
        }
        assert!(bodies.len() > 1000, "bodies vary: {} distinct starts", bodies.len());
        assert!(by_request.values().all(|(n, _)| (1..=8).contains(n)));
        let p = g.probes();
        assert_eq!(by_request[&p.request_id].0, 8);
        assert!(p.session_logs > 100, "{p:?}");
        assert!(p.rare_logs > 0 && p.common_logs > 10 * p.rare_logs, "{p:?}");
        assert!(p.common_sessions > 0 && p.common_people <= p.common_sessions);
        assert_eq!(p.needle.len(), 16);
    }
}
