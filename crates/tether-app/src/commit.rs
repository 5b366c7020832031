//! Group commit: concurrent requests hand their items (log records, captured events)
//! to one writer task per kind, which commits everything waiting in a single transaction and
//! then answers each request. One durable sync serves many requests.
//!
//! Memory is bounded by a semaphore counting queued items: a request that does not fit is
//! refused at once (the caller answers 503 / UNAVAILABLE) rather than queued.
//!
//! A failed commit keeps its error kind for every waiter (an unavailable store is a 503
//! with `Retry-After`, not a 500) and is logged once. Where one request's items can make a
//! commit fail ([`OnFailure::RetryEachRequest`]: captured events, persons, recording
//! chunks), a group that fails for any reason but unavailability is retried one request at
//! a time, so one bad request does not sink the others in its group. Log records are
//! validated before they are queued, so a failed log commit is the store's and fails the
//! group ([`OnFailure::FailGroup`]), without keeping a copy of every record just in case
//! (that copy cost a fifth of ingest throughput).

use std::sync::Arc;

use futures::future::BoxFuture;
use tether_store::{ErrorKind, StoreError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Why a submission was not committed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("ingestion queue is full")]
    Overloaded,
    #[error("writer stopped")]
    Stopped,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Commits one group of items in one transaction.
pub type CommitFn<T> = Arc<dyn Fn(Vec<T>) -> BoxFuture<'static, Result<(), StoreError>> + Send + Sync>;

/// A store method committing a group (as `async_trait` methods return it).
pub type StoreMethod<S, T> = for<'a> fn(&'a S, Vec<T>) -> BoxFuture<'a, Result<(), StoreError>>;

/// Commits each group through one store method, e.g.
/// `commit_to(events, |store, events| store.append_events(events))`: captured events (the
/// store drops SDK retries by uuid) and person updates (in arrival order).
pub fn commit_to<S: ?Sized + Send + Sync + 'static, T: Send + 'static>(
    store: Arc<S>,
    commit: StoreMethod<S, T>,
) -> CommitFn<T> {
    Arc::new(move |items: Vec<T>| {
        let store = store.clone();
        Box::pin(async move { commit(&store, items).await })
    })
}

/// What a failed group commit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Every request of the group gets the error.
    FailGroup,
    /// Unless the store is unavailable, each request is committed again on its own.
    RetryEachRequest,
}

struct Job<T> {
    items: Vec<T>,
    permit: OwnedSemaphorePermit,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// Handle to a writer task. Cloning shares the same queue.
pub struct Batcher<T> {
    tx: mpsc::UnboundedSender<Job<T>>,
    permits: Arc<Semaphore>,
    capacity: usize,
}

impl<T> Clone for Batcher<T> {
    fn clone(&self) -> Self {
        Batcher { tx: self.tx.clone(), permits: self.permits.clone(), capacity: self.capacity }
    }
}

/// Tuning of the group commit.
#[derive(Debug, Clone, Copy)]
pub struct BatcherConfig {
    /// Records that may wait for the writer at once.
    pub queue_records: usize,
    /// The writer stops gathering more requests into one commit past this many records.
    pub max_commit_records: usize,
}

impl<T: Clone + Send + 'static> Batcher<T> {
    /// Starts the writer task. It ends after the [`Batcher`] handles are all dropped and the
    /// queue is drained; await the returned handle to know everything is committed.
    pub fn start(
        commit: CommitFn<T>,
        config: BatcherConfig,
        on_failure: OnFailure,
    ) -> (Batcher<T>, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let capacity = config.queue_records.max(1);
        let handle = tokio::spawn(run(rx, commit, config.max_commit_records.max(1), on_failure));
        (Batcher { tx, permits: Arc::new(Semaphore::new(capacity)), capacity }, handle)
    }

    /// Queues items and waits until they are durably committed.
    pub async fn submit(&self, items: Vec<T>) -> Result<(), SubmitError> {
        if items.is_empty() {
            return Ok(());
        }
        // A request larger than the whole queue takes the whole queue, never more.
        let wanted = items.len().min(self.capacity) as u32;
        let permit =
            self.permits.clone().try_acquire_many_owned(wanted).map_err(|_| SubmitError::Overloaded)?;
        let (done, wait) = oneshot::channel();
        self.tx.send(Job { items, permit, done }).map_err(|_| SubmitError::Stopped)?;
        match wait.await {
            Ok(result) => result.map_err(SubmitError::Store),
            Err(_) => Err(SubmitError::Stopped),
        }
    }

    /// Items currently waiting for the writer.
    pub fn queued(&self) -> u64 {
        (self.capacity - self.permits.available_permits()) as u64
    }
}

async fn run<T: Clone>(
    mut rx: mpsc::UnboundedReceiver<Job<T>>,
    commit: CommitFn<T>,
    max_items: usize,
    on_failure: OnFailure,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let mut total = jobs[0].items.len();
        while total < max_items {
            match rx.try_recv() {
                Ok(job) => {
                    total += job.items.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        // Only a group of several requests that may be retried alone keeps a copy of their
        // items; otherwise they are moved into the commit.
        let retry_alone = on_failure == OnFailure::RetryEachRequest && jobs.len() > 1;
        let mut items = Vec::with_capacity(total);
        for job in &mut jobs {
            if retry_alone {
                items.extend(job.items.iter().cloned());
            } else {
                items.append(&mut job.items);
            }
        }
        match commit(items).await {
            Err(e) if retry_alone && e.kind() != ErrorKind::Unavailable => {
                tracing::warn!(error = %e, items = total, requests = jobs.len(), "batch failed; retrying each request alone");
                for job in jobs {
                    let outcome = commit(job.items).await;
                    if let Err(e) = &outcome {
                        tracing::error!(error = %e, "failed to commit a request's items");
                    }
                    finish(job.done, job.permit, outcome);
                }
            }
            outcome => {
                match &outcome {
                    Err(e) if e.kind() == ErrorKind::Unavailable => {
                        tracing::warn!(error = %e, items = total, "storage unavailable; batch refused")
                    }
                    Err(e) => tracing::error!(error = %e, items = total, "failed to commit batch"),
                    Ok(()) => {}
                }
                for job in jobs {
                    finish(job.done, job.permit, outcome.clone());
                }
            }
        }
    }
}

/// Answers one waiter and frees its queue room.
fn finish(
    done: oneshot::Sender<Result<(), StoreError>>,
    permit: OwnedSemaphorePermit,
    outcome: Result<(), StoreError>,
) {
    drop(permit);
    // The requester may have gone away; the data is committed regardless.
    let _ = done.send(outcome);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Commits numbers; a group containing a negative one fails with `kind`.
    fn failing_on_negatives(kind: ErrorKind, commits: Commits) -> CommitFn<i64> {
        Arc::new(move |items: Vec<i64>| {
            let commits = commits.clone();
            Box::pin(async move {
                if items.iter().any(|n| *n < 0) {
                    return Err(StoreError::new(kind, "negative number"));
                }
                commits.lock().unwrap().push(items);
                Ok(())
            })
        })
    }

    const CONFIG: BatcherConfig = BatcherConfig { queue_records: 100, max_commit_records: 100 };

    type Commits = Arc<std::sync::Mutex<Vec<Vec<i64>>>>;

    /// A batcher over [`failing_on_negatives`], and what it committed.
    fn batcher(kind: ErrorKind, on_failure: OnFailure) -> (Batcher<i64>, Commits, JoinHandle<()>) {
        let commits = Commits::default();
        let (batcher, task) = Batcher::start(failing_on_negatives(kind, commits.clone()), CONFIG, on_failure);
        (batcher, commits, task)
    }

    #[tokio::test]
    async fn a_bad_request_fails_alone_and_keeps_its_error_kind() {
        let (batcher, commits, _task) = batcher(ErrorKind::InvalidInput, OnFailure::RetryEachRequest);
        let (a, bad, b) =
            tokio::join!(batcher.submit(vec![1, 2]), batcher.submit(vec![-1]), batcher.submit(vec![3]));
        assert!(a.is_ok() && b.is_ok());
        assert!(matches!(bad, Err(SubmitError::Store(e)) if e.kind() == ErrorKind::InvalidInput));
        let mut stored: Vec<i64> = commits.lock().unwrap().concat();
        stored.sort();
        assert_eq!(stored, [1, 2, 3], "the good requests of the failed group are committed");
    }

    #[tokio::test]
    async fn an_unavailable_store_answers_every_waiter_unavailable() {
        let (batcher, commits, _task) = batcher(ErrorKind::Unavailable, OnFailure::RetryEachRequest);
        let (a, b) = tokio::join!(batcher.submit(vec![1]), batcher.submit(vec![-1]));
        for result in [a, b] {
            assert!(matches!(result, Err(SubmitError::Store(e)) if e.kind() == ErrorKind::Unavailable));
        }
        assert!(commits.lock().unwrap().is_empty(), "no retry one by one while the store is down");
    }

    #[tokio::test]
    async fn a_failed_log_group_fails_every_request_with_its_kind() {
        let (batcher, _commits, _task) = batcher(ErrorKind::Internal, OnFailure::FailGroup);
        let (a, b) = tokio::join!(batcher.submit(vec![1]), batcher.submit(vec![-1]));
        assert!(matches!(a, Err(SubmitError::Store(e)) if e.kind() == ErrorKind::Internal));
        assert!(b.is_err());
    }
}
