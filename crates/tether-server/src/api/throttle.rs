//! Failed logins slow down guessing: per username and per client address, the first few
//! failures are free; after that each attempt must wait twice as long as the one before
//! (1 s, 2 s, 4 s, … up to 15 minutes) after the last failure, and is answered 429 with
//! `Retry-After` until then — without checking the password, so a locked-out guess costs
//! no argon2 work. Counts are forgotten after 15 minutes without a failure. They live in
//! this process: with several replicas, each keeps its own (a guesser spread over N
//! replicas gets N times the attempts, still exponentially slowed).
//!
//! An attempt is counted as failed when it is let through, before its password is checked,
//! and refunded if it succeeds: checking first and counting after the (slow) hash let a
//! burst of concurrent guesses all pass the check. On top, the whole instance checks at
//! most [`CHECKS_PER_SECOND`] passwords a second, whoever asks.

use std::time::{Duration, Instant};

/// Failures allowed before attempts are delayed.
const FREE_FAILURES: u32 = 5;
/// The longest delay, and how long a key's failures are remembered.
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Keys remembered at most (the oldest go first): bounded memory under a flood of names.
const MAX_KEYS: u64 = 100_000;
/// Password checks the instance makes per second at most, for every user and address
/// together (each costs ~20 MB and tens of milliseconds of argon2).
pub(crate) const CHECKS_PER_SECOND: u32 = 20;

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

/// The instance's password checks in the current second.
struct Second {
    start: Instant,
    checks: u32,
}

/// Failed-login counts per key (`user:…`, `client:…`).
pub(crate) struct LoginThrottle {
    failures: moka::future::Cache<String, Failures>,
    /// Held while an attempt is checked and counted, so that no two attempts see the same
    /// count; also the instance's checks this second.
    gate: tokio::sync::Mutex<Second>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            failures: moka::future::Cache::builder().max_capacity(MAX_KEYS).time_to_idle(MAX_DELAY).build(),
            gate: tokio::sync::Mutex::new(Second { start: Instant::now(), checks: 0 }),
        }
    }
}

impl LoginThrottle {
    /// Lets an attempt under `keys` through, counted as a failure of each key until
    /// [`LoginThrottle::succeeded`]; or how long the caller must wait first.
    pub(crate) async fn reserve(&self, keys: &[String]) -> Result<(), Duration> {
        let mut second = self.gate.lock().await;
        let now = Instant::now();
        let mut longest = None;
        for key in keys {
            if let Some(f) = self.failures.get(key).await
                && f.allowed_at() > now
            {
                longest = longest.max(Some(f.allowed_at() - now));
            }
        }
        if let Some(wait) = longest {
            return Err(wait);
        }
        if now.duration_since(second.start) >= Duration::from_secs(1) {
            *second = Second { start: now, checks: 0 };
        }
        if second.checks >= CHECKS_PER_SECOND {
            return Err(Duration::from_secs(1) - now.duration_since(second.start));
        }
        second.checks += 1;
        for key in keys {
            let count = self.failures.get(key).await.map_or(0, |f| f.count);
            self.failures.insert(key.clone(), Failures { count: count + 1, last: now }).await;
        }
        Ok(())
    }

    /// The attempt reserved under `keys` succeeded: the user (the first key) starts afresh
    /// and every other key gets back the failure the attempt was counted as.
    pub(crate) async fn succeeded(&self, keys: &[String]) {
        let _gate = self.gate.lock().await;
        let Some((user, others)) = keys.split_first() else { return };
        self.failures.invalidate(user).await;
        for key in others {
            if let Some(f) = self.failures.get(key).await {
                self.failures.insert(key.clone(), Failures { count: f.count.saturating_sub(1), ..f }).await;
            }
        }
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
            assert_eq!(throttle.reserve(&keys).await, Ok(()));
        }
        let first = throttle.reserve(&keys).await.expect_err("the 6th attempt waits");
        assert!(first <= Duration::from_secs(1) && first > Duration::from_millis(900), "{first:?}");
        // Another address is slowed for this user; the user's success clears the user key.
        let other = ["user:admin".to_owned(), "client:10.0.0.2".to_owned()];
        assert!(throttle.reserve(&other).await.is_err());
        throttle.succeeded(&other).await;
        assert_eq!(throttle.reserve(&other).await, Ok(()));
        assert!(throttle.reserve(&keys).await.is_err(), "the guessing address stays slowed");
    }

    #[tokio::test]
    async fn concurrent_attempts_are_counted_before_any_is_checked() {
        let throttle = std::sync::Arc::new(LoginThrottle::default());
        let keys = vec!["user:admin".to_owned(), "client:10.0.0.1".to_owned()];
        let attempts = (0..40).map(|_| {
            let (throttle, keys) = (throttle.clone(), keys.clone());
            tokio::spawn(async move { throttle.reserve(&keys).await })
        });
        let through =
            futures::future::join_all(attempts).await.into_iter().filter(|r| matches!(r, Ok(Ok(())))).count();
        assert_eq!(through, FREE_FAILURES as usize);
    }

    #[tokio::test]
    async fn the_instance_checks_a_bounded_number_of_passwords_a_second() {
        let throttle = LoginThrottle::default();
        for i in 0..CHECKS_PER_SECOND {
            assert_eq!(throttle.reserve(&[format!("user:u{i}"), format!("client:{i}")]).await, Ok(()));
        }
        let wait = throttle.reserve(&["user:new".to_owned(), "client:new".to_owned()]).await.unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
    }

    #[test]
    fn the_delay_is_capped() {
        let f = Failures { count: 1000, last: Instant::now() };
        assert_eq!(f.allowed_at() - f.last, MAX_DELAY);
    }
}
