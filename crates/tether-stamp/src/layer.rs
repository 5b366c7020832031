//! The tower layer: reads the ids of each request and makes them current while the request's
//! handler runs.

use std::task::{Context as TaskContext, Poll};

use http::Request;
use opentelemetry::Context;
use opentelemetry::context::{FutureExt, WithContext};
use tower_layer::Layer;
use tower_service::Service;

use crate::Stamp;

/// Tower layer that stamps the logs of each request with its PostHog session and person.
///
/// The ids are put into the OpenTelemetry [`Context`] for as long as the request's future
/// is polled; [`crate::StampProcessor`] copies them onto every log record emitted meanwhile.
/// Work moved to another task with `tokio::spawn` leaves that context behind: wrap such
/// futures with `opentelemetry::context::FutureExt::with_current_context()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StampLayer;

impl StampLayer {
    /// A new layer; it has no settings.
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for StampLayer {
    type Service = StampService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StampService { inner }
    }
}

/// The service made by [`StampLayer`].
#[derive(Debug, Clone)]
pub struct StampService<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for StampService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = WithContext<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let cx = match Stamp::from_headers(request.headers()) {
            Some(stamp) => Context::current_with_value(stamp),
            None => Context::current(),
        };
        // The handler may read the ids too (`Stamp::current()`), so make them current now.
        let _guard = cx.clone().attach();
        self.inner.call(request).with_context(cx)
    }
}

impl Stamp {
    /// The ids of the request being handled on this task, if it carried any.
    pub fn current() -> Option<Self> {
        Context::map_current(|cx| cx.get::<Self>().cloned())
    }
}
