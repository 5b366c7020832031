//! OTLP/HTTP against an in-process server: what senders see, and what is stored.

mod common;

use std::io::Write;

use common::{TestServer, now_ns, otlp_json};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use prost::Message;
use serde_json::{Value, json};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn bodies(v: &Value) -> Vec<String> {
    v["results"].as_array().unwrap().iter().map(|l| l["body"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn curl_style_json_log_comes_back_with_both_ids() {
    let s = TestServer::start().await;
    let body = otlp_json(
        "checkout",
        now_ns(),
        &[("payment failed", &[("sessionId", "sess-1"), ("posthogDistinctId", "alice@example.com")])],
    );
    assert_eq!(s.send_json(&body).await, (200, json!({})));
    let (status, page) = s.api("logs?session_id=sess-1").await;
    assert_eq!(status, 200);
    let log = &page["results"][0];
    assert_eq!(log["body"], "payment failed");
    assert_eq!(log["session_id"], "sess-1");
    assert_eq!(log["distinct_id"], "alice@example.com");
    assert_eq!(log["service"], "checkout");
    assert_eq!(log["severity"], "info");
    assert_eq!(log["attributes"]["sessionId"], "sess-1", "original attribute is kept");
    let (_, by_person) = s.api("logs?distinct_id=alice@example.com").await;
    assert_eq!(bodies(&by_person), ["payment failed"]);
}

#[tokio::test]
async fn otel_session_id_alone_resolves() {
    let s = TestServer::start().await;
    let body = otlp_json("api", now_ns(), &[("only otel key", &[("session.id", "otel-sess")])]);
    assert_eq!(s.send_json(&body).await.0, 200);
    let (_, page) = s.api("logs?session_id=otel-sess").await;
    assert_eq!(bodies(&page), ["only otel key"]);
    assert_eq!(page["results"][0]["distinct_id"], Value::Null);
}

#[tokio::test]
async fn protobuf_gzip_and_query_token_work_on_both_paths() {
    let s = TestServer::start().await;
    let json = otlp_json("api", now_ns(), &[("from protobuf", &[("sessionId", "pb")])]);
    let request: ExportLogsServiceRequest =
        tether_ingest::otlp::decode_logs(json.to_string().as_bytes(), tether_ingest::otlp::BodyFormat::Json)
            .unwrap();
    let proto = request.encode_to_vec();
    for (path, body, encoding) in
        [("/v1/logs", proto.clone(), None), ("/i/v1/logs", gzip(&proto), Some("gzip"))]
    {
        let mut req = s
            .client
            .post(format!("{}{path}?token={}", s.base, s.token))
            .header("content-type", "application/x-protobuf")
            .body(body);
        if let Some(e) = encoding {
            req = req.header("content-encoding", e);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], "application/x-protobuf");
        let decoded = ExportLogsServiceResponse::decode(resp.bytes().await.unwrap()).unwrap();
        assert_eq!(decoded.partial_success, None);
    }
    let (_, page) = s.api("logs?session_id=pb").await;
    assert_eq!(bodies(&page), ["from protobuf", "from protobuf"]);
}

#[tokio::test]
async fn bad_input_gets_clear_4xx_and_stores_nothing() {
    let s = TestServer::start_with(tether_server::Limits { max_body_bytes: 64 * 1024, ..Default::default() })
        .await;
    let post = |body: Vec<u8>, ct: &'static str| {
        s.client
            .post(format!("{}/v1/logs", s.base))
            .bearer_auth(&s.token)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let bomb = gzip(&vec![b' '; 10 * 1024 * 1024]);
    let cases: Vec<(Vec<u8>, &str, u16, &str)> = vec![
        (b"{\"resourceLogs\": [".to_vec(), "application/json", 400, "invalid JSON"),
        (vec![0x0a, 0xff, 0xff], "application/x-protobuf", 400, "invalid OTLP protobuf"),
        (gzip(b"abc")[..10].to_vec(), "application/json", 400, "invalid gzip"),
        (vec![b'x'; 100 * 1024], "application/json", 413, "exceeds the limit"),
        (bomb, "application/json", 413, "after decompression"),
    ];
    for (body, ct, want_status, want_msg) in cases {
        let resp = post(body, ct).await.unwrap();
        assert_eq!(resp.status().as_u16(), want_status, "{want_msg}");
        let v: Value = resp.json().await.unwrap();
        assert!(v["error"].as_str().unwrap().contains(want_msg), "{want_msg}: {v}");
    }
    // A request with one valid record and an invalid one is rejected whole.
    let mut mixed = otlp_json("api", now_ns(), &[("valid", &[])]);
    mixed["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "timeUnixNano": "never" }));
    assert_eq!(s.send_json(&mixed).await.0, 400);
    // The server still serves, and nothing of the rejected requests was stored.
    assert_eq!(s.send_json(&otlp_json("api", now_ns(), &[("after errors", &[])])).await.0, 200);
    let (_, page) = s.api("logs").await;
    assert_eq!(bodies(&page), ["after errors"]);
}

/// curl sends a 20 MB body whole (at a network's pace, so the server answers while it is
/// still sending), then reads the answer: a 413 with its reason, not a connection reset.
#[tokio::test]
async fn an_oversize_body_gets_a_413_that_curl_can_read() {
    let s = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.json");
    std::fs::write(&file, vec![b'x'; 20 * 1024 * 1024]).unwrap();
    let output = tokio::process::Command::new("curl")
        .args([
            "-sS",
            "--limit-rate",
            "40M",
            "-w",
            "\n%{http_code}",
            "-H",
            "content-type: application/json",
            "-H",
        ])
        .arg(format!("authorization: Bearer {}", s.token))
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(format!("{}/v1/logs", s.base))
        .output()
        .await
        .expect("curl runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "curl failed: {}", String::from_utf8_lossy(&output.stderr));
    let (body, status) = stdout.rsplit_once('\n').unwrap();
    assert_eq!(status, "413", "{stdout}");
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["error"], "body exceeds the limit of 16777216 bytes; send smaller batches");
    assert_eq!(s.send_json(&otlp_json("api", now_ns(), &[("after", &[])])).await.0, 200);
}

/// The encodings the Collector and SDKs use are decoded (with the gzip limits); others are
/// a 415, not parsed as if they were plain.
#[tokio::test]
async fn zstd_and_deflate_bodies_are_accepted_and_unknown_encodings_refused() {
    let s = TestServer::start().await;
    let post = |body: Vec<u8>, encoding: &'static str| {
        s.client
            .post(format!("{}/v1/logs", s.base))
            .bearer_auth(&s.token)
            .header("content-type", "application/json")
            .header("content-encoding", encoding)
            .body(body)
            .send()
    };
    let json = |body: &str| otlp_json("api", now_ns(), &[(body, &[])]).to_string().into_bytes();
    let zstd = zstd::encode_all(&json("from zstd")[..], 3).unwrap();
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut deflate, &json("from deflate")).unwrap();
    assert_eq!(post(zstd, "zstd").await.unwrap().status(), 200);
    assert_eq!(post(deflate.finish().unwrap(), "deflate").await.unwrap().status(), 200);
    let resp = post(json("from brotli"), "br").await.unwrap();
    assert_eq!(resp.status(), 415);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "unsupported Content-Encoding br (accepted: gzip, deflate, zstd, identity)");
    let (_, page) = s.api("logs").await;
    let mut got = bodies(&page);
    got.sort_unstable();
    assert_eq!(got, ["from deflate", "from zstd"]);
}

#[tokio::test]
async fn tokens_are_checked_with_reasons() {
    let s = TestServer::start().await;
    let body = otlp_json("api", now_ns(), &[("x", &[])]);
    let send = |auth: Option<String>, query: &str| {
        let mut req = s.client.post(format!("{}/v1/logs{query}", s.base)).json(&body);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };
    let cases = [
        (None, "", "No token provided"),
        (Some("Bearer ".to_owned()), "", "No token provided"),
        (Some(format!("Bearer {}", s.api_key)), "", "personal API key"),
        (Some("Bearer nonsense".to_owned()), "", "Invalid project token"),
        (Some("Bearer phc_doesnotexist".to_owned()), "", "Unknown project token"),
        // The header wins over a valid query token.
        (
            Some("Bearer phc_doesnotexist".to_owned()),
            &format!("?token={}", s.token) as &str,
            "Unknown project token",
        ),
    ];
    for (auth, query, want) in cases {
        let resp = send(auth.clone(), query).await.unwrap();
        assert_eq!(resp.status(), 401, "{auth:?}");
        let v: Value = resp.json().await.unwrap();
        assert!(v["error"].as_str().unwrap().contains(want), "{auth:?}: {v}");
    }
    assert_eq!(send(Some(s.token.clone()), "").await.unwrap().status(), 200, "bare token works");
}

#[tokio::test]
async fn oversized_records_are_reported_as_partial_success() {
    let s = TestServer::start_with(tether_server::Limits {
        record: tether_ingest::otlp::RecordLimits { max_record_bytes: 100 },
        ..Default::default()
    })
    .await;
    let long = "y".repeat(200);
    let body = otlp_json("api", now_ns(), &[("short", &[]), (&long, &[])]);
    let (status, v) = s.send_json(&body).await;
    assert_eq!(status, 200);
    assert_eq!(v["partialSuccess"]["rejectedLogRecords"], "1");
    assert!(v["partialSuccess"]["errorMessage"].as_str().unwrap().contains("100 bytes"));
    let (_, page) = s.api("logs").await;
    assert_eq!(bodies(&page), ["short"]);
}

#[tokio::test]
async fn cors_preflight_allows_browser_senders() {
    let s = TestServer::start().await;
    let resp = s
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/i/v1/logs", s.base))
        .header("origin", "https://shop.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,authorization")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(resp.headers()["access-control-allow-origin"], "https://shop.example.com");
    assert_eq!(resp.headers()["access-control-allow-credentials"], "true");
}
