//! The tower layer: reads the ids and the trace of each request, makes them current while
//! the request's handler runs, and names the trace in the response.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http::header::{HeaderName, HeaderValue};
use http::{Request, Response};
use opentelemetry::Context;
use opentelemetry::context::{FutureExt, WithContext};
use tower_layer::Layer;
use tower_service::Service;

use crate::{RequestTrace, Stamp};

const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");
const TIMING_ALLOW_ORIGIN: HeaderName = HeaderName::from_static("timing-allow-origin");

/// Tower layer that stamps the logs of each request with its PostHog session and person and
/// its trace, and adds `Server-Timing: traceparent;desc="00-{trace}-{span}-01"` to the
/// response.
///
/// The ids are put into the OpenTelemetry [`Context`] for as long as the request's future
/// is polled; [`crate::StampProcessor`] copies them onto every log record emitted meanwhile.
/// Work moved to another task with `tokio::spawn` leaves that context behind: wrap such
/// futures with `opentelemetry::context::FutureExt::with_current_context()`.
///
/// Browsers show `Server-Timing` to the page (and to posthog-js's network recording) for
/// responses of the page's own origin; an API on another origin must allow the page's
/// origin with [`StampLayer::timing_allow_origin`].
#[derive(Debug, Clone, Default)]
pub struct StampLayer {
    timing_allow_origin: Option<HeaderValue>,
}

impl StampLayer {
    /// A new layer for an API the pages of its own origin call.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets pages of `origin` (e.g. `https://shop.example`, or `*`) read the trace of each
    /// response (`Timing-Allow-Origin`). An origin that is not a valid header value is
    /// ignored.
    pub fn timing_allow_origin(mut self, origin: &str) -> Self {
        self.timing_allow_origin = HeaderValue::from_str(origin).ok();
        self
    }
}

impl<S> Layer<S> for StampLayer {
    type Service = StampService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StampService { inner, timing_allow_origin: self.timing_allow_origin.clone() }
    }
}

/// The service made by [`StampLayer`].
#[derive(Debug, Clone)]
pub struct StampService<S> {
    inner: S,
    timing_allow_origin: Option<HeaderValue>,
}

impl<S, B, R> Service<Request<B>> for StampService<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = StampFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let trace = RequestTrace::from_headers(request.headers());
        let mut cx = Context::current_with_value(trace);
        if let Some(stamp) = Stamp::from_headers(request.headers()) {
            cx = cx.with_value(stamp);
        }
        // The handler may read the ids too (`Stamp::current()`), so make them current now.
        let _guard = cx.clone().attach();
        StampFuture {
            inner: self.inner.call(request).with_context(cx),
            server_timing: HeaderValue::from_str(&trace.server_timing()).ok(),
            timing_allow_origin: self.timing_allow_origin.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`StampService`]: the handler's, with the trace headers added.
    pub struct StampFuture<F> {
        #[pin]
        inner: WithContext<F>,
        server_timing: Option<HeaderValue>,
        timing_allow_origin: Option<HeaderValue>,
    }
}

impl<F, R, E> Future for StampFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.inner.poll(cx) {
            Poll::Ready(Ok(response)) => response,
            other => return other,
        };
        let headers = response.headers_mut();
        if let Some(timing) = this.server_timing.take() {
            headers.append(SERVER_TIMING, timing);
        }
        if let Some(origin) = this.timing_allow_origin.take()
            && !headers.contains_key(TIMING_ALLOW_ORIGIN)
        {
            headers.insert(TIMING_ALLOW_ORIGIN, origin);
        }
        Poll::Ready(Ok(response))
    }
}

impl Stamp {
    /// The ids of the request being handled on this task, if it carried any.
    pub fn current() -> Option<Self> {
        Context::map_current(|cx| cx.get::<Self>().cloned())
    }
}
