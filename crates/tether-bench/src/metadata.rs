//! Metadata round trips: every ingest request looks up its project by token and every API
//! call its key. On SQLite that is a local file; on PostgreSQL a network round trip each,
//! which the metadata read cache (`[storage] metadata_cache_ttl_ms`) removes. This times
//! sequential small requests — one OTLP record, one page of logs — on both, with the cache
//! off and on, and the SDK's remote config (a project lookup and nothing else).

use std::time::Instant;

use anyhow::bail;
use serde_json::json;

use crate::server::{API_KEY, TOKEN, start_server_with, wait_healthy};

#[derive(clap::Args)]
pub(crate) struct MetadataArgs {
    /// A PostgreSQL URL whose role may create databases (one is made per run).
    #[arg(long, env = "TETHER_TEST_POSTGRES_URL")]
    postgres_url: String,
    /// Requests of each kind per configuration.
    #[arg(long, default_value_t = 500)]
    requests: usize,
}

fn percentile(sorted: &[f64], p: usize) -> f64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// p50 and p95 in milliseconds of `n` sequential runs of `request`.
async fn time<F, Fut>(n: usize, mut request: F) -> anyhow::Result<(f64, f64)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        request().await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok((percentile(&times, 50), percentile(&times, 95)))
}

pub(crate) async fn run(args: MetadataArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    println!("sequential requests, {} of each kind per configuration:", args.requests);
    println!(
        "  {:<24} {:>20} {:>20} {:>20}",
        "metadata store, cache", "ingest p50/p95 ms", "logs API p50/p95 ms", "config p50/p95 ms"
    );
    let run_id = std::process::id();
    for (label, postgres, cache_ms) in [
        ("SQLite, no cache", false, 0),
        ("SQLite, cache", false, 5000),
        ("PostgreSQL, no cache", true, 0),
        ("PostgreSQL, cache", true, 5000),
    ] {
        let mut env = vec![("TETHER_METADATA_CACHE_TTL_MS".to_owned(), cache_ms.to_string())];
        if postgres {
            let db = format!("bench_metadata_{run_id}_{cache_ms}");
            let url = tether_store_sql::create_database(&args.postgres_url, &db).await?;
            env.push(("TETHER_POSTGRES_URL".to_owned(), url));
        }
        let server = start_server_with(&env)?;
        wait_healthy(&client, &server).await?;
        let ingest_url = format!("{}/v1/logs", server.base);
        let body = json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "one record"}}]}]}]});
        let ingest = time(args.requests, || async {
            let resp = client.post(&ingest_url).bearer_auth(TOKEN).json(&body).send().await?;
            if !resp.status().is_success() {
                bail!("ingest answered {}", resp.status());
            }
            Ok(())
        })
        .await?;
        let logs_url = format!("{}/api/projects/1/logs?from=-1h&limit=50", server.base);
        let read = time(args.requests, || async {
            let resp = client.get(&logs_url).bearer_auth(API_KEY).send().await?;
            if !resp.status().is_success() {
                bail!("logs API answered {}", resp.status());
            }
            resp.bytes().await?;
            Ok(())
        })
        .await?;
        let config_url = format!("{}/array/{TOKEN}/config", server.base);
        let config = time(args.requests, || async {
            let resp = client.get(&config_url).send().await?;
            if !resp.status().is_success() {
                bail!("remote config answered {}", resp.status());
            }
            resp.bytes().await?;
            Ok(())
        })
        .await?;
        println!(
            "  {label:<24} {:>11.2} / {:>6.2} {:>11.2} / {:>6.2} {:>11.2} / {:>6.2}",
            ingest.0, ingest.1, read.0, read.1, config.0, config.1
        );
    }
    Ok(())
}
