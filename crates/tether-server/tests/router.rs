//! The router without sockets (`oneshot`): health, metrics, back-pressure and security headers.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;

use tether_server::bootstrap::first_start;
use tether_server::{AppState, BatcherConfig, Limits, Stores, router};

mod common;
use tether_model::ProjectId;
use tether_store::{LogWriter, StoreResult, StoredLog};
use tether_store_embedded::EmbeddedStores;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// A writer that waits for a permit before each append, so a test controls when commits happen.
struct GatedWriter {
    gate: Arc<Semaphore>,
    inner: Arc<dyn LogWriter>,
}

#[async_trait]
impl LogWriter for GatedWriter {
    async fn append_logs(&self, logs: Vec<StoredLog>) -> StoreResult<()> {
        self.gate.acquire().await.expect("gate open").forget();
        self.inner.append_logs(logs).await
    }

    async fn delete_logs_before(&self, project_id: ProjectId, before_ns: i64) -> StoreResult<u64> {
        self.inner.delete_logs_before(project_id, before_ns).await
    }
}

struct Fixture {
    state: AppState,
    token: String,
    gate: Arc<Semaphore>,
    _dir: tempfile::TempDir,
}

async fn fixture(queue_records: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let stores = EmbeddedStores::open(dir.path()).await.unwrap();
    let first = first_start(stores.meta.as_ref(), Some("phc_routertest"), None).await.unwrap().unwrap();
    let gate = Arc::new(Semaphore::new(0));
    let writer = Arc::new(GatedWriter { gate: gate.clone(), inner: stores.analytics.clone() });
    let limits =
        Limits { batcher: BatcherConfig { queue_records, max_commit_records: 1000 }, ..Limits::default() };
    let (state, _writer) =
        AppState::new(Stores { log_writer: writer, ..common::server_stores(&stores) }, limits).await.unwrap();
    Fixture { state, token: first.project.token, gate, _dir: dir }
}

fn log_request(token: &str, records: usize) -> Request<Body> {
    let recs: Vec<String> = (0..records).map(|i| format!(r#"{{"body":{{"stringValue":"r{i}"}}}}"#)).collect();
    let body = format!(r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{}]}}]}}]}}"#, recs.join(","));
    Request::post("/v1/logs")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

async fn text(resp: axum::response::Response) -> String {
    String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

#[tokio::test]
async fn full_queue_answers_503_with_retry_after_then_recovers() {
    let f = fixture(3).await;
    let app = router(f.state.clone());
    // The first request fills the queue and waits for the (closed) gate.
    let first = tokio::spawn(app.clone().oneshot(log_request(&f.token, 3)));
    while f.state_queued(&app).await < 3 {
        tokio::task::yield_now().await;
    }
    let refused = app.clone().oneshot(log_request(&f.token, 1)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert!(text(refused).await.contains("queue is full"));
    f.gate.add_permits(10);
    assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
    assert_eq!(app.clone().oneshot(log_request(&f.token, 1)).await.unwrap().status(), StatusCode::OK);
    let metrics =
        text(app.oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap()).await;
    assert!(metrics.contains("tether_log_records_ingested_total 4"), "{metrics}");
    assert!(metrics.contains("tether_ingest_requests_rejected_total 1"), "{metrics}");
    assert!(metrics.contains("tether_capture_queue_items{kind=\"events\"} 0"), "{metrics}");
    assert!(metrics.contains("tether_batch_commit_seconds_count 2"), "{metrics}");
    assert!(metrics.contains("tether_ingest_queue_records 0"), "{metrics}");
}

impl Fixture {
    /// Queue depth as `/metrics` reports it.
    async fn state_queued(&self, app: &axum::Router) -> u64 {
        let body =
            text(app.clone().oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap())
                .await;
        body.lines()
            .find_map(|l| l.strip_prefix("tether_ingest_queue_records "))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

#[tokio::test]
async fn health_reports_storage_and_unknown_api_paths_are_json_404() {
    let f = fixture(100).await;
    let app = router(f.state.clone());
    let health = app.clone().oneshot(Request::get("/_health").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(text(health).await, r#"{"status":"ok"}"#);
    let missing = app.oneshot(Request::get("/api/nothing").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(text(missing).await.contains("\"error\""));
}

/// Every response carries the browser security headers; behind a TLS proxy the login
/// cookie is `Secure` and HSTS is on.
#[tokio::test]
async fn responses_carry_security_headers_and_tls_proxies_get_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let stores = EmbeddedStores::open(dir.path()).await.unwrap();
    first_start(stores.meta.as_ref(), None, None).await.unwrap().unwrap();
    tether_server::bootstrap::ensure_admin(stores.meta.as_ref(), Some("router-test-password")).await.unwrap();
    let (state, _writer) = AppState::new(common::server_stores(&stores), Limits::default()).await.unwrap();
    let login = || {
        Request::post("/api/login")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"username":"admin","password":"router-test-password"}"#))
            .unwrap()
    };
    for behind_proxy in [false, true] {
        state.set_behind_tls_proxy(behind_proxy);
        let app = router(state.clone());
        for uri in ["/", "/logs", "/api/me", "/_health", "/no/such/page"] {
            let resp = app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
            let h = resp.headers();
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(
                csp.contains("script-src 'self';") && csp.ends_with("frame-ancestors 'none'"),
                "{uri}: {csp}"
            );
            assert_eq!(h["x-frame-options"], "DENY", "{uri}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{uri}");
            assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin", "{uri}");
            assert_eq!(h.contains_key("strict-transport-security"), behind_proxy, "{uri}");
        }
        let resp = app.clone().oneshot(login()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let cookie = resp.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.contains("HttpOnly; SameSite=Lax"), "{cookie}");
        assert_eq!(cookie.ends_with("; Secure"), behind_proxy, "{cookie}");
    }
}
