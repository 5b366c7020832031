//! Stamps every backend log of an HTTP request with the PostHog session and person of the
//! browser that made it, so nobody has to put `sessionId` / `posthogDistinctId` on each log
//! by hand.
//!
//! posthog-js, configured with `tracing_headers: ['api.example.com']`, adds
//! `X-POSTHOG-SESSION-ID`, `X-POSTHOG-DISTINCT-ID` and `X-POSTHOG-WINDOW-ID` to the page's
//! requests to that host; other clients may send W3C `baggage` with `session.id` / `user.id`;
//! a page load or form post (no custom headers) is read through the posthog-js cookie.
//! Two pieces turn those into log attributes:
//!
//! - [`StampLayer`], a tower layer (axum, tonic, hyper…) that validates the ids and makes them
//!   current in the OpenTelemetry context while the request is handled, with the request's
//!   trace ([`RequestTrace`]: the caller's `traceparent` or a new one), which it names in the
//!   response's `Server-Timing` header so the browser's network recording can find the logs;
//! - [`StampProcessor`], an OpenTelemetry log processor that copies the current ids onto each
//!   record as `sessionId`, `session.id`, `posthogDistinctId` and `posthogWindowId`, and the
//!   trace id onto records without one.
//!
//! Logs written with `tracing` reach OpenTelemetry through its log bridge;
//! [`otlp::logger_provider`] wires the processor and an OTLP/HTTP exporter to Tether.
//!
//! ```no_run
//! use axum::{Router, routing::post};
//! use tracing_subscriber::prelude::*;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let provider = tether_stamp::otlp::logger_provider(
//!     "http://127.0.0.1:8010/v1/logs", // Tether's OTLP/HTTP endpoint
//!     "phc_your_project_token",
//!     "shop-api",
//! )?;
//! tracing_subscriber::registry()
//!     .with(tether_stamp::otlp::tracing_layer(&provider))
//!     .with(tracing_subscriber::fmt::layer())
//!     .init();
//!
//! async fn checkout() -> &'static str {
//!     // Carries sessionId and posthogDistinctId of the browser that called /checkout.
//!     tracing::error!(amount = 42, "payment declined");
//!     "declined"
//! }
//! let app = Router::new().route("/checkout", post(checkout)).layer(tether_stamp::StampLayer::new());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! provider.shutdown()?; // sends the last batch
//! # Ok(())
//! # }
//! ```
//!
//! Header values are untrusted input: a session or window id must be at most 128 characters
//! of letters, digits and `-_.:`, a distinct id at most 200 printable characters; anything
//! else is ignored (the log is still written, just without that id).

mod cookie;
mod ids;
mod layer;
#[cfg(feature = "otlp")]
pub mod otlp;
mod processor;
mod trace;

pub use ids::{DISTINCT_ID_HEADER, SESSION_HEADER, Stamp, WINDOW_HEADER};
pub use layer::{StampFuture, StampLayer, StampService};
pub use processor::{
    DISTINCT_ID_ATTRIBUTE, SEMCONV_SESSION_ATTRIBUTE, SESSION_ATTRIBUTE, StampProcessor, WINDOW_ATTRIBUTE,
};
pub use trace::{RequestTrace, SERVER_TIMING_METRIC};
