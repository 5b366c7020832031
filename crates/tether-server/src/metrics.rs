//! Process metrics in the Prometheus text format. Metric names are defined here only.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub const RECORDS_INGESTED: &str = "tether_log_records_ingested_total";
pub const RECORDS_REJECTED: &str = "tether_log_records_rejected_total";
pub const REQUESTS_REJECTED: &str = "tether_ingest_requests_rejected_total";
pub const BATCH_COMMIT_SECONDS: &str = "tether_batch_commit_seconds";
pub const BATCHES_FAILED: &str = "tether_batches_failed_total";
pub const LOGINS_FAILED: &str = "tether_logins_failed_total";
pub const LOGINS_THROTTLED: &str = "tether_logins_throttled_total";
/// Rows deleted by retention, by kind (logs, events, recordings).
pub const RETENTION_DELETED: &str = "tether_retention_deleted_total";
pub const RETENTION_FAILED: &str = "tether_retention_runs_failed_total";
pub const QUEUE_DEPTH: &str = "tether_ingest_queue_records";
/// Captured items waiting for their group commit, by kind (events, persons, chunks).
pub const CAPTURE_QUEUE_DEPTH: &str = "tether_capture_queue_items";

/// Upper bounds (seconds) of the commit latency histogram buckets.
const LATENCY_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Counters shared by the ingest path and the writer.
#[derive(Default)]
pub struct Metrics {
    pub records_ingested: AtomicU64,
    pub records_rejected: AtomicU64,
    pub requests_rejected: AtomicU64,
    pub batches_failed: AtomicU64,
    pub logins_failed: AtomicU64,
    pub logins_throttled: AtomicU64,
    /// Logs, events (with exceptions) and recorded sessions deleted by retention.
    pub retention_deleted: [AtomicU64; 3],
    pub retention_failed: AtomicU64,
    commit_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    commit_count: AtomicU64,
    commit_micros_sum: AtomicU64,
}

impl Metrics {
    pub fn observe_commit(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.commit_buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.commit_count.fetch_add(1, Ordering::Relaxed);
        self.commit_micros_sum.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// Renders every metric; `queue_depth` is read from the writer at scrape time.
    /// Prometheus text; `capture_queues` are (kind, items waiting) of the capture writers.
    pub fn render(&self, queue_depth: u64, capture_queues: &[(&str, u64)]) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        };
        counter(&mut out, RECORDS_INGESTED, "Log records committed to storage.", &self.records_ingested);
        counter(
            &mut out,
            RECORDS_REJECTED,
            "Log records refused (invalid, too large, or not stored).",
            &self.records_rejected,
        );
        counter(
            &mut out,
            REQUESTS_REJECTED,
            "Ingest requests answered with an error.",
            &self.requests_rejected,
        );
        counter(&mut out, BATCHES_FAILED, "Group commits that failed.", &self.batches_failed);
        counter(
            &mut out,
            LOGINS_FAILED,
            "Logins refused for a wrong username or password.",
            &self.logins_failed,
        );
        counter(
            &mut out,
            LOGINS_THROTTLED,
            "Logins answered 429 after too many failures.",
            &self.logins_throttled,
        );
        counter(
            &mut out,
            RETENTION_FAILED,
            "Retention runs that failed (retried next run).",
            &self.retention_failed,
        );
        let name = RETENTION_DELETED;
        let _ = writeln!(out, "# HELP {name} Data deleted by retention.\n# TYPE {name} counter");
        for (kind, n) in ["logs", "events", "recordings"].iter().zip(&self.retention_deleted) {
            let _ = writeln!(out, "{name}{{kind=\"{kind}\"}} {}", n.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP {QUEUE_DEPTH} Log records waiting for the writer.\n# TYPE {QUEUE_DEPTH} gauge\n{QUEUE_DEPTH} {queue_depth}"
        );
        let name = CAPTURE_QUEUE_DEPTH;
        let _ = writeln!(out, "# HELP {name} Captured items waiting for their writer.\n# TYPE {name} gauge");
        for (kind, items) in capture_queues {
            let _ = writeln!(out, "{name}{{kind=\"{kind}\"}} {items}");
        }
        let name = BATCH_COMMIT_SECONDS;
        let _ = writeln!(out, "# HELP {name} Time to commit one group of batches.\n# TYPE {name} histogram");
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.commit_buckets) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", bucket.load(Ordering::Relaxed));
        }
        let count = self.commit_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.commit_micros_sum.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
        out
    }
}
