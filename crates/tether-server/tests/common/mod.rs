//! Test harness: an in-process Tether on port 0 with fresh embedded stores, shut down on drop.
#![allow(dead_code, unreachable_pub)] // Each test binary uses a different part of the harness.

use std::io::Write;
use std::net::SocketAddr;

use serde_json::{Value, json};
use tether_server::bootstrap::{ensure_admin, first_start};
use tether_server::{AppState, Limits, Listeners, Stores};
use tether_store_embedded::EmbeddedStores;
use tokio::sync::oneshot;

pub struct TestServer {
    pub base: String,
    pub grpc: SocketAddr,
    pub token: String,
    pub api_key: String,
    pub project_id: i64,
    pub admin_password: String,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(Limits::default()).await
    }

    pub async fn start_with(limits: Limits) -> TestServer {
        Self::start_full(limits, None, None, None, true).await
    }

    /// A server whose default project has this token (fixtures name theirs).
    pub async fn start_with_token(token: &str) -> TestServer {
        Self::start_full(Limits::default(), Some(token), None, None, true).await
    }

    /// A server whose webhooks may reach the public internet only (the default of `tether`).
    pub async fn start_with_public_webhooks_only() -> TestServer {
        Self::start_full(Limits::default(), None, None, None, false).await
    }

    /// A server that evaluates alerts and delivers their webhooks as `alerts` says.
    pub async fn start_with_alerts(alerts: tether_server::alerts::AlertConfig) -> TestServer {
        Self::start_full(Limits::default(), None, Some(alerts), None, true).await
    }

    /// [`TestServer::start_with_alerts`] whose alerts and use cases read the time from `clock`.
    pub async fn start_with_alerts_and_clock(
        alerts: tether_server::alerts::AlertConfig,
        clock: std::sync::Arc<dyn tether_app::Clock>,
    ) -> TestServer {
        Self::start_full(Limits::default(), None, Some(alerts), Some(clock), true).await
    }

    async fn start_full(
        limits: Limits,
        token: Option<&str>,
        alerts: Option<tether_server::alerts::AlertConfig>,
        clock: Option<std::sync::Arc<dyn tether_app::Clock>>,
        webhooks_to_loopback: bool,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let stores = EmbeddedStores::open(dir.path()).await.expect("open stores");
        let stores = server_stores(&stores);
        let first = first_start(stores.meta.as_ref(), token, None).await.unwrap().expect("first start");
        let admin_password = ensure_admin(stores.users.as_ref(), Some("test-admin-password"))
            .await
            .unwrap()
            .expect("admin created");
        let clock = clock.unwrap_or_else(|| std::sync::Arc::new(tether_app::SystemClock));
        let (state, writer) = AppState::with_clock(stores, limits, clock).await.expect("start writers");
        // Tests receive webhooks on this machine; `tests/alerts.rs` checks the refusals
        // with a server that allows nothing.
        if webhooks_to_loopback {
            let loopback = vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
            state.set_webhook_rules(loopback, None);
        }
        if let Some(config) = alerts {
            tether_server::alerts::spawn(state.clone(), config);
        }
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", http.local_addr().unwrap());
        let grpc_addr = grpc.local_addr().unwrap();
        let (tx, rx) = oneshot::channel();
        tokio::spawn(tether_server::serve(state, writer, Listeners { http, grpc }, async move {
            let _ = rx.await;
        }));
        TestServer {
            base,
            grpc: grpc_addr,
            token: first.project.token,
            api_key: first.api_key,
            project_id: first.project.id,
            admin_password,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            _dir: dir,
        }
    }

    /// `GET /api/projects/{id}/{path}` with the admin key; returns status and JSON.
    pub async fn api(&self, path: &str) -> (u16, Value) {
        let url = format!("{}/api/projects/{}/{path}", self.base, self.project_id);
        let resp = self.client.get(url).bearer_auth(&self.api_key).send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// `PATCH /api/projects/{id}/settings` with the admin key.
    pub async fn patch_settings(&self, patch: &Value) -> reqwest::Response {
        let url = format!("{}/api/projects/{}/settings", self.base, self.project_id);
        self.client.patch(url).bearer_auth(&self.api_key).json(patch).send().await.expect("request")
    }

    /// The session cookie (`tether_session=…`) of the admin, logged in now.
    pub async fn admin_cookie(&self) -> String {
        let login = self.login(&self.admin_password).await;
        login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned()
    }

    /// `POST /api/login` as the admin with `password`.
    pub async fn login(&self, password: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/api/login", self.base))
            .json(&json!({"username": "admin", "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Posts an OTLP/JSON body to `/v1/logs` with the project token.
    pub async fn send_json(&self, body: &Value) -> (u16, Value) {
        let resp = self
            .client
            .post(format!("{}/v1/logs", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

/// Every server store backed by one set of embedded stores.
pub fn server_stores(stores: &EmbeddedStores) -> Stores {
    Stores::new(stores.analytics.clone(), stores.meta.clone(), stores.blobs.clone())
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An OTLP/JSON request with one log per `(body, attributes)`, service `svc`, at `time_ns`.
pub fn otlp_json(service: &str, time_ns: i64, logs: &[(&str, &[(&str, &str)])]) -> Value {
    let records: Vec<Value> = logs
        .iter()
        .map(|(body, attrs)| {
            let attrs: Vec<Value> =
                attrs.iter().map(|(k, v)| json!({ "key": k, "value": { "stringValue": v } })).collect();
            json!({
                "timeUnixNano": time_ns.to_string(),
                "severityText": "INFO",
                "body": { "stringValue": body },
                "attributes": attrs,
            })
        })
        .collect();
    json!({
        "resourceLogs": [{
            "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": service } }] },
            "scopeLogs": [{ "scope": { "name": "test" }, "logRecords": records }]
        }]
    })
}

pub fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64
}

/// Runs `program script args…` (a script under tests/sdk, by path from the repository root)
/// for up to 60 s and fails the test with its stderr and `hint` if it fails.
/// Runs a test script of the repository with `program`; its standard output.
pub async fn run_sdk_script(program: &std::path::Path, script: &str, args: &[&str], hint: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(script);
    let output = tokio::process::Command::new(program).arg(&path).args(args).output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), output)
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within 60 s"))
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        output.status.success(),
        "{script} failed ({hint}):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What every stamping recipe (examples/python, examples/node) must have produced: its
/// `/checkout` was called once with posthog-js's tracing headers (session `{app}-session-1`,
/// window `{app}-window-1`, person ada@example.com), once with W3C baggage (session
/// `{app}-baggage-1`, person grace@example.com) and once with invalid ids; each call wrote
/// `expected_bodies` (sorted), one of them the error "payment declined by the card processor".
/// The trace id a recipe script's caller sends in `traceparent` (the recipe continues it).
pub const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

pub async fn assert_recipe_stamped(s: &TestServer, app: &str, expected_bodies: &[&str]) {
    let session_logs = |session: String| async move {
        let (status, page) = s.api(&format!("logs?session_id={session}")).await;
        assert_eq!(status, 200);
        page["results"].as_array().unwrap().clone()
    };
    let logs = session_logs(format!("{app}-session-1")).await;
    let mut bodies: Vec<&str> = logs.iter().map(|l| l["body"].as_str().unwrap()).collect();
    bodies.sort_unstable();
    assert_eq!(bodies, expected_bodies, "{logs:?}");
    for log in &logs {
        assert_eq!(log["distinct_id"], "ada@example.com");
        assert_eq!(log["service"], format!("{app}-shop"));
        assert_eq!(log["attributes"]["session.id"], format!("{app}-session-1"));
        assert_eq!(log["attributes"]["posthogWindowId"], format!("{app}-window-1"));
    }
    let declined = logs.iter().find(|l| l["body"] == "payment declined by the card processor").unwrap();
    assert_eq!(declined["severity"], "error");
    assert_eq!(declined["attributes"]["gateway"], "acme-pay");
    // The request's trace, named in its response, is on each of its logs.
    let trace = logs[0]["trace_id"].as_str().unwrap_or_default();
    assert_eq!(trace.len(), 32, "{logs:?}");
    assert!(logs.iter().all(|l| l["trace_id"] == trace), "one request, one trace: {logs:?}");

    // A page load or form post, named only by the posthog-js cookie.
    let from_cookie = session_logs(format!("{app}-cookie-1")).await;
    assert_eq!(from_cookie.len(), expected_bodies.len(), "{from_cookie:?}");
    assert!(from_cookie.iter().all(|l| l["distinct_id"] == "lin@example.com"), "{from_cookie:?}");
    // The caller's trace is continued.
    let traced = session_logs(format!("{app}-traced-1")).await;
    assert_eq!(traced.len(), expected_bodies.len(), "{traced:?}");
    assert!(traced.iter().all(|l| l["trace_id"] == CALLER_TRACE), "{traced:?}");

    let from_baggage = session_logs(format!("{app}-baggage-1")).await;
    assert_eq!(from_baggage.len(), expected_bodies.len());
    assert!(from_baggage.iter().all(|l| l["distinct_id"] == "grace@example.com"), "{from_baggage:?}");

    // The call with an oversized session id and a placeholder person logged, unlinked.
    let (_, all) = s.api("logs?q=payment%20declined").await;
    let all = all["results"].as_array().unwrap();
    assert_eq!(all.len(), 5, "{all:?}");
    let unlinked: Vec<_> = all.iter().filter(|l| l["session_id"].is_null()).collect();
    assert_eq!(unlinked.len(), 1);
    assert!(unlinked[0]["distinct_id"].is_null());
}

/// The project token and session of the captured posthog-js 1.449.2 requests (fixtures).
pub const FIXTURE_TOKEN: &str = "phc_testtoken123";
pub const FIXTURE_SESSION: &str = "01a21a2c-e777-7dd2-bbad-cd7c0a9958e7";

/// A captured posthog-js request's decoded body.
pub fn fixture(name: &str) -> Value {
    let path =
        format!("{}/../tether-ingest/tests/fixtures/posthog-js-1.449.2/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str::<Value>(&std::fs::read_to_string(path).unwrap()).unwrap()["decoded_body"].clone()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Posts a body the way posthog-js does: gzip bytes as text/plain.
pub async fn post_gzip(s: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let resp = s
        .client
        .post(format!("{}{path}", s.base))
        .header("content-type", "text/plain")
        .body(gzip(body.to_string().as_bytes()))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Sends every captured posthog-js request (events, an exception, a recording).
pub async fn send_fixtures(s: &TestServer) {
    for (path, name) in [
        ("/e/", "01_fetch_POST_e.json"),
        ("/i/v0/e/", "04_fetch_POST_i_v0_e.json"),
        ("/i/v0/e/", "06_fetch_POST_i_v0_e.json"),
        ("/i/v0/e/", "07_fetch_POST_i_v0_e.json"),
        ("/s/", "08_fetch_POST_s.json"),
        ("/i/v0/e", "09_sendBeacon_POST_i_v0_e.json"),
    ] {
        assert_eq!(post_gzip(s, path, &fixture(name)).await, (200, json!({"status": 1})), "{name}");
    }
}
