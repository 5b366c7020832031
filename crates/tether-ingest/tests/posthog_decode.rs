//! Decoding of every body shape posthog-js 1.449.2 was seen sending (fixtures captured from
//! the unmodified SDK), in each encoding it uses: gzip, base64 form, and plain JSON.

use std::io::Write;

use base64::Engine;
use serde_json::Value;
use tether_ingest::Budget;
use tether_ingest::posthog::decode_capture_body;
use tether_ingest::posthog::events::parse_capture;
use tether_ingest::posthog::snapshots::{RrwebHead, expand_cv, snapshot_chunks};
use tether_model::exceptions::exception_info;

const NOW: i64 = 1_795_735_500_000;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/posthog-js-1.449.2/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// The body in every encoding posthog-js uses, with the Content-Type it sends.
fn encodings(body: &Value) -> Vec<(Vec<u8>, &'static str)> {
    let json = body.to_string().into_bytes();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&json);
    let form: String = form_urlencoded::Serializer::new(String::new()).append_pair("data", &b64).finish();
    vec![
        (gzip(&json), "text/plain"),
        (form.into_bytes(), "application/x-www-form-urlencoded"),
        (json, "application/json"),
    ]
}

fn uuid_gen() -> impl FnMut() -> String {
    || "generated".to_owned()
}

/// The events of a fixture's body.
fn parse(body: &Value) -> Vec<tether_ingest::posthog::events::CapturedEvent> {
    parse_capture(body.to_string().as_bytes(), NOW, &mut uuid_gen()).unwrap().events
}

#[test]
fn every_captured_request_decodes_in_every_encoding() {
    let cases = [
        ("01_fetch_POST_e.json", 1, "$pageview"),
        ("04_fetch_POST_i_v0_e.json", 1, "$identify"),
        ("06_fetch_POST_i_v0_e.json", 3, "custom_event"),
        ("07_fetch_POST_i_v0_e.json", 3, "$exception"),
        ("08_fetch_POST_s.json", 1, "$snapshot"),
        ("09_sendBeacon_POST_i_v0_e.json", 2, "before_unload_event"),
    ];
    for (name, count, first_event) in cases {
        let body = &fixture(name)["decoded_body"];
        for (bytes, content_type) in encodings(body) {
            let text =
                decode_capture_body(&bytes, Some(content_type), None, &mut Budget::new(25 << 20)).unwrap();
            assert_eq!(&serde_json::from_slice::<Value>(&text).unwrap(), body, "{name} as {content_type}");
            let capture = parse_capture(&text, NOW, &mut uuid_gen()).unwrap();
            assert_eq!(capture.token(), Some("phc_testtoken123"), "{name}");
            assert_eq!(capture.events.len(), count, "{name}");
            assert_eq!(capture.events[0].event, first_event, "{name}");
            assert!(capture.events.iter().all(|e| e.uuid != "generated"), "{name}: uuids are the SDK's");
        }
    }
    // Flags bodies decode too (they are answered, not stored).
    for name in ["03_fetch_POST_flags__v=2.json", "05_fetch_POST_flags__v=2.json"] {
        let body = &fixture(name)["decoded_body"];
        for (bytes, ct) in encodings(body) {
            let text = decode_capture_body(&bytes, Some(ct), None, &mut Budget::new(1 << 20)).unwrap();
            assert_eq!(&serde_json::from_slice::<Value>(&text).unwrap(), body);
        }
    }
}

#[test]
fn identify_carries_the_merge_and_person_properties() {
    let e = parse(&fixture("04_fetch_POST_i_v0_e.json")["decoded_body"]).remove(0);
    assert_eq!(e.distinct_id, "user-123");
    assert!(e.merge_from.is_some());
    assert!(e.properties_map()["$anon_distinct_id"].is_string());
    assert!(!e.set.is_empty() || !e.set_once.is_empty());
}

#[test]
fn snapshots_become_one_chunk_with_a_full_snapshot_that_decompresses() {
    let events = parse(&fixture("08_fetch_POST_s.json")["decoded_body"]);
    let chunks = snapshot_chunks(events, &mut Budget::new(25 << 20)).unwrap();
    assert_eq!(chunks.len(), 1);
    let chunk = &chunks[0];
    assert_eq!(chunk.session_id, "01a21a2c-e777-7dd2-bbad-cd7c0a9958e7");
    assert_eq!(chunk.window_id, "01a21a2c-e777-7dd2-bbad-cd7d16f38561");
    assert_eq!(chunk.distinct_id, "user-123");
    assert!(chunk.stats.has_full_snapshot);
    assert_eq!(
        chunk.stats.first_url.as_deref(),
        Some("https://app.example.com/some/page?utm_source=test#hash")
    );
    // posthog-js sent the full snapshot cv-compressed; the chunk holds it expanded.
    let sent = &fixture("08_fetch_POST_s.json")["decoded_body"][0]["properties"]["$snapshot_data"];
    let sent_full = sent.as_array().unwrap().iter().find(|e| e["type"] == 2).unwrap();
    assert!(sent_full["data"].is_string(), "compressed as sent");
    let stored: Vec<Value> = chunk.events.iter().map(|e| serde_json::from_str(e.get()).unwrap()).collect();
    let full = stored.iter().find(|e| e["type"] == 2).unwrap();
    assert!(full["data"]["node"].is_object(), "{}", full["data"]);
    assert!(full.get("cv").is_none());
    let raw = serde_json::value::to_raw_value(sent_full).unwrap();
    let expanded = expand_cv(&raw, &RrwebHead::of(&raw), &mut Budget::new(25 << 20)).unwrap().unwrap();
    assert_eq!(&serde_json::from_str::<Value>(expanded.get()).unwrap(), full);
    // The decompressed view in the fixtures agrees with our decoding.
    let view = fixture("snapshot_payload_decompressed_view.json");
    let text = view.to_string();
    assert!(text.contains("\"childNodes\""), "fixture view has the DOM tree");
}

#[test]
fn exceptions_from_posthog_js_group_into_issues() {
    let events = parse(&fixture("07_fetch_POST_i_v0_e.json")["decoded_body"]);
    let infos: Vec<_> =
        events.iter().map(|e| exception_info(&e.properties_map()).expect("exception list")).collect();
    assert_eq!(infos[0].name, "Error");
    assert_eq!(infos[0].message, "boom handled");
    assert!(infos.iter().all(|i| i.fingerprint.len() == 64));
    assert!(events.iter().all(|e| e.session_id.is_some()));
}

#[test]
fn uncompressed_and_form_requests_from_the_raw_log_decode() {
    let log = fixture("raw_capture_log_no_compression.json");
    let mut decoded = 0;
    for entry in log.as_array().unwrap() {
        let Some(body) = entry.get("body") else { continue };
        let Some(json) = body.get("json") else { continue };
        if !entry["url"].as_str().unwrap_or("").contains("ph.example.com") {
            continue;
        }
        let (bytes, ct) = match body["kind"].as_str() {
            Some("json") => (json.to_string().into_bytes(), "application/json"),
            Some("form-data(base64)") => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(json.to_string());
                let form: String =
                    form_urlencoded::Serializer::new(String::new()).append_pair("data", &b64).finish();
                (form.into_bytes(), "application/x-www-form-urlencoded")
            }
            _ => continue,
        };
        let text = decode_capture_body(&bytes, Some(ct), Some("base64"), &mut Budget::new(25 << 20)).unwrap();
        assert_eq!(&serde_json::from_slice::<Value>(&text).unwrap(), json);
        decoded += 1;
    }
    assert!(decoded >= 6, "{decoded}");
}
