//! OTLP logs: decoding `ExportLogsServiceRequest` from protobuf or OTLP/JSON, and turning
//! it into normalized [`tether_model::LogRecord`]s.

mod json;
mod normalize;

pub use normalize::{Normalized, RecordLimits, normalize};
pub use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;

use prost::Message;

use crate::DecodeError;

/// What the sender said the body is (`Content-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Protobuf,
    Json,
    /// No or unrecognized content type: protobuf is tried first, then JSON.
    Unknown,
}

impl BodyFormat {
    /// Classifies a `Content-Type` header value.
    pub fn from_content_type(content_type: Option<&str>) -> BodyFormat {
        let Some(ct) = content_type else { return BodyFormat::Unknown };
        let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/x-protobuf" | "application/protobuf" | "application/vnd.google.protobuf" => {
                BodyFormat::Protobuf
            }
            "application/json" | "application/x-ndjson" | "application/jsonl" => BodyFormat::Json,
            _ => BodyFormat::Unknown,
        }
    }
}

/// Decodes an (already decompressed) OTLP logs body.
pub fn decode_logs(body: &[u8], format: BodyFormat) -> Result<ExportLogsServiceRequest, DecodeError> {
    match format {
        BodyFormat::Protobuf => decode_protobuf(body),
        BodyFormat::Json => json::decode(body),
        BodyFormat::Unknown => decode_protobuf(body).or_else(|proto_err| {
            json::decode(body).map_err(|json_err| {
                DecodeError::Malformed(format!(
                    "body is neither OTLP protobuf ({proto_err}) nor OTLP/JSON ({json_err})"
                ))
            })
        }),
    }
}

fn decode_protobuf(body: &[u8]) -> Result<ExportLogsServiceRequest, DecodeError> {
    ExportLogsServiceRequest::decode(body)
        .map_err(|e| DecodeError::Malformed(format!("invalid OTLP protobuf: {e}")))
}
