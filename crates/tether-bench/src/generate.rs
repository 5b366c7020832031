//! Seeded, realistic OTLP log batches: ~200-byte bodies from service templates, 8 attributes,
//! 70% of records carrying a session id (and its user), sessions starting and ending over time.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SERVICES: [&str; 6] = ["checkout-api", "auth", "catalog", "payments", "search", "notifications"];
const ROUTES: [&str; 8] = [
    "/api/cart",
    "/api/cart/items",
    "/api/checkout",
    "/api/login",
    "/api/products",
    "/api/search",
    "/api/orders",
    "/api/payments/confirm",
];
const REGIONS: [&str; 4] = ["eu-west-1", "us-east-1", "us-west-2", "ap-south-1"];
/// (severity number, text, weight in 1000)
const SEVERITIES: [(i32, &str, u32); 5] =
    [(5, "DEBUG", 150), (9, "INFO", 700), (13, "WARN", 100), (17, "ERROR", 45), (21, "FATAL", 5)];

fn s(v: impl Into<String>) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Value::StringValue(v.into())) })
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue { key: key.into(), value }
}

/// Produces batches deterministically from a seed.
pub(crate) struct Generator {
    rng: StdRng,
    sessions: Vec<(String, String)>,
    produced: u64,
    start_ns: i64,
    step_ns: i64,
    /// The record whose request id is kept as the needle (a token that occurs once).
    needle_at: u64,
    needle: Option<String>,
}

impl Generator {
    /// Logs are spread evenly from `start_ns` with `step_ns` between consecutive records.
    /// The request id of record number `needle_at` is kept: see [`Generator::needle`].
    pub(crate) fn new(seed: u64, start_ns: i64, step_ns: i64, needle_at: u64) -> Generator {
        let mut rng = StdRng::seed_from_u64(seed);
        let sessions = (0..2000).map(|_| new_session(&mut rng)).collect();
        Generator { rng, sessions, produced: 0, start_ns, step_ns, needle_at, needle: None }
    }

    /// The request id of the chosen record once it was produced: 16 random hex digits,
    /// in one body and one attribute of the whole data set.
    pub(crate) fn needle(&self) -> Option<&str> {
        self.needle.as_deref()
    }

    /// A session id known to have logs (for the session-filter query).
    pub(crate) fn some_session(&self) -> String {
        self.sessions[0].0.clone()
    }

    pub(crate) fn batch(&mut self, size: usize) -> ExportLogsServiceRequest {
        let service = SERVICES[self.rng.random_range(0..SERVICES.len())];
        let records = (0..size).map(|_| self.record()).collect();
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", s(service)),
                        kv("service.version", s("1.42.0")),
                        kv("host.name", s(format!("{service}-7d9f-{}", self.rng.random_range(0..4)))),
                    ],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs { log_records: records, ..Default::default() }],
                ..Default::default()
            }],
        }
    }

    fn record(&mut self) -> LogRecord {
        let rng = &mut self.rng;
        self.produced += 1;
        // Sessions end and new ones begin: one in the pool is replaced every 500 records.
        if self.produced.is_multiple_of(500) {
            let i = rng.random_range(1..self.sessions.len());
            self.sessions[i] = new_session(rng);
        }
        let roll = rng.random_range(0..1000);
        let mut acc = 0;
        let (number, text, _) = SEVERITIES
            .iter()
            .find(|(_, _, w)| {
                acc += w;
                roll < acc
            })
            .copied()
            .unwrap_or(SEVERITIES[1]);
        let route = ROUTES[rng.random_range(0..ROUTES.len())];
        let method = if rng.random_bool(0.7) { "GET" } else { "POST" };
        let status: i64 = if number >= 17 { 500 + rng.random_range(0..4) } else { 200 };
        let ms: f64 = f64::from(rng.random_range(1..3000u32)) / 10.0;
        let request_id = format!("{:016x}", rng.random::<u64>());
        if self.produced == self.needle_at {
            self.needle = Some(request_id.clone());
        }
        let user = format!("user{}@example.com", rng.random_range(0..50_000));
        let body = match number {
            17 | 21 => format!(
                "{method} {route} failed after {ms}ms: upstream payments-gateway returned {status} \
                 (timeout waiting for connection from pool, attempt {}/3, region={}, request_id={request_id})",
                rng.random_range(1..4),
                REGIONS[rng.random_range(0..REGIONS.len())]
            ),
            13 => format!(
                "{method} {route} slow response {ms}ms exceeds budget of 250ms; cache miss on key \
                 cart:{}:items, falling back to primary database (request_id={request_id})",
                rng.random_range(0..100_000)
            ),
            _ => format!(
                "{method} {route} completed {status} in {ms}ms for {user} with {} items, cache={}, \
                 upstream=catalog-{} (request_id={request_id})",
                rng.random_range(0..20),
                if rng.random_bool(0.8) { "hit" } else { "miss" },
                rng.random_range(0..8)
            ),
        };
        let mut attributes = vec![
            kv("http.method", s(method)),
            kv("http.route", s(route)),
            kv("http.status_code", Some(AnyValue { value: Some(Value::IntValue(status)) })),
            kv("duration_ms", Some(AnyValue { value: Some(Value::DoubleValue(ms)) })),
            kv("request_id", s(request_id)),
            kv("region", s(REGIONS[rng.random_range(0..REGIONS.len())])),
        ];
        if rng.random_bool(0.7) {
            let (session, person) = &self.sessions[rng.random_range(0..self.sessions.len())];
            attributes.push(kv("sessionId", s(session.clone())));
            attributes.push(kv("posthogDistinctId", s(person.clone())));
        } else {
            attributes.push(kv("thread", s(format!("worker-{}", rng.random_range(0..16)))));
            attributes.push(kv("component", s("http")));
        }
        let ts = self.start_ns + self.produced as i64 * self.step_ns;
        LogRecord {
            time_unix_nano: ts as u64,
            observed_time_unix_nano: ts as u64,
            severity_number: number,
            severity_text: text.into(),
            body: s(body),
            attributes,
            trace_id: rng.random::<[u8; 16]>().to_vec(),
            span_id: rng.random::<[u8; 8]>().to_vec(),
            ..Default::default()
        }
    }
}

/// A UUIDv7-shaped session id and the person it belongs to.
fn new_session(rng: &mut StdRng) -> (String, String) {
    let a: u64 = rng.random();
    let b: u64 = rng.random();
    let id = format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) | 0x8000,
        b & 0xffff_ffff_ffff
    );
    (id, format!("user{}@example.com", rng.random_range(0..50_000)))
}
