//! A ready-made log pipeline: `tracing` → OpenTelemetry → OTLP/HTTP → Tether, stamped.

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_otlp::{LogExporter, Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{BatchConfigBuilder, BatchLogProcessor, SdkLogger};

use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::registry::LookupSpan;

use crate::StampProcessor;

pub use opentelemetry_otlp::ExporterBuildError;
pub use opentelemetry_sdk::logs::SdkLoggerProvider;

/// Records waiting for export. OpenTelemetry's default (2,048) drops logs as soon as a
/// service writes more than ~2,000 per second; this holds a few seconds of a busy service.
const MAX_QUEUE: usize = 65_536;
/// Records per OTLP request (default 512): fewer, larger requests keep up with bursts.
const BATCH: usize = 4_096;

/// Builds a logger provider that stamps each record ([`StampProcessor`]) and exports it in
/// batches as OTLP/HTTP protobuf to `endpoint` (e.g. `http://127.0.0.1:8010/v1/logs`) with
/// the project token, at least every 500 ms. If more than 65,536 records are waiting the
/// newest are dropped (OpenTelemetry's behaviour) rather than growing memory. Call
/// `shutdown()` on it before exit so the last batch is sent.
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
        .with_log_processor(
            BatchLogProcessor::builder(exporter)
                .with_batch_config(
                    BatchConfigBuilder::default()
                        .with_max_queue_size(MAX_QUEUE)
                        .with_max_export_batch_size(BATCH)
                        .with_scheduled_delay(Duration::from_millis(500))
                        .build(),
                )
                .build(),
        )
        .build())
}

/// Crates of the HTTP stack the exporter itself runs on: exporting their events would make
/// every export produce more logs to export.
const EXPORTER_CRATES: [&str; 5] = ["hyper", "h2", "reqwest", "tower", "tonic"];

/// The `tracing` layer that turns events into OpenTelemetry log records of `provider`,
/// except those of the exporter's own HTTP stack and of OpenTelemetry. It exports every
/// level it sees; narrow it with `.with_filter(…)` (an `EnvFilter` or `Targets`) to what
/// you want in Tether.
pub fn tracing_layer<S>(provider: &SdkLoggerProvider) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    OpenTelemetryTracingBridge::<SdkLoggerProvider, SdkLogger>::new(provider).with_filter(filter_fn(|meta| {
        let crate_name = meta.target().split("::").next().unwrap_or_default();
        !(EXPORTER_CRATES.contains(&crate_name) || crate_name.starts_with("opentelemetry"))
    }))
}

#[cfg(test)]
mod tests {
    use opentelemetry::Context;
    use opentelemetry_sdk::logs::InMemoryLogExporter;
    use tracing_subscriber::prelude::*;

    use super::*;
    use crate::Stamp;

    #[test]
    fn events_are_stamped_and_the_exporters_own_stack_is_left_out() {
        let exporter = InMemoryLogExporter::default();
        let provider = SdkLoggerProvider::builder()
            .with_log_processor(StampProcessor)
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber = tracing_subscriber::registry().with(tracing_layer(&provider));
        tracing::subscriber::with_default(subscriber, || {
            let stamp = Stamp { session_id: Some("s-1".into()), ..Stamp::default() };
            let _cx = Context::current_with_value(stamp).attach();
            tracing::info!("order placed");
            tracing::debug!(target: "hyper::client::pool", "connection reused");
            tracing::warn!(target: "opentelemetry_sdk", "export slow");
            tracing::info!(target: "reqwest::connect", "connecting");
        });
        let logs = exporter.get_emitted_logs().unwrap();
        assert_eq!(logs.len(), 1);
        let attrs: Vec<String> =
            logs[0].record.attributes_iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        assert!(attrs.iter().any(|a| a.starts_with("sessionId=") && a.contains("s-1")), "{attrs:?}");
    }
}
