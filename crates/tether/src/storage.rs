//! The storage factory: builds every store the server needs from `[storage]`, each
//! backend chosen by its URL and the embedded one (in `data_dir`) where none is set.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tether_server::Stores;
use tether_store::BlobStore;
use tether_store_blob::ObjectBlobs;
use tether_store_clickhouse::ClickAnalytics;
use tether_store_embedded::{DuckAnalytics, RowSettings, RowStore, layout, move_duckdb_logs};
use tether_store_sql::SqlMeta;

use crate::config::{Config, EmbeddedLogs};

/// Metadata connections one Tether process keeps to PostgreSQL.
const POSTGRES_CONNECTIONS: u32 = 16;

/// The open stores, what they are (for the banner), and what to do at shutdown.
pub(crate) struct Storage {
    pub stores: Stores,
    /// (what, where) for each store, credentials left out.
    pub described: Vec<(&'static str, String)>,
    /// The embedded analytics store, checkpointed at shutdown (none on ClickHouse).
    duck: Option<Arc<DuckAnalytics>>,
    /// Whether any store keeps its files in `data_dir`.
    pub uses_data_dir: bool,
}

/// The metadata store `config` names (PostgreSQL, else SQLite in `data_dir`), and what it
/// is for messages.
pub(crate) async fn open_metadata(config: &Config) -> anyhow::Result<(SqlMeta, String)> {
    match &config.storage.postgres_url {
        Some(url) => {
            let meta = SqlMeta::connect(url, POSTGRES_CONNECTIONS).await.with_context(|| {
                format!("cannot use PostgreSQL at {} (storage.postgres_url)", redact(url))
            })?;
            Ok((meta, format!("PostgreSQL {}", redact(url))))
        }
        None => {
            let path = config.data_dir.join(layout::METADATA);
            let meta = SqlMeta::open_sqlite(&path)
                .await
                .with_context(|| format!("cannot open {}", path.display()))?;
            Ok((meta, format!("SQLite {}", path.display())))
        }
    }
}

/// Where logs, events and the recording index live.
enum Analytics {
    Duck(Arc<DuckAnalytics>),
    ClickHouse(Arc<ClickAnalytics>),
}

/// `url` without its secrets, for messages and the banner: the password of its user part
/// and the value of every query parameter that can hold one (`?password=`, `?sslpassword=`,
/// tokens and keys).
pub(crate) fn redact(url: &str) -> String {
    const SECRET_PARAMS: &[&str] = &["password", "pass", "passwd", "secret", "token", "key"];
    let Ok(mut u) = url::Url::parse(url) else { return "(an invalid URL)".into() };
    if u.password().is_some() {
        let _ = u.set_password(Some("redacted"));
    }
    let pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
    if !pairs.is_empty() {
        let secret = |k: &str| SECRET_PARAMS.iter().any(|s| k.to_ascii_lowercase().contains(s));
        let redacted = pairs.iter().map(|(k, v)| (k, if secret(k) { "redacted" } else { v.as_str() }));
        u.query_pairs_mut().clear().extend_pairs(redacted);
    }
    u.to_string()
}

impl Storage {
    /// Opens (creating and migrating) every store. A service that cannot be reached is an
    /// error naming it and its setting.
    pub(crate) async fn open(config: &Config, env: &[(String, String)]) -> anyhow::Result<Storage> {
        let data_dir = &config.data_dir;
        tether_store_embedded::create_dir(data_dir)
            .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
        let mut described = Vec::new();

        let (analytics, duck) = match &config.storage.clickhouse_url {
            Some(url) => {
                let ch = ClickAnalytics::connect(url).await.with_context(|| {
                    format!("cannot use ClickHouse at {} (storage.clickhouse_url)", redact(url))
                })?;
                described.push(("Logs, events, replays", ch.describe().to_owned()));
                (Analytics::ClickHouse(Arc::new(ch)), None)
            }
            None => {
                let duck_path: PathBuf = data_dir.join(layout::ANALYTICS);
                let duck = Arc::new(
                    DuckAnalytics::open_with_memory(&duck_path, config.storage.duckdb_memory.0)
                        .await
                        .with_context(|| format!("cannot open {}", duck_path.display()))?,
                );
                described.push(("Logs, events, replays", format!("DuckDB {}", duck_path.display())));
                (Analytics::Duck(duck.clone()), Some(duck))
            }
        };

        let (meta, where_meta) = open_metadata(config).await?;
        described.push(("Metadata", where_meta));

        let blobs = match &config.storage.blob_url {
            Some(url) => ObjectBlobs::from_url(url, env).context("storage.blob_url")?,
            None => tether_store_embedded::local_blobs(data_dir)?,
        };
        blobs
            .ping()
            .await
            .with_context(|| format!("cannot reach the recording store ({})", blobs.describe()))?;
        described.push(("Recording bytes", blobs.describe().to_owned()));

        let ttl = std::time::Duration::from_millis(config.storage.metadata_cache_ttl_ms);
        let (meta, blobs): (Arc<SqlMeta>, Arc<dyn BlobStore>) = (Arc::new(meta), Arc::new(blobs));
        let mut stores = match analytics {
            Analytics::Duck(duck) => Stores::new(duck, meta, blobs),
            Analytics::ClickHouse(ch) => Stores::new(ch, meta, blobs),
        }
        .with_metadata_cache(ttl);
        if let Some(duck) = duck.as_ref().filter(|_| config.storage.embedded_logs == EmbeddedLogs::Rows) {
            let dir = data_dir.join(layout::LOGS);
            let rows = RowStore::open(&dir, RowSettings::default())
                .await
                .with_context(|| format!("cannot open {}", dir.display()))?;
            // Logs an earlier version (or `embedded_logs = "duckdb"`) kept in DuckDB.
            move_duckdb_logs(duck, &rows, &dir)
                .await
                .context("cannot move the logs in DuckDB into the row store")?;
            stores.logs = Arc::new(rows.clone());
            stores.log_writer = Arc::new(rows);
            described[0] = ("Logs", format!("row store {}", dir.display()));
            described.insert(
                1,
                ("Events, replays", format!("DuckDB {}", data_dir.join(layout::ANALYTICS).display())),
            );
        }
        let uses_data_dir =
            duck.is_some() || config.storage.postgres_url.is_none() || config.storage.blob_url.is_none();
        Ok(Storage { stores, described, duck, uses_data_dir })
    }

    /// Called after the server stopped: writes DuckDB's log into its main file so the next
    /// start need not replay it (durability does not depend on it). Nothing to do on ClickHouse.
    pub(crate) async fn close(&self) -> anyhow::Result<()> {
        match &self.duck {
            Some(duck) => duck.checkpoint().await.context("final checkpoint failed"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_are_shown_without_their_secrets() {
        for (url, shown) in [
            ("postgres://tether:hunter2@db:5432/tether", "postgres://tether:redacted@db:5432/tether"),
            (
                "postgres://db/tether?user=t&password=hunter2&sslmode=require",
                "postgres://db/tether?user=t&password=redacted&sslmode=require",
            ),
            (
                "postgres://db/t?sslpassword=x&PassWord=y",
                "postgres://db/t?sslpassword=redacted&PassWord=redacted",
            ),
            (
                "http://default:pw@clickhouse:8123/?access_key=k",
                "http://default:redacted@clickhouse:8123/?access_key=redacted",
            ),
            ("s3://bucket/prefix", "s3://bucket/prefix"),
            ("not a url", "(an invalid URL)"),
        ] {
            assert_eq!(super::redact(url), shown, "{url}");
        }
    }
}
