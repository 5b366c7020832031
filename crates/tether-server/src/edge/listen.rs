//! The HTTP accept loop, with the connection-level limits `axum::serve` has no setting for:
//! at most `max_connections` connections at once (the next waits in the kernel's backlog),
//! and a deadline for each request's headers (hyper's header-read timeout, which needs a
//! timer that `axum::serve` does not set), so a client that sends headers a byte at a time
//! is closed instead of holding a connection for ever. Body deadlines are the handlers'
//! (`body::read_limited`), whole-request deadlines a layer on the public routes.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// Connection-level limits of the HTTP listener.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time a client has to send a request's headers (on a new or a kept-alive connection).
    pub header_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets every
/// connection finish its requests, and returns.
pub(crate) async fn serve_http(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Every connection task holds a receiver; the loop waits until all are gone.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            request.map(Body::new)
        });
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
            builder.http2().timer(TokioTimer::new()).keep_alive_interval(limits.header_timeout);
            let mut connection = pin!(
                builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            );
            let ended = tokio::select! {
                result = connection.as_mut() => result,
                () = async { drop(stop.wait_for(|stop| *stop).await) } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop((slot, stop));
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(stop_rx);
    stop_tx.closed().await;
    Ok(())
}
