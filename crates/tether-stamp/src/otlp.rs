//! A ready-made log pipeline: `tracing` → OpenTelemetry → OTLP/HTTP → Tether, stamped.

use std::collections::HashMap;

use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_otlp::{LogExporter, Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLogger;

use crate::StampProcessor;

pub use opentelemetry_otlp::ExporterBuildError;
pub use opentelemetry_sdk::logs::SdkLoggerProvider;

/// Builds a logger provider that stamps each record ([`StampProcessor`]) and exports it in
/// batches as OTLP/HTTP protobuf to `endpoint` (e.g. `http://127.0.0.1:8010/v1/logs`) with
/// the project token. Call `shutdown()` on it before exit so the last batch is sent.
pub fn logger_provider(
    endpoint: &str,
    project_token: &str,
    service_name: &str,
) -> Result<SdkLoggerProvider, ExporterBuildError> {
    let exporter = LogExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .with_headers(HashMap::from([("Authorization".to_owned(), format!("Bearer {project_token}"))]))
        .build()?;
    Ok(SdkLoggerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service_name.to_owned()).build())
        .with_log_processor(StampProcessor)
        .with_batch_exporter(exporter)
        .build())
}

/// The `tracing` layer that turns events into OpenTelemetry log records of `provider`.
pub fn tracing_layer(
    provider: &SdkLoggerProvider,
) -> OpenTelemetryTracingBridge<SdkLoggerProvider, SdkLogger> {
    OpenTelemetryTracingBridge::new(provider)
}
