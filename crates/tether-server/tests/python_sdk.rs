//! A real OpenTelemetry SDK (Python, OTLP/HTTP protobuf) sends logs with `sessionId` and
//! `posthogDistinctId`; they come back from the logs API filtered by those ids.
//! Needs the packages of tests/sdk/python/requirements.txt (scripts/test installs them into
//! .venv; set TETHER_TEST_PYTHON to use another interpreter).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::TestServer;

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("TETHER_TEST_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    if venv.exists() { venv } else { "python3".into() }
}

#[tokio::test]
async fn python_otel_sdk_logs_resolve_session_and_person() {
    let s = TestServer::start().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/sdk/python/send_logs.py");
    let endpoint = format!("{}/v1/logs", s.base);
    let output = tokio::process::Command::new(python())
        .arg(&script)
        .args([endpoint.as_str(), s.token.as_str(), "py-session-1", "py-user@example.com"])
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("python finished")
        .expect("python runs");
    assert!(
        output.status.success(),
        "send_logs.py failed (are tests/sdk/python/requirements.txt installed?):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let (status, page) = s.api("logs?session_id=py-session-1").await;
    assert_eq!(status, 200);
    let logs = page["results"].as_array().unwrap();
    let bodies: Vec<&str> = logs.iter().map(|l| l["body"].as_str().unwrap()).collect();
    assert_eq!(bodies.len(), 2, "{page}");
    assert!(bodies.contains(&"cart loaded") && bodies.contains(&"payment declined by bank"), "{bodies:?}");
    for log in logs {
        assert_eq!(log["distinct_id"], "py-user@example.com");
        assert_eq!(log["service"], "python-sdk-test");
    }
    let error = logs.iter().find(|l| l["body"] == "payment declined by bank").unwrap();
    assert_eq!(error["severity"], "error");
    assert_eq!(error["attributes"]["amount"], 12.5);

    let (_, by_person) = s.api("logs?distinct_id=py-user@example.com").await;
    assert_eq!(by_person["results"].as_array().unwrap().len(), 2);
    let (_, all) = s.api("logs?q=no%20session").await;
    assert_eq!(all["results"][0]["session_id"], serde_json::Value::Null);
    assert_eq!(all["results"][0]["severity"], "warn");
}
