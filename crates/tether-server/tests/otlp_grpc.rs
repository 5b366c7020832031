//! OTLP/gRPC with a real tonic client against an in-process server.

mod common;

use common::{TestServer, now_ns, otlp_json};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use tether_ingest::otlp::{BodyFormat, decode_logs};
use tonic::codec::CompressionEncoding;

fn request(session: &str) -> ExportLogsServiceRequest {
    let json =
        otlp_json("grpc-svc", now_ns(), &[("over grpc", &[("sessionId", session), ("user.id", "u-9")])]);
    decode_logs(json.to_string().as_bytes(), BodyFormat::Json).unwrap()
}

fn with_token(req: ExportLogsServiceRequest, token: &str) -> tonic::Request<ExportLogsServiceRequest> {
    let mut r = tonic::Request::new(req);
    r.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

#[tokio::test]
async fn grpc_export_is_stored_like_http() {
    let s = TestServer::start().await;
    let mut client = LogsServiceClient::connect(format!("http://{}", s.grpc))
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip);
    let response = client.export(with_token(request("grpc-sess"), &s.token)).await.unwrap();
    assert_eq!(response.into_inner().partial_success, None);
    let (_, page) = s.api("logs?session_id=grpc-sess").await;
    let log = &page["results"][0];
    assert_eq!(log["body"], "over grpc");
    assert_eq!(log["service"], "grpc-svc");
    assert_eq!(log["distinct_id"], "u-9");
}

#[tokio::test]
async fn grpc_rejects_missing_and_unknown_tokens() {
    let s = TestServer::start().await;
    let mut client = LogsServiceClient::connect(format!("http://{}", s.grpc)).await.unwrap();
    let missing = client.export(tonic::Request::new(request("x"))).await.unwrap_err();
    assert_eq!(missing.code(), tonic::Code::Unauthenticated);
    assert_eq!(missing.message(), "No token provided");
    let unknown = client.export(with_token(request("x"), "phc_unknown")).await.unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::Unauthenticated);
    let (_, page) = s.api("logs").await;
    assert_eq!(page["results"].as_array().unwrap().len(), 0);
}
