//! What `tether demo` runs besides Tether itself: a sample web shop whose page uses the stock
//! posthog-js against Tether and whose Rust backend logs through OTLP with
//! [`tether_stamp`] (so its logs link to the shopper's recording and errors), and a generator
//! of realistic logs for trying Tether at volume.

pub mod seed;
pub mod shop;

/// The `tracing` target of the shop's logs: the demo exports exactly these to Tether, so the
/// server's own diagnostics never loop back into it.
pub const SHOP_LOG_TARGET: &str = "tether_demo::shop";
