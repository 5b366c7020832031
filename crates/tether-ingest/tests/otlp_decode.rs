//! OTLP decoding and normalization on fixtures: JSON and protobuf, gzip, every attribute
//! value type, and each session and person key.

use std::io::Write;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use tether_ingest::otlp::{BodyFormat, ExportLogsServiceRequest, RecordLimits, decode_logs, normalize};
use tether_ingest::{DecodeError, decompress};
use tether_model::{AttrValue, Severity};

const FIXTURE: &str = include_str!("fixtures/otlp_logs_all_types.json");
const NOW: i64 = 1_800_000_000_000_000_000;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
    }
}

fn one_record(attributes: Vec<KeyValue>, resource: Vec<KeyValue>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: resource, ..Default::default() }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: 1_767_225_600_000_000_000,
                    body: Some(AnyValue { value: Some(any_value::Value::StringValue("hello".into())) }),
                    attributes,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn json_fixture_keeps_every_field_and_type() {
    let request = decode_logs(FIXTURE.as_bytes(), BodyFormat::Json).expect("fixture decodes");
    let out = normalize(request, 7, NOW, RecordLimits::default());
    assert_eq!(out.rejected, 0);
    let [first, second, third] = out.records.as_slice() else { panic!("three records") };

    assert_eq!(first.project_id, 7);
    assert_eq!(first.timestamp_ns, 1_767_225_600_123_456_789);
    assert_eq!(first.observed_timestamp_ns, 1_767_225_600_200_000_000);
    assert_eq!(first.severity, Severity::Error);
    assert_eq!(first.service, "checkout-api");
    assert_eq!(first.body, "payment failed: card declined");
    assert_eq!(first.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(first.span_id, "00f067aa0ba902b7");
    assert_eq!(first.trace_flags, 1);
    assert_eq!(first.event_name, "payment.failed");
    assert_eq!((first.scope_name.as_str(), first.scope_version.as_str()), ("shop.payments", "2.1.0"));
    assert_eq!(first.scope_attributes.get("lib"), Some(&AttrValue::String("otel".into())));
    // The log's own sessionId wins over the resource's.
    assert_eq!(first.session_id.as_deref(), Some("0192f0a1-7c3e-7d5a-9b1e-4a2f6c8d0e11"));
    assert_eq!(first.distinct_id.as_deref(), Some("user@example.com"));
    assert_eq!(
        first.attributes.to_json(),
        r#"{"sessionId":"0192f0a1-7c3e-7d5a-9b1e-4a2f6c8d0e11","posthogDistinctId":"user@example.com","amount_cents":4200,"retries":3,"ratio":0.25,"charged":false,"raw":"aGVsbG8=","tags":["card",7],"card":{"brand":"visa","last4":"4242"},"empty":null}"#
    );

    // timeUnixNano 0 → the observed time; severity by enum name; structured body as JSON;
    // `sessionId` of the resource beats the log's `session.id`.
    assert_eq!(second.timestamp_ns, 1_767_225_601_000_000_000);
    assert_eq!(second.severity, Severity::Warn);
    assert_eq!(second.body, r#"{"event":"slow query","ms":950}"#);
    assert_eq!(second.session_id.as_deref(), Some("resource-session"));
    assert_eq!(second.distinct_id.as_deref(), Some("user-42"));

    // No times at all → receive time; text-only severity; invalid ids dropped.
    assert_eq!(third.timestamp_ns, NOW);
    assert_eq!(third.observed_timestamp_ns, NOW);
    assert_eq!(third.severity, Severity::Warn);
    assert_eq!((third.trace_id.as_str(), third.span_id.as_str()), ("", ""));
}

#[test]
fn protobuf_and_json_agree_and_gzip_is_transparent() {
    let from_json = decode_logs(FIXTURE.as_bytes(), BodyFormat::Json).unwrap();
    let bytes = from_json.encode_to_vec();
    for (body, format) in [
        (bytes.clone(), BodyFormat::Protobuf),
        (bytes.clone(), BodyFormat::Unknown),
        (FIXTURE.as_bytes().to_vec(), BodyFormat::Unknown),
        (
            decompress(&gzip(&bytes), None, &mut tether_ingest::Budget::new(1 << 20)).unwrap(),
            BodyFormat::Protobuf,
        ),
        (
            decompress(&gzip(FIXTURE.as_bytes()), Some("gzip"), &mut tether_ingest::Budget::new(1 << 20))
                .unwrap(),
            BodyFormat::Json,
        ),
    ] {
        assert_eq!(decode_logs(&body, format).unwrap(), from_json, "{format:?}");
    }
}

#[test]
fn json_lines_are_merged() {
    let line = serde_json::to_string(&serde_json::from_str::<serde_json::Value>(FIXTURE).unwrap()).unwrap();
    let body = format!("{line}\n{line}\n");
    let request = decode_logs(body.as_bytes(), BodyFormat::Json).unwrap();
    assert_eq!(request.resource_logs.len(), 2);
}

#[test]
fn every_session_and_person_key_resolves_from_protobuf() {
    let session_keys = [
        "sessionId",
        "session.id",
        "session_id",
        "sessionID",
        "$session_id",
        "posthogSessionId",
        "posthog_session_id",
        "posthog.session.id",
        "posthog.session_id",
    ];
    for key in session_keys {
        let body = one_record(vec![string_kv(key, "s-1")], vec![]).encode_to_vec();
        let request = decode_logs(&body, BodyFormat::Protobuf).unwrap();
        let out = normalize(request, 1, NOW, RecordLimits::default());
        assert_eq!(out.records[0].session_id.as_deref(), Some("s-1"), "{key}");
        assert_eq!(out.records[0].distinct_id, None, "{key}");
    }
    for key in ["posthogDistinctId", "user.id", "enduser.id", "$distinct_id", "distinct_id"] {
        let request = one_record(vec![], vec![string_kv(key, "u-1")]);
        let out = normalize(request, 1, NOW, RecordLimits::default());
        assert_eq!(out.records[0].distinct_id.as_deref(), Some("u-1"), "{key}");
        assert_eq!(out.records[0].session_id, None, "{key}");
    }
}

#[test]
fn oversized_records_are_rejected_and_counted() {
    let big = "x".repeat(2000);
    let request = one_record(vec![string_kv("blob", &big)], vec![]);
    let out = normalize(request, 1, NOW, RecordLimits { max_record_bytes: 1000 });
    assert!(out.records.is_empty());
    assert_eq!(out.rejected, 1);
    assert!(out.rejection_reason.contains("1000 bytes"), "{}", out.rejection_reason);
}

#[test]
fn malformed_bodies_get_one_line_reasons() {
    let cases: [(&[u8], BodyFormat, &str); 6] = [
        (b"{not json", BodyFormat::Json, "invalid JSON"),
        (b"[1,2]", BodyFormat::Json, "must be an object"),
        (br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"soon"}]}]}]}"#, BodyFormat::Json, "timeUnixNano"),
        (br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"a","value":{"intValue":"x"}}]}]}]}]}"#, BodyFormat::Json, "intValue"),
        (&[0x0a, 0xff, 0xff, 0xff], BodyFormat::Protobuf, "invalid OTLP protobuf"),
        (b"\xff\xfe garbage", BodyFormat::Unknown, "neither OTLP protobuf"),
    ];
    for (body, format, want) in cases {
        match decode_logs(body, format) {
            Err(DecodeError::Malformed(msg)) => {
                assert!(msg.contains(want), "{want}: {msg}");
                assert!(!msg.contains('\n'), "one line: {msg}");
            }
            other => panic!("{want}: expected Malformed, got {other:?}"),
        }
    }
}
