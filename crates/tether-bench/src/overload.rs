//! Overload: many clients sending faster than storage commits, for a bounded time. Tether
//! must refuse what it cannot queue (503 + `Retry-After`) instead of growing without bound,
//! and store every record it answered 200 for — and nothing of what it refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{Value, json};

use crate::backends::{Servers, StorageArgs};
use crate::server::{API_KEY, TOKEN, peak_rss_mb, wait_healthy};

/// Options of the overload test.
#[derive(clap::Args)]
pub(crate) struct OverloadArgs {
    /// Seconds each phase (logs, /e/, /s/) sends for.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Concurrent clients, each sending its next request as soon as the last is answered.
    #[arg(long, default_value_t = 64)]
    clients: u64,
    /// Log records per OTLP request.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// The server's log queue (`[ingest] queue_records`): smaller than what the clients
    /// keep in flight, so the queue fills.
    #[arg(long, default_value_t = 5000)]
    queue_records: usize,
    #[command(flatten)]
    storage: StorageArgs,
}

/// Makes the body (and its content type) of a client's `seq`-th request.
type MakeBody = Arc<dyn Fn(u64, u64) -> (Vec<u8>, &'static str) + Send + Sync>;

/// Answers of one phase.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    refused: AtomicU64,
}

/// Sends `make(client, seq)` bodies to `path` from every client until the deadline; the
/// ids (client, seq) of the acknowledged requests come back with the tally.
async fn flood(
    base: &str,
    path: &str,
    args: &OverloadArgs,
    make: MakeBody,
) -> anyhow::Result<(Tally, Vec<(u64, u64)>, f64)> {
    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (tally, client, make, url) =
            (tally.clone(), client.clone(), make.clone(), format!("{base}{path}"));
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for seq in 0.. {
                if Instant::now() > deadline {
                    break;
                }
                let (body, content_type) = make(c, seq);
                let resp = client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .header("content-type", content_type)
                    .body(body)
                    .send()
                    .await?;
                match resp.status().as_u16() {
                    200 => {
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                        acked.push((c, seq));
                    }
                    503 => {
                        if resp.headers().get("retry-after").is_none() {
                            bail!("a 503 without Retry-After");
                        }
                        tally.refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    other => bail!("{url} answered {other}: {}", resp.text().await.unwrap_or_default()),
                }
            }
            Ok::<_, anyhow::Error>(acked)
        }));
    }
    let started = Instant::now();
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    let tally = Arc::try_unwrap(tally).unwrap_or_default();
    Ok((tally, acked, secs))
}

fn report(name: &str, tally: &Tally, secs: f64, unit: &str, per_request: u64) {
    let (ok, refused) = (tally.ok.load(Ordering::Relaxed), tally.refused.load(Ordering::Relaxed));
    let total = (ok + refused).max(1);
    println!(
        "{name}: {} requests in {secs:.1} s, {ok} answered 200 ({:.0} {unit}/s acknowledged), {refused} answered 503 ({:.1} %)",
        ok + refused,
        (ok * per_request) as f64 / secs,
        refused as f64 * 100.0 / total as f64
    );
}

async fn get(client: &reqwest::Client, base: &str, path: &str) -> anyhow::Result<Value> {
    let resp = client.get(format!("{base}/api/projects/1/{path}")).bearer_auth(API_KEY).send().await?;
    if !resp.status().is_success() {
        bail!("{path} answered {}", resp.status());
    }
    Ok(resp.json().await?)
}

pub(crate) async fn run(args: OverloadArgs) -> anyhow::Result<()> {
    let config = tempfile::NamedTempFile::new()?;
    std::fs::write(config.path(), format!("[ingest]\nqueue_records = {}\n", args.queue_records))?;
    let servers = Servers::start_with_config(&args.storage, "overload", Some(config.path())).await?;
    let client = reqwest::Client::new();
    let server = &servers.servers[0];
    wait_healthy(&client, server).await?;
    println!("{}; {} clients; log queue {} records", servers.describe(), args.clients, args.queue_records);
    let base = server.base.clone();

    // Logs: every body names its request, so what was stored can be matched to the answers.
    let batch = args.batch;
    let logs = Arc::new(move |c: u64, seq: u64| {
        let records: Vec<Value> =
            (0..batch).map(|i| json!({"body": {"stringValue": format!("ov c{c} s{seq} r{i}")}})).collect();
        (
            json!({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]}).to_string().into_bytes(),
            "application/json",
        )
    });
    let (tally, acked, secs) = flood(&base, "/v1/logs", &args, logs).await?;
    report("logs", &tally, secs, "records", batch as u64);
    println!("  server peak RSS: {:.0} MB", peak_rss_mb(server.child.id()));
    let summary = get(&client, &base, "logs/summary?from=-1h&q=%22ov%20c%22").await?;
    let stored = summary["logs"].as_u64().unwrap_or(0);
    let expected = acked.len() as u64 * batch as u64;
    println!(
        "  stored {stored} records, acknowledged {expected}: {}",
        if stored == expected {
            "every acknowledged record is stored, none of the refused"
        } else {
            "MISMATCH"
        }
    );

    // /e/: each request is one session's ten events.
    let events = Arc::new(|c: u64, seq: u64| {
        let session = format!("0190ee{c:02x}-{seq:04x}-7000-8000-000000000000");
        let batch: Vec<Value> = (0..10)
            .map(|i| {
                json!({"event": "$autocapture", "uuid": format!("0190ef{c:02x}-{seq:04x}-7000-8000-{i:012x}"),
                       "timestamp": "2026-01-01T00:00:00Z",
                       "properties": {"distinct_id": "overload", "$session_id": session, "token": TOKEN}})
            })
            .collect();
        (json!({"api_key": TOKEN, "batch": batch}).to_string().into_bytes(), "application/json")
    });
    let (tally, acked, secs) = flood(&base, "/e/", &args, events).await?;
    report("/e/", &tally, secs, "events", 10);
    println!("  server peak RSS: {:.0} MB", peak_rss_mb(server.child.id()));
    let mut missing = 0;
    let sample: Vec<&(u64, u64)> = acked.iter().step_by((acked.len() / 200).max(1)).collect();
    for (c, seq) in &sample {
        let session = format!("0190ee{c:02x}-{seq:04x}-7000-8000-000000000000");
        let got = get(&client, &base, &format!("sessions/{session}/events")).await?;
        if got["results"].as_array().map_or(0, Vec::len) != 10 {
            missing += 1;
        }
    }
    println!(
        "  {} of {} sampled acknowledged requests have all 10 events stored",
        sample.len() - missing,
        sample.len()
    );

    // /s/: each request is one session's two seconds of rrweb activity.
    let snapshots = Arc::new(|c: u64, seq: u64| {
        let session = format!("0190ed{c:02x}-{seq:04x}-7000-8000-000000000000");
        (
            crate::capture::gzip(&crate::capture::snapshot_request(&session, 1_767_225_600_000, true)),
            "text/plain",
        )
    });
    let (tally, acked, secs) = flood(&base, "/s/", &args, snapshots).await?;
    report("/s/", &tally, secs, "chunks", 1);
    let mut missing = 0;
    let sample: Vec<&(u64, u64)> = acked.iter().step_by((acked.len() / 200).max(1)).collect();
    for (c, seq) in &sample {
        let session = format!("0190ed{c:02x}-{seq:04x}-7000-8000-000000000000");
        if get(&client, &base, &format!("recordings/{session}")).await.is_err() {
            missing += 1;
        }
    }
    println!(
        "  {} of {} sampled acknowledged requests have their recording",
        sample.len() - missing,
        sample.len()
    );
    println!("server peak RSS overall: {:.0} MB", peak_rss_mb(server.child.id()));
    Ok(())
}
