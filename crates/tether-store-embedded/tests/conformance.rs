//! The storage conformance suite on the embedded backend (DuckDB + SQLite + local blobs).

use tether_store::conformance::Stores;
use tether_store_embedded::EmbeddedStores;

async fn make() -> Stores {
    let dir = tempfile::tempdir().expect("temp dir");
    let stores = EmbeddedStores::open(dir.path()).await.expect("open embedded stores");
    Stores {
        writer: stores.logs.clone(),
        logs: stores.logs.clone(),
        meta: stores.meta.clone(),
        events: stores.logs.clone(),
        recordings: stores.logs,
        issues: stores.meta.clone(),
        persons: stores.meta.clone(),
        users: stores.meta,
        guard: Box::new(dir),
    }
}

tether_store::conformance_suite!(make);
