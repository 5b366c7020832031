//! OTLP/gRPC `LogsService/Export`, calling the same core as OTLP/HTTP.

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{LogsService, LogsServiceServer};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::ingest::ingest_logs;
use crate::{AppState, auth};

struct Logs {
    state: AppState,
}

#[tonic::async_trait]
impl LogsService for Logs {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let headers = request.metadata().clone().into_headers();
        let result = async {
            let project = auth::project_from_token(self.state.meta(), &headers, None).await?;
            ingest_logs(&self.state, &project, request.into_inner()).await
        }
        .await;
        match result {
            Ok(response) => Ok(Response::new(response)),
            Err(error) => {
                self.state.metrics().requests_rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Err(error.to_grpc())
            }
        }
    }
}

/// The gRPC service, with gzip accepted and the same message size limit as HTTP bodies.
pub(crate) fn logs_service(state: AppState) -> LogsServiceServer<impl LogsService> {
    let limit = state.limits().max_body_bytes;
    LogsServiceServer::new(Logs { state })
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit)
}
