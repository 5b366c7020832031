//! The wall clock, in the units stores use.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix nanoseconds now.
pub(crate) fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    now_ns() / 1_000_000
}
