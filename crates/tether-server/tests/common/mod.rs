//! Test harness: an in-process Tether on port 0 with fresh embedded stores, shut down on drop.
#![allow(dead_code, unreachable_pub)] // Each test binary uses a different part of the harness.

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
        Self::start_full(limits, None).await
    }

    /// A server whose default project has this token (fixtures name theirs).
    pub async fn start_with_token(token: &str) -> TestServer {
        Self::start_full(Limits::default(), Some(token)).await
    }

    async fn start_full(limits: Limits, token: Option<&str>) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let stores = EmbeddedStores::open(dir.path()).await.expect("open stores");
        let first = first_start(stores.meta.as_ref(), token, None).await.unwrap().expect("first start");
        let admin_password = ensure_admin(stores.meta.as_ref(), Some("test-admin-password"))
            .await
            .unwrap()
            .expect("admin created");
        let (state, writer) = AppState::new(server_stores(&stores), limits);
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
    Stores::new(stores.logs.clone(), stores.meta.clone())
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
