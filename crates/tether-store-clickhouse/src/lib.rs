//! Logs, events, exceptions and the recording index in ClickHouse, through the official
//! `clickhouse` crate (the HTTP interface). Several Tether processes can share one
//! ClickHouse: nothing here keeps state between calls but the connection pool.
//!
//! Durability: a write returns Ok only after ClickHouse answered its `INSERT` (rows are in a
//! part on the server; on a cluster, `insert_quorum` decides on how many replicas). Writes
//! are whole group commits from the server's batcher, one `INSERT` each, so parts stay large
//! without `async_insert`.

mod attrs;
mod capture;
mod expire;
mod logs;
mod options;
mod schema;
mod sql;

use std::time::Duration;

pub use options::ClickHouseOptions;
use tether_store::{StoreError, StoreResult};

/// The analytics stores ([`tether_store::LogWriter`], [`tether_store::LogReader`],
/// [`tether_store::EventStore`], [`tether_store::RecordingIndex`]) on one ClickHouse database.
#[derive(Clone)]
pub struct ClickAnalytics {
    client: clickhouse::Client,
    options: ClickHouseOptions,
    described: String,
}

/// How long a request may take before it counts as the server being unavailable.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

impl ClickAnalytics {
    /// Connects to the server named by `url` (see [`ClickHouseOptions::from_url`]), creates
    /// the database and tables if missing, and brings the schema to the current version.
    pub async fn connect(url: &str) -> StoreResult<ClickAnalytics> {
        let options = ClickHouseOptions::from_url(url)?;
        let server = options.client(None);
        sql::run(server.query(&schema::create_database(&options))).await?;
        let client = options.client(Some(&options.database));
        schema::migrate(&client, &options).await?;
        Ok(ClickAnalytics { client, described: options.describe(), options })
    }

    /// The server and database, without credentials (for the banner and messages).
    pub fn describe(&self) -> &str {
        &self.described
    }

    /// The rows of `sql` with the values of `w` bound.
    async fn rows<T: clickhouse::RowOwned + clickhouse::RowRead>(
        &self,
        sql: &str,
        w: &sql::Where,
    ) -> StoreResult<Vec<T>> {
        sql::fetch(sql::query(&self.client, sql, w.binds())).await
    }

    /// Answers when the server does.
    pub async fn ping(&self) -> StoreResult<()> {
        sql::run(self.client.query("SELECT 1")).await
    }
}

fn timed_out(context: &str) -> StoreError {
    StoreError::new(
        tether_store::ErrorKind::Unavailable,
        format!("{context}: ClickHouse did not answer within {} s", QUERY_TIMEOUT.as_secs()),
    )
}
