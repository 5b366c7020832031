//! Generated logs for trying the logs page, histogram and search at volume: several services
//! over the last days, a daily rhythm, typical access/app/worker lines, and a share of them
//! linked to sessions and persons (the demo's recorded sessions first, then made-up ones).

use std::sync::Arc;

use rand::Rng;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use tether_model::{AttrValue, Attributes, LogRecord, ProjectId, Severity};

/// Records per write; the writer commits each call as one transaction.
const CHUNK: usize = 20_000;
/// Logs placed inside each recorded session, at most.
const LOGS_PER_RECORDED_SESSION: u64 = 120;
const MS: i64 = 1_000_000;

/// A session to link some generated logs to.
#[derive(Debug, Clone)]
pub struct SeedSession {
    pub session_id: String,
    pub distinct_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub project_id: ProjectId,
    pub count: u64,
    /// Logs are spread over `[now_ms - days, now_ms]`.
    pub now_ms: i64,
    pub days: u32,
    /// Recorded sessions (e.g. from the demo shop); each gets logs inside its own time span.
    pub recorded: Vec<SeedSession>,
}

/// One kind of log line a service writes.
struct Template {
    severity: Severity,
    /// Relative frequency within its service.
    weight: u32,
    body: fn(&mut StdRng) -> String,
    attributes: fn(&mut StdRng) -> Vec<(&'static str, AttrValue)>,
}

const ROUTES: [&str; 6] =
    ["/api/products", "/api/cart", "/api/checkout", "/api/coupon", "/api/orders/{id}", "/api/session"];

fn s(v: impl Into<String>) -> AttrValue {
    AttrValue::String(v.into())
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn http_attrs(rng: &mut StdRng) -> Vec<(&'static str, AttrValue)> {
    vec![
        ("http.method", s(pick(rng, &["GET", "GET", "GET", "POST", "PUT", "DELETE"]))),
        ("http.route", s(pick(rng, &ROUTES))),
        ("http.status_code", AttrValue::Int(200)),
        ("duration_ms", AttrValue::Double(f64::from(rng.random_range(2..400_u32)) / 2.0)),
    ]
}

fn order_attrs(rng: &mut StdRng) -> Vec<(&'static str, AttrValue)> {
    vec![
        ("order_id", s(format!("ord_{:06}", rng.random_range(0..1_000_000)))),
        ("order_total", AttrValue::Double(f64::from(rng.random_range(500..60_000_u32)) / 100.0)),
        ("gateway", s(pick(rng, &["acme-pay", "acme-pay", "globex-cards"]))),
    ]
}

fn sku_attrs(rng: &mut StdRng) -> Vec<(&'static str, AttrValue)> {
    vec![
        ("sku", s(format!("SKU-{:05}", rng.random_range(0..20_000)))),
        ("warehouse", s(pick(rng, &["ams-1", "ams-2", "fra-1", "iad-3"]))),
    ]
}

fn no_attrs(_: &mut StdRng) -> Vec<(&'static str, AttrValue)> {
    Vec::new()
}

/// The services, their share of all logs, and what they log.
fn services() -> Vec<(&'static str, u32, Vec<Template>)> {
    use Severity::{Debug, Error, Info, Warn};
    let t = |severity, weight, body, attributes| Template { severity, weight, body, attributes };
    vec![
        (
            "shop-api",
            40,
            vec![
                t(Info, 60, |r| format!("GET {} 200", pick(r, &ROUTES)), http_attrs),
                t(Debug, 15, |r| format!("cache hit for catalog page {}", r.random_range(1..40)), no_attrs),
                t(
                    Warn,
                    4,
                    |r| format!("slow query on orders took {} ms", r.random_range(800..4000)),
                    no_attrs,
                ),
                t(Warn, 3, |_| "POST /api/cart 409".into(), sku_attrs),
                t(Error, 1, |_| "POST /api/checkout 502".into(), order_attrs),
            ],
        ),
        (
            "payments",
            15,
            vec![
                t(Info, 30, |r| format!("payment authorized in {} ms", r.random_range(80..900)), order_attrs),
                t(Warn, 3, |_| "3-D Secure challenge required".into(), order_attrs),
                t(
                    Error,
                    2,
                    |r| {
                        format!(
                            "payment declined: card processor timed out after {} ms",
                            r.random_range(900..2400)
                        )
                    },
                    order_attrs,
                ),
                t(Error, 1, |_| "refund failed: charge already disputed".into(), order_attrs),
            ],
        ),
        (
            "inventory",
            20,
            vec![
                t(Info, 20, |r| format!("reserved {} units", r.random_range(1..5)), sku_attrs),
                t(Warn, 4, |_| "out of stock".into(), sku_attrs),
                t(Debug, 10, |r| format!("stock sync batch of {} items", r.random_range(50..500)), no_attrs),
            ],
        ),
        (
            "email-worker",
            10,
            vec![
                t(Info, 10, |_| "order confirmation sent".into(), order_attrs),
                t(Warn, 1, |r| format!("SMTP retry {} of 5", r.random_range(1..5)), no_attrs),
                t(Error, 1, |_| "bounce: mailbox unavailable".into(), no_attrs),
            ],
        ),
        (
            "auth",
            15,
            vec![
                t(Info, 12, |_| "login succeeded".into(), no_attrs),
                t(Warn, 2, |_| "login failed: wrong password".into(), no_attrs),
                t(Info, 4, |_| "session refreshed".into(), no_attrs),
            ],
        ),
    ]
}

/// Hands `plan.count` generated logs to `write`, in chunks (the demo passes Tether's own
/// ingest path); `progress` gets the number written so far after each chunk.
pub async fn seed_logs<W, F, E>(
    plan: &SeedPlan,
    rng: &mut StdRng,
    mut write: W,
    mut progress: impl FnMut(u64),
) -> Result<(), E>
where
    W: FnMut(Vec<LogRecord>) -> F,
    F: std::future::Future<Output = Result<(), E>>,
{
    let generator = Generator::new(plan);
    let mut written = 0;
    while written < plan.count {
        let n = CHUNK.min(usize::try_from(plan.count - written).unwrap_or(CHUNK));
        let chunk: Vec<LogRecord> = (0..n).map(|i| generator.record(rng, written + i as u64)).collect();
        write(chunk).await?;
        written += n as u64;
        progress(written);
    }
    Ok(())
}

/// A service as the generator uses it.
struct Service {
    name: &'static str,
    resource: Arc<Attributes>,
    templates: Vec<Template>,
    /// Picks a template by its weight.
    frequency: WeightedIndex<u32>,
}

struct Generator<'a> {
    plan: &'a SeedPlan,
    services: Vec<Service>,
    service_share: WeightedIndex<u32>,
    /// Made-up sessions and people for the linked share of the other logs.
    people: Vec<(String, String)>,
    recorded_logs: u64,
}

impl<'a> Generator<'a> {
    fn new(plan: &'a SeedPlan) -> Self {
        let services = services();
        // The shares and weights are constants above, all positive: these cannot fail.
        let service_share = WeightedIndex::new(services.iter().map(|(_, share, _)| *share)).expect("shares");
        let services = services
            .into_iter()
            .map(|(name, _, templates)| {
                let resource = Arc::new(Attributes(vec![("service.name".into(), s(name))]));
                let frequency = WeightedIndex::new(templates.iter().map(|t| t.weight)).expect("weights");
                Service { name, resource, templates, frequency }
            })
            .collect();
        let people = (0..400)
            .map(|i| (format!("seed-session-{i:04}"), format!("customer-{:03}@example.com", i % 150)))
            .collect();
        let recorded_logs = (plan.recorded.len() as u64 * LOGS_PER_RECORDED_SESSION).min(plan.count / 4);
        Self { plan, services, service_share, people, recorded_logs }
    }

    /// The `index`-th log: the first ones go into recorded sessions, the rest anywhere.
    fn record(&self, rng: &mut StdRng, index: u64) -> LogRecord {
        let service = &self.services[self.service_share.sample(rng)];
        let template = &service.templates[service.frequency.sample(rng)];
        let (timestamp_ns, session) = if index < self.recorded_logs {
            let r = &self.plan.recorded[(index % self.plan.recorded.len() as u64) as usize];
            let at = rng.random_range(r.start_ms..=r.end_ms.max(r.start_ms));
            (at * MS + rng.random_range(0..MS), Some((r.session_id.clone(), r.distinct_id.clone())))
        } else {
            let linked =
                rng.random_bool(0.35).then(|| self.people[rng.random_range(0..self.people.len())].clone());
            (self.random_time(rng), linked)
        };
        let mut attributes: Vec<(String, AttrValue)> =
            (template.attributes)(rng).into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        if let Some((session_id, distinct_id)) = &session {
            attributes.push(("sessionId".into(), s(session_id.as_str())));
            attributes.push(("posthogDistinctId".into(), s(distinct_id.as_str())));
        }
        let (session_id, distinct_id) = session.unzip();
        LogRecord {
            project_id: self.plan.project_id,
            timestamp_ns,
            observed_timestamp_ns: timestamp_ns + rng.random_range(0..50 * MS),
            severity: template.severity,
            severity_text: template.severity.as_str().to_uppercase(),
            // The lowest OTel number of the level: 1, 5, 9, 13, 17, 21.
            severity_number: i32::from(template.severity.code() - 1) * 4 + 1,
            service: service.name.to_owned(),
            body: (template.body)(rng),
            session_id,
            distinct_id,
            trace_id: format!("{:032x}", rng.random::<u128>()),
            span_id: format!("{:016x}", rng.random::<u64>()),
            trace_flags: 1,
            event_name: String::new(),
            scope_name: service.name.to_owned(),
            scope_version: String::new(),
            attributes: Attributes(attributes),
            resource_attributes: service.resource.clone(),
            scope_attributes: Arc::default(),
        }
    }

    /// A time in the last `days`, busier in the (UTC) afternoon than at night.
    fn random_time(&self, rng: &mut StdRng) -> i64 {
        let span_ms = i64::from(self.plan.days) * 86_400_000;
        loop {
            let at = self.plan.now_ms - rng.random_range(0..span_ms);
            let hour = (at / 3_600_000) % 24;
            let busy = 0.25 + 0.75 * (1.0 - ((hour as f64 - 15.0).abs() / 12.0));
            if rng.random_bool(busy.clamp(0.05, 1.0)) {
                return at * MS + rng.random_range(0..MS);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[tokio::test]
    async fn logs_spread_over_the_days_and_link_recorded_sessions() {
        let now_ms = 1_790_000_000_000;
        let recorded = SeedSession {
            session_id: "0199-real".into(),
            distinct_id: "ada@example.com".into(),
            start_ms: now_ms - 600_000,
            end_ms: now_ms - 60_000,
        };
        let plan =
            SeedPlan { project_id: 7, count: 45_000, now_ms, days: 3, recorded: vec![recorded.clone()] };
        let mut logs = Vec::new();
        let mut steps = Vec::new();
        let write = |chunk: Vec<LogRecord>| {
            logs.extend(chunk);
            std::future::ready(Ok::<(), ()>(()))
        };
        seed_logs(&plan, &mut StdRng::seed_from_u64(1), write, |n| steps.push(n)).await.unwrap();
        assert_eq!(steps, [20_000, 40_000, 45_000]);

        assert_eq!(logs.len(), 45_000);
        let start = (now_ms - 3 * 86_400_000) * MS;
        assert!(
            logs.iter()
                .all(|l| l.project_id == 7 && l.timestamp_ns >= start && l.timestamp_ns <= (now_ms + 1) * MS)
        );
        let in_recording: Vec<&LogRecord> =
            logs.iter().filter(|l| l.session_id.as_deref() == Some("0199-real")).collect();
        assert_eq!(in_recording.len() as u64, LOGS_PER_RECORDED_SESSION);
        assert!(in_recording.iter().all(|l| {
            l.distinct_id.as_deref() == Some("ada@example.com")
                && l.timestamp_ns / MS >= recorded.start_ms
                && l.timestamp_ns / MS <= recorded.end_ms
        }));
        let linked = logs.iter().filter(|l| l.session_id.is_some()).count();
        assert!((12_000..20_000).contains(&linked), "{linked} linked");
        for severity in [Severity::Debug, Severity::Info, Severity::Warn, Severity::Error] {
            assert!(logs.iter().any(|l| l.severity == severity), "{severity:?}");
        }
        let mut per_service = std::collections::HashMap::<&str, usize>::new();
        for log in &logs {
            *per_service.entry(log.service.as_str()).or_default() += 1;
        }
        assert_eq!(per_service.len(), 5);
        let busiest = per_service.iter().max_by_key(|(_, n)| **n).unwrap();
        assert_eq!(*busiest.0, "shop-api", "{per_service:?}");
        let day_span = logs.iter().map(|l| l.timestamp_ns).max().unwrap()
            - logs.iter().map(|l| l.timestamp_ns).min().unwrap();
        assert!(day_span > 2 * 86_400_000 * MS, "spread over the days");
    }
}
