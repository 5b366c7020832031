//! Per-project ingest rates: events per second and recording bytes per second, set in each
//! project's settings (`ingest_limits`, 0 = no limit). A token bucket per project and kind,
//! holding [`BURST_SECONDS`] of its rate: posthog-js flushes every few seconds, so a site
//! within its rate on average sends bursts. A request is let through while its bucket is
//! not empty and its cost is then taken, even into debt, so a batch larger than the bucket
//! still passes once the bucket refills and the long-run rate holds.
//!
//! Buckets live in this process: with several Tether processes behind a load balancer each
//! enforces the limit on what it receives (the limit is per process, documented as such).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use tether_model::ProjectId;

/// Seconds of its rate a bucket holds.
pub(crate) const BURST_SECONDS: f64 = 5.0;

/// What is counted against a limit (its number is its place in `/metrics`' counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Events = 0,
    RecordingBytes = 1,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every project that has a limit.
#[derive(Default)]
pub(crate) struct RateLimits {
    buckets: Mutex<HashMap<(ProjectId, Kind), Bucket>>,
}

impl RateLimits {
    /// Takes `cost` from the project's bucket of `kind` refilled at `rate` per second (0:
    /// unlimited). `Err(seconds)` until the bucket is no longer empty, taking nothing.
    pub(crate) fn take(&self, project: ProjectId, kind: Kind, rate: u64, cost: u64) -> Result<(), u64> {
        self.take_at(project, kind, rate, cost, Instant::now())
    }

    fn take_at(&self, project: ProjectId, kind: Kind, rate: u64, cost: u64, now: Instant) -> Result<(), u64> {
        if rate == 0 {
            return Ok(());
        }
        let rate = rate as f64;
        let full = rate * BURST_SECONDS;
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry((project, kind)).or_insert(Bucket { tokens: full, at: now });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(full);
        bucket.at = now;
        if bucket.tokens <= 0.0 {
            // Whole seconds until the debt is paid back, at least one.
            return Err(((-bucket.tokens / rate).ceil() as u64).max(1));
        }
        bucket.tokens -= cost as f64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_holds_a_burst_then_refills_at_its_rate() {
        let limits = RateLimits::default();
        let t0 = Instant::now();
        // 10 events/s: 50 in a burst, the request that empties it still passes.
        assert!(limits.take_at(1, Kind::Events, 10, 30, t0).is_ok());
        assert!(limits.take_at(1, Kind::Events, 10, 30, t0).is_ok());
        assert_eq!(limits.take_at(1, Kind::Events, 10, 1, t0), Err(1), "10 in debt: one second");
        assert_eq!(limits.take_at(1, Kind::Events, 10, 1, t0 + Duration::from_millis(500)), Err(1));
        assert!(limits.take_at(1, Kind::Events, 10, 1, t0 + Duration::from_millis(1100)).is_ok());
        // Other projects, other kinds and unlimited ones are untouched.
        assert!(limits.take_at(2, Kind::Events, 10, 1, t0).is_ok());
        assert!(limits.take_at(1, Kind::RecordingBytes, 1000, 1, t0).is_ok());
        assert!(limits.take_at(3, Kind::Events, 0, u64::MAX, t0).is_ok());
    }

    #[test]
    fn a_large_debt_asks_for_a_longer_wait() {
        let limits = RateLimits::default();
        let t0 = Instant::now();
        assert!(limits.take_at(1, Kind::RecordingBytes, 100, 1_000 + 500, t0).is_ok());
        assert_eq!(limits.take_at(1, Kind::RecordingBytes, 100, 1, t0), Err(10));
    }
}
