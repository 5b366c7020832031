//! The real `tether` binary as a child process for the end-to-end tests, killed on drop.
#![allow(dead_code, unreachable_pub)] // Each test binary uses a different part of the harness.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const TOKEN: &str = "phc_binarytests";
pub const KEY: &str = "phx_binarytests";

pub struct Tether {
    pub child: Child,
    pub base: String,
}

impl Drop for Tether {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// Starts `tether serve` on `data_dir` with the fixed token and key and `env` added.
pub fn spawn(data_dir: &Path, env: &[(&str, &str)]) -> Tether {
    let http = free_addr();
    let mut command = Command::new(env!("CARGO_BIN_EXE_tether"));
    // The test runner's TETHER_TEST_* variables are not settings (Tether refuses unknown ones).
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("TETHER_")) {
        command.env_remove(key);
    }
    let child = command
        .args(["serve", "--http-addr", &http, "--grpc-addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("TETHER_PROJECT_TOKEN", TOKEN)
        .env("TETHER_API_KEY", KEY)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .expect("tether starts");
    Tether { child, base: format!("http://{http}") }
}

/// Waits until `/_health` answers 200.
pub async fn healthy(tether: &Tether) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reqwest::get(format!("{}/_health", tether.base)).await.is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "tether did not become healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An environment variable scripts/test sets for the service tests.
pub fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/test, or set it"))
}

/// GET `/api/{path}` with the test key: (status, JSON body or null).
pub async fn api(tether: &Tether, path: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}/api/{path}", tether.base))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

/// Posts a PostHog `/e/` batch with the test token; the status.
pub async fn capture(tether: &Tether, events: Value) -> u16 {
    let resp = reqwest::Client::new()
        .post(format!("{}/e/", tether.base))
        .json(&json!({"api_key": TOKEN, "batch": events}))
        .send()
        .await
        .unwrap();
    resp.status().as_u16()
}

/// An OTLP/JSON request with one log of `body`.
pub fn otlp(body: &str) -> Value {
    json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": body}}]}]}]})
}

/// Sends one log through OTLP/HTTP with the test token.
pub async fn send_log(tether: &Tether, body: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/v1/logs", tether.base))
        .bearer_auth(TOKEN)
        .json(&otlp(body))
        .send()
        .await
        .unwrap()
}


/// A fresh database on the test server and a fresh prefix in the test bucket.
pub async fn fresh_storage(name: &str) -> (String, String) {
    let unique = format!("{name}_{}", std::process::id());
    let url =
        tether_store_sql::create_database(&required("TETHER_TEST_POSTGRES_URL"), &unique).await.unwrap();
    (url, format!("{}/{unique}", required("TETHER_TEST_S3_URL").trim_end_matches('/')))
}


/// A fresh database on the test ClickHouse (created by Tether at its first start).
pub fn fresh_clickhouse(name: &str) -> String {
    let mut url = url::Url::parse(&required("TETHER_TEST_CLICKHOUSE_URL")).unwrap();
    url.query_pairs_mut().append_pair("database", &format!("{name}_{}", std::process::id()));
    url.to_string()
}
