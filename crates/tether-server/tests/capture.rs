//! The PostHog capture surface with real posthog-js 1.449.2 requests (fixtures), and the
//! API answers built on them: issues, recordings, persons, and related errors of a log.

mod common;

use common::{TestServer, fixture, gzip, otlp_json, post_gzip, send_fixtures};
use serde_json::{Value, json};

use common::{FIXTURE_SESSION as SESSION, FIXTURE_TOKEN as TOKEN};

#[tokio::test]
async fn remote_config_turns_on_recording_and_exceptions() {
    let s = TestServer::start_with_token(TOKEN).await;
    let config: Value =
        s.client.get(format!("{}/array/{TOKEN}/config", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(config["sessionRecording"]["endpoint"], "/s/");
    assert_eq!(config["sessionRecording"]["consoleLogRecordingEnabled"], true);
    assert_eq!(config["autocaptureExceptions"], true);
    assert_eq!(config["supportedCompression"], json!(["gzip", "gzip-js"]));
    assert_eq!(config["autocapture_opt_out"], false);
    assert!(config.get("surveys").is_none());
    // Network requests are recorded with their timings; headers and bodies are not.
    assert_eq!(config["capturePerformance"], json!({"network_timing": true, "web_vitals": false}));
    assert_eq!(config["sessionRecording"]["networkPayloadCapture"], Value::Null);
    let script = s
        .client
        .get(format!("{}/array/{TOKEN}/config.js", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(script.contains("window._POSTHOG_REMOTE_CONFIG[\"phc_testtoken123\"]"), "{script}");
    let unknown = s.client.get(format!("{}/array/phc_nope/config", s.base)).send().await.unwrap();
    assert_eq!(unknown.status(), 404);

    // A project may allow headers (and not bodies), or no network recording at all.
    assert_eq!(s.patch_settings(&json!({"network": {"headers": true}})).await.status(), 200);
    let config: Value =
        s.client.get(format!("{}/array/{TOKEN}/config", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        config["sessionRecording"]["networkPayloadCapture"],
        json!({"recordHeaders": true, "recordBody": false})
    );
    assert_eq!(
        s.patch_settings(&json!({"network": {"requests": false, "headers": false}})).await.status(),
        200
    );
    let config: Value =
        s.client.get(format!("{}/array/{TOKEN}/config", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(config["capturePerformance"]["network_timing"], false);
    assert_eq!(config["sessionRecording"]["networkPayloadCapture"], Value::Null);

    // A project can switch recording off.
    let patched =
        s.patch_settings(&json!({"session_recording": false, "exception_autocapture": false})).await;
    assert_eq!(patched.status(), 200);
    let config: Value =
        s.client.get(format!("{}/array/{TOKEN}/config", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(config["sessionRecording"], false);
    assert_eq!(config["autocaptureExceptions"], false);

    let flags = post_gzip(&s, "/flags/?v=2", &fixture("03_fetch_POST_flags__v=2.json")).await;
    assert_eq!(flags.0, 200);
    assert_eq!(flags.1["flags"], json!({}));
}

#[tokio::test]
async fn privacy_settings_reach_the_sdk_as_masking_and_bad_selectors_are_refused() {
    let s = TestServer::start_with_token(TOKEN).await;
    let config = || async {
        let c: Value = s
            .client
            .get(format!("{}/array/{TOKEN}/config", s.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        c["sessionRecording"]["masking"].clone()
    };
    assert_eq!(
        config().await,
        json!({"maskAllInputs": true, "maskTextSelector": null, "blockSelector": null})
    );
    let ok = s
        .patch_settings(&json!({"privacy": {"mask_text_selector": ".secret", "block_selector": "#card"}}))
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(
        config().await,
        json!({"maskAllInputs": true, "maskTextSelector": ".secret", "blockSelector": "#card"})
    );
    let off = s.patch_settings(&json!({"privacy": {"mask_all_inputs": false}})).await;
    assert_eq!(off.status(), 200);
    assert_eq!(config().await["maskAllInputs"], false);
    assert_eq!(config().await["blockSelector"], "#card", "a patch keeps the other fields");

    for (body, reason) in [
        (json!({"privacy": {"block_selector": "a".repeat(1001)}}), "longer than 1000 characters"),
        (json!({"privacy": {"mask_text_selector": ".a\n.b"}}), "control character"),
        (json!({"privacy": {"mask_all_inputs": "yes"}}), "invalid settings"),
        (json!({"privacy": {"mask_everything": true}}), "mask_everything"),
    ] {
        let resp = s.patch_settings(&body).await;
        assert_eq!(resp.status(), 400);
        let text = resp.text().await.unwrap();
        assert!(text.contains(reason), "{text}");
    }
    assert_eq!(config().await["blockSelector"], "#card", "a refused patch changes nothing");
}

#[tokio::test]
async fn captured_sdk_traffic_becomes_issues_recordings_and_people() {
    let s = TestServer::start_with_token(TOKEN).await;
    send_fixtures(&s).await;
    // Retried requests (the SDK retries on network errors) change nothing.
    send_fixtures(&s).await;

    let (status, issues) = s.api("error_tracking/issues").await;
    assert_eq!(status, 200, "{issues}");
    let list = issues["results"].as_array().unwrap();
    assert!(!list.is_empty());
    let handled = list.iter().find(|i| i["description"] == "boom handled").expect("issue for 'boom handled'");
    assert_eq!(handled["name"], "Error");
    assert_eq!(handled["status"], "active");
    assert_eq!(handled["occurrences"], 1, "retries are not counted twice");
    let id = handled["id"].as_i64().unwrap();
    let (_, issue) = s.api(&format!("error_tracking/issues/{id}")).await;
    assert_eq!(issue["latest_exception"][0]["value"], "boom handled");
    assert_eq!(issue["occurrences_list"][0]["session_id"], SESSION);

    let (_, rec) = s.api(&format!("recordings/{SESSION}")).await;
    assert_eq!(rec["session_id"], SESSION);
    assert_eq!(rec["has_full_snapshot"], true);
    assert_eq!(rec["first_url"], "https://app.example.com/some/page?utm_source=test#hash");
    assert!(rec["exceptions"].as_u64().unwrap() >= 1);
    let (_, snaps) = s.api(&format!("recordings/{SESSION}/snapshots")).await;
    let events = snaps["windows"][0]["events"].as_array().unwrap();
    let full = events.iter().find(|e| e["type"] == 2).expect("full snapshot");
    assert!(full["data"]["node"].is_object(), "cv-compressed data is expanded for the player");
    assert!(events.windows(2).all(|w| w[0]["timestamp"].as_i64() <= w[1]["timestamp"].as_i64()));
    let (_, listed) = s.api("recordings?has_errors=true").await;
    assert_eq!(listed["results"][0]["session_id"], SESSION);

    let (status, person) = s.api("persons/user-123").await;
    assert_eq!(status, 200, "{person}");
    let ids = person["distinct_ids"].as_array().unwrap();
    assert!(ids.len() >= 2, "the anonymous id merged in on $identify: {ids:?}");
    assert!(person["counts"]["errors"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn related_errors_follow_the_session_and_six_hours() {
    let s = TestServer::start_with_token(TOKEN).await;
    send_fixtures(&s).await;
    let (_, issue_page) = s.api("error_tracking/issues").await;
    // Exception times are skew-corrected against the receive time; rrweb times are the
    // browser's clock. Place the logs relative to what was stored, not to the fixture.
    let iso_ms = |v: &Value| {
        let t =
            time::OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339)
                .unwrap();
        (t.unix_timestamp_nanos() / 1_000_000) as i64
    };
    let exception_ms = iso_ms(&issue_page["results"][0]["last_seen"]);
    let (_, rec) = s.api(&format!("recordings/{SESSION}")).await;
    let recording_ms = rec["start_ms"].as_i64().unwrap();
    let ns = |ms: i64| ms * 1_000_000;
    let log = |body: &str, at_ms: i64, attrs: &[(&str, &str)]| otlp_json("api", ns(at_ms), &[(body, attrs)]);
    s.send_json(&log("now, same session", exception_ms, &[("sessionId", SESSION)])).await;
    s.send_json(&log("seven hours before", exception_ms - 7 * 3_600_000, &[("sessionId", SESSION)])).await;
    s.send_json(&log("no session", exception_ms, &[])).await;
    s.send_json(&log("during the recording", recording_ms + 1000, &[("sessionId", SESSION)])).await;
    let (_, logs) = s.api("logs?from=-3650d").await;
    let id_of = |body: &str| {
        logs["results"].as_array().unwrap().iter().find(|l| l["body"] == body).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (_, related) = s.api(&format!("logs/{}/related_errors", id_of("now, same session"))).await;
    assert_eq!(related["status"], "ok");
    let names: Vec<&str> =
        related["results"].as_array().unwrap().iter().map(|i| i["description"].as_str().unwrap()).collect();
    assert!(names.contains(&"boom handled"), "{related}");
    assert_eq!(related["results"].as_array().unwrap().len(), issue_page["results"].as_array().unwrap().len());
    let (_, old) = s.api(&format!("logs/{}/related_errors", id_of("seven hours before"))).await;
    assert_eq!(old, json!({"status": "ok", "session_id": SESSION, "results": []}));
    let (_, none) = s.api(&format!("logs/{}/related_errors", id_of("no session"))).await;
    assert_eq!(none["status"], "no_session");

    let (_, session_logs) = s.api(&format!("sessions/{SESSION}/logs")).await;
    let bodies: Vec<&str> =
        session_logs["results"].as_array().unwrap().iter().map(|l| l["body"].as_str().unwrap()).collect();
    assert!(bodies.contains(&"during the recording"), "{bodies:?}");
    assert!(!bodies.contains(&"seven hours before"), "only the recording's span plus a margin: {bodies:?}");
}

#[tokio::test]
async fn bad_capture_requests_get_clear_errors() {
    let s = TestServer::start_with_token(TOKEN).await;
    let mut wrong_token = fixture("01_fetch_POST_e.json");
    wrong_token["api_key"] = json!("phc_unknown");
    assert_eq!(post_gzip(&s, "/e/", &wrong_token).await.0, 401);
    let mut personal = fixture("01_fetch_POST_e.json");
    personal["api_key"] = json!(s.api_key);
    assert_eq!(post_gzip(&s, "/e/", &personal).await.0, 401);
    let broken = s.client.post(format!("{}/e/", s.base)).body("{not json").send().await.unwrap();
    assert_eq!(broken.status(), 400);
    let mut bad_session = fixture("08_fetch_POST_s.json");
    bad_session[0]["properties"]["$session_id"] = json!("../../etc/passwd");
    let (status, body) = post_gzip(&s, "/s/", &bad_session).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("$session_id"), "{body}");
    let (_, recordings) = s.api("recordings").await;
    assert_eq!(recordings["results"], json!([]));
}

#[tokio::test]
async fn lazily_loaded_sdk_files_are_served_with_cors() {
    let s = TestServer::start_with_token(TOKEN).await;
    for path in [
        "/static/1.449.2/lazy-recorder.js",
        "/static/exception-autocapture.js?v=1.449.2",
        "/static/1.449.2/tracing-headers.js",
    ] {
        let resp = s.client.get(format!("{}{path}", s.base)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["access-control-allow-origin"], "*");
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/javascript"));
        assert!(resp.bytes().await.unwrap().len() > 1000);
    }
    let missing = s.client.get(format!("{}/static/1.449.2/nope.js", s.base)).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn older_sdks_get_the_config_from_decide() {
    let s = TestServer::start_with_token(TOKEN).await;
    let body = json!({"token": TOKEN, "distinct_id": "d1"});
    let (status, decide) = post_gzip(&s, "/decide/?v=3", &body).await;
    assert_eq!(status, 200);
    assert_eq!(decide["sessionRecording"]["endpoint"], "/s/");
    assert_eq!(decide["featureFlags"], json!({}));
    let (_, legacy) = post_gzip(&s, "/flags/?v=2&config=true", &body).await;
    assert_eq!(legacy["autocaptureExceptions"], true);
    let (_, current) = post_gzip(&s, "/flags/?v=2", &body).await;
    assert!(current.get("sessionRecording").is_none(), "current SDKs get flags only");
}

#[tokio::test]
async fn a_project_over_its_rate_is_told_when_to_retry() {
    let s = TestServer::start_with_token(TOKEN).await;
    let patch = json!({"ingest_limits": {"events_per_second": 2, "recording_bytes_per_second": 100}});
    assert_eq!(s.patch_settings(&patch).await.status(), 200);
    let batch = |n: usize| json!({"api_key": TOKEN, "batch": (0..n).map(|i| json!({"event": "e", "uuid": format!("0190aaaa-0000-7000-8000-{i:012}"), "properties": {"distinct_id": "d"}})).collect::<Vec<_>>()});
    // A burst of 5 s' worth (10 events) passes, even as one larger batch; then the project
    // is in debt and told how long to wait.
    assert_eq!(post_gzip(&s, "/e/", &batch(30)).await.0, 200);
    let resp = s
        .client
        .post(format!("{}/e/", s.base))
        .body(gzip(batch(1).to_string().as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503, "posthog-js retries a 503, and drops a 429");
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry), "{retry}");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("limit of 2 events per second"), "{body}");
    // Recordings have a rate of their own.
    let (status, body) = post_gzip(&s, "/s/", &fixture("08_fetch_POST_s.json")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post_gzip(&s, "/s/", &fixture("08_fetch_POST_s.json")).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].as_str().unwrap().contains("recording bytes per second"), "{body}");
    let metrics = s.client.get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("tether_requests_rate_limited_total{kind=\"events\"} 1"), "{metrics}");
    assert!(metrics.contains("tether_requests_rate_limited_total{kind=\"recordings\"} 1"), "{metrics}");
    // 0 lifts a limit at once.
    let patch = json!({"ingest_limits": {"events_per_second": 0}});
    assert_eq!(s.patch_settings(&patch).await.status(), 200);
    assert_eq!(post_gzip(&s, "/e/", &batch(1)).await.0, 200);
}
