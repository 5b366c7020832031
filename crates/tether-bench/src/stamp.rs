//! The cost of stamping: an axum app logging through `tracing` → OpenTelemetry → OTLP into
//! a real Tether, driven with posthog-js's tracing headers, once without and once with
//! `tether_stamp::StampLayer`; then whether every log arrived stamped. Also the per-record
//! cost of `StampProcessor` alone, without HTTP.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::routing::post;
use futures::StreamExt;
use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider};
use tether_stamp::{Stamp, StampProcessor};
use tracing_subscriber::prelude::*;

use crate::server::{API_KEY, TOKEN, start_server, wait_healthy};

#[derive(clap::Args)]
pub(crate) struct StampArgs {
    /// Requests per run.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

async fn checkout() -> &'static str {
    tracing::info!(items = 2, "checkout started");
    tracing::error!(gateway = "acme-pay", "payment declined by the card processor");
    "declined"
}

/// Serves the app on a free port, with or without the layer; returns its URL.
async fn start_app(stamped: bool) -> anyhow::Result<String> {
    let app = Router::new().route("/checkout", post(checkout));
    let app = if stamped { app.layer(tether_stamp::StampLayer::new()) } else { app };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/checkout", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Sends `requests` POSTs with the session `session`; returns requests per second.
async fn drive(client: &reqwest::Client, url: &str, session: &str, args: &StampArgs) -> anyhow::Result<f64> {
    let started = Instant::now();
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..args.requests)
        .map(|_| async {
            client
                .post(url)
                .header("X-POSTHOG-SESSION-ID", session)
                .header("X-POSTHOG-DISTINCT-ID", "bench@example.com")
                .header("X-POSTHOG-WINDOW-ID", "0199a1b2-aaaa-7e5f-8a9b-0c1d2e3f4a5b")
                .send()
                .await?
                .error_for_status()?;
            Ok(())
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<()>>()?;
    Ok(args.requests as f64 / started.elapsed().as_secs_f64())
}

/// Logs Tether holds for `session` (counting by pages of 1000 would be slow; the histogram
/// over the session filter sums them).
async fn stored_for_session(client: &reqwest::Client, base: &str, session: &str) -> anyhow::Result<u64> {
    let url = format!("{base}/api/projects/1/logs/histogram?from=-1h&session_id={session}");
    let body: serde_json::Value = client.get(url).bearer_auth(API_KEY).send().await?.json().await?;
    let buckets = body["buckets"].as_array().context("histogram without buckets")?;
    Ok(buckets.iter().map(|b| b["total"].as_u64().unwrap_or(0)).sum())
}

pub(crate) async fn run(args: StampArgs) -> anyhow::Result<()> {
    processor_cost();

    let server = start_server()?;
    let client = reqwest::Client::new();
    wait_healthy(&client, &server).await?;
    let provider =
        tether_stamp::otlp::logger_provider(&format!("{}/v1/logs", server.base), TOKEN, "bench-app")?;
    let only_the_app =
        tracing_subscriber::filter::Targets::new().with_target("tether_bench", tracing::Level::INFO);
    tracing_subscriber::registry()
        .with(tether_stamp::otlp::tracing_layer(&provider).with_filter(only_the_app))
        .init();

    let plain = drive(&client, &start_app(false).await?, "bench-plain", &args).await?;
    let flushing = provider.clone();
    tokio::task::spawn_blocking(move || flushing.force_flush()).await??;
    let stamped = drive(&client, &start_app(true).await?, "bench-stamped", &args).await?;
    tokio::task::spawn_blocking(move || provider.shutdown()).await??;

    let expected = 2 * args.requests as u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    let found = loop {
        let found = stored_for_session(&client, &server.base, "bench-stamped").await?;
        if found >= expected || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let leaked = stored_for_session(&client, &server.base, "bench-plain").await?;
    println!("app → OTLP → Tether, {} requests × 2 logs, {} in flight:", args.requests, args.concurrency);
    println!("  without StampLayer: {plain:>8.0} requests/s");
    println!("  with StampLayer:    {stamped:>8.0} requests/s ({:+.1}%)", (stamped / plain - 1.0) * 100.0);
    println!("  stamped logs stored in Tether: {found} of {expected}; unstamped run linked: {leaked}");
    if found != expected || leaked != 0 {
        bail!("stamping lost or misattributed logs");
    }
    Ok(())
}

/// Nanoseconds per record of emitting to an in-memory exporter, with and without the
/// processor in a stamped context.
fn processor_cost() {
    const N: u32 = 200_000;
    let time = |with_processor: bool| {
        let exporter = InMemoryLogExporter::default();
        let builder = SdkLoggerProvider::builder();
        let builder = if with_processor { builder.with_log_processor(StampProcessor) } else { builder };
        let provider = builder.with_simple_exporter(exporter.clone()).build();
        let logger = provider.logger("bench");
        let stamp = Stamp {
            session_id: Some("0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into()),
            distinct_id: Some("bench@example.com".into()),
            window_id: None,
        };
        let _guard = opentelemetry::Context::current_with_value(stamp).attach();
        let started = Instant::now();
        for _ in 0..N {
            let mut record = logger.create_log_record();
            record.set_body("payment declined".into());
            logger.emit(record);
        }
        let ns = started.elapsed().as_nanos() as f64 / f64::from(N);
        exporter.reset();
        ns
    };
    let (without, with) = (time(false), time(true));
    println!(
        "StampProcessor alone: {without:.0} ns/record without, {with:.0} ns/record with (+{:.0} ns)",
        with - without
    );

    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("x-posthog-session-id", "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
        ("x-posthog-distinct-id", "bench@example.com"),
        ("x-posthog-window-id", "0199a1b2-aaaa-7e5f-8a9b-0c1d2e3f4a5b"),
    ] {
        headers.insert(name, http::HeaderValue::from_static(value));
    }
    let started = Instant::now();
    for _ in 0..N {
        let stamp = Stamp::from_headers(std::hint::black_box(&headers));
        let _guard = opentelemetry::Context::current_with_value(stamp).attach();
    }
    let ns = started.elapsed().as_nanos() as f64 / f64::from(N);
    println!("StampLayer's work per request (read and validate headers, attach the context): {ns:.0} ns");
}
