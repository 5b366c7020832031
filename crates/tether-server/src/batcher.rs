//! Group commit: concurrent ingest requests hand their records to one writer task, which
//! commits everything waiting in a single transaction and then answers each request.
//!
//! Memory is bounded by a semaphore counting queued records: a request that does not fit
//! is refused at once (the caller answers 503 / UNAVAILABLE) rather than queued.

use std::sync::Arc;
use std::time::Instant;

use tether_model::LogRecord;
use tether_store::{LogWriter, StoreError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::metrics::Metrics;

/// Why a submission was not committed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SubmitError {
    #[error("ingestion queue is full")]
    Overloaded,
    #[error("writer stopped")]
    Stopped,
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Job {
    records: Vec<LogRecord>,
    permit: OwnedSemaphorePermit,
    done: oneshot::Sender<Result<(), String>>,
}

/// Handle to the writer task. Cloning shares the same queue.
#[derive(Clone)]
pub(crate) struct Batcher {
    tx: mpsc::UnboundedSender<Job>,
    permits: Arc<Semaphore>,
    capacity: usize,
}

/// Tuning of the group commit.
#[derive(Debug, Clone, Copy)]
pub struct BatcherConfig {
    /// Records that may wait for the writer at once.
    pub queue_records: usize,
    /// The writer stops gathering more requests into one commit past this many records.
    pub max_commit_records: usize,
}

impl Batcher {
    /// Starts the writer task. It ends after [`Batcher`] handles are all dropped and the
    /// queue is drained; await the returned handle to know everything is committed.
    pub(crate) fn start(
        writer: Arc<dyn LogWriter>,
        metrics: Arc<Metrics>,
        config: BatcherConfig,
    ) -> (Batcher, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let capacity = config.queue_records.max(1);
        let handle = tokio::spawn(run(rx, writer, metrics, config.max_commit_records.max(1)));
        (Batcher { tx, permits: Arc::new(Semaphore::new(capacity)), capacity }, handle)
    }

    /// Queues records and waits until they are durably committed.
    pub(crate) async fn submit(&self, records: Vec<LogRecord>) -> Result<(), SubmitError> {
        if records.is_empty() {
            return Ok(());
        }
        // A request larger than the whole queue takes the whole queue, never more.
        let wanted = records.len().min(self.capacity) as u32;
        let permit =
            self.permits.clone().try_acquire_many_owned(wanted).map_err(|_| SubmitError::Overloaded)?;
        let (done, wait) = oneshot::channel();
        self.tx.send(Job { records, permit, done }).map_err(|_| SubmitError::Stopped)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => {
                Err(SubmitError::Store(StoreError::new(tether_store::ErrorKind::Internal, message)))
            }
            Err(_) => Err(SubmitError::Stopped),
        }
    }

    /// Records currently waiting for the writer.
    pub(crate) fn queued_records(&self) -> u64 {
        (self.capacity - self.permits.available_permits()) as u64
    }
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<Job>,
    writer: Arc<dyn LogWriter>,
    metrics: Arc<Metrics>,
    max_records: usize,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let mut total = jobs[0].records.len();
        while total < max_records {
            match rx.try_recv() {
                Ok(job) => {
                    total += job.records.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let mut records = Vec::with_capacity(total);
        let mut waiters = Vec::with_capacity(jobs.len());
        for job in jobs {
            records.extend(job.records);
            waiters.push((job.done, job.permit));
        }
        let started = Instant::now();
        let result = writer.append_logs(records).await;
        metrics.observe_commit(started.elapsed());
        let outcome = match result {
            Ok(_) => {
                metrics.records_ingested.fetch_add(total as u64, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, records = total, "failed to commit batch");
                metrics.batches_failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Err(e.to_string())
            }
        };
        for (done, permit) in waiters {
            drop(permit);
            // The requester may have gone away; the data is committed regardless.
            let _ = done.send(outcome.clone());
        }
    }
}
