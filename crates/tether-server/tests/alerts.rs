//! Alerts on a running server: a log threshold fires once to a local webhook receiver and
//! resolves when the window empties; issue alerts notify for new and regressed issues;
//! failing or hanging webhooks are retried with backoff and time out, without holding up
//! ingest; bad alerts are refused with the reason.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use common::{TestServer, now_ns, otlp_json};
use serde_json::{Value, json};
use tether_app::Clock;
use tether_server::alerts::AlertConfig;

/// A webhook receiver: keeps every body, answers the statuses of `script` in turn (then 200),
/// after `delay` each.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Value>>>,
    script: Arc<Mutex<Vec<u16>>>,
    delay: Duration,
}

impl Receiver {
    async fn start(self) -> (Receiver, String) {
        async fn hook(State(r): State<Receiver>, body: String) -> StatusCode {
            tokio::time::sleep(r.delay).await;
            r.got.lock().unwrap().push(serde_json::from_str(&body).unwrap_or(Value::Null));
            let next = { r.script.lock().unwrap().pop() };
            StatusCode::from_u16(next.unwrap_or(200)).unwrap()
        }
        // `/redirect` sends the caller on to `/hook`, which a webhook must not follow.
        let redirect = || async { (StatusCode::TEMPORARY_REDIRECT, [("location", "/hook")]) };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .route("/redirect", axum::routing::post(redirect))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (self, url)
    }

    fn statuses(&self) -> Vec<String> {
        self.got.lock().unwrap().iter().map(|v| v["status"].as_str().unwrap_or("").to_owned()).collect()
    }
}

fn fast() -> AlertConfig {
    AlertConfig {
        interval: Duration::from_millis(150),
        timeout: Duration::from_millis(500),
        attempts: 3,
        first_backoff: Duration::from_millis(50),
    }
}

impl TestServer {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/api/projects/{}/{path}", self.base, self.project_id);
        let mut request = self.client.request(method, url).bearer_auth(&self.api_key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let resp = request.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    async fn history(&self, alert: i64) -> Vec<Value> {
        self.send(reqwest::Method::GET, &format!("alerts/{alert}/history"), None).await.1["results"]
            .as_array()
            .unwrap()
            .clone()
    }
}

async fn until<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn a_log_threshold_fires_once_per_breach_and_resolves() {
    // Time stands still until the test moves it: the window empties when the test says.
    let clock = Arc::new(tether_app::ManualClock::at(now_ns() / 1_000_000));
    let s = TestServer::start_with_alerts_and_clock(fast(), clock.clone()).await;
    let (hook, url) = Receiver::default().start().await;
    let alert = json!({"name": "payment failures", "webhook_url": url,
        "rule": {"kind": "log_threshold", "query": "q=payment failed&severity=error", "threshold": 2, "window_secs": 3}});
    let (status, created) = s.send(reqwest::Method::POST, "alerts", Some(alert)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();

    // Two matching logs are not more than 2; a third is. Other logs do not count.
    let logs: Vec<(&str, &[(&str, &str)])> =
        vec![("payment failed: card declined", &[]), ("payment failed: timeout", &[]), ("cart viewed", &[])];
    let mut body = otlp_json("api", (clock.now_ms() - 1000) * 1_000_000, &logs);
    for r in body["resourceLogs"][0]["scopeLogs"][0]["logRecords"].as_array_mut().unwrap() {
        r["severityText"] = json!("ERROR");
    }
    assert_eq!(s.send_json(&body).await.0, 200);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(hook.statuses().is_empty(), "2 is not over the threshold: {:?}", hook.statuses());
    assert_eq!(s.send_json(&body).await.0, 200);

    let fired = until("the firing notification", async || hook.got.lock().unwrap().first().cloned()).await;
    assert_eq!((fired["status"].as_str(), fired["count"].as_u64()), (Some("firing"), Some(4)));
    assert_eq!(fired["alert"]["name"], "payment failures");
    let link = fired["link"].as_str().unwrap();
    assert!(
        link.starts_with(&s.base) && link.contains("/project/1/logs?q=payment+failed&severity=error&from="),
        "{link}"
    );

    // Still over the threshold for a while: no second notification. Then the window
    // empties (the clock moves past it) and it resolves.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(hook.statuses(), ["firing"], "one notification per breach");
    clock.advance(4_000);
    let resolved = until("the resolved notification", async || {
        let got = hook.got.lock().unwrap().clone();
        got.iter().any(|v| v["status"] == "resolved").then_some(got)
    })
    .await;
    assert_eq!(hook.statuses()[..2], ["firing", "resolved"], "{resolved:?}");
    assert_eq!(resolved[1]["count"], 0);
    let history = s.history(id).await;
    let kinds: Vec<&str> = history.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["resolved", "fired"]);
    assert!(history.iter().all(|e| e["delivery"] == "delivered" && e["attempts"] == 1), "{history:?}");
    assert_eq!(history[1]["value"], 4);
    let (_, alerts) = s.send(reqwest::Method::GET, "alerts", None).await;
    assert_eq!(alerts["results"][0]["firing"], false);
}

#[tokio::test]
async fn failing_webhooks_are_retried_and_hanging_ones_time_out_without_holding_up_ingest() {
    let s = TestServer::start_with_alerts(fast()).await;
    let flaky = Receiver { script: Arc::new(Mutex::new(vec![500, 503])), ..Default::default() };
    let (flaky, flaky_url) = flaky.start().await;
    let (_hung, hung_url) = Receiver { delay: Duration::from_secs(5), ..Default::default() }.start().await;
    let mut ids = Vec::new();
    for url in [&flaky_url, &hung_url] {
        let alert = json!({"name": "any log", "webhook_url": url,
            "rule": {"kind": "log_threshold", "query": "", "threshold": 0, "window_secs": 60}});
        let (status, created) = s.send(reqwest::Method::POST, "alerts", Some(alert)).await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_i64().unwrap());
    }
    assert_eq!(s.send_json(&otlp_json("api", now_ns(), &[("hello", &[])])).await.0, 200);

    let delivered = until("the flaky webhook's delivery", async || {
        s.history(ids[0]).await.into_iter().find(|e| e["delivery"] == "delivered")
    })
    .await;
    assert_eq!(delivered["attempts"], 3, "two failures, then success: {delivered}");
    assert_eq!(flaky.statuses(), ["firing", "firing", "firing"]);

    // The hanging webhook: every attempt times out; meanwhile ingest answers at once.
    let started = std::time::Instant::now();
    for _ in 0..5 {
        assert_eq!(s.send_json(&otlp_json("api", now_ns(), &[("more", &[])])).await.0, 200);
    }
    assert!(started.elapsed() < Duration::from_secs(2), "ingest waited for a webhook");
    let failed = until("the hanging webhook's failure", async || {
        s.history(ids[1]).await.into_iter().find(|e| e["delivery"] == "failed")
    })
    .await;
    assert_eq!(failed["attempts"], 3);
    assert!(failed["last_error"].as_str().unwrap().contains("timed out"), "{failed}");
}

#[tokio::test]
async fn issue_alerts_notify_new_and_regressed_issues() {
    let s = TestServer::start_with_alerts(fast()).await;
    let (hook, url) = Receiver::default().start().await;
    let alert = json!({"name": "new errors", "webhook_url": url, "rule": {"kind": "new_issue"}});
    let (status, created) = s.send(reqwest::Method::POST, "alerts", Some(alert)).await;
    assert_eq!(status, 201, "{created}");
    let exception = |uuid: &str| {
        json!({"api_key": s.token, "batch": [{"event": "$exception", "uuid": uuid, "distinct_id": "u1",
            "properties": {"$exception_list": [{"type": "TypeError", "value": "x is undefined"}]}}]})
    };
    let post = |body: Value| s.client.post(format!("{}/batch/", s.base)).json(&body).send();
    assert_eq!(post(exception("0194d8a4-0000-7000-8000-00000000000a")).await.unwrap().status(), 200);
    let new = until("the new issue notification", async || hook.got.lock().unwrap().first().cloned()).await;
    assert_eq!((new["status"].as_str(), new["issue"]["name"].as_str()), (Some("new"), Some("TypeError")));
    let issue = new["issue"]["id"].as_i64().unwrap();
    assert!(new["link"].as_str().unwrap().ends_with(&format!("/project/1/errors/{issue}")));

    // Seen again while active: nothing. Resolved, then seen again: regressed.
    assert_eq!(post(exception("0194d8a4-0000-7000-8000-00000000000b")).await.unwrap().status(), 200);
    let resolve = json!({"status": "resolved"});
    let (status, _) =
        s.send(reqwest::Method::PATCH, &format!("error_tracking/issues/{issue}"), Some(resolve)).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(hook.statuses(), ["new"]);
    assert_eq!(post(exception("0194d8a4-0000-7000-8000-00000000000c")).await.unwrap().status(), 200);
    until("the regressed notification", async || (hook.statuses() == ["new", "regressed"]).then_some(()))
        .await;
}

#[tokio::test]
async fn bad_alerts_are_refused_with_the_reason() {
    let s = TestServer::start().await;
    let rule = json!({"kind": "log_threshold", "query": "q=x", "threshold": 1, "window_secs": 60});
    for (body, reason) in [
        (json!({"name": "a", "webhook_url": "ftp://x/y", "rule": rule}), "webhook_url"),
        (json!({"name": "a", "webhook_url": "not a url", "rule": rule}), "webhook_url"),
        (json!({"name": " ", "webhook_url": "http://x/y", "rule": rule}), "name"),
        (
            json!({"name": "a", "webhook_url": "http://x/y",
            "rule": {"kind": "log_threshold", "query": "q=x&from=-1h", "threshold": 1, "window_secs": 60}}),
            "from is not a filter",
        ),
        (
            json!({"name": "a", "webhook_url": "http://x/y",
            "rule": {"kind": "log_threshold", "query": "severity=loud", "threshold": 1, "window_secs": 60}}),
            "severity",
        ),
        (
            json!({"name": "a", "webhook_url": "http://x/y",
            "rule": {"kind": "log_threshold", "query": "", "threshold": 1, "window_secs": 0}}),
            "window_secs",
        ),
        (json!({"name": "a", "webhook_url": "http://x/y", "rule": {"kind": "sometimes"}}), "unknown variant"),
    ] {
        let (status, answer) = s.send(reqwest::Method::POST, "alerts", Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains(reason), "{reason}: {answer}");
    }
    assert_eq!(s.send(reqwest::Method::GET, "alerts/999/history", None).await.0, 404);
    assert_eq!(s.send(reqwest::Method::DELETE, "alerts/999", None).await.0, 404);
}

/// Webhooks cannot reach inside: loopback, link-local and private destinations are refused
/// when the alert is saved, with the reason, unless their network is allowed; a redirect
/// is not followed. (Only loopback is ever connected to here.)
#[tokio::test]
async fn webhooks_to_internal_addresses_are_refused_unless_allowed() {
    let s = TestServer::start_with_public_webhooks_only().await;
    let rule = json!({"kind": "new_issue"});
    for (url, why) in [
        ("http://127.0.0.1:9/hook", "127.0.0.1 is a loopback address"),
        ("http://[::1]:9/hook", "::1 is a loopback address"),
        ("http://localhost:9/hook", "is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("http://[fd00::1]/hook", "fd00::1 is a unique local address"),
    ] {
        let body = json!({"name": "a", "webhook_url": url, "rule": rule});
        let (status, answer) = s.send(reqwest::Method::POST, "alerts", Some(body)).await;
        assert_eq!(status, 400, "{url}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.starts_with("webhook_url refused: ") && error.contains(why), "{url}: {error}");
        assert!(error.contains("allowed_webhook_networks"), "says how to allow it: {error}");
    }

    // Allowed (loopback, as tests are), a receiver that redirects is not followed.
    let s = TestServer::start_with_alerts(fast()).await;
    let (hook, url) = Receiver::default().start().await;
    let alert = json!({"name": "redirected", "webhook_url": url.replace("/hook", "/redirect"), "rule": rule});
    let (status, created) = s.send(reqwest::Method::POST, "alerts", Some(alert)).await;
    assert_eq!(status, 201, "{created}");
    let exception = json!({"api_key": s.token, "batch": [{"event": "$exception",
        "uuid": "0194d8a4-0000-7000-8000-00000000000d", "distinct_id": "u1",
        "properties": {"$exception_list": [{"type": "TypeError", "value": "x is undefined"}]}}]});
    assert_eq!(
        s.client.post(format!("{}/batch/", s.base)).json(&exception).send().await.unwrap().status(),
        200
    );
    let id = created["id"].as_i64().unwrap();
    let failed = until("the redirected delivery", async || {
        s.history(id).await.into_iter().find(|e| e["delivery"] == "failed")
    })
    .await;
    assert_eq!(failed["last_error"], "HTTP 307", "{failed}");
    assert!(hook.got.lock().unwrap().is_empty(), "the redirect was not followed");
}
