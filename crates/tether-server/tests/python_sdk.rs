//! Real Python SDKs against an in-process Tether: OpenTelemetry (OTLP/HTTP protobuf) logs
//! with `sessionId` / `posthogDistinctId` come back filtered by those ids, and PostHog's
//! Python SDK's `capture_exception` becomes an error-tracking issue; the stamping recipe of
//! examples/python (Flask and FastAPI) puts the caller's session and person on request logs.
//! Needs the packages of tests/sdk/python/requirements.txt (scripts/test installs them into
//! .venv; set TETHER_TEST_PYTHON to use another interpreter).

mod common;

use std::path::PathBuf;

use common::TestServer;

/// The interpreter with the SDKs installed, if there is one (else the test is skipped).
fn python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("TETHER_TEST_PYTHON") {
        return Some(p.into());
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let present = venv.exists();
    tether_store::conformance::prerequisite(present, "the Python SDKs in .venv (or TETHER_TEST_PYTHON)")
        .then_some(venv)
}

/// Runs one of tests/sdk/python's scripts and fails the test with its stderr if it fails;
/// its standard output.
async fn run_script(python: &std::path::Path, name: &str, args: &[&str]) -> String {
    let hint = "are tests/sdk/python/requirements.txt installed?";
    common::run_sdk_script(python, &format!("tests/sdk/python/{name}"), args, hint).await
}

#[tokio::test]
async fn python_otel_sdk_logs_resolve_session_and_person() {
    let Some(python) = python() else { return };
    let s = TestServer::start().await;
    let endpoint = format!("{}/v1/logs", s.base);
    run_script(&python, "send_logs.py", &[&endpoint, &s.token, "py-session-1", "py-user@example.com"]).await;

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

/// A batch over the 16 MB limit: the exporter reads the 413 (not a broken pipe, which it
/// would retry) and drops the batch; the server keeps serving.
#[tokio::test]
async fn python_otel_exporter_reads_the_413_of_an_oversize_batch() {
    let Some(python) = python() else { return };
    let s = TestServer::start().await;
    let endpoint = format!("{}/v1/logs", s.base);
    let output = run_script(&python, "send_oversize.py", &[&endpoint, &s.token, "20"]).await;
    assert!(output.contains("Failed to export logs batch code: 413"), "{output}");
    let (status, page) = s.api("logs").await;
    assert_eq!(
        (status, page["results"].as_array().unwrap().len()),
        (200, 0),
        "nothing of the batch is stored"
    );
}

#[tokio::test]
async fn python_posthog_sdk_exceptions_become_issues() {
    let Some(python) = python() else { return };
    let s = TestServer::start().await;
    run_script(&python, "send_exception.py", &[&s.base, &s.token, "py-session-2", "py-user-2"]).await;
    let (status, issues) = s.api("error_tracking/issues").await;
    assert_eq!(status, 200);
    let issue = &issues["results"][0];
    assert_eq!(issue["name"], "ValueError", "{issues}");
    assert_eq!(issue["description"], "card declined for amount 4200");
    let (_, detail) = s.api(&format!("error_tracking/issues/{}", issue["id"])).await;
    assert_eq!(detail["occurrences_list"][0]["session_id"], "py-session-2");
    assert_eq!(detail["occurrences_list"][0]["distinct_id"], "py-user-2");
    let frames = detail["latest_exception"][0]["stacktrace"]["frames"].as_array().expect("python frames");
    assert!(frames.iter().any(|f| f["function"] == "charge_card"), "{frames:?}");
}

/// examples/python with one framework: tracing headers, baggage and invalid ids.
async fn python_recipe_stamps_request_logs(framework: &str, expected_bodies: &[&str]) {
    let Some(python) = python() else { return };
    let s = TestServer::start().await;
    run_script(&python, "recipes.py", &[&s.base, &s.token, framework, common::CALLER_TRACE]).await;
    common::assert_recipe_stamped(&s, framework, expected_bodies).await;
}

#[tokio::test]
async fn python_flask_recipe_stamps_request_logs() {
    python_recipe_stamps_request_logs(
        "flask",
        &["checkout started", "payment declined by the card processor"],
    )
    .await;
}

#[tokio::test]
async fn python_fastapi_recipe_stamps_request_logs() {
    python_recipe_stamps_request_logs(
        "fastapi",
        &["checkout started", "fraud check slow", "payment declined by the card processor"],
    )
    .await;
}
