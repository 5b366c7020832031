//! The real `tether` binary as a child process for the end-to-end tests, killed on drop.
#![allow(dead_code, unreachable_pub)] // Each test binary uses a different part of the harness.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

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

/// The `tether` binary, without the test runner's `TETHER_TEST_*` variables (they are not
/// settings, and Tether refuses unknown ones).
pub fn tether_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tether"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("TETHER_")) {
        command.env_remove(key);
    }
    command
}

/// Starts `tether serve` on `data_dir` with the fixed token and key and `env` added.
pub fn spawn(data_dir: &Path, env: &[(&str, &str)]) -> Tether {
    spawn_printing_to(data_dir, env, Stdio::null())
}

/// [`spawn`] with what Tether prints (its banner) going to `stdout`.
pub fn spawn_printing_to(data_dir: &Path, env: &[(&str, &str)], stdout: Stdio) -> Tether {
    let http = free_addr();
    let child = tether_command()
        .args(["serve", "--http-addr", &http, "--grpc-addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("TETHER_PROJECT_TOKEN", TOKEN)
        .env("TETHER_API_KEY", KEY)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(stdout)
        .spawn()
        .expect("tether starts");
    Tether { child, base: format!("http://{http}") }
}

/// Tether in a temporary data directory of its own (removed when it is dropped).
pub struct InTempDir {
    pub tether: Tether,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for InTempDir {
    type Target = Tether;
    fn deref(&self) -> &Tether {
        &self.tether
    }
}

/// [`spawn`] on a fresh temporary data directory.
pub fn spawn_in_temp_dir(env: &[(&str, &str)]) -> InTempDir {
    let dir = tempfile::tempdir().unwrap();
    InTempDir { tether: spawn(dir.path(), env), _dir: dir }
}

/// Waits until `/_health` answers 200.
pub async fn healthy(tether: &Tether) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reqwest::get(format!("{}/_health", tether.base)).await.is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "tether did not become healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the services named by these variables (scripts/test sets them) are there; if
/// not, the test says which is missing and returns (see `tether_store::conformance::prerequisite`).
pub fn services(vars: &[&str]) -> bool {
    vars.iter().all(|v| tether_store::conformance::service_available(v))
}

/// An environment variable scripts/test sets for the service tests.
fn required(name: &str) -> String {
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

/// A TCP relay in front of a service (PostgreSQL, ClickHouse) that the test can cut (dropping every connection
/// and refusing new ones) and restore.
pub struct Relay {
    pub addr: String,
    up: Arc<AtomicBool>,
    generation: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Relay {
    pub async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let generation = Arc::new(generation);
        let (flag, cut) = (up.clone(), generation.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees its connection closed at once
                }
                let target = target.clone();
                let mut cut = cut.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Relay { addr, up, generation }
    }

    /// A relay to the host and port of `url`, and `url` pointing at the relay instead.
    pub async fn in_front_of(url: &str) -> (Relay, String) {
        let mut url = url::Url::parse(url).unwrap();
        let relay = Relay::start(format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())).await;
        let (host, port) = relay.addr.split_once(':').unwrap();
        url.set_host(Some(host)).unwrap();
        url.set_port(Some(port.parse().unwrap())).unwrap();
        (relay, url.to_string())
    }

    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// With the service behind `relay` cut off, ingest answers 503 + Retry-After (never 500)
/// and `/_health` 503; once it is back, ingest recovers without a restart and what was
/// acknowledged before and after is readable.
pub async fn survives_an_outage(tether: &Tether, relay: &Relay) {
    assert_eq!(send_log(tether, "before").await.status(), 200);

    relay.cut();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let resp = send_log(tether, "during").await;
        let status = resp.status().as_u16();
        assert_ne!(status, 500, "a missing service is not an internal error");
        if status == 503 {
            assert_eq!(resp.headers()["retry-after"], "1");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["error"], "storage is unavailable, retry shortly");
            break;
        }
        assert!(Instant::now() < deadline, "ingest never noticed the service is gone");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let health = reqwest::get(format!("{}/_health", tether.base)).await.unwrap();
    assert_eq!(health.status(), 503);

    relay.restore();
    let deadline = Instant::now() + Duration::from_secs(30);
    while send_log(tether, "after").await.status() != 200 {
        assert!(Instant::now() < deadline, "ingest did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, page) = api(tether, "projects/1/logs?from=-1h").await;
    assert_eq!(status, 200);
    let bodies: Vec<&str> =
        page["results"].as_array().unwrap().iter().filter_map(|l| l["body"].as_str()).collect();
    assert!(bodies.contains(&"before") && bodies.contains(&"after"), "{bodies:?}");
}

/// Ada identifies (merging her anonymous id, setting a property) and throws, in one batch,
/// a minute ago (well inside any retention).
pub fn ada_identifies_and_throws() -> Value {
    let at = |seconds: i64| {
        let t = time::OffsetDateTime::now_utc().replace_millisecond(0).unwrap()
            - time::Duration::seconds(60 - seconds);
        t.format(&time::format_description::well_known::Rfc3339).unwrap()
    };
    json!([
        {"event": "$identify", "distinct_id": "ada@example.com", "uuid": "0192f0a1-0000-7000-8000-000000000001",
         "timestamp": at(0),
         "properties": {"$anon_distinct_id": "anon-ada", "$set": {"plan": "pro"}, "$session_id": "s-1"}},
        {"event": "$exception", "distinct_id": "ada@example.com", "uuid": "0192f0a1-0000-7000-8000-000000000002",
         "timestamp": at(1),
         "properties": {"$session_id": "s-1", "$exception_list": [{"type": "TypeError", "value": "shared issue",
             "stacktrace": {"frames": [{"filename": "app.js", "function": "pay", "in_app": true}]}}]}}
    ])
}

/// `tether` serves Ada as one person and her error as the project's only issue.
pub async fn sees_ada_and_her_issue(tether: &Tether) {
    let (status, person) = api(tether, "projects/1/persons/anon-ada").await;
    assert_eq!(status, 200, "{person}");
    assert_eq!(person["distinct_ids"], json!(["ada@example.com", "anon-ada"]));
    assert_eq!(person["properties"]["plan"], "pro");
    let (_, issues) = api(tether, "projects/1/error_tracking/issues").await;
    let names: Vec<&str> =
        issues["results"].as_array().unwrap().iter().filter_map(|i| i["description"].as_str()).collect();
    assert_eq!(names, ["shared issue"], "{issues}");
}
