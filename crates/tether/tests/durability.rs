//! Acknowledged logs survive the process being killed (SIGKILL, no shutdown, no checkpoint):
//! the real binary is started, sent logs, killed, restarted on the same data directory, and
//! every acknowledged log is read back, and found by text search and by id (the text and
//! id indexes are rebuilt from the logs for what their files did not cover: 140,000 logs
//! fill one text index segment file and leave the rest in memory when the process dies,
//! and the id index commits once a second).

use serde_json::{Value, json};

mod common;
use common::{KEY, TOKEN, Tether};

async fn start(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Tether {
    let tether = common::spawn(data_dir, env);
    common::healthy(&tether).await;
    tether
}

fn otlp(batch: usize, per_batch: usize) -> Value {
    let records: Vec<Value> = (0..per_batch)
        .map(|i| {
            json!({"severityText": "INFO", "body": {"stringValue": format!("durable {batch}-{i}")},
                   "attributes": [{"key": "sessionId", "value": {"stringValue": "durable-session"}},
                                  {"key": "request_id", "value": {"stringValue": request_id(batch)}}]})
        })
        .collect();
    json!({"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
                              "scopeLogs": [{"logRecords": records}]}]})
}

/// Each batch's logs share a request id, as a request's logs do.
fn request_id(batch: usize) -> String {
    format!("req-{batch:04}-7f3a9c")
}

/// In the row store (the default): 140,000 logs are two full segment files (the first
/// trains the dictionary) and the rest in the write-ahead file.
#[tokio::test]
async fn acknowledged_logs_survive_sigkill() {
    survive_sigkill(&[]).await;
}

/// The same with the logs in DuckDB.
#[tokio::test]
async fn acknowledged_logs_survive_sigkill_in_duckdb() {
    survive_sigkill(&[("TETHER_EMBEDDED_LOGS", "duckdb")]).await;
}

async fn survive_sigkill(env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let mut tether = start(dir.path(), env).await;
    send_logs(&tether).await;
    tether.child.kill().unwrap(); // SIGKILL: no graceful stop, no checkpoint
    tether.child.wait().unwrap();
    drop(tether);
    read_back(&start(dir.path(), env).await).await;
}

/// Logs an earlier version kept in DuckDB move into the row store when a server first
/// opens it, once: a second start finds each once, and DuckDB keeps none of them.
#[tokio::test]
async fn logs_kept_in_duckdb_move_into_the_row_store() {
    let dir = tempfile::tempdir().unwrap();
    let in_duckdb = [("TETHER_EMBEDDED_LOGS", "duckdb")];
    send_logs(&start(dir.path(), &in_duckdb).await).await;
    read_back(&start(dir.path(), &[]).await).await;
    read_back(&start(dir.path(), &[]).await).await;
    assert_eq!(stored(&start(dir.path(), &in_duckdb).await).await, 0, "moved out of DuckDB");
}

/// 70 requests of 2,000 logs, each acknowledged.
async fn send_logs(tether: &Tether) {
    let client = reqwest::Client::new();
    for batch in 0..70 {
        let resp = client
            .post(format!("{}/v1/logs", tether.base))
            .bearer_auth(TOKEN)
            .json(&otlp(batch, 2_000))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "batch {batch} acknowledged");
    }
}

/// How many logs of the session the server holds.
async fn stored(tether: &Tether) -> u64 {
    let url = format!("{}/api/projects/1/logs/histogram?from=-1h&session_id=durable-session", tether.base);
    let client = reqwest::Client::new();
    let histogram: Value = client.get(url).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
    histogram["buckets"].as_array().unwrap().iter().map(|b| b["total"].as_u64().unwrap()).sum()
}

/// What [`send_logs`] sent is there, each once, and found by text and by request id.
async fn read_back(tether: &Tether) {
    let client = reqwest::Client::new();
    assert_eq!(stored(tether).await, 140_000);
    for body in ["durable 0-1999", "durable 31-1234", "durable 69-1999"] {
        // Quoted: the phrase, not its words anywhere.
        let url =
            format!("{}/api/projects/1/logs?from=-1h&q=%22{}%22", tether.base, body.replace(' ', "%20"));
        let found: Value = client.get(url).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
        let bodies: Vec<&str> =
            found["results"].as_array().unwrap().iter().filter_map(|l| l["body"].as_str()).collect();
        assert_eq!(bodies, [body], "{found}");
    }
    for batch in [0, 31, 69] {
        let url = format!(
            "{}/api/projects/1/logs?from=-1h&attr=request_id%3D{}&limit=1000",
            tether.base,
            request_id(batch)
        );
        let found: Value = client.get(url).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
        let results = found["results"].as_array().unwrap();
        assert_eq!(results.len(), 1000, "a full page of the request's 2,000 logs");
        let prefix = format!("durable {batch}-");
        assert!(results.iter().all(|l| l["body"].as_str().unwrap().starts_with(&prefix)), "{found}");
        assert_eq!(found["has_more"], true, "the other 1,000 are a page away");
    }
}
