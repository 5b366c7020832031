//! Bytes in flight: one pool shared by every request on the public routes, so many requests
//! that are each within their own budget still cannot exhaust memory together. A request
//! takes from the pool as it reads and decodes, holds what it took until it is answered
//! (its records wait in a commit queue until then), and a request that finds the pool empty
//! is answered 503 with `Retry-After` at once — it never waits, so the pool cannot deadlock.
//! The last [`RESERVE_FRACTION`] of the pool is kept for requests holding less than
//! [`SMALL_REQUEST`], so a flood of large bodies cannot starve ordinary clients, whose
//! batches are a few kilobytes.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use tether_ingest::Budget;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::Metrics;

/// A request holding less than this is small, and may use the whole pool.
pub(crate) const SMALL_REQUEST: usize = 1024 * 1024;
/// The part of the pool (1/8) that only small requests may take.
const RESERVE_FRACTION: usize = 8;

/// The pool of bytes all requests in flight may hold together.
#[derive(Clone)]
pub(crate) struct InFlight {
    pool: Arc<Semaphore>,
    size: usize,
    metrics: Arc<Metrics>,
}

impl InFlight {
    /// A pool of `bytes`; refusals are counted in `metrics`.
    pub(crate) fn new(bytes: usize, metrics: Arc<Metrics>) -> InFlight {
        let size = bytes.min(Semaphore::MAX_PERMITS);
        InFlight { pool: Arc::new(Semaphore::new(size)), size, metrics }
    }

    /// A new request's share, empty until it takes from the pool.
    pub(crate) fn request(&self) -> RequestMemory {
        RequestMemory {
            pool: self.pool.clone(),
            held: Arc::new(Mutex::new(None)),
            metrics: self.metrics.clone(),
            reserve: self.size / RESERVE_FRACTION,
        }
    }

    /// Bytes held by requests right now.
    pub(crate) fn held(&self) -> usize {
        self.size - self.pool.available_permits()
    }
}

/// What one request holds of the pool; given back when the last clone is dropped.
#[derive(Clone)]
pub(crate) struct RequestMemory {
    pool: Arc<Semaphore>,
    held: Arc<Mutex<Option<OwnedSemaphorePermit>>>,
    metrics: Arc<Metrics>,
    /// Bytes of the pool kept for small requests.
    reserve: usize,
}

impl RequestMemory {
    /// Takes `n` more bytes; `false` (taking nothing) when the pool has not that much left.
    pub(crate) fn reserve(&self, n: usize) -> bool {
        if n == 0 {
            return true;
        }
        let mut held = self.lock();
        let holding = held.as_ref().map_or(0, OwnedSemaphorePermit::num_permits);
        // A check then a take: two large requests racing may dip into the reserve by a
        // step each, which is fine; the pool itself is never exceeded.
        let large = holding + n >= SMALL_REQUEST;
        let permit = (!large || self.pool.available_permits() >= n + self.reserve)
            .then(|| u32::try_from(n).ok().and_then(|n| self.pool.clone().try_acquire_many_owned(n).ok()))
            .flatten();
        let Some(permit) = permit else {
            self.metrics.in_flight_refused.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        match held.as_mut() {
            Some(all) => all.merge(permit),
            None => *held = Some(permit),
        }
        true
    }

    /// A decoding budget whose every byte is also taken from the pool: `limit` bytes for
    /// everything the request holds, so less what it already holds (its body as read).
    pub(crate) fn budget(&self, limit: usize) -> Budget {
        let me = self.clone();
        Budget::new(limit.saturating_sub(self.held())).with_pool(Box::new(move |n| me.reserve(n)))
    }

    /// Bytes this request holds.
    fn held(&self) -> usize {
        self.lock().as_ref().map_or(0, OwnedSemaphorePermit::num_permits)
    }

    /// What this request holds (the lock is never held across anything that can panic).
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<OwnedSemaphorePermit>> {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_requests_leave_the_reserve_to_small_ones() {
        let pool = InFlight::new(8 * SMALL_REQUEST, Default::default());
        let large = pool.request();
        assert!(large.reserve(6 * SMALL_REQUEST));
        assert!(!large.reserve(SMALL_REQUEST + 1), "would take part of the last eighth");
        assert!(large.reserve(SMALL_REQUEST), "up to the reserve");
        let small = pool.request();
        assert!(small.reserve(SMALL_REQUEST / 2), "small requests may use the reserve");
    }

    #[test]
    fn requests_share_the_pool_and_give_it_back() {
        let pool = InFlight::new(100, Default::default());
        let a = pool.request();
        let b = pool.request();
        assert!(a.reserve(60));
        assert!(!b.reserve(50), "only 40 left");
        assert!(b.reserve(40));
        assert_eq!(pool.held(), 100);
        assert_eq!(b.budget(1000).remaining(), 960, "what b holds counts against its budget");
        let mut budget = a.budget(1000);
        assert!(matches!(budget.charge(1), Err(tether_ingest::DecodeError::Overloaded)));
        drop((a, budget));
        assert_eq!(pool.held(), 40, "a's bytes are back once it and its budget are gone");
        drop(b);
        assert_eq!(pool.held(), 0);
    }
}
