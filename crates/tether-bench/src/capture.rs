//! PostHog capture: `/e/` and `/s/` throughput with posthog-js-shaped gzip bodies, then the
//! time to serve every snapshot of a 30-minute recording (what the replay page loads).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::bail;
use serde_json::{Value, json};

use crate::backends::{Servers, StorageArgs};
use crate::server::{API_KEY, TOKEN, cpu_seconds, peak_rss_mb, wait_healthy};

/// Options of the capture benchmark.
#[derive(clap::Args)]
pub(crate) struct CaptureArgs {
    /// Requests sent to each of /e/ and /s/: by default enough for ~2 s of `/e/` at 64
    /// clients, so 64 connections opening and the server's first commits (a fifth of a
    /// 2,000-request run) do not decide the figure.
    #[arg(long, default_value_t = 10_000)]
    requests: u64,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 4)]
    clients: u64,
    /// Length of the recording whose playback is timed, in minutes.
    #[arg(long, default_value_t = 30)]
    minutes: i64,
    /// Times the snapshot download is repeated.
    #[arg(long, default_value_t = 10)]
    repeat: usize,
    #[command(flatten)]
    storage: StorageArgs,
}

pub(crate) fn gzip(v: &Value) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = enc.write_all(v.to_string().as_bytes());
    enc.finish().unwrap_or_default()
}

/// A `/e/` batch like posthog-js sends: ten events with the SDK's usual properties.
fn event_batch(n: u64, now_ms: i64) -> Value {
    let events: Vec<Value> = (0..10)
        .map(|i| {
            json!({
                "uuid": format!("0190{n:08x}-{i:04x}-7000-8000-000000000000"),
                "event": if i == 0 { "$pageview" } else { "$autocapture" },
                "timestamp": time_iso(now_ms - 1000 + i * 50),
                "properties": {
                    "distinct_id": format!("user-{}", n % 500),
                    "$session_id": format!("0190aaaa-{:04x}-7000-8000-000000000000", n % 200),
                    "$window_id": "0190bbbb-0000-7000-8000-000000000000",
                    "$current_url": format!("https://shop.example.com/products/{}", n % 97),
                    "$host": "shop.example.com", "$pathname": "/products", "$browser": "Chrome",
                    "$browser_version": 131, "$os": "Linux", "$device_type": "Desktop",
                    "$viewport_height": 900, "$viewport_width": 1440, "$lib": "web", "$lib_version": "1.449.2",
                    "$referrer": "https://www.google.com/", "$referring_domain": "www.google.com",
                    "$elements_chain": "button.btn.btn-primary:text=\"Add to cart\"nth-child=\"2\";div.product-card;main",
                    "$event_type": "click", "$process_person_profile": true, "token": TOKEN,
                },
            })
        })
        .collect();
    json!({ "api_key": TOKEN, "batch": events, "sent_at": time_iso(now_ms) })
}

/// posthog-js's `cv: "2024-10"` field compression (on by default): the JSON gzipped, one
/// char per byte.
fn cv(v: &Value) -> String {
    gzip(v).into_iter().map(char::from).collect()
}

/// One `/s/` request: two seconds of a person moving, clicking and the page changing, as
/// posthog-js sends it (the full snapshot's data and the mutation's fields `cv`-compressed).
pub(crate) fn snapshot_request(session: &str, start_ms: i64, full: bool) -> Value {
    let mut data = Vec::new();
    if full {
        data.push(json!({"type": 4, "data": {"href": "https://shop.example.com/checkout", "width": 1440, "height": 900}, "timestamp": start_ms}));
        let rows: Vec<Value> = (0..400)
            .map(|i| json!({"type": 2, "tagName": "div", "attributes": {"class": "row product-line"}, "childNodes": [{"type": 3, "textContent": format!("Product {i} — a fine thing at ${i}.99"), "id": 10_000 + i}], "id": 5_000 + i}))
            .collect();
        let page = json!({"node": {"type": 0, "childNodes": [{"type": 2, "tagName": "html", "attributes": {}, "childNodes": rows, "id": 2}], "id": 1}, "initialOffset": {"left": 0, "top": 0}});
        data.push(json!({"type": 2, "data": cv(&page), "timestamp": start_ms + 1, "cv": "2024-10"}));
    }
    for i in 0..60 {
        data.push(json!({"type": 3, "data": {"source": 1, "positions": [{"x": 100 + i, "y": 200 + i, "id": 42, "timeOffset": -20}]}, "timestamp": start_ms + 10 + i * 30}));
    }
    data.push(json!({"type": 3, "data": {"source": 2, "type": 2, "id": 77, "x": 310, "y": 420}, "timestamp": start_ms + 1900}));
    let adds = json!([{"parentId": 5, "nextId": null, "node": {"type": 3, "textContent": "Added to cart", "id": 90_000 + start_ms % 1000}}]);
    let none = cv(&json!([]));
    data.push(json!({"type": 3, "data": {"source": 0, "adds": cv(&adds), "removes": none, "texts": none, "attributes": none}, "timestamp": start_ms + 1950, "cv": "2024-10"}));
    json!([{
        "uuid": format!("snap-{session}-{start_ms}"),
        "event": "$snapshot",
        "properties": {"$snapshot_data": data, "$session_id": session, "$window_id": format!("{session}-w"), "distinct_id": "bench-user", "token": TOKEN},
        "timestamp": time_iso(start_ms),
    }])
}

fn time_iso(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Posts `requests` bodies made by `make` to `path` from `clients` concurrent clients, spread
/// over the servers at `bases`; prints figures. The bodies are made before the clock starts,
/// so the clients' JSON and gzip work (on the same cores) is not counted against the server.
async fn blast(
    name: &str,
    servers: &Servers,
    path: &str,
    args: &CaptureArgs,
    make: impl Fn(u64) -> Vec<u8>,
) -> anyhow::Result<()> {
    let bases: Vec<String> = servers.servers.iter().map(|s| s.base.clone()).collect();
    let bodies: Arc<Vec<bytes::Bytes>> = Arc::new((0..args.requests).map(|n| make(n).into()).collect());
    let next = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let client = reqwest::Client::new();
    let cpu_before: f64 = servers.servers.iter().map(|s| cpu_seconds(s.child.id())).sum();
    let client_before = cpu_seconds(std::process::id());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..args.clients as usize {
        let url = format!("{}{path}", bases[i % bases.len()]);
        let (next, bytes, client, bodies) = (next.clone(), bytes.clone(), client.clone(), bodies.clone());
        let total = args.requests;
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<_, anyhow::Error>(());
                }
                let body = bodies[n as usize].clone();
                bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                let resp = client.post(&url).header("content-type", "text/plain").body(body).send().await?;
                if resp.status() != 200 {
                    bail!("{url} answered {}: {}", resp.status(), resp.text().await.unwrap_or_default());
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu: f64 = servers.servers.iter().map(|s| cpu_seconds(s.child.id())).sum::<f64>() - cpu_before;
    let client_cpu = cpu_seconds(std::process::id()) - client_before;
    let mb = bytes.load(Ordering::Relaxed) as f64 / 1e6;
    println!(
        "{name}: {} requests in {secs:.1} s = {:.0} requests/s, {:.2} MB/s gzip on the wire, {:.2} CPU s of tether and {:.2} of the clients per 1,000 requests",
        args.requests,
        args.requests as f64 / secs,
        mb / secs,
        cpu * 1000.0 / args.requests as f64,
        client_cpu * 1000.0 / args.requests as f64,
    );
    Ok(())
}

pub(crate) async fn run(args: CaptureArgs) -> anyhow::Result<()> {
    let servers = Servers::start(&args.storage, "capture").await?;
    let client = reqwest::Client::new();
    for server in &servers.servers {
        wait_healthy(&client, server).await?;
    }
    println!("{}", servers.describe());
    let base = servers.servers[0].base.clone();
    let t0 = now_ms();
    blast("/e/ (10 events per request)", &servers, "/e/", &args, |n| gzip(&event_batch(n, t0))).await?;
    blast("/s/ (2 s of rrweb activity per request)", &servers, "/s/", &args, |n| {
        gzip(&snapshot_request(
            &format!("0190cccc-{:04x}-7000-8000-000000000000", n % 100),
            t0 + n as i64 * 2000,
            n < 100,
        ))
    })
    .await?;
    for server in &servers.servers {
        println!("server peak RSS: {:.0} MB", peak_rss_mb(server.child.id()));
    }

    // A 30-minute recording: one /s/ request per 2 s of activity, each with the page's API
    // call of those 2 s as posthog-js records it (its timing and the trace the backend named).
    let session = "0190dddd-0000-7000-8000-000000000000";
    let start = t0 - args.minutes * 60_000;
    let chunks = args.minutes * 30;
    for i in 0..chunks {
        let mut request = snapshot_request(session, start + i * 2000, i == 0);
        if let Some(data) = request[0]["properties"]["$snapshot_data"].as_array_mut() {
            data.push(network_event(start + i * 2000, i));
        }
        let body = gzip(&request);
        let resp =
            client.post(format!("{base}/s/")).header("content-type", "text/plain").body(body).send().await?;
        if resp.status() != 200 {
            bail!("/s/ answered {}", resp.status());
        }
    }
    let url = format!("{base}/api/projects/1/recordings/{session}/snapshots");
    let mut times = Vec::new();
    let (mut events, mut size) = (0, 0);
    for _ in 0..args.repeat {
        let t = Instant::now();
        let body = client.get(&url).bearer_auth(API_KEY).send().await?.bytes().await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        size = body.len();
        let v: Value = serde_json::from_slice(&body)?;
        events = v["windows"]
            .as_array()
            .map_or(0, |w| w.iter().map(|w| w["events"].as_array().map_or(0, Vec::len)).sum());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "snapshots of a {}-minute recording ({chunks} chunks, {events} rrweb events, {:.1} MB JSON): p50 {:.0} ms, p95 {:.0} ms",
        args.minutes,
        size as f64 / 1e6,
        times[times.len() / 2],
        times[times.len() * 95 / 100]
    );
    let url = format!("{base}/api/projects/1/sessions/{session}/requests");
    let mut times = Vec::new();
    let mut listed = 0;
    for _ in 0..args.repeat {
        let t = Instant::now();
        let answer: Value = client.get(&url).bearer_auth(API_KEY).send().await?.json().await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        listed = answer["results"].as_array().map_or(0, Vec::len);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "network requests of that recording, joined to logs ({listed} requests): p50 {:.0} ms, p95 {:.0} ms",
        times[times.len() / 2],
        times[times.len() * 95 / 100]
    );
    Ok(())
}

/// One API call of a page as posthog-js's network recording holds it (`rrweb/network@1`).
fn network_event(at_ms: i64, i: i64) -> Value {
    let trace = format!("{:032x}", 0x4bf9_2f35_0000_u64 + i as u64);
    json!({"type": 6, "timestamp": at_ms + 1500, "data": {"plugin": "rrweb/network@1", "payload": {"requests": [{
        "name": format!("https://shop.example.com/api/cart?item={}", i % 40), "entryType": "resource",
        "initiatorType": "fetch", "timeOrigin": at_ms - 60_000, "timestamp": at_ms + 1400, "startTime": 61_400,
        "endTime": 61_480, "duration": 80, "responseStatus": 200, "transferSize": 512,
        "serverTiming": [{"name": "traceparent", "duration": 0, "description": format!("00-{trace}-00f067aa0ba902b7-01")}],
    }]}}})
}
