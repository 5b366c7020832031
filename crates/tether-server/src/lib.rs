//! Tether's server: HTTP routes (OTLP/HTTP, JSON API, health, metrics), the OTLP/gRPC
//! service, authentication, and the group-commit writer between ingest and storage.
//!
//! Owns: transports, auth decisions, and error-to-status mapping. Must not contain: SQL or
//! protocol decoding (those are `tether-store-*` and `tether-ingest`).

pub mod alerts;
mod api;
pub mod auth;
mod batcher;
mod body;
pub mod bootstrap;
mod capture;
mod client_addr;
mod clock;
mod cpu;
mod disk;
pub mod edge;
mod error;
mod grpc;
mod ingest;
pub mod metrics;
pub mod retention;
mod security;
mod symbols;
mod ui;
mod webhooks;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tether_ingest::otlp::RecordLimits;
use tether_model::{LogIdGen, LogRecord};
use tether_store::{
    AlertStore, IssueStore, LogReader, MetadataStore, Recordings, StoreResult, SymbolStore, UserStore,
};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::cors::CorsLayer;

pub use edge::{ConnectionLimits, EdgeLimits};
pub use error::ApiError;
pub use ingest::ingest_logs;
use metrics::Metrics;
pub use tether_app::commit::BatcherConfig;

pub use tether_app::Stores;

/// Entry points for the fuzz targets of `fuzz/`, not an API.
#[doc(hidden)]
pub mod fuzzing {
    /// Parses a logs request's query string as the logs API does; whether it was accepted.
    pub fn log_params(query: &str) -> bool {
        tether_app::search::parse(Some(query), 1, 1_767_225_600_000_000_000).is_ok()
    }
}

/// Password checks (argon2) running at once.
const PASSWORD_CHECKS: usize = 2;

/// Limits on what clients may send.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body, before and after decompression.
    pub max_body_bytes: usize,
    pub record: RecordLimits,
    pub batcher: BatcherConfig,
    /// What one client may make the public routes spend (connections, time, memory).
    pub edge: EdgeLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            record: RecordLimits::default(),
            batcher: BatcherConfig { queue_records: 200_000, max_commit_records: 50_000 },
            edge: EdgeLimits::default(),
        }
    }
}

/// Shared state of every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    stores: Stores,
    /// The use cases over the same stores.
    app: tether_app::App,
    batcher: batcher::Batcher<LogRecord>,
    /// The capture use cases and their group commits (events, exceptions, persons, chunks).
    capture: tether_app::capture::Capture,
    metrics: Arc<Metrics>,
    limits: Limits,
    /// Served to browsers over HTTPS by a proxy that terminates TLS in front of Tether.
    tls_proxy: std::sync::atomic::AtomicBool,
    proxies: std::sync::OnceLock<client_addr::TrustedProxies>,
    webhooks: std::sync::OnceLock<Arc<webhooks::WebhookNetworks>>,
    public_url: std::sync::OnceLock<String>,
    logins: api::throttle::LoginThrottle,
    /// Set when stores keep their files in a local data directory.
    disk: std::sync::OnceLock<disk::DiskGuard>,
    /// Password hashes checked at once: argon2 is made to be slow, and a flood of logins
    /// must leave cores to ingest.
    password_checks: tokio::sync::Semaphore,
    key_uses: auth::KeyUses,
    in_flight: edge::memory::InFlight,
    rates: edge::rate::RateLimits,
    /// Decoding and other CPU work of requests: one at a time per core. More would not
    /// finish sooner, and each thread that takes part keeps an allocator heap of its own
    /// (48 concurrent decodes on 48 blocking threads left ~500 MB resident).
    cpu: Arc<cpu::CpuPool>,
}

/// The writer tasks behind an [`AppState`] (logs, captured events); await
/// [`WriterHandle::finish`] after the servers stopped to know every acknowledged batch is
/// committed.
pub struct WriterHandle(Vec<JoinHandle<()>>);

impl WriterHandle {
    pub async fn finish(self) {
        for task in self.0 {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "writer task failed");
            }
        }
    }
}

/// Captured events wait at most this many at once for their group commit.
const EVENT_QUEUE: BatcherConfig = BatcherConfig { queue_records: 100_000, max_commit_records: 20_000 };
/// Recording chunks (each up to a request's 25 MB, typically tens of KB) waiting at once.
const CHUNK_QUEUE: BatcherConfig = BatcherConfig { queue_records: 256, max_commit_records: 64 };
/// Person updates waiting at once for their group commit.
const PERSON_QUEUE: BatcherConfig = BatcherConfig { queue_records: 50_000, max_commit_records: 5_000 };

impl AppState {
    /// Builds the state and starts its writer tasks (needs a Tokio runtime). Takes a node
    /// number from the metadata store first, so the log ids this process mints are its own.
    pub async fn new(stores: Stores, limits: Limits) -> StoreResult<(AppState, WriterHandle)> {
        AppState::with_clock(stores, limits, Arc::new(tether_app::SystemClock)).await
    }

    /// [`AppState::new`] with the time of the use cases, alerts and retention from `clock`
    /// (tests move a `tether_app::ManualClock` instead of sleeping through a window).
    pub async fn with_clock(
        stores: Stores,
        limits: Limits,
        clock: Arc<dyn tether_app::Clock>,
    ) -> StoreResult<(AppState, WriterHandle)> {
        let ids = Arc::new(LogIdGen::new(stores.meta.claim_node_number().await?));
        let metrics = Arc::new(Metrics::default());
        let commit_logs = batcher::commit_logs(stores.log_writer.clone(), ids, metrics.clone());
        use batcher::OnFailure::{FailGroup, RetryEachRequest};
        let (batcher, logs_task) = batcher::Batcher::start(commit_logs, limits.batcher, FailGroup);
        let (events, events_task) = batcher::Batcher::start(
            batcher::commit_to(stores.events.clone(), |store, events| store.append_events(events)),
            EVENT_QUEUE,
            RetryEachRequest,
        );
        let (recordings, segment_clock) = (stores.recordings.clone(), clock.clone());
        let (chunks, chunks_task) = batcher::Batcher::start(
            Arc::new(move |chunks| {
                let (recordings, now_ms) = (recordings.clone(), segment_clock.now_ms());
                Box::pin(async move { recordings.store_chunks(chunks, now_ms).await })
            }),
            CHUNK_QUEUE,
            RetryEachRequest,
        );
        let (persons, persons_task) = batcher::Batcher::start(
            batcher::commit_to(stores.persons.clone(), |store, updates| store.apply_person_updates(updates)),
            PERSON_QUEUE,
            RetryEachRequest,
        );
        let (exceptions, exceptions_task) = batcher::Batcher::start(
            batcher::commit_to(stores.events.clone(), |store, exceptions| {
                store.append_exceptions(exceptions)
            }),
            EVENT_QUEUE,
            RetryEachRequest,
        );
        let cpu = Arc::new(
            cpu::CpuPool::new()
                .map_err(|e| tether_store::StoreError::internal("cannot start the CPU threads", e))?,
        );
        let symbolicator = Arc::new(symbols::Symbolicator::new(
            stores.symbols.clone(),
            stores.recordings.blobs.clone(),
            cpu.clone(),
        ));
        let capture = tether_app::capture::Capture::new(
            tether_app::capture::CaptureWriters { events, exceptions, persons, chunks },
            stores.issues.clone(),
            symbolicator.clone(),
        );
        let in_flight = edge::memory::InFlight::new(limits.edge.in_flight_bytes, metrics.clone());
        let app = tether_app::App::new(stores.clone(), clock, symbolicator);
        let inner = Inner {
            stores,
            app,
            batcher,
            capture,
            metrics,
            limits,
            tls_proxy: Default::default(),
            proxies: Default::default(),
            webhooks: Default::default(),
            public_url: Default::default(),
            logins: Default::default(),
            disk: Default::default(),
            password_checks: tokio::sync::Semaphore::new(PASSWORD_CHECKS),
            key_uses: Default::default(),
            in_flight,
            rates: Default::default(),
            cpu,
        };
        let tasks = vec![logs_task, events_task, chunks_task, persons_task, exceptions_task];
        Ok((AppState { inner: Arc::new(inner) }, WriterHandle(tasks)))
    }

    /// Says Tether is reached over HTTPS through a TLS-terminating proxy: cookies get
    /// `Secure` and browsers are told to keep to HTTPS (HSTS).
    pub fn set_behind_tls_proxy(&self, on: bool) {
        self.inner.tls_proxy.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn behind_tls_proxy(&self) -> bool {
        self.inner.tls_proxy.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The networks whose connections may say, in `X-Forwarded-For`, which client they
    /// forward (loopback unless set). Set once, at start.
    pub fn trust_proxies(&self, networks: Vec<ipnet::IpNet>) {
        let _ = self.inner.proxies.set(client_addr::TrustedProxies(networks));
    }

    /// The origin people reach Tether at, for every absolute URL it hands out (without it,
    /// the request's `Host`). Set once, at start.
    pub fn set_public_url(&self, origin: &str) {
        let _ = self.inner.public_url.set(origin.to_owned());
    }

    pub(crate) fn public_url(&self) -> Option<&str> {
        self.inner.public_url.get().map(String::as_str)
    }

    /// The networks beyond the public internet that alert webhooks may reach (none unless
    /// set; see `webhooks`), and the proxy they go through (none unless set). Set once, at
    /// start, before alerts are spawned.
    pub fn set_webhook_rules(&self, allowed: Vec<ipnet::IpNet>, proxy: Option<String>) {
        let _ = self.inner.webhooks.set(Arc::new(webhooks::WebhookNetworks { allowed, proxy }));
    }

    pub(crate) fn webhook_networks(&self) -> &Arc<webhooks::WebhookNetworks> {
        self.inner.webhooks.get_or_init(Default::default)
    }

    pub(crate) fn trusted_proxies(&self) -> &client_addr::TrustedProxies {
        self.inner.proxies.get_or_init(Default::default)
    }

    /// Refuses writes (503 with the reason) while fewer than `min_free` bytes are free on
    /// the filesystem of `data_dir`. Set once, at start.
    pub fn guard_disk(&self, data_dir: std::path::PathBuf, min_free: u64) {
        let _ = self.inner.disk.set(disk::DiskGuard { path: data_dir, min_free });
    }

    /// Ok while there is room to write.
    pub(crate) fn check_disk(&self) -> Result<(), ApiError> {
        match self.inner.disk.get().and_then(disk::DiskGuard::full) {
            Some(reason) => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, reason)),
            None => Ok(()),
        }
    }

    pub(crate) fn key_uses(&self) -> &auth::KeyUses {
        &self.inner.key_uses
    }

    pub(crate) fn logins(&self) -> &api::throttle::LoginThrottle {
        &self.inner.logins
    }

    pub(crate) fn password_checks(&self) -> &tokio::sync::Semaphore {
        &self.inner.password_checks
    }

    /// Stores log records through the same group commit as ingest (ids minted there, 503
    /// when the queue is full): for tools that generate logs in process, like the demo's seed.
    pub async fn append_logs(&self, records: Vec<LogRecord>) -> Result<(), ApiError> {
        self.check_disk()?;
        Ok(self.batcher().submit(records).await?)
    }

    /// The use cases (`tether-app`).
    pub(crate) fn app(&self) -> &tether_app::App {
        &self.inner.app
    }
    pub(crate) fn meta(&self) -> &dyn MetadataStore {
        self.inner.stores.meta.as_ref()
    }
    pub(crate) fn logs(&self) -> &dyn LogReader {
        self.inner.stores.logs.as_ref()
    }
    pub(crate) fn recordings(&self) -> &Recordings {
        &self.inner.stores.recordings
    }
    pub(crate) fn symbols(&self) -> &dyn SymbolStore {
        self.inner.stores.symbols.as_ref()
    }
    pub(crate) fn alerts(&self) -> &dyn AlertStore {
        self.inner.stores.alerts.as_ref()
    }
    pub(crate) fn issues(&self) -> &dyn IssueStore {
        self.inner.stores.issues.as_ref()
    }
    pub(crate) fn users(&self) -> &dyn UserStore {
        self.inner.stores.users.as_ref()
    }
    pub(crate) fn batcher(&self) -> &batcher::Batcher<LogRecord> {
        &self.inner.batcher
    }
    /// The capture use cases (`tether_app::capture`).
    pub(crate) fn capture(&self) -> &tether_app::capture::Capture {
        &self.inner.capture
    }
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }
    pub(crate) fn limits(&self) -> Limits {
        self.inner.limits
    }
    /// A new request's share of the bytes in flight.
    pub(crate) fn request_memory(&self) -> edge::memory::RequestMemory {
        self.inner.in_flight.request()
    }
    /// How a public route reads a body of at most `limit` bytes for `memory`'s request.
    pub(crate) fn body_limits<'a>(
        &self,
        limit: usize,
        memory: &'a edge::memory::RequestMemory,
    ) -> body::BodyLimits<'a> {
        body::BodyLimits { limit, timeout: self.inner.limits.edge.body_timeout, memory }
    }
    /// The decoding budget of a request whose body may be `body_limit` bytes.
    pub(crate) fn decoding_budget(
        &self,
        body_limit: usize,
        memory: &edge::memory::RequestMemory,
    ) -> tether_ingest::Budget {
        memory.budget(body_limit.saturating_mul(self.inner.limits.edge.decoded_multiple))
    }
    pub(crate) fn rates(&self) -> &edge::rate::RateLimits {
        &self.inner.rates
    }
    /// Runs CPU work of a request (decoding, compressing, resolving frames) on the CPU
    /// threads ([`cpu::CpuPool`]), at most one per core at a time; the others wait their turn.
    pub(crate) async fn on_cpu<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        self.inner.cpu.run(work).await.ok_or_else(ApiError::internal)
    }
}

/// Every HTTP route. Pure: no sockets, so tests can drive it with `oneshot`.
pub fn router(state: AppState) -> Router {
    // Browser SDKs post logs cross-origin with credentials: mirror origin and headers.
    let ingest = Router::new()
        .route("/v1/logs", post(ingest::otlp_http))
        .route("/i/v1/logs", post(ingest::otlp_http))
        .layer(CorsLayer::very_permissive());
    // The routes anyone with a project token reaches answer within the request deadline.
    let public = Router::new()
        .merge(ingest)
        .merge(capture::router())
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge::deadline));
    Router::new()
        .merge(public)
        .merge(api::router())
        .route("/_health", get(health))
        .route("/metrics", get(metrics_text))
        .route("/assets/{*path}", get(ui::asset))
        .fallback(get(ui::index))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::headers))
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    if let Err(full) = state.check_disk() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({ "status": "unavailable", "error": full.message })),
        );
    }
    let checks = tokio::try_join!(state.meta().ping(), state.logs().ping(), state.recordings().blobs.ping());
    match checks {
        Ok(_) => (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ok" }))),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "unavailable", "error": "storage unreachable" })),
            )
        }
    }
}

async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    let writers = state.capture().writers();
    let capture = [
        ("events", writers.events.queued()),
        ("exceptions", writers.exceptions.queued()),
        ("persons", writers.persons.queued()),
        ("recording_chunks", writers.chunks.queued()),
    ];
    let text = state.metrics().render(state.batcher().queued(), &capture, state.inner.in_flight.held());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// The sockets Tether serves on, bound by the caller (`main` binds real ports, tests port 0).
pub struct Listeners {
    pub http: TcpListener,
    pub grpc: TcpListener,
}

/// Serves HTTP and gRPC until `shutdown` resolves, then stops accepting, lets in-flight
/// requests finish, and waits for the writer to commit everything it acknowledged.
pub async fn serve(
    state: AppState,
    writer: WriterHandle,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let edge = state.limits().edge;
    let http = edge::listen::serve_http(
        listeners.http,
        router(state.clone()),
        edge.connections,
        wait(stop_rx.clone()),
    );
    let grpc = tonic::transport::Server::builder()
        .timeout(edge.request_timeout)
        .add_service(grpc::logs_service(state.clone()))
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listeners.grpc),
            wait(stop_rx),
        );
    let signal = tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let (http_result, grpc_result) = tokio::join!(http, grpc);
    signal.abort();
    drop(state);
    writer.finish().await;
    http_result?;
    grpc_result.map_err(std::io::Error::other)
}
