//! Request by request over real stores: a recording's network requests joined to the logs
//! they caused (by trace, else by session + route + time), the issue a failed request
//! caused, and linking health naming the route no log was found for.

use std::io::Write;

use bytes::Bytes;
use serde_json::{Value, json};
use tether_app::requests::MatchKind;
use tether_model::{ExceptionRecord, LogId, RecordingChunk, RecordingStats, Severity};
use tether_store::conformance::logs::sample;
use tether_store::{EventStore, IssueStore, LogFilter, LogWriter, StoredLog};

mod common;

use common::{NOW_MS, fixture};

const T: i64 = NOW_MS - 600_000;

/// A request's URL, how its logs matched, their ids and its issues' ids.
type Joined<'a> = (&'a str, Option<MatchKind>, Vec<i64>, Vec<i64>);
const TRACE_CHECKOUT: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACE_SEARCH: &str = "0af7651916cd43dd8448eb211c80319c";

fn log(id: i64, at_ms: i64, body: &str, session: Option<&str>, trace: &str, severity: Severity) -> StoredLog {
    let mut record = sample(1, at_ms * 1_000_000, body);
    record.session_id = session.map(str::to_owned);
    record.trace_id = trace.into();
    record.severity = severity;
    StoredLog { id: LogId(id), record }
}

/// A request as posthog-js records it from the browser's timing entries.
fn request(url: &str, initiator: &str, start: i64, end: i64, status: u16, trace: Option<&str>) -> Value {
    let timing: Vec<Value> = trace
        .map(|t| json!({"name": "traceparent", "duration": 0, "description": format!("00-{t}-00f067aa0ba902b7-01")}))
        .into_iter()
        .collect();
    let kind = if initiator == "navigation" { "navigation" } else { "resource" };
    json!({"name": url, "entryType": kind, "initiatorType": initiator, "timeOrigin": T, "timestamp": start,
           "startTime": start - T, "endTime": end - T, "responseStatus": status, "serverTiming": timing})
}

fn chunk(requests: Vec<Value>) -> RecordingChunk {
    let events = json!([
        {"type": 4, "timestamp": T, "data": {"href": "http://shop.test/", "width": 800, "height": 600}},
        {"type": 6, "timestamp": T + 10, "data": {"plugin": "rrweb/network@1", "payload": {"requests": requests}}},
    ]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(events.to_string().as_bytes()).unwrap();
    RecordingChunk {
        project_id: 1,
        session_id: "s1".into(),
        window_id: "w1".into(),
        distinct_id: "ada".into(),
        blob: Bytes::from(gz.finish().unwrap()),
        size: 100,
        stats: RecordingStats {
            first_ms: T,
            last_ms: T + 30_000,
            first_url: Some("http://shop.test/".into()),
            has_full_snapshot: true,
            ..Default::default()
        },
    }
}

#[tokio::test]
async fn each_request_gets_the_logs_and_issue_it_caused() {
    let f = fixture().await;
    let s1 = Some("s1");
    f.duck
        .append_logs(vec![
            log(1, T + 100, "POST /api/checkout 502", s1, TRACE_CHECKOUT, Severity::Error),
            log(2, T + 120, "payment declined", s1, TRACE_CHECKOUT, Severity::Error),
            log(3, T + 1000, "GET /api/cart 200", s1, "", Severity::Info),
            log(4, T + 60_000, "GET /api/cart 200", s1, "", Severity::Info), // another call, a minute on
            log(5, T + 2050, "search index queried", None, TRACE_SEARCH, Severity::Info), // a service without sessions
        ])
        .await
        .unwrap();
    let recorded = vec![
        request("http://shop.test/", "navigation", T, T + 40, 200, None),
        request("http://shop.test/", "navigation", T, T + 45, 200, None), // reported again once loaded
        request("http://shop.test/app.js", "script", T + 50, T + 60, 200, None),
        request("http://tether.test/flags/?v=2", "fetch", T + 10, T + 20, 200, None), // posthog-js's own
        request("http://shop.test/api/checkout", "fetch", T, T + 150, 502, Some(TRACE_CHECKOUT)),
        request("http://shop.test/api/cart", "fetch", T + 900, T + 1050, 200, None),
        request("http://shop.test/api/search?q=x", "fetch", T + 2000, T + 2100, 200, Some(TRACE_SEARCH)),
        request("http://shop.test/api/ping/42", "fetch", T + 5000, T + 5010, 200, None),
    ];
    f.recordings.store_chunks(vec![chunk(recorded)], NOW_MS).await.unwrap();
    // The page threw 300 ms after the checkout failed, and again 20 s later (not its doing).
    let issue =
        f.meta.record_occurrence(1, "fp-checkout", "Error", "Checkout failed", T + 300).await.unwrap();
    let other =
        f.meta.record_occurrence(1, "fp-other", "TypeError", "x is undefined", T + 20_000).await.unwrap();
    let exception = |uuid: &str, issue_id, at| ExceptionRecord {
        project_id: 1,
        uuid: uuid.into(),
        issue_id,
        session_id: Some("s1".into()),
        window_id: Some("w1".into()),
        distinct_id: "ada".into(),
        timestamp_ms: at,
        url: None,
        name: "Error".into(),
        message: String::new(),
        exception_list: json!([]),
    };
    f.duck
        .append_exceptions(vec![exception("e1", issue, T + 300), exception("e2", other, T + 20_000)])
        .await
        .unwrap();

    let requests = f.app.session_requests(1, "s1").await.unwrap().expect("recorded");
    let summary: Vec<Joined> = requests
        .iter()
        .map(|r| {
            (
                r.request.url.as_str(),
                r.matched,
                r.logs.iter().map(|l| l.id.0).collect(),
                r.issues.iter().map(|i| i.issue.id).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("http://shop.test/", None, vec![], vec![]),
            ("http://shop.test/api/checkout", Some(MatchKind::Trace), vec![1, 2], vec![issue]),
            ("http://tether.test/flags/?v=2", None, vec![], vec![]),
            ("http://shop.test/app.js", None, vec![], vec![]),
            ("http://shop.test/api/cart", Some(MatchKind::SessionRouteTime), vec![3], vec![]),
            ("http://shop.test/api/search?q=x", Some(MatchKind::Trace), vec![5], vec![]),
            ("http://shop.test/api/ping/42", None, vec![], vec![]),
        ]
    );
    assert_eq!(requests[0].request.end_ms, T + 45, "the later report of the page load is kept");
    assert_eq!(f.app.session_requests(1, "unrecorded").await.unwrap(), None);

    let health =
        f.app.linking(LogFilter::new(1, (T - 60_000) * 1_000_000, NOW_MS * 1_000_000)).await.unwrap();
    // posthog-js's own calls are not the app's backend: not counted.
    assert_eq!((health.requests, health.linked_requests, health.recordings_read), (5, 3, 1));
    let routes: Vec<(&str, &str, u64, bool)> = health
        .unlinked_routes
        .iter()
        .map(|r| (r.host.as_str(), r.route.as_str(), r.requests, r.same_origin))
        .collect();
    assert_eq!(routes, [("shop.test", "/", 1, true), ("shop.test", "/api/ping/:id", 1, true)]);
    assert!(health.unlinked_routes[1].fix.contains("stamping middleware"), "{:?}", health.unlinked_routes[1]);
    let checkout = &health.services[0];
    assert_eq!(
        (checkout.linking.logs, checkout.linking.with_session, checkout.linking.with_trace),
        (5, 4, 3)
    );
    assert_eq!(checkout.fix, None, "most of its logs carry a session and a trace");
}
