//! Pure decoding of what senders post to Tether: request bodies (gzip, size limits) and
//! OTLP logs (protobuf and OTLP/JSON) normalized into [`tether_model::LogRecord`]s.
//!
//! Owns: byte-level decoding and normalization rules. Must not contain: I/O, storage,
//! HTTP types, or authentication — the server hands bytes in and gets typed records out.
//! Specs: OTLP/HTTP <https://opentelemetry.io/docs/specs/otlp/#otlphttp>, OTLP/JSON
//! mapping <https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding>.

mod body;
mod budget;
mod error;
pub mod otlp;
pub mod posthog;

pub use body::decompress;
pub use budget::{Budget, Reserve};
pub use error::DecodeError;
