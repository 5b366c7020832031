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
    RecordingStores { index: duck, guard: Box::new(dir) }
}

tether_store::logs_suite!(logs);
tether_store::events_suite!(events);
tether_store::recordings_suite!(recordings);
