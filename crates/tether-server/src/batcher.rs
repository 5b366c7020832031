//! The server's side of the group commit (`tether_app::commit`): log records committed
//! under ids minted just before, with their metrics.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tether_model::{LogIdGen, LogRecord};
use tether_store::{LogWriter, StoredLog};

pub(crate) use tether_app::commit::{Batcher, CommitFn, OnFailure, commit_to};

use crate::metrics::Metrics;

/// Log records into the log writer under ids minted just before the commit (so an id is
/// close to when its log became visible, which live tail relies on), with commit latency
/// and counts in the metrics.
pub(crate) fn commit_logs(
    writer: Arc<dyn LogWriter>,
    ids: Arc<LogIdGen>,
    metrics: Arc<Metrics>,
) -> CommitFn<LogRecord> {
    Arc::new(move |records: Vec<LogRecord>| {
        let (writer, ids, metrics) = (writer.clone(), ids.clone(), metrics.clone());
        Box::pin(async move {
            let count = records.len() as u64;
            let started = Instant::now();
            let logs =
                ids.mint(records.len()).into_iter().zip(records).map(|(id, record)| StoredLog { id, record });
            let result = writer.append_logs(logs.collect()).await;
            metrics.observe_commit(started.elapsed());
            match &result {
                Ok(_) => metrics.records_ingested.fetch_add(count, Ordering::Relaxed),
                Err(_) => metrics.batches_failed.fetch_add(1, Ordering::Relaxed),
            };
            result.map(drop)
        })
    })
}
