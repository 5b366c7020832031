//! The embedded backend: everything in one data directory, nothing else to run.
//! DuckDB holds logs, events, exceptions and the recording index (columnar, compressed,
//! fast scans); SQLite holds metadata (projects, keys, issues, persons) with row-level
//! transactions; recording chunks are files under `blobs/`.
//!
//! Owns: all SQL of the embedded backend and its migrations. Must not contain: HTTP,
//! decoding, or policy (auth decisions are the server's).

mod blobs;
mod duck;
mod people;
mod sqlite;
mod users;

use std::path::Path;
use std::sync::Arc;

pub use blobs::LocalBlobs;
pub use duck::DuckAnalytics;
pub use sqlite::SqliteMeta;
use tether_store::StoreResult;

/// The embedded stores of one data directory.
#[derive(Clone)]
pub struct EmbeddedStores {
    pub logs: Arc<DuckAnalytics>,
    pub meta: Arc<SqliteMeta>,
}

impl EmbeddedStores {
    /// Opens (creating and migrating as needed) the stores under `data_dir`.
    pub async fn open(data_dir: &Path) -> StoreResult<EmbeddedStores> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            tether_store::StoreError::internal(&format!("cannot create {}", data_dir.display()), e)
        })?;
        let blobs = Arc::new(LocalBlobs::new(&data_dir.join("blobs")));
        let logs = DuckAnalytics::open(&data_dir.join("analytics.duckdb"), blobs).await?;
        let meta = SqliteMeta::open(&data_dir.join("metadata.sqlite")).await?;
        Ok(EmbeddedStores { logs: Arc::new(logs), meta: Arc::new(meta) })
    }
}
