//! Failed logins slow down guessing: per username and per client address, the first few
//! failures are free; after that each attempt must wait twice as long as the one before
//! (1 s, 2 s, 4 s, … up to 15 minutes) after the last failure, and is answered 429 with
//! `Retry-After` until then — without checking the password, so a locked-out guess costs
//! no argon2 work. Counts are forgotten after 15 minutes without a failure. They live in
//! this process: with several replicas, each keeps its own (a guesser spread over N
//! replicas gets N times the attempts, still exponentially slowed).

use std::time::{Duration, Instant};

/// Failures allowed before attempts are delayed.
const FREE_FAILURES: u32 = 5;
/// The longest delay, and how long a key's failures are remembered.
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Keys remembered at most (the oldest go first): bounded memory under a flood of names.
const MAX_KEYS: u64 = 100_000;

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next attempt may be made.
    fn allowed_at(self) -> Instant {
        if self.count < FREE_FAILURES {
            return self.last;
        }
        let exponent = (self.count - FREE_FAILURES).min(20);
        self.last + Duration::from_secs(1 << exponent).min(MAX_DELAY)
    }
}

/// Failed-login counts per key (`user:…`, `client:…`).
pub(crate) struct LoginThrottle {
    failures: moka::future::Cache<String, Failures>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            failures: moka::future::Cache::builder().max_capacity(MAX_KEYS).time_to_idle(MAX_DELAY).build(),
        }
    }
}

impl LoginThrottle {
    /// How long the caller must still wait before attempting a login under `keys`.
    pub(crate) async fn wait(&self, keys: &[String]) -> Option<Duration> {
        let now = Instant::now();
        let mut longest = None;
        for key in keys {
            if let Some(f) = self.failures.get(key).await
                && f.allowed_at() > now
            {
                longest = longest.max(Some(f.allowed_at() - now));
            }
        }
        longest
    }

    /// Counts a failed attempt under each of `keys`.
    pub(crate) async fn failed(&self, keys: &[String]) {
        let now = Instant::now();
        for key in keys {
            let count = self.failures.get(key).await.map_or(0, |f| f.count);
            self.failures.insert(key.clone(), Failures { count: count + 1, last: now }).await;
        }
    }

    /// Forgets the failures of `key` (a user who logged in).
    pub(crate) async fn forget(&self, key: &str) {
        self.failures.invalidate(key).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delays_double_after_the_free_failures_and_a_success_clears_them() {
        let throttle = LoginThrottle::default();
        let keys = ["user:admin".to_owned(), "client:10.0.0.1".to_owned()];
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.wait(&keys).await, None);
            throttle.failed(&keys).await;
        }
        let first = throttle.wait(&keys).await.expect("the 6th attempt waits");
        assert!(first <= Duration::from_secs(1) && first > Duration::from_millis(900), "{first:?}");
        throttle.failed(&keys).await;
        let second = throttle.wait(&keys).await.unwrap();
        assert!(second > Duration::from_millis(1900), "doubles: {second:?}");
        // Another address is still slowed for this user; the user's success clears the user key.
        let other = ["user:admin".to_owned(), "client:10.0.0.2".to_owned()];
        assert!(throttle.wait(&other).await.is_some());
        throttle.forget("user:admin").await;
        assert_eq!(throttle.wait(&other).await, None);
        assert!(throttle.wait(&keys).await.is_some(), "the guessing address stays slowed");
    }

    #[test]
    fn the_delay_is_capped() {
        let f = Failures { count: 1000, last: Instant::now() };
        assert_eq!(f.allowed_at() - f.last, MAX_DELAY);
    }
}
