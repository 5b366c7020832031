//! What the unmodified posthog-js SDK (and PostHog's server SDKs) post: capture bodies,
//! events, session-recording snapshots, and exception lists.
//! Wire contract: `shared/reference/posthog-js-wire-protocol.md` (posthog-js 1.449.x).

mod body;
pub mod events;
pub mod network;
mod raw;
pub mod snapshots;

pub use body::decode_capture_body;
