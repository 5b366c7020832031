//! The log, event and recording index suites on DuckDB (metadata and blobs run theirs in
//! `tether-store-sql` and `tether-store-blob`).

use std::sync::Arc;

use tether_store::conformance::{EventStores, LogStores, RecordingStores};
use tether_store_embedded::DuckAnalytics;

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

/// The log suite again with the indexes committed after every append, so each case also
/// reads through the id index (committed about once a second, see `id_index`) and not only
/// the logs above its watermark, which the suite above reads right after appending.
mod indexed {
    use std::sync::Arc;

    use async_trait::async_trait;
    use tether_model::ProjectId;
    use tether_store::conformance::LogStores;
    use tether_store::{LogWriter, StoreResult, StoredLog};
    use tether_store_embedded::DuckAnalytics;

    struct Committed(Arc<DuckAnalytics>);

    #[async_trait]
    impl LogWriter for Committed {
        async fn append_logs(&self, logs: Vec<StoredLog>) -> StoreResult<()> {
            self.0.append_logs(logs).await?;
            self.0.checkpoint().await
        }

        async fn delete_logs_before(&self, project_id: ProjectId, before_ns: i64) -> StoreResult<u64> {
            self.0.delete_logs_before(project_id, before_ns).await
        }
    }

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
    use std::sync::Arc;

    use async_trait::async_trait;
    use tether_model::ProjectId;
    use tether_store::conformance::LogStores;
    use tether_store::{LogWriter, StoreResult, StoredLog};
    use tether_store_embedded::{RowSettings, RowStore};

    async fn open() -> (RowStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = RowStore::open(
            &dir.path().join("logs"),
            RowSettings { segment_blocks: 2, ..RowSettings::default() },
        )
        .await
        .expect("open");
        (store, dir)
    }

    async fn logs() -> LogStores {
        let (store, dir) = open().await;
        LogStores { writer: Arc::new(store.clone()), logs: Arc::new(store), guard: Box::new(dir) }
    }

    tether_store::logs_suite!(logs);

    mod indexed {
        use super::*;

        struct Committed(RowStore);

        #[async_trait]
        impl LogWriter for Committed {
            async fn append_logs(&self, logs: Vec<StoredLog>) -> StoreResult<()> {
                self.0.append_logs(logs).await?;
                self.0.checkpoint().await
            }

            async fn delete_logs_before(&self, project_id: ProjectId, before_ns: i64) -> StoreResult<u64> {
                self.0.delete_logs_before(project_id, before_ns).await
            }
        }

        async fn logs() -> LogStores {
            let (store, dir) = open().await;
            LogStores {
                writer: Arc::new(Committed(store.clone())),
                logs: Arc::new(store),
                guard: Box::new(dir),
            }
        }

        tether_store::logs_suite!(logs);
    }
}
