//! Logs: OTLP/HTTP ingest throughput, then search, histogram and session-filter latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use prost::Message;

use crate::backends::{Servers, StorageArgs};
use crate::server::{API_KEY, MemoryWatch, TOKEN, cpu_seconds, dir_bytes, now_ns, peak_rss_mb, wait_healthy};
use crate::{generate, row_blocks, tantivy_side, templates};
use std::process::Command;

/// Options of the logs benchmark.
#[derive(clap::Args)]
pub(crate) struct LogsArgs {
    /// Log records to ingest.
    #[arg(long, default_value_t = 1_000_000)]
    logs: u64,
    /// Records per OTLP request.
    #[arg(long, default_value_t = 2000)]
    batch: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Times each query is repeated.
    #[arg(long, default_value_t = 30)]
    repeat: usize,
    /// Hours the generated timestamps span, ending now.
    #[arg(long, default_value_t = 24)]
    hours: i64,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Keep the embedded server's data folder after the run (its path is printed), to
    /// inspect the stores, e.g. DuckDB's `pragma_storage_info('logs')`.
    #[arg(long)]
    keep_data: bool,
    /// A Tether configuration file for the servers, e.g. one with `[storage] duckdb_memory =
    /// "2GiB"` to measure what the default memory limit costs.
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Then index the same logs with tantivy in process — as the log store, as an index of
    /// terms only, and as the only log store within Tether's budget — and time the same
    /// lookups there.
    #[arg(long)]
    tantivy: bool,
    /// Then cut the same logs into zstd blocks, as whole OTLP records and column by column,
    /// and time reading the lookups' records by position: what a log store without DuckDB
    /// would pay per log on disk and per record read.
    #[arg(long)]
    row_blocks: bool,
    #[command(flatten)]
    storage: StorageArgs,
}

/// Ingests `args.logs` records through OTLP/HTTP, then times queries over them.
pub(crate) async fn run(args: LogsArgs) -> anyhow::Result<()> {
    let servers = Servers::start_with_config(&args.storage, "logs", args.config.as_deref()).await?;
    let client = reqwest::Client::new();
    for server in &servers.servers {
        wait_healthy(&client, server).await?;
    }
    println!("{}", servers.describe());
    let watches: Vec<MemoryWatch> =
        servers.servers.iter().map(|s| MemoryWatch::start(s.child.id())).collect();
    let server = &servers.servers[0];

    let span_ns = args.hours * 3600 * 1_000_000_000;
    let start_ns = now_ns() - span_ns;
    let mut generator = generate::Generator::new(args.seed, start_ns, span_ns, args.logs, args.logs / 2);
    let batches = args.logs.div_ceil(args.batch as u64);
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(args.clients * 2);
    let batch_size = args.batch;
    let total_records = args.logs;
    // Generation runs on its own thread so it overlaps with sending.
    let producer = std::thread::spawn(move || {
        let mut left = total_records;
        for _ in 0..batches {
            let n = left.min(batch_size as u64) as usize;
            left -= n as u64;
            if tx.blocking_send(generator.batch(n).encode_to_vec()).is_err() {
                break;
            }
        }
        generator.probes()
    });
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let bytes_sent = Arc::new(AtomicU64::new(0));
    let retries = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut senders = Vec::new();
    for i in 0..args.clients {
        let (rx, client, bytes_sent, retries) =
            (rx.clone(), client.clone(), bytes_sent.clone(), retries.clone());
        let url = format!("{}/v1/logs", servers.servers[i % servers.servers.len()].base);
        senders.push(tokio::spawn(async move {
            loop {
                let Some(body) = rx.lock().await.recv().await else { return Ok::<_, anyhow::Error>(()) };
                bytes_sent.fetch_add(body.len() as u64, Ordering::Relaxed);
                loop {
                    let resp = client
                        .post(&url)
                        .bearer_auth(TOKEN)
                        .header("content-type", "application/x-protobuf")
                        .body(body.clone())
                        .send()
                        .await?;
                    match resp.status().as_u16() {
                        200 => break,
                        503 | 429 => {
                            retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        other => bail!("ingest answered {other}: {}", resp.text().await.unwrap_or_default()),
                    }
                }
            }
        }));
    }
    for s in senders {
        s.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let probes = producer.join().map_err(|_| anyhow::anyhow!("generator thread panicked"))?;
    let mb = bytes_sent.load(Ordering::Relaxed) as f64 / 1e6;
    println!("ingest: {} records in {elapsed:.1} s", args.logs);
    println!(
        "  {:.0} records/s durable, {:.1} MB/s of OTLP protobuf",
        args.logs as f64 / elapsed,
        mb / elapsed
    );
    println!("  503 retries: {}", retries.load(Ordering::Relaxed));
    for (server, watch) in servers.servers.iter().zip(&watches) {
        let (anon, files) = watch.peaks_mb();
        println!(
            "  server peak RSS during ingest: {:.0} MB (at most {anon:.0} MB its own, {files:.0} of files it maps: its binary, indexes), \
             CPU {:.1} s of {elapsed:.1} s wall",
            peak_rss_mb(server.child.id()),
            cpu_seconds(server.child.id())
        );
    }
    let mut commits = 0.0;
    let mut commit_seconds = 0.0;
    for server in &servers.servers {
        let metrics = client.get(format!("{}/metrics", server.base)).send().await?.text().await?;
        let metric = |name: &str| {
            metrics.lines().find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok()).unwrap_or(0.0)
        };
        commits += metric("tether_batch_commit_seconds_count");
        commit_seconds += metric("tether_batch_commit_seconds_sum");
    }
    println!(
        "  {commits:.0} group commits, {:.1} ms average, {:.0} records each",
        commit_seconds * 1000.0 / commits.max(1.0),
        args.logs as f64 / commits.max(1.0)
    );
    // Queries measure reads, not what ingest left running (index merges, segment files):
    // they start once each server has used under a tenth of a core for a second (waiting
    // a minute at most), and the wait is printed.
    let settling = Instant::now();
    for server in &servers.servers {
        let pid = server.child.id();
        while settling.elapsed() < Duration::from_secs(60) {
            let before = cpu_seconds(pid);
            tokio::time::sleep(Duration::from_secs(1)).await;
            if cpu_seconds(pid) - before < 0.1 {
                break;
            }
        }
    }
    println!("  the servers were idle {:.0} s after ingest", settling.elapsed().as_secs_f64());

    let query = |path: String| {
        let client = client.clone();
        let url = format!("{}/api/projects/1/{path}", server.base);
        async move {
            let mut times = Vec::new();
            let mut answer = serde_json::Value::Null;
            for _ in 0..args.repeat {
                let t = Instant::now();
                let resp = client.get(&url).bearer_auth(API_KEY).send().await?;
                if !resp.status().is_success() {
                    bail!("{url} answered {}", resp.status());
                }
                let body = resp.bytes().await?;
                // Until the whole answer is here: parsing it is the client's time (a
                // session's 1,000 logs are ~0.8 MB of JSON).
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                answer = serde_json::from_slice(&body)?;
            }
            // The first run apart: a search's histogram and summary keep what sealed
            // segments counted, so the runs after it read only what changed since.
            let first = times[0];
            times.sort_by(f64::total_cmp);
            let (p50, p95) = (times[times.len() / 2], times[times.len() * 95 / 100]);
            Ok::<_, anyhow::Error>((Timed { first, p50, p95 }, answer))
        }
    };
    let range = format!("from=-{}h", args.hours + 1);
    let p = &probes;
    // Quoted: the phrase, as before the query language read a space as AND.
    let common = format!("q=%22{}%22", templates::COMMON_TERM.replace(' ', "%20"));
    let rare = format!("q={}", templates::RARE_TERM);
    println!(
        "queries over {} logs ({} runs each), p50, p95 and the first run through the API:",
        args.logs, args.repeat
    );
    for (name, path, truth) in [
        ("a token that occurs once, newest 100", format!("logs?{range}&q={}&limit=100", p.needle), 1),
        ("12-character substring of it", format!("logs?{range}&q={}&limit=100", &p.needle[2..14]), 1),
        (
            "attribute request_id = X (8 logs)",
            format!("logs?{range}&attr=request_id%3D{}&limit=100", p.request_id),
            8,
        ),
        ("one trace's logs (8 logs)", format!("logs?{range}&trace_id={}&limit=100", p.trace_id), 8),
        ("one person's logs, newest 100", format!("logs?{range}&distinct_id={}&limit=100", p.person), 100),
        (
            "one session's logs",
            format!("logs?{range}&session_id={}&limit=1000", p.session),
            u64::from(p.session_logs).min(1000),
        ),
        ("rare term, newest 100", format!("logs?{range}&{rare}&limit=100"), p.rare_logs.min(100)),
        ("common term, newest 100", format!("logs?{range}&{common}&limit=100"), 100),
    ] {
        let (timed, answer) = query(path).await?;
        let n = answer["results"].as_array().map_or(0, Vec::len);
        let check = if n as u64 == truth { String::new() } else { format!(" (expected {truth})") };
        println!("  {name:<40} {timed}   {n} logs{check}");
    }
    for (name, path) in [
        ("histogram of a search", format!("logs/histogram?{range}&{common}")),
        ("histogram of 24 h by severity", format!("logs/histogram?{range}")),
        ("facets (top services)", format!("logs/facets?{range}")),
    ] {
        let (timed, answer) = query(path).await?;
        let estimated =
            [&answer["approximate"], &answer["sampled"]].iter().any(|v| v.as_bool() == Some(true));
        let what = match answer["buckets"].as_array() {
            Some(buckets) => {
                format!("{} logs counted", buckets.iter().filter_map(|b| b["total"].as_u64()).sum::<u64>())
            }
            None => format!("{} services", answer["services"].as_array().map_or(0, Vec::len)),
        };
        let exact = if estimated { "estimated" } else { "exact" };
        println!("  {name:<40} {timed}   {what}, {exact}");
    }
    for (name, path) in [
        ("patterns of 24 h", format!("logs/patterns?{range}")),
        ("patterns of a search", format!("logs/patterns?{range}&{common}")),
        ("patterns of a rare term", format!("logs/patterns?{range}&{rare}")),
        ("what changed: last hour vs the hour before", "logs/patterns/compare?from=-1h".to_owned()),
        (
            "what changed: sessions with errors vs others",
            format!("logs/patterns/compare?{range}&against=sessions"),
        ),
    ] {
        let (timed, answer) = query(path).await?;
        let listed = answer["results"].as_array().map_or(0, Vec::len);
        let read = match (answer["sampled"].as_u64(), answer["total"].as_u64()) {
            (Some(sampled), Some(total)) => format!(" of {total} logs, {sampled} read"),
            _ => String::new(),
        };
        println!("  {name:<40} {timed}   {listed} patterns{read}");
    }
    let (timed, answer) = query(format!("logs/summary?{range}&{common}")).await?;
    println!(
        "  {:<40} {timed}   {} logs · {} sessions · {} users{}",
        "logs · sessions · users of a search",
        answer["logs"],
        answer["sessions"],
        answer["users"],
        if answer["approximate"].as_bool() == Some(true) { " (approximate)" } else { "" }
    );
    println!(
        "    true answer: {} logs · {} sessions · {} users; rare term in {} logs",
        p.common_logs, p.common_sessions, p.common_people, p.rare_logs
    );
    for (server, watch) in servers.servers.iter().zip(&watches) {
        let (anon, files) = watch.peaks_mb();
        println!(
            "server peak RSS overall: {:.0} MB (at most {anon:.0} MB its own, {files:.0} of files it maps: its binary, indexes)",
            peak_rss_mb(server.child.id())
        );
    }
    let disk = match servers.clickhouse_bytes(&["logs", "log_sessions"]).await? {
        Some(bytes) => {
            println!("ClickHouse parts of logs and log_sessions, merged (indexes included):");
            bytes
        }
        None => {
            // A clean stop checkpoints DuckDB, so the size below is the compacted on-disk size.
            Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status()?;
            let mut servers = servers;
            let server = &mut servers.servers[0];
            println!("server stopped on SIGTERM: {}", server.child.wait()?);
            let bytes = dir_bytes(server.data_dir.path());
            if args.keep_data {
                println!("data kept in {}", server.data_dir.path().display());
                server.data_dir.disable_cleanup(true);
            }
            bytes
        }
    };
    println!(
        "disk: {:.1} MB for {} logs = {:.1} bytes/log",
        disk as f64 / 1e6,
        args.logs,
        disk as f64 / args.logs as f64
    );
    if args.row_blocks {
        println!("rows by position (zstd level 3, one core):");
        for (layout, block_logs) in [
            (row_blocks::Layout::Records, 64),
            (row_blocks::Layout::Records, 512),
            (row_blocks::Layout::Columns, 256),
            (row_blocks::Layout::Columns, 1024),
            (row_blocks::Layout::ColumnsWithDictionary, 32),
            (row_blocks::Layout::ColumnsWithDictionary, 128),
        ] {
            let mut generator =
                generate::Generator::new(args.seed, start_ns, span_ns, args.logs, args.logs / 2);
            let mut blocks = row_blocks::Blocks::new(layout, block_logs);
            let mut left = args.logs;
            while left > 0 {
                let n = left.min(args.batch as u64);
                left -= n;
                blocks.add(&generator.batch(n as usize));
            }
            blocks.report(&generator.probes());
        }
    }
    if args.tantivy {
        for layout in [tantivy_side::Layout::Store, tantivy_side::Layout::Terms, tantivy_side::Layout::Rows] {
            // The same seed makes the same logs.
            let mut generator =
                generate::Generator::new(args.seed, start_ns, span_ns, args.logs, args.logs / 2);
            let mut side = tantivy_side::Side::new(layout)?;
            let mut left = args.logs;
            while left > 0 {
                let n = left.min(args.batch as u64);
                left -= n;
                side.add(&generator.batch(n as usize))?;
            }
            side.report(&generator.probes(), args.logs, args.repeat)?;
        }
    }
    Ok(())
}

/// A query's times through the API, in milliseconds.
struct Timed {
    first: f64,
    p50: f64,
    p95: f64,
}

impl std::fmt::Display for Timed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Timed { first, p50, p95 } = self;
        write!(f, "p50 {p50:7.1} ms   p95 {p95:7.1} ms   first {first:7.1} ms")
    }
}
