//! The log, event and recording index suites on ClickHouse. They need
//! `TETHER_TEST_CLICKHOUSE_URL`, the HTTP address of a ClickHouse server (or of the chDB
//! front-end `scripts/test` starts: `tests/clickhouse/chdb_http.py`). Each case gets a fresh
//! database of its own, created through the store's own startup path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tether_store::conformance::{EventStores, LogStores, RecordingStores};
use tether_store_clickhouse::ClickAnalytics;

async fn open() -> Arc<ClickAnalytics> {
    static CASE: AtomicU64 = AtomicU64::new(0);
    let server = std::env::var("TETHER_TEST_CLICKHOUSE_URL").expect(
        "TETHER_TEST_CLICKHOUSE_URL is not set: run scripts/test, or set it to a ClickHouse HTTP URL",
    );
    let mut url = url::Url::parse(&server).expect("TETHER_TEST_CLICKHOUSE_URL is a URL");
    let name = format!("conformance_{}_{}", std::process::id(), CASE.fetch_add(1, Ordering::Relaxed));
    url.query_pairs_mut().append_pair("database", &name);
    Arc::new(ClickAnalytics::connect(url.as_str()).await.expect("connect to ClickHouse"))
}

async fn logs() -> LogStores {
    let ch = open().await;
    LogStores { writer: ch.clone(), logs: ch, guard: Box::new(()) }
}

async fn events() -> EventStores {
    EventStores { events: open().await, guard: Box::new(()) }
}

async fn recordings() -> RecordingStores {
    let store = open().await;
    RecordingStores { index: store.clone(), events: store, guard: Box::new(()) }
}

tether_store::logs_suite!(logs, requires = "TETHER_TEST_CLICKHOUSE_URL");
tether_store::events_suite!(events, requires = "TETHER_TEST_CLICKHOUSE_URL");
tether_store::recordings_suite!(recordings, requires = "TETHER_TEST_CLICKHOUSE_URL");
