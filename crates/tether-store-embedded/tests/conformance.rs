//! The log, event and recording index suites on DuckDB, and the log suites on the row
//! store (metadata and blobs run theirs in `tether-store-sql` and `tether-store-blob`).

use std::sync::Arc;

use async_trait::async_trait;
use tether_model::ProjectId;
use tether_store::conformance::{EventStores, LogStores, RecordingStores};
use tether_store::{LogWriter, StoreResult, StoredLog};
use tether_store_embedded::{DuckAnalytics, RowSettings, RowStore};

async fn open() -> (Arc<DuckAnalytics>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let duck = DuckAnalytics::open(&dir.path().join("analytics.duckdb")).await.expect("open DuckDB");
    (Arc::new(duck), dir)
}

async fn logs() -> LogStores {
    let (duck, dir) = open().await;
    LogStores { writer: duck.clone(), logs: duck, guard: Box::new(dir) }
}

async fn events() -> EventStores {
    let (duck, dir) = open().await;
    EventStores { events: duck, guard: Box::new(dir) }
}

async fn recordings() -> RecordingStores {
    let (duck, dir) = open().await;
    RecordingStores { index: duck.clone(), events: duck, guard: Box::new(dir) }
}

tether_store::logs_suite!(logs);
tether_store::events_suite!(events);
tether_store::recordings_suite!(recordings);

/// A log writer that commits its store's indexes after every append, so a suite's cases
/// also read through the id index (committed about once a second, see `id_index`) and not
/// only the logs above its watermark, which the plain suites read right after appending.
struct Committed<S>(Arc<S>);

/// A store whose indexes can be committed now.
#[async_trait]
trait Checkpoint {
    async fn checkpoint(&self) -> StoreResult<()>;
}

#[async_trait]
impl Checkpoint for DuckAnalytics {
    async fn checkpoint(&self) -> StoreResult<()> {
        DuckAnalytics::checkpoint(self).await
    }
}

#[async_trait]
impl Checkpoint for RowStore {
    async fn checkpoint(&self) -> StoreResult<()> {
        RowStore::checkpoint(self).await
    }
}

#[async_trait]
impl<S: LogWriter + Checkpoint> LogWriter for Committed<S> {
    async fn append_logs(&self, logs: Vec<StoredLog>) -> StoreResult<()> {
        self.0.append_logs(logs).await?;
        self.0.checkpoint().await
    }

    async fn delete_logs_before(&self, project_id: ProjectId, before_ns: i64) -> StoreResult<u64> {
        self.0.delete_logs_before(project_id, before_ns).await
    }
}

/// The log suite on DuckDB with the indexes committed after every append.
mod indexed {
    use super::*;

    async fn logs() -> LogStores {
        let (duck, dir) = super::open().await;
        LogStores { writer: Arc::new(Committed(duck.clone())), logs: duck, guard: Box::new(dir) }
    }

    tether_store::logs_suite!(logs);
}

/// The log suites on the row store, with segments of two blocks (64 logs) so that cases
/// write segment files and restart the write-ahead file, not only the open segment; and
/// again with the id index committed after every append.
mod rows {
    use super::*;

    async fn open() -> (RowStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = RowSettings { segment_blocks: 2, ..RowSettings::default() };
        let store = RowStore::open(&dir.path().join("logs"), settings).await.expect("open");
        (store, dir)
    }

    async fn logs() -> LogStores {
        let (store, dir) = open().await;
        LogStores { writer: Arc::new(store.clone()), logs: Arc::new(store), guard: Box::new(dir) }
    }

    tether_store::logs_suite!(logs);

    mod indexed {
        use super::*;

        async fn logs() -> LogStores {
            let (store, dir) = open().await;
            LogStores {
                writer: Arc::new(Committed(Arc::new(store.clone()))),
                logs: Arc::new(store),
                guard: Box::new(dir),
            }
        }

        tether_store::logs_suite!(logs);
    }
}
