//! The log traits on the row store: each call runs on a blocking thread over the view of
//! its project taken when it starts.

use std::sync::Arc;

use async_trait::async_trait;
use tether_model::{LogId, ProjectId};
use tether_store::{
    Breakdown, Facets, Histogram, LogFilter, LogPage, LogQuery, LogReader, LogSample, LogSummary, LogWriter,
    ServiceLinking, SessionHit, StoreError, StoreResult, StoredLog,
};

use super::read::Reading;
use super::{Rows, Settings};

/// The log store of a data directory without DuckDB (see the module's docs). Cloning
/// shares it.
#[derive(Clone)]
pub struct RowStore(Arc<Rows>);

impl RowStore {
    /// Opens (or creates) the store in `dir`.
    pub async fn open(dir: &std::path::Path, settings: Settings) -> StoreResult<RowStore> {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || Rows::open(&dir, settings).map(|rows| RowStore(Arc::new(rows))))
            .await
            .map_err(|e| StoreError::internal("log store open task failed", e))?
    }

    /// Commits the id index (it commits about once a second by itself): what tests and
    /// benchmarks call to read through the index's files rather than its memory.
    pub async fn checkpoint(&self) -> StoreResult<()> {
        let rows = self.0.clone();
        tokio::task::spawn_blocking(move || rows.ids.commit())
            .await
            .map_err(|e| StoreError::internal("index commit task failed", e))?
            .map_err(|e| StoreError::internal("cannot commit the id index", e))
    }
}

impl Rows {
    /// Runs `f` on a blocking thread with a [`Reading`] of `filter` (`empty` when the
    /// project has no logs).
    async fn reading<T, F>(self: &Arc<Self>, filter: LogFilter, empty: T, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Reading) -> StoreResult<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let Some(view) = store.view(filter.project_id) else { return Ok(empty) };
            f(&Reading::new(&store, &view, &filter)?)
        })
        .await
        .map_err(|e| StoreError::internal("log read task failed", e))?
    }
}

#[async_trait]
impl LogWriter for RowStore {
    async fn append_logs(&self, logs: Vec<StoredLog>) -> StoreResult<()> {
        if logs.is_empty() {
            return Ok(());
        }
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || store.append(logs))
            .await
            .map_err(|e| StoreError::internal("log append task failed", e))?
    }

    async fn delete_logs_before(&self, project_id: ProjectId, before_ns: i64) -> StoreResult<u64> {
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || store.delete_before(project_id, before_ns))
            .await
            .map_err(|e| StoreError::internal("log deletion task failed", e))?
    }
}

#[async_trait]
impl LogReader for RowStore {
    async fn search(&self, query: LogQuery) -> StoreResult<LogPage> {
        let LogQuery { filter, limit, after } = query;
        let empty = LogPage { logs: Vec::new(), next: None };
        self.0.reading(filter, empty, move |r| r.search(limit, after)).await
    }

    async fn get(&self, project_id: ProjectId, id: LogId) -> StoreResult<Option<StoredLog>> {
        let filter = LogFilter::new(project_id, i64::MIN, i64::MAX);
        self.0.reading(filter, None, move |r| r.get(id)).await
    }

    async fn histogram(
        &self,
        filter: LogFilter,
        bucket_ns: i64,
        breakdown: Breakdown,
    ) -> StoreResult<Histogram> {
        tether_store::check_bucket_width(bucket_ns)?;
        self.0.reading(filter, Histogram::default(), move |r| r.histogram(bucket_ns, breakdown)).await
    }

    async fn facets(&self, filter: LogFilter, max_keys: usize, max_values: usize) -> StoreResult<Facets> {
        self.0.reading(filter, Facets::default(), move |r| r.facets(max_keys, max_values)).await
    }

    async fn summary(&self, filter: LogFilter) -> StoreResult<LogSummary> {
        self.0.reading(filter, LogSummary::default(), |r| r.summary()).await
    }

    async fn sample(&self, filter: LogFilter, keep: u32, limit: usize) -> StoreResult<Vec<LogSample>> {
        self.0.reading(filter, Vec::new(), move |r| r.sample(keep, limit)).await
    }

    async fn sessions(&self, filter: LogFilter, limit: usize) -> StoreResult<Vec<SessionHit>> {
        self.0.reading(filter, Vec::new(), move |r| r.sessions(limit)).await
    }

    async fn linking(&self, filter: LogFilter) -> StoreResult<Vec<ServiceLinking>> {
        self.0.reading(filter, Vec::new(), |r| r.linking()).await
    }

    async fn tail(&self, filter: LogFilter, after: LogId, limit: usize) -> StoreResult<Vec<StoredLog>> {
        self.0.reading(filter, Vec::new(), move |r| r.tail(after, limit)).await
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}
