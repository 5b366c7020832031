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
pub const RETENTION_RUNS: &str = "tether_retention_runs_total";
pub const QUEUE_DEPTH: &str = "tether_ingest_queue_records";
/// Captured items waiting for their group commit, by kind (events, persons, chunks).
pub const CAPTURE_QUEUE_DEPTH: &str = "tether_capture_queue_items";
/// Requests on the public routes answered 503 because they ran past the request deadline.
pub const REQUESTS_TIMED_OUT: &str = "tether_requests_timed_out_total";
/// Requests refused because their project was over its rate, by kind (events, recordings).
pub const RATE_LIMITED: &str = "tether_requests_rate_limited_total";
/// Requests refused because the bytes in flight were at their bound.
pub const IN_FLIGHT_REFUSED: &str = "tether_requests_refused_in_flight_total";
/// Stack frames dropped from the middle of stacks deeper than the kept maximum.
pub const FRAMES_DROPPED: &str = "tether_exception_frames_dropped_total";
/// Bytes held by requests in flight (read bodies and what decoding them produced).
pub const IN_FLIGHT_BYTES: &str = "tether_in_flight_bytes";

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
    /// Retention runs that completed.
    pub retention_runs: AtomicU64,
    pub requests_timed_out: AtomicU64,
    /// Events, recordings.
    pub rate_limited: [AtomicU64; 2],
    pub in_flight_refused: AtomicU64,
    pub frames_dropped: AtomicU64,
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
    /// Prometheus text; `capture_queues` are (kind, items waiting) of the capture writers,
    /// `in_flight` the bytes requests hold now.
    pub fn render(&self, queue_depth: u64, capture_queues: &[(&str, u64)], in_flight: usize) -> String {
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
        counter(&mut out, RETENTION_RUNS, "Retention runs that completed.", &self.retention_runs);
        counter(
            &mut out,
            RETENTION_FAILED,
            "Retention runs that failed (retried next run).",
            &self.retention_failed,
        );
        counter(
            &mut out,
            REQUESTS_TIMED_OUT,
            "Public requests answered 503 past the request deadline.",
            &self.requests_timed_out,
        );
        counter(
            &mut out,
            IN_FLIGHT_REFUSED,
            "Requests answered 503 because the bytes in flight were at their bound.",
            &self.in_flight_refused,
        );
        counter(
            &mut out,
            FRAMES_DROPPED,
            "Stack frames dropped from the middle of very deep stacks.",
            &self.frames_dropped,
        );
        let name = RATE_LIMITED;
        let _ =
            writeln!(out, "# HELP {name} Requests refused over their project's rate.\n# TYPE {name} counter");
        for (kind, n) in ["events", "recordings"].iter().zip(&self.rate_limited) {
            let _ = writeln!(out, "{name}{{kind=\"{kind}\"}} {}", n.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP {IN_FLIGHT_BYTES} Bytes held by requests in flight.\n# TYPE {IN_FLIGHT_BYTES} gauge\n{IN_FLIGHT_BYTES} {in_flight}"
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
