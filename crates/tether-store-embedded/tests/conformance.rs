//! The storage conformance suite on the embedded backend (DuckDB + SQLite).

use std::sync::Arc;

use tether_store::conformance::Stores;
use tether_store_embedded::EmbeddedStores;

async fn make() -> Stores {
    let dir = tempfile::tempdir().expect("temp dir");
    let stores = EmbeddedStores::open(dir.path()).await.expect("open embedded stores");
    Stores {
        writer: stores.logs.clone(),
        logs: stores.logs as Arc<_>,
        meta: stores.meta,
        guard: Box::new(dir),
    }
}

tether_store::conformance_suite!(make);
