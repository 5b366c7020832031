//! What one request may make Tether allocate, decided before the work starts.
//!
//! A capture body is small on the wire but may hold compressed layers: the body's own gzip,
//! a `data=` base64 form, and posthog-js's `cv: "2024-10"` fields, each a gzip stream of its
//! own. Limiting each layer alone lets a 9 MB body with eight fields of 200 MB each expand to
//! gigabytes, so every layer draws on one [`Budget`] per request: decoded bytes, counted as
//! they are produced, up to a fixed total. A budget may also draw on a pool shared by all
//! requests (the server's bound on bytes in flight), so many requests that are each within
//! their own budget still cannot exhaust memory together.

use crate::DecodeError;

/// Takes `n` bytes from a pool shared between requests; `false` when the pool is empty.
/// What was taken is given back when the [`Budget`] (and so the pool's closure) is dropped.
pub type Reserve = Box<dyn FnMut(usize) -> bool + Send>;

/// Decoded bytes one request may still produce.
pub struct Budget {
    limit: usize,
    used: usize,
    pool: Option<Reserve>,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget").field("limit", &self.limit).field("used", &self.used).finish()
    }
}

impl Budget {
    /// A budget of `limit` decoded bytes, drawing on no shared pool.
    pub fn new(limit: usize) -> Budget {
        Budget { limit, used: 0, pool: None }
    }

    /// The same budget, also taking every byte it grants from `pool`.
    pub fn with_pool(mut self, pool: Reserve) -> Budget {
        self.pool = Some(pool);
        self
    }

    /// Bytes that may still be decoded.
    pub fn remaining(&self) -> usize {
        self.limit - self.used
    }

    /// The whole budget, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Accounts for `n` more decoded bytes: [`DecodeError::TooLarge`] past this request's
    /// limit, [`DecodeError::Overloaded`] when the shared pool has no room (the request may
    /// be sent again later).
    pub fn charge(&mut self, n: usize) -> Result<(), DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::TooLarge { limit: self.limit, decompressed: true });
        }
        if let Some(pool) = &mut self.pool
            && !pool(n)
        {
            return Err(DecodeError::Overloaded);
        }
        self.used += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn charges_add_up_to_the_limit() {
        let mut b = Budget::new(10);
        b.charge(4).unwrap();
        b.charge(6).unwrap();
        assert_eq!(b.remaining(), 0);
        assert!(matches!(b.charge(1), Err(DecodeError::TooLarge { limit: 10, decompressed: true })));
    }

    #[test]
    fn an_empty_pool_is_overload_not_too_large() {
        let left = Arc::new(AtomicUsize::new(5));
        let pool = left.clone();
        let mut b = Budget::new(100).with_pool(Box::new(move |n| {
            pool.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(n)).is_ok()
        }));
        b.charge(5).unwrap();
        assert!(matches!(b.charge(1), Err(DecodeError::Overloaded)));
        assert_eq!(b.remaining(), 95, "a refused charge takes nothing");
        assert_eq!(left.load(Ordering::Relaxed), 0);
    }
}
