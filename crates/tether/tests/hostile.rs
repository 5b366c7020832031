//! Hostile traffic against the real binary, on loopback only and bounded in time: what any
//! holder of the public project token can send. Each attack is answered with a 4xx or 503 and
//! its reason, the server's peak memory stays within its bound, a good client is served
//! meanwhile, and everything the good client sent between the attacks is stored.

mod common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{TOKEN, Tether, api, spawn};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The bytes in flight the server is given (small, so the tests reach the bound fast).
const IN_FLIGHT_MIB: u64 = 128;
/// Peak RSS allowed: the 512 MB bound of an idle-to-busy server plus the in-flight pool.
const MAX_RSS_MB: u64 = 512 + IN_FLIGHT_MIB;
const HEADER_TIMEOUT_SECS: u64 = 2;
const BODY_TIMEOUT_SECS: u64 = 3;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// posthog-js's `cv` form of a gzip stream: one char per byte.
fn gzip_chars(bytes: &[u8]) -> String {
    gzip(bytes).into_iter().map(char::from).collect()
}

/// The server's peak resident memory so far, in MB.
fn peak_rss_mb(tether: &Tether) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", tether.child.id())).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024
}

/// Posts `body` to `path`: (status, `Retry-After`, body text). A connection the server
/// closed early counts as status 0.
async fn post(tether: &Tether, path: &str, body: Vec<u8>) -> (u16, Option<String>, String) {
    match reqwest::Client::new().post(format!("{}{path}", tether.base)).body(body).send().await {
        Ok(resp) => {
            let retry = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            (resp.status().as_u16(), retry, resp.text().await.unwrap_or_default())
        }
        Err(_) => (0, None, String::new()),
    }
}

/// A client that behaves: every 100 ms one log and one event, each with its own number,
/// retried on 503 and on a connection closed under it (a kept-alive connection the server
/// closed as idle just as it was reused), as the SDKs do. Counts what was acknowledged and
/// the slowest answer.
struct GoodClient {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    slowest_ms: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl GoodClient {
    fn start(base: String) -> GoodClient {
        let (stop, sent, slowest_ms) =
            (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let task = tokio::spawn({
            let (stop, sent, slowest_ms) = (stop.clone(), sent.clone(), slowest_ms.clone());
            async move {
                let client = reqwest::Client::new();
                while !stop.load(Ordering::Relaxed) {
                    let n = sent.load(Ordering::Relaxed);
                    let log = common::otlp(&format!("good log {n}"));
                    let event = json!({"api_key": TOKEN, "batch": [{
                        "uuid": format!("0190aaaa-0000-7000-8000-{n:012}"), "event": "good",
                        "properties": {"distinct_id": "good-user", "$session_id": "good-session"}}]});
                    for (path, body) in [("/v1/logs", log), ("/e/", event)] {
                        loop {
                            let started = Instant::now();
                            let resp = client
                                .post(format!("{base}{path}"))
                                .bearer_auth(TOKEN)
                                .json(&body)
                                .timeout(Duration::from_secs(10))
                                .send()
                                .await;
                            slowest_ms.fetch_max(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                            match resp.map(|r| r.status().as_u16()) {
                                Ok(200) => break,
                                Ok(503) => tokio::time::sleep(Duration::from_millis(200)).await,
                                Err(e) if e.is_request() && !e.is_timeout() => {}
                                other => panic!("good {path} answered {other:?}"),
                            }
                        }
                    }
                    sent.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
        GoodClient { stop, sent, slowest_ms, task }
    }

    /// Stops, and returns how many logs and events were acknowledged.
    async fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap();
        self.sent.load(Ordering::Relaxed)
    }
}

fn config(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("tether.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nheader_timeout_secs = {HEADER_TIMEOUT_SECS}\nbody_timeout_secs = {BODY_TIMEOUT_SECS}\nin_flight = \"{IN_FLIGHT_MIB}MiB\"\n"
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_traffic_is_refused_while_good_clients_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let tether = spawn(&dir.path().join("data"), &[("TETHER_CONFIG", config.to_str().unwrap())]);
    common::healthy(&tether).await;
    let good = GoodClient::start(tether.base.clone());

    // 1. A /s/ body of a few MB whose 32 `cv` fields each inflate to 32 MB.
    let field = gzip_chars(&vec![b' '; 32 << 20]);
    let fields: Vec<Value> = (0..8)
        .map(|i| json!({"type": 3, "cv": "2024-10", "timestamp": 1_700_000_000_000i64 + i, "data": {"source": 0, "adds": field, "removes": field, "texts": field, "attributes": field}}))
        .collect();
    let bomb = json!([{"event": "$snapshot", "properties": {"token": TOKEN, "distinct_id": "x", "$session_id": "bomb", "$snapshot_data": fields}}]);
    let bomb = serde_json::to_vec(&bomb).unwrap();
    assert!(bomb.len() < 25 << 20, "within the body limit: {} bytes", bomb.len());
    let (status, _, reason) = post(&tether, "/s/", bomb).await;
    assert_eq!(status, 413, "{reason}");
    assert!(reason.contains("after decompression"), "{reason}");

    // 2. An /e/ body of 256 KB that inflates to 256 MB.
    let (status, _, reason) = post(&tether, "/e/", gzip(&vec![b' '; 256 << 20])).await;
    assert_eq!(status, 413, "{reason}");

    // 3. 48 concurrent /e/ bodies of ~18 MB each once inflated: each is within its own
    // limits, together they are far past the bytes in flight.
    let big = json!({"api_key": TOKEN, "batch": (0..12).map(|i| json!({"event": "big", "properties": {"distinct_id": "big", "blob": "x".repeat(1_500_000), "i": i}})).collect::<Vec<_>>()});
    let big = gzip(&serde_json::to_vec(&big).unwrap());
    let answers = futures::future::join_all((0..48).map(|_| post(&tether, "/e/", big.clone()))).await;
    for (status, retry, reason) in &answers {
        assert!(matches!(status, 200 | 503), "{status} {reason}");
        if *status == 503 {
            assert!(retry.is_some(), "503 says when to retry");
        }
    }
    assert!(answers.iter().any(|a| a.0 == 503), "the in-flight bound was reached");

    // 4. Deep JSON and 5. a huge stack.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (status, _, reason) = post(&tether, "/e/", deep.into_bytes()).await;
    assert_eq!(status, 400, "{reason}");
    // 20,000 frames: as deep as a 2 MB event can hold.
    let frames: Vec<Value> = (0..20_000).map(|i| json!({"filename": format!("f{i}.js"), "function": "f", "lineno": 1, "colno": 1, "in_app": true})).collect();
    let deep_stack = json!({"api_key": TOKEN, "batch": [{"event": "$exception", "properties": {"distinct_id": "x", "$session_id": "stack-session", "$exception_list": [{"type": "RangeError", "value": "too much recursion", "stacktrace": {"frames": frames}}]}}]});
    let started = Instant::now();
    let (status, _, reason) = post(&tether, "/e/", serde_json::to_vec(&deep_stack).unwrap()).await;
    assert_eq!(status, 200, "{reason}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let (_, events) = api(&tether, "projects/1/sessions/stack-session/events").await;
    let stack = &events["results"][0]["exception"]["stacktrace"];
    assert_eq!(
        stack["frames"].as_array().map(Vec::len),
        Some(256),
        "the outer and inner 128 frames are kept"
    );
    assert_eq!(stack["frames_omitted"], json!([128, 19_872]));

    // 6. 200 connections sending headers a byte a second: closed by the header timeout,
    // while a good request is answered quickly.
    let slow: Vec<_> = futures::future::join_all((0..200).map(|_| slow_headers(tether.base.clone()))).await;
    let started = Instant::now();
    assert_eq!(reqwest::get(format!("{}/_health", tether.base)).await.unwrap().status(), 200);
    assert!(started.elapsed() < Duration::from_secs(1), "a good client waited {:?}", started.elapsed());
    for closed_after in slow {
        let closed_after = closed_after.await.unwrap();
        assert!(closed_after < Duration::from_secs(HEADER_TIMEOUT_SECS + 3), "open for {closed_after:?}");
    }

    // 7. A body sent a byte a second: 408 within the body timeout.
    let started = Instant::now();
    let answer = slow_body(&tether.base).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(BODY_TIMEOUT_SECS + 3));

    let slowest = good.slowest_ms.load(Ordering::Relaxed);
    let sent = good.finish().await;
    assert!(sent > 10, "the good client kept sending ({sent})");
    // Everything acknowledged is stored.
    let (_, logs) = api(&tether, "projects/1/logs?q=good%20log&limit=1000").await;
    assert_eq!(logs["results"].as_array().map(Vec::len), Some(sent as usize), "{sent} good logs");
    let (_, events) = api(&tether, "projects/1/sessions/good-session/events").await;
    assert_eq!(events["results"].as_array().map(Vec::len), Some(sent as usize), "{sent} good events");
    let rss = peak_rss_mb(&tether);
    assert!(rss <= MAX_RSS_MB, "peak RSS {rss} MB");
    println!("good client: {sent} logs and events, slowest answer {slowest} ms; peak RSS {rss} MB");
}

/// Opens a connection that sends a request's headers one byte per second; resolves to how
/// long the server kept it open.
async fn slow_headers(base: String) -> tokio::task::JoinHandle<Duration> {
    let addr = base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    tokio::spawn(async move {
        let started = Instant::now();
        let request = format!("POST /e/ HTTP/1.1\r\nHost: {addr}\r\nX-Slow: {}\r\n", "a".repeat(100));
        for byte in request.bytes() {
            if stream.write_all(&[byte]).await.is_err() {
                break;
            }
            let mut buf = [0u8; 256];
            // Closed by the server: the read ends (0 bytes, an answer, or a reset).
            if let Ok(read) = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
                let _ = read;
                break;
            }
            if started.elapsed() > Duration::from_secs(HEADER_TIMEOUT_SECS + 10) {
                break;
            }
        }
        started.elapsed()
    })
}

/// Sends a request whose body arrives a byte a second; the server's answer.
async fn slow_body(base: &str) -> String {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!("POST /e/ HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    for _ in 0..(BODY_TIMEOUT_SECS + 10) {
        if stream.write_all(b"x").await.is_err() {
            break;
        }
        let mut buf = [0u8; 1024];
        match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                answer.extend_from_slice(&buf[..n]);
                break;
            }
            Ok(_) => break,
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}
