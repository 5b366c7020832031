//! OTLP logs ingestion. HTTP and gRPC both end in [`ingest_logs`], so the two transports
//! cannot drift apart in validation, normalization, or durability.

use std::sync::atomic::Ordering;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceResponse};
use prost::Message;
use tether_ingest::otlp::{self, BodyFormat, ExportLogsServiceRequest};
use tether_store::Project;

use crate::clock::now_ns;
use crate::{ApiError, AppState, auth};

#[derive(serde::Deserialize)]
pub(crate) struct TokenQuery {
    token: Option<String>,
}

/// Normalizes and durably stores one request's logs for `project`. Returns what OTLP calls
/// partial success: records that were refused, and why.
pub async fn ingest_logs(
    state: &AppState,
    project: &Project,
    request: ExportLogsServiceRequest,
) -> Result<ExportLogsServiceResponse, ApiError> {
    state.check_disk()?;
    let limits = state.limits().record;
    let normalized = state
        .on_cpu({
            let project_id = project.id;
            move || otlp::normalize(request, project_id, now_ns(), limits)
        })
        .await?;
    let metrics = state.metrics();
    metrics.records_rejected.fetch_add(normalized.rejected, Ordering::Relaxed);
    state.batcher().submit(normalized.records).await?;
    let partial_success = (normalized.rejected > 0).then_some(ExportLogsPartialSuccess {
        rejected_log_records: normalized.rejected as i64,
        error_message: normalized.rejection_reason,
    });
    Ok(ExportLogsServiceResponse { partial_success })
}

/// `POST /v1/logs` and `/i/v1/logs`: OTLP/HTTP, protobuf or JSON, optionally gzipped.
pub(crate) async fn otlp_http(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match otlp_http_inner(&state, query, &headers, body).await {
        Ok(response) => response,
        Err(error) => {
            state.metrics().requests_rejected.fetch_add(1, Ordering::Relaxed);
            error.into_response()
        }
    }
}

async fn otlp_http_inner(
    state: &AppState,
    query: TokenQuery,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let project = auth::project_from_token(state.meta(), headers, query.token.as_deref()).await?;
    let limit = state.limits().max_body_bytes;
    // Held until the records are committed: they wait in the commit queue until then.
    let memory = state.request_memory();
    let raw = crate::body::read_limited(body, state.body_limits(limit, &memory)).await?;
    let mut budget = state.decoding_budget(limit, &memory);
    let header_str = |name| headers.get(name).and_then(|v: &header::HeaderValue| v.to_str().ok());
    let format = BodyFormat::from_content_type(header_str(header::CONTENT_TYPE));
    let encoding = header_str(header::CONTENT_ENCODING).map(str::to_owned);
    let request = state
        .on_cpu(move || {
            let plain = tether_ingest::decompress(&raw, encoding.as_deref(), &mut budget)?;
            drop(raw);
            // Decoded messages take about as much memory again as their bytes.
            budget.charge(plain.len())?;
            otlp::decode_logs(&plain, format)
        })
        .await??;
    let response = ingest_logs(state, &project, request).await?;
    drop(memory);
    // Answer in the encoding the client used, as OTLP/HTTP requires.
    if format == BodyFormat::Protobuf {
        let bytes = Bytes::from(response.encode_to_vec());
        return Ok(([(header::CONTENT_TYPE, "application/x-protobuf")], bytes).into_response());
    }
    Ok(axum::Json(partial_success_json(&response)).into_response())
}

fn partial_success_json(response: &ExportLogsServiceResponse) -> serde_json::Value {
    match &response.partial_success {
        None => serde_json::json!({}),
        Some(p) => serde_json::json!({
            "partialSuccess": {
                "rejectedLogRecords": p.rejected_log_records.to_string(),
                "errorMessage": p.error_message,
            }
        }),
    }
}
