//! The embedded backend: everything in one data directory, nothing else to run.
//! DuckDB holds logs (columnar, compressed, fast scans); SQLite holds metadata
//! (projects, keys) with row-level transactions.
//!
//! Owns: all SQL of the embedded backend and its migrations. Must not contain: HTTP,
//! decoding, or policy (auth decisions are the server's).

mod duck;
mod sqlite;

use std::path::Path;
use std::sync::Arc;

pub use duck::DuckLogs;
pub use sqlite::SqliteMeta;
use tether_store::StoreResult;

/// The embedded stores of one data directory.
#[derive(Clone)]
pub struct EmbeddedStores {
    pub logs: Arc<DuckLogs>,
    pub meta: Arc<SqliteMeta>,
}

impl EmbeddedStores {
    /// Opens (creating and migrating as needed) the stores under `data_dir`.
    pub async fn open(data_dir: &Path) -> StoreResult<EmbeddedStores> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            tether_store::StoreError::internal(&format!("cannot create {}", data_dir.display()), e)
        })?;
        let logs = DuckLogs::open(&data_dir.join("analytics.duckdb")).await?;
        let meta = SqliteMeta::open(&data_dir.join("metadata.sqlite")).await?;
        Ok(EmbeddedStores { logs: Arc::new(logs), meta: Arc::new(meta) })
    }
}
