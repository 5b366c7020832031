//! The Rust stamping layer end to end: an axum app with `tether_stamp::StampLayer` logs
//! through `tracing` → OpenTelemetry log bridge → OTLP/HTTP into an in-process Tether, and
//! the logs come back from Tether's API linked to the caller's session and person.

mod common;

use axum::Router;
use axum::routing::post;
use common::TestServer;
use opentelemetry::context::FutureExt;
use serde_json::Value;
use tracing_subscriber::prelude::*;

async fn checkout() -> &'static str {
    tracing::error!(amount = 42.5, "payment declined by bank");
    "declined"
}

/// Logs from a spawned task keep the ids when the task takes the context along.
async fn background() -> &'static str {
    tokio::spawn(async { tracing::info!("receipt queued in background") }.with_current_context())
        .await
        .unwrap();
    "queued"
}

/// An id the code sets itself wins over the stamped one.
async fn explicit() -> &'static str {
    tracing::warn!(sessionId = "chosen-by-code", "explicit session kept");
    "ok"
}

/// Starts the customer's app on a free port and returns its base URL.
async fn start_app() -> String {
    let app = Router::new()
        .route("/checkout", post(checkout))
        .route("/background", post(background))
        .route("/explicit", post(explicit))
        .layer(tether_stamp::StampLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

async fn logs(s: &TestServer, query: &str) -> Vec<Value> {
    let (status, page) = s.api(&format!("logs?{query}")).await;
    assert_eq!(status, 200, "{page}");
    page["results"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracing_logs_of_a_request_carry_its_session_and_person() {
    let s = TestServer::start().await;
    let provider =
        tether_stamp::otlp::logger_provider(&format!("{}/v1/logs", s.base), &s.token, "rust-shop").unwrap();
    tracing_subscriber::registry().with(tether_stamp::otlp::tracing_layer(&provider)).init();
    let app = start_app().await;
    let client = reqwest::Client::new();
    let send = |path: &str, headers: &[(&str, &str)]| {
        let mut req = client.post(format!("{app}{path}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send()
    };

    let session = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    let posthog = [
        ("X-POSTHOG-SESSION-ID", session),
        ("X-POSTHOG-DISTINCT-ID", "ada@example.com"),
        ("X-POSTHOG-WINDOW-ID", "0199a1b2-aaaa-7e5f-8a9b-0c1d2e3f4a5b"),
    ];
    let answered = send("/checkout", &posthog).await.unwrap().error_for_status().unwrap();
    // The response names the request's trace, for the browser's network recording.
    let timing = answered.headers()["server-timing"].to_str().unwrap().to_owned();
    let trace = timing
        .strip_prefix("traceparent;desc=\"00-")
        .and_then(|t| t.split('-').next())
        .unwrap_or_else(|| panic!("{timing}"))
        .to_owned();
    assert_eq!(trace.len(), 32, "{timing}");
    // A caller's trace is continued.
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let continued = send("/background", &[("traceparent", caller)]).await.unwrap();
    assert!(
        continued.headers()["server-timing"].to_str().unwrap().contains("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    // A form post or page load carries no tracing headers, only the posthog-js cookie.
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let cookie = format!(
        "ph_phc_shop_posthog={}",
        serde_json::json!({"distinct_id": "lin@example.com", "$sesid": [now_ms, "cookie-session-1", now_ms]})
            .to_string()
            .replace('"', "%22")
            .replace(',', "%2C")
    );
    send("/checkout", &[("cookie", &cookie)]).await.unwrap().error_for_status().unwrap();
    send("/background", &posthog).await.unwrap().error_for_status().unwrap();
    send("/explicit", &posthog).await.unwrap().error_for_status().unwrap();
    send("/checkout", &[("baggage", "session.id=baggage-session-7,user.id=grace%40example.com")])
        .await
        .unwrap();
    let oversized = "s".repeat(300);
    send("/checkout", &[("X-POSTHOG-SESSION-ID", &oversized), ("X-POSTHOG-DISTINCT-ID", "bad\tid")])
        .await
        .unwrap();
    send("/checkout", &[]).await.unwrap();
    tokio::task::spawn_blocking(move || provider.shutdown().unwrap()).await.unwrap();

    let stamped = logs(&s, &format!("session_id={session}")).await;
    let bodies: Vec<&str> = stamped.iter().map(|l| l["body"].as_str().unwrap()).collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(bodies.contains(&"payment declined by bank") && bodies.contains(&"receipt queued in background"));
    for log in &stamped {
        assert_eq!(log["distinct_id"], "ada@example.com");
        assert_eq!(log["service"], "rust-shop");
        assert_eq!(log["attributes"]["session.id"], session);
        assert_eq!(log["attributes"]["posthogWindowId"], "0199a1b2-aaaa-7e5f-8a9b-0c1d2e3f4a5b");
    }
    let declined = stamped.iter().find(|l| l["body"] == "payment declined by bank").unwrap();
    assert_eq!(declined["severity"], "error");
    assert_eq!(declined["trace_id"], trace.as_str(), "the log carries the trace the response named");

    let from_cookie = logs(&s, "session_id=cookie-session-1").await;
    assert_eq!(from_cookie.len(), 1);
    assert_eq!(from_cookie[0]["distinct_id"], "lin@example.com");
    let caller_logs = logs(&s, "trace_id=4bf92f3577b34da6a3ce929d0e0e4736").await;
    assert_eq!(caller_logs.len(), 1, "{caller_logs:?}");
    assert_eq!(declined["attributes"]["amount"], 42.5);

    let kept = logs(&s, "session_id=chosen-by-code").await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["distinct_id"], "ada@example.com");

    let from_baggage = logs(&s, "session_id=baggage-session-7").await;
    assert_eq!(from_baggage.len(), 1);
    assert_eq!(from_baggage[0]["distinct_id"], "grace@example.com");

    // Invalid ids are dropped and the log is still stored, unlinked; so is a log without ids.
    let unlinked = logs(&s, "q=payment%20declined").await;
    assert_eq!(unlinked.len(), 5, "{unlinked:?}");
    let bare: Vec<&Value> = unlinked.iter().filter(|l| l["session_id"].is_null()).collect();
    assert_eq!(bare.len(), 2);
    for log in bare {
        assert!(log["distinct_id"].is_null(), "{log}");
        assert!(log["attributes"].get("sessionId").is_none(), "{log}");
    }
}
