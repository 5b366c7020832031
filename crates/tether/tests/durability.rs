//! Acknowledged logs survive the process being killed (SIGKILL, no shutdown, no checkpoint):
//! the real binary is started, sent logs, killed, restarted on the same data directory, and
//! every acknowledged log is read back.

use serde_json::{Value, json};

mod common;
use common::{KEY, TOKEN, Tether};

async fn start(data_dir: &std::path::Path) -> Tether {
    let tether = common::spawn(data_dir, &[]);
    common::healthy(&tether).await;
    tether
}

fn otlp(batch: usize, per_batch: usize) -> Value {
    let records: Vec<Value> = (0..per_batch)
        .map(|i| {
            json!({"severityText": "INFO", "body": {"stringValue": format!("durable {batch}-{i}")},
                   "attributes": [{"key": "sessionId", "value": {"stringValue": "durable-session"}}]})
        })
        .collect();
    json!({"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
                              "scopeLogs": [{"logRecords": records}]}]})
}

#[tokio::test]
async fn acknowledged_logs_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut tether = start(dir.path()).await;
    for batch in 0..5 {
        let resp = client
            .post(format!("{}/v1/logs", tether.base))
            .bearer_auth(TOKEN)
            .json(&otlp(batch, 2_000))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "batch {batch} acknowledged");
    }
    tether.child.kill().unwrap(); // SIGKILL: no graceful stop, no checkpoint
    tether.child.wait().unwrap();
    drop(tether);

    let tether = start(dir.path()).await;
    let url = format!("{}/api/projects/1/logs/histogram?from=-1h&session_id=durable-session", tether.base);
    let histogram: Value = client.get(url).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
    let stored: u64 =
        histogram["buckets"].as_array().unwrap().iter().map(|b| b["total"].as_u64().unwrap()).sum();
    assert_eq!(stored, 10_000, "{histogram}");
    let url = format!("{}/api/projects/1/logs?from=-1h&q=durable%204-1999", tether.base);
    let last: Value = client.get(url).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
    assert_eq!(last["results"][0]["body"], "durable 4-1999");
}
