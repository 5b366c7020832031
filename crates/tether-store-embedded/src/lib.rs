//! The embedded backend: everything in one data directory, nothing else to run. Logs are
//! in the row store (`logs/`, read by position, found by its indexes; in DuckDB with
//! `embedded_logs = "duckdb"`); DuckDB holds events, exceptions and the recording index
//! (columnar, compressed, fast scans); metadata is SQLite (`tether-store-sql`); recording
//! bytes are files under `blobs/` (`tether-store-blob` on a local folder).
//!
//! Owns: the DuckDB SQL and its migrations, and how one data directory is laid out. Must
//! not contain: HTTP, decoding, or policy (auth decisions are the server's).

mod duck;
mod facet_tally;
mod id_index;
mod move_logs;
mod rows;
mod text_index;

use std::path::Path;
use std::sync::Arc;

pub use duck::{DEFAULT_MEMORY_LIMIT as DEFAULT_DUCKDB_MEMORY, DuckAnalytics};
pub use move_logs::move_duckdb_logs;
pub use rows::{RowStore, Settings as RowSettings};
use tether_store::{StoreError, StoreResult};
use tether_store_blob::ObjectBlobs;
use tether_store_sql::SqlMeta;

/// Where each embedded store lives inside a data directory.
pub mod layout {
    pub const ANALYTICS: &str = "analytics.duckdb";
    pub const METADATA: &str = "metadata.sqlite";
    pub const BLOBS: &str = "blobs";
    /// The row store's logs (see `RowStore`), when the server keeps logs there.
    pub const LOGS: &str = "logs";
}

/// The embedded stores of one data directory.
#[derive(Clone)]
pub struct EmbeddedStores {
    pub analytics: Arc<DuckAnalytics>,
    pub meta: Arc<SqlMeta>,
    pub blobs: Arc<ObjectBlobs>,
}

impl EmbeddedStores {
    /// Opens (creating and migrating as needed) the stores under `data_dir`.
    pub async fn open(data_dir: &Path) -> StoreResult<EmbeddedStores> {
        create_dir(data_dir)?;
        Ok(EmbeddedStores {
            analytics: Arc::new(DuckAnalytics::open(&data_dir.join(layout::ANALYTICS)).await?),
            meta: Arc::new(SqlMeta::open_sqlite(&data_dir.join(layout::METADATA)).await?),
            blobs: Arc::new(local_blobs(data_dir)?),
        })
    }
}

/// The blob folder of a data directory.
pub fn local_blobs(data_dir: &Path) -> StoreResult<ObjectBlobs> {
    let dir = std::path::absolute(data_dir.join(layout::BLOBS))
        .map_err(|e| StoreError::internal("cannot resolve the data directory", e))?;
    ObjectBlobs::from_url(&format!("file://{}", dir.display()), &[])
}

/// Creates the data directory if it is missing.
pub fn create_dir(data_dir: &Path) -> StoreResult<()> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| StoreError::internal(&format!("cannot create {}", data_dir.display()), e))
}
