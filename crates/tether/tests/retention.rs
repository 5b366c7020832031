//! Retention end to end, on the real binary: data older than the project's retention goes
//! (logs, events and exceptions, recordings with their bytes), newer data stays, changing
//! the retention in the settings takes effect at the next run, and ingest keeps being
//! answered 200 while the job deletes. Run on the embedded stores and on ClickHouse +
//! PostgreSQL + S3.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{KEY, TOKEN, Tether, api, capture, healthy};

const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A config file that runs retention every second.
fn config() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tether.toml");
    std::fs::write(&path, "[retention]\ninterval_secs = 1\n").unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

async fn send_logs(tether: &Tether, logs: &[(&str, i64)]) {
    let records: Vec<Value> = logs
        .iter()
        .map(|(body, ms)| {
            json!({"timeUnixNano": (ms * 1_000_000).to_string(), "body": {"stringValue": body}, "severityText": "INFO"})
        })
        .collect();
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/logs", tether.base))
        .bearer_auth(TOKEN)
        .json(&json!({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// A short recording of `session` whose events happen at `ms`.
async fn record(tether: &Tether, session: &str, ms: i64) {
    let snapshot = json!([{"event": "$snapshot", "properties": {
    "$session_id": session, "$window_id": "w1", "distinct_id": "ada", "token": TOKEN,
    "$snapshot_data": [
        {"type": 4, "data": {"href": "https://shop.example.com/", "width": 1024, "height": 768}, "timestamp": ms},
        {"type": 2, "data": {"node": {"type": 0, "childNodes": [], "id": 1}, "initialOffset": {"left": 0, "top": 0}}, "timestamp": ms + 5},
        {"type": 3, "data": {"source": 2, "type": 2, "id": 1, "x": 5, "y": 5}, "timestamp": ms + 900}
    ]}}]);
    let resp =
        reqwest::Client::new().post(format!("{}/s/", tether.base)).json(&snapshot).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

fn event(uuid: &str, event: &str, session: &str, ms: i64) -> Value {
    let properties = match event {
        "$exception" => {
            json!({"$session_id": session, "$exception_list": [{"type": "Error", "value": format!("boom {uuid}")}]})
        }
        _ => json!({"$session_id": session}),
    };
    json!({"event": event, "distinct_id": "ada", "uuid": uuid, "properties": properties,
           "timestamp": time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap()
               .format(&time::format_description::well_known::Rfc3339).unwrap()})
}

async fn log_bodies(tether: &Tether) -> Vec<String> {
    let (status, page) = api(tether, "projects/1/logs?from=2020-01-01T00:00:00Z&limit=1000").await;
    assert_eq!(status, 200, "{page}");
    page["results"].as_array().unwrap().iter().map(|l| l["body"].as_str().unwrap().to_owned()).collect()
}

/// `field` of every result of `GET /api/{path}`, sorted.
async fn sorted_field(tether: &Tether, path: &str, field: &str) -> Vec<String> {
    let (_, list) = api(tether, path).await;
    let results = list["results"].as_array().cloned().unwrap_or_default();
    let mut values: Vec<String> =
        results.iter().map(|r| r[field].as_str().unwrap_or("").to_owned()).collect();
    values.sort();
    values
}

async fn uuids(tether: &Tether, session: &str) -> Vec<String> {
    sorted_field(tether, &format!("projects/1/sessions/{session}/events"), "uuid").await
}

async fn recorded(tether: &Tether) -> Vec<String> {
    sorted_field(tether, "projects/1/recordings?from=2020-01-01T00:00:00Z", "session_id").await
}

/// The value of the `/metrics` series named exactly `series` (0 when absent).
async fn metric(tether: &Tether, series: &str) -> u64 {
    let metrics = reqwest::get(format!("{}/metrics", tether.base)).await.unwrap().text().await.unwrap();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Retention runs completed so far.
async fn retention_runs(tether: &Tether) -> u64 {
    metric(tether, "tether_retention_runs_total").await
}

/// Polls `check` until it holds, for at most 30 s.
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "retention never got there: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn settings(tether: &Tether, patch: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .patch(format!("{}/api/projects/1/settings", tether.base))
        .bearer_auth(KEY)
        .json(&patch)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

/// The whole story on one running Tether.
async fn old_data_goes_and_new_data_stays(tether: &Tether) {
    healthy(tether).await;
    let now = now_ms();
    let old = now - 40 * DAY_MS;
    // Keep everything (ten years) until all of it is stored.
    let long = json!({"retention": {"logs_days": 3650, "events_days": 3650, "recordings_days": 3650}});
    assert_eq!(settings(tether, long).await.0, 200);
    // A run that began before the change (the first runs at start) still holds the default
    // settings and would delete the old data about to be sent: wait for two runs to end.
    let before = retention_runs(tether).await;
    eventually("two retention runs under the new settings", || async {
        retention_runs(tether).await >= before + 2
    })
    .await;
    send_logs(tether, &[("old log", old), ("new log", now - 1000)]).await;
    let events = vec![
        event("0192f0a1-0000-7000-8000-00000000e001", "$pageview", "s-old", old),
        event("0192f0a1-0000-7000-8000-00000000e002", "$exception", "s-old", old + 1),
        event("0192f0a1-0000-7000-8000-00000000e003", "$pageview", "s-new", now - 1000),
    ];
    assert_eq!(capture(tether, json!(events)).await, 200);
    record(tether, "s-old", old).await;
    record(tether, "s-new", now - 2000).await;
    eventually("everything is stored", || async {
        log_bodies(tether).await.len() == 2
            && recorded(tether).await.len() == 2
            && uuids(tether, "s-old").await.len() == 2
    })
    .await;

    // The defaults: 30 days of logs and recordings, 90 of events.
    let defaults = json!({"retention": {"logs_days": 30, "events_days": 90, "recordings_days": 30}});
    let (status, project) = settings(tether, defaults).await;
    assert_eq!(status, 200, "{project}");
    assert_eq!(project["settings"]["retention"]["logs_days"], 30);
    assert_eq!(project["settings"]["session_recording"], true, "a patch keeps the other settings");
    // Ingest goes on while the job deletes.
    let mut sent = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        send_logs(tether, &[("during retention", now_ms())]).await;
        sent += 1;
        if !log_bodies(tether).await.contains(&"old log".to_owned()) && recorded(tether).await.len() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "old logs and recordings were not deleted");
    }
    let bodies = log_bodies(tether).await;
    assert_eq!(
        bodies.iter().filter(|b| *b == "during retention").count(),
        sent,
        "every log sent meanwhile is kept"
    );
    assert!(bodies.contains(&"new log".to_owned()));
    assert_eq!(recorded(tether).await, ["s-new"]);
    let (status, _) = api(tether, "projects/1/recordings/s-old").await;
    assert_eq!(status, 404, "the deleted recording is gone");
    assert_eq!(uuids(tether, "s-old").await.len(), 2, "40-day-old events are inside 90 days");

    let issues =
        || async { api(tether, "projects/1/error_tracking/issues?from=2020-01-01T00:00:00Z").await.1 };
    assert_eq!(issues().await["results"].as_array().map(Vec::len), Some(1), "the old error is an issue");
    let (status, _) = settings(tether, json!({"retention": {"events_days": 30}})).await;
    assert_eq!(status, 200);
    eventually("old events and exceptions go", || async { uuids(tether, "s-old").await.is_empty() }).await;
    assert_eq!(uuids(tether, "s-new").await.len(), 1);
    assert_eq!(issues().await["results"], json!([]), "no occurrence is left");

    // A run adds its counts when it ends, which may be after its deletions are visible.
    let every_kind_counted = || async {
        for kind in ["logs", "events", "recordings"] {
            if metric(tether, &format!("tether_retention_deleted_total{{kind=\"{kind}\"}}")).await == 0 {
                return false;
            }
        }
        true
    };
    eventually("every kind of deletion counted", every_kind_counted).await;
}

#[tokio::test]
async fn retention_deletes_old_data_on_the_embedded_stores() {
    let (_config_dir, config) = config();
    let data = tempfile::tempdir().unwrap();
    let tether = common::spawn(data.path(), &[("TETHER_CONFIG", &config)]);
    old_data_goes_and_new_data_stays(&tether).await;
    // The deleted session's chunk files are gone from the blob folder, the kept one's not.
    let project_blobs = data.path().join("blobs/recordings/1");
    let sessions: Vec<_> = std::fs::read_dir(&project_blobs).unwrap().collect();
    assert_eq!(sessions.len(), 1, "one session folder left in {}", project_blobs.display());
}

#[tokio::test]
async fn retention_deletes_old_data_on_clickhouse_postgres_and_s3() {
    if !common::services(&["TETHER_TEST_POSTGRES_URL", "TETHER_TEST_S3_URL", "TETHER_TEST_CLICKHOUSE_URL"]) {
        return;
    }
    let (_config_dir, config) = config();
    let (postgres, s3) = common::fresh_storage("retention").await;
    let clickhouse = common::fresh_clickhouse("retention");
    let tether = common::spawn_in_temp_dir(&[
        ("TETHER_CONFIG", &config),
        ("TETHER_POSTGRES_URL", &postgres),
        ("TETHER_BLOB_URL", &s3),
        ("TETHER_CLICKHOUSE_URL", &clickhouse),
    ]);
    old_data_goes_and_new_data_stays(&tether).await;
}

#[tokio::test]
async fn retention_settings_out_of_range_are_refused_with_the_reason() {
    let tether = common::spawn_in_temp_dir(&[]);
    healthy(&tether).await;
    for (patch, reason) in [
        (json!({"retention": {"logs_days": 0}}), "invalid retention.logs_days: expected 1 to 3650 days"),
        (
            json!({"retention": {"recordings_days": 4000}}),
            "invalid retention.recordings_days: expected 1 to 3650 days",
        ),
        (json!({"retention": {"logs_days": "a week"}}), "invalid settings"),
        (json!({"retention": {"forever": true}}), "unknown field `forever`"),
        (json!(["not", "an", "object"]), "expected a JSON object"),
    ] {
        let (status, body) = settings(&tether, patch.clone()).await;
        assert_eq!(status, 400, "{patch}");
        assert!(body["error"].as_str().unwrap_or("").contains(reason), "{patch}: {body}");
    }
    let (_, projects) = api(&tether, "projects").await;
    assert_eq!(
        projects["results"][0]["settings"]["retention"],
        json!({"logs_days": 30, "events_days": 90, "recordings_days": 30})
    );
}
