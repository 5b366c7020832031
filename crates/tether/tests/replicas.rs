//! Two `tether serve` processes on one ClickHouse (logs, events, exceptions, recording
//! index), one PostgreSQL (metadata) and one S3 bucket (recording bytes): the services
//! scripts/test starts. What one replica stores, the other serves; killing one loses
//! nothing it acknowledged, and the other keeps serving.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

mod common;
use common::{
    InTempDir, Relay, TOKEN, Tether, ada_identifies_and_throws, api, capture, fresh_clickhouse,
    fresh_storage, healthy, sees_ada_and_her_issue, send_log, services, spawn_in_temp_dir,
    survives_an_outage,
};

fn spawn(postgres: &str, clickhouse: &str, blobs: &str) -> InTempDir {
    spawn_in_temp_dir(&[
        ("TETHER_POSTGRES_URL", postgres),
        ("TETHER_CLICKHOUSE_URL", clickhouse),
        ("TETHER_BLOB_URL", blobs),
    ])
}

/// One OTLP request with `n` logs whose bodies are `{prefix}-{i}`.
async fn send_batch(base: &str, prefix: &str, n: usize) -> reqwest::Result<reqwest::Response> {
    let records: Vec<Value> =
        (0..n).map(|i| json!({"body": {"stringValue": format!("{prefix}-{i}")}})).collect();
    reqwest::Client::new()
        .post(format!("{base}/v1/logs"))
        .bearer_auth(TOKEN)
        .timeout(Duration::from_secs(10))
        .json(&json!({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]}))
        .send()
        .await
}

/// Every log matching `query` over the last hour, through `tether`'s API (all pages).
async fn all_logs(tether: &Tether, query: &str) -> Vec<Value> {
    let mut logs = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) =
            api(tether, &format!("projects/1/logs?from=-1h&limit=1000&{query}{cursor}")).await;
        assert_eq!(status, 200, "{page}");
        logs.extend(page["results"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return logs,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_share_one_clickhouse_postgres_and_bucket() {
    if !services(&["TETHER_TEST_POSTGRES_URL", "TETHER_TEST_S3_URL", "TETHER_TEST_CLICKHOUSE_URL"]) {
        return;
    }
    let (pg, s3) = fresh_storage("replicas").await;
    let ch = fresh_clickhouse("replicas");
    // Both start at once on empty databases: one schema, one first project.
    let (a, b) = (spawn(&pg, &ch, &s3), spawn(&pg, &ch, &s3));
    healthy(&a).await;
    healthy(&b).await;
    let (_, projects) = api(&b, "projects").await;
    assert_eq!(projects["results"].as_array().unwrap().len(), 1, "{projects}");
    let (_, tail) = api(&b, "projects/1/logs/tail").await;
    let tail_cursor = tail["cursor"].as_str().unwrap().to_owned();

    // A person merged and an exception captured through A are seen by B, with the
    // exception's occurrence counted (it is in ClickHouse, not in A's memory).
    let identify = ada_identifies_and_throws();
    assert_eq!(capture(&a, identify.clone()).await, 200);
    assert_eq!(capture(&a, identify).await, 200, "an SDK retry");
    sees_ada_and_her_issue(&b).await;
    let (_, issues) = api(&b, "projects/1/error_tracking/issues?from=-1d").await;
    let issue = &issues["results"][0];
    assert_eq!(issue["occurrences"], 1, "the retry is seen once: {issue}");

    // Both replicas ingest at once; ids never collide and every log is there once.
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..10 {
        for (base, prefix) in [(a.base.clone(), format!("a{i}")), (b.base.clone(), format!("b{i}"))] {
            sends.spawn(async move { send_batch(&base, &prefix, 50).await.unwrap().status() });
        }
    }
    while let Some(status) = sends.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    let logs = all_logs(&b, "").await;
    let ids: HashSet<&str> = logs.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(logs.len(), 1000, "every log once");
    assert_eq!(ids.len(), 1000, "no id minted twice");

    // Live tail through B shows what A ingested.
    let (status, tailed) = api(&b, &format!("projects/1/logs/tail?after={tail_cursor}&q=a3-")).await;
    assert_eq!(status, 200, "{tailed}");
    assert_eq!(tailed["results"].as_array().unwrap().len(), 50, "{tailed}");

    // SIGKILL A while it ingests: every batch it acknowledged is readable through B, and B
    // keeps serving.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let sender = {
        let (base, acknowledged) = (a.base.clone(), acknowledged.clone());
        tokio::spawn(async move {
            for i in 0.. {
                match send_batch(&base, &format!("kill{i}"), 20).await {
                    Ok(resp) if resp.status() == 200 => acknowledged.lock().unwrap().push(i),
                    _ => break,
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut a = a;
    a.tether.child.kill().unwrap();
    a.tether.child.wait().unwrap();
    sender.await.unwrap();
    let acked: Vec<i32> = acknowledged.lock().unwrap().clone();
    assert!(acked.len() > 3, "A acknowledged batches before it was killed: {acked:?}");
    let bodies: HashSet<String> =
        all_logs(&b, "q=kill").await.iter().map(|l| l["body"].as_str().unwrap().to_owned()).collect();
    for i in &acked {
        for j in 0..20 {
            assert!(bodies.contains(&format!("kill{i}-{j}")), "acknowledged log kill{i}-{j} is missing");
        }
    }
    assert_eq!(send_log(&b, "after the kill").await.status(), 200);
    assert_eq!(all_logs(&b, "q=after%20the%20kill").await.len(), 1);
}

#[tokio::test]
async fn clickhouse_going_away_is_503_then_recovers_without_a_restart() {
    if !services(&["TETHER_TEST_POSTGRES_URL", "TETHER_TEST_S3_URL", "TETHER_TEST_CLICKHOUSE_URL"]) {
        return;
    }
    let (pg, s3) = fresh_storage("clickhouse_outage").await;
    let (relay, ch) = Relay::in_front_of(&fresh_clickhouse("clickhouse_outage")).await;
    let tether = spawn(&pg, &ch, &s3);
    healthy(&tether).await;
    survives_an_outage(&tether, &relay).await;
}
