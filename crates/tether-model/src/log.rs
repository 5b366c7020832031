//! The normalized log record: what ingestion produces and every store keeps.

use std::sync::Arc;

use crate::{Attributes, Severity};

/// A project's numeric id; every stored row carries one.
pub type ProjectId = i64;

/// A log's id: minted by [`LogIdGen`] when its batch is committed, unique across every
/// process writing to the same stores, and roughly the time it was minted, so it doubles as
/// the live-tail cursor ("what arrived since").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogId(pub i64);

/// How many node numbers ids can tell apart (the low bits of an id).
pub const LOG_ID_NODES: i64 = 1024;

impl LogId {
    /// The smallest id minted at `unix_us` microseconds: a cursor meaning "from then on".
    pub fn at_micros(unix_us: i64) -> LogId {
        LogId(unix_us.saturating_mul(LOG_ID_NODES))
    }

    /// The microsecond this id was minted at (or borrowed, in a burst).
    pub fn micros(self) -> i64 {
        self.0.div_euclid(LOG_ID_NODES)
    }
}

/// Mints log ids as `microsecond × 1024 + node`. Each process has its own node number
/// (handed out by the metadata store, so two live processes never share one) and mints at
/// most one id per microsecond, taking the next microseconds in a burst. Ids of two
/// processes therefore never collide, and ids of one process increase even across a
/// restart (a restart also gets a new node number, which covers a clock set back).
#[derive(Debug)]
pub struct LogIdGen {
    node: i64,
    last_us: std::sync::atomic::AtomicI64,
}

impl LogIdGen {
    /// A generator for `node` (taken modulo [`LOG_ID_NODES`]).
    pub fn new(node: i64) -> LogIdGen {
        LogIdGen { node: node.rem_euclid(LOG_ID_NODES), last_us: std::sync::atomic::AtomicI64::new(0) }
    }

    /// `n` new ids, increasing.
    pub fn mint(&self, n: usize) -> Vec<LogId> {
        use std::sync::atomic::Ordering;
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        let count = n as i64;
        let prev = self
            .last_us
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| Some(last.max(now_us - 1) + count))
            .unwrap_or_else(|last| last);
        let first = prev.max(now_us - 1) + 1;
        (0..count).map(|i| LogId((first + i).saturating_mul(LOG_ID_NODES) + self.node)).collect()
    }
}

/// One log record after decoding and normalization.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    pub project_id: ProjectId,
    /// Unix nanoseconds of the event; the observed time when the sender left it 0.
    pub timestamp_ns: i64,
    /// Unix nanoseconds when it was observed (by the sender's SDK/collector, else by us).
    pub observed_timestamp_ns: i64,
    pub severity: Severity,
    /// The sender's severity text, kept as sent.
    pub severity_text: String,
    /// The sender's severity number (0 when unset).
    pub severity_number: i32,
    /// Resource attribute `service.name`, or "" when absent.
    pub service: String,
    /// A string body as is; a structured body as JSON text.
    pub body: String,
    /// Resolved session id (see [`crate::resolve_session_id`]).
    pub session_id: Option<String>,
    /// Resolved person distinct id (see [`crate::resolve_distinct_id`]).
    pub distinct_id: Option<String>,
    /// Lowercase hex, 32 characters, or empty.
    pub trace_id: String,
    /// Lowercase hex, 16 characters, or empty.
    pub span_id: String,
    pub trace_flags: u32,
    pub event_name: String,
    pub scope_name: String,
    pub scope_version: String,
    pub attributes: Attributes,
    /// Shared by every record of one resource (and scope): ingestion allocates them once.
    pub resource_attributes: Arc<Attributes>,
    pub scope_attributes: Arc<Attributes>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_two_nodes_never_collide_and_each_increases() {
        let (a, b) = (LogIdGen::new(1), LogIdGen::new(2));
        let mut all = std::collections::HashSet::new();
        for _ in 0..100 {
            let (xs, ys) = (a.mint(50), b.mint(50));
            assert!(xs.windows(2).all(|w| w[0] < w[1]));
            assert!(ys.windows(2).all(|w| w[0] < w[1]));
            for id in xs.iter().chain(&ys) {
                assert!(all.insert(*id), "duplicate id {id:?}");
            }
        }
        let later = a.mint(1)[0];
        assert!(all.iter().filter(|id| id.0 % LOG_ID_NODES == 1).all(|id| *id < later));
    }

    #[test]
    fn ids_are_close_to_the_time_they_were_minted() {
        let now_us =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64;
        let id = LogIdGen::new(7).mint(1)[0];
        assert!((id.micros() - now_us).abs() < 1_000_000);
        assert_eq!(id.0 % LOG_ID_NODES, 7);
        assert!(LogId::at_micros(now_us - 1) < id);
    }
}
