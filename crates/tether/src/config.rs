//! The one typed configuration tree, layered: defaults → TOML file → `TETHER_*`
//! environment → command-line flags, and validated once at start.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// Everything `tether serve` can be configured with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    /// UI, JSON API, OTLP/HTTP and PostHog capture.
    pub http_addr: SocketAddr,
    /// OTLP/gRPC.
    pub grpc_addr: SocketAddr,
    /// Where the embedded stores keep their files.
    pub data_dir: PathBuf,
    /// Browsers reach Tether over HTTPS through a proxy that terminates TLS: the login
    /// cookie gets `Secure` and responses carry HSTS.
    pub behind_tls_proxy: bool,
    /// The origin people reach Tether at (`https://tether.example.com`): every absolute URL
    /// Tether hands out — invitation links, source map upload URLs, alert links — is built
    /// on it. Unset: the `Host` the request came with, which a client chooses.
    pub public_url: Option<String>,
    pub server: ServerConfig,
    pub ingest: IngestConfig,
    pub storage: StorageConfig,
    pub retention: RetentionConfig,
    pub alerts: AlertsConfig,
}

/// What one client may make the HTTP server spend: connections, time and memory (the public
/// capture and OTLP routes are reachable by anyone who has a project token).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ServerConfig {
    /// HTTP connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers; slower connections are closed.
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request's body (408 past it).
    pub body_timeout_secs: u64,
    /// Seconds a capture or OTLP request may take until it is answered (503 past it).
    pub request_timeout_secs: u64,
    /// Bytes all requests in flight may hold together, bodies and what decoding them
    /// produces (503 with `Retry-After` past it).
    pub in_flight: ByteSize,
    /// Networks of the proxies in front of Tether (`"10.0.0.0/8"`, `"127.0.0.1/32"`): their
    /// connections say in `X-Forwarded-For` which client they forward; anyone else's
    /// header is ignored. Loopback when not set.
    pub trusted_proxies: Option<Vec<ipnet::IpNet>>,
    /// What the operator key (the owner-less admin key made at first start) is to be:
    /// `"disabled"` revokes it; a `phx_…` value replaces it (rotation). Unset: unchanged.
    /// Better given as `TETHER_OPERATOR_KEY` than written in a file.
    pub operator_key: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let edge = tether_server::EdgeLimits::default();
        ServerConfig {
            max_connections: edge.connections.max_connections,
            header_timeout_secs: edge.connections.header_timeout.as_secs(),
            body_timeout_secs: edge.body_timeout.as_secs(),
            request_timeout_secs: edge.request_timeout.as_secs(),
            in_flight: ByteSize(edge.in_flight_bytes as u64),
            trusted_proxies: None,
            operator_key: None,
        }
    }
}

impl ServerConfig {
    /// The server's edge limits these settings give.
    pub(crate) fn edge(&self) -> tether_server::EdgeLimits {
        use std::time::Duration;
        tether_server::EdgeLimits {
            connections: tether_server::ConnectionLimits {
                max_connections: self.max_connections,
                header_timeout: Duration::from_secs(self.header_timeout_secs),
            },
            body_timeout: Duration::from_secs(self.body_timeout_secs),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            in_flight_bytes: usize::try_from(self.in_flight.0).unwrap_or(usize::MAX),
            ..tether_server::EdgeLimits::default()
        }
    }
}

/// The background evaluation of each project's alerts (set in the UI's Alerts page).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AlertsConfig {
    /// Seconds between evaluations; 0 turns alerts off.
    pub interval_secs: u64,
    /// Seconds one webhook call may take before it counts as failed (and is retried).
    pub webhook_timeout_secs: u64,
    /// Networks beyond the public internet webhooks may reach (`["10.1.0.0/16"]` for an
    /// internal receiver): loopback, private, link-local, shared, unique-local and multicast
    /// addresses are refused otherwise.
    pub allowed_webhook_networks: Vec<ipnet::IpNet>,
    /// A proxy every webhook goes through (`http://proxy.internal:3128`); its network must
    /// be in `allowed_webhook_networks` when it is inside. Unset: none (`HTTP_PROXY` and the
    /// like are ignored).
    pub webhook_proxy: Option<String>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        let defaults = tether_server::alerts::AlertConfig::default();
        AlertsConfig {
            interval_secs: defaults.interval.as_secs(),
            webhook_timeout_secs: defaults.timeout.as_secs(),
            allowed_webhook_networks: Vec::new(),
            webhook_proxy: None,
        }
    }
}

/// The background deletion of data older than each project's retention (set per project in
/// Settings; see `tether_store::Retention` for the defaults).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RetentionConfig {
    /// Seconds between runs (the first runs at start); 0 turns retention off.
    pub interval_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig { interval_secs: 3600 }
    }
}

/// Which backend keeps what. Each unset URL means the embedded store in `data_dir`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct StorageConfig {
    /// Metadata (projects, keys, users, issues, persons): `postgres://user:pass@host:port/db`.
    pub postgres_url: Option<String>,
    /// Recording bytes: `s3://bucket/prefix` (endpoint, region and credentials from the
    /// standard `AWS_*` variables) or `file:///path`.
    pub blob_url: Option<String>,
    /// Logs, events, exceptions and the recording index on ClickHouse (its HTTP interface).
    pub clickhouse_url: Option<String>,
    /// How long project, key and login lookups are cached (0 turns the cache off): the
    /// longest another Tether process's change (a revoked key) may go unseen here.
    pub metadata_cache_ttl_ms: u64,
    /// The most memory the embedded DuckDB takes (cache, sorts, checkpoints) before it
    /// spills to disk; raise it for faster wide queries on a larger machine.
    pub duckdb_memory: ByteSize,
    /// Where the embedded backend keeps logs (without `clickhouse_url`).
    pub embedded_logs: EmbeddedLogs,
}

/// The embedded log stores. Switching does not move logs: each reads only its own files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EmbeddedLogs {
    /// In DuckDB beside events and recordings (`analytics.duckdb`).
    Duckdb,
    /// In the row store (`logs/`): blocks read by position, lookups by index.
    #[default]
    Rows,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            postgres_url: None,
            blob_url: None,
            clickhouse_url: None,
            metadata_cache_ttl_ms: tether_store::DEFAULT_METADATA_CACHE_TTL.as_millis() as u64,
            duckdb_memory: ByteSize(tether_store_embedded::DEFAULT_DUCKDB_MEMORY),
            embedded_logs: EmbeddedLogs::default(),
        }
    }
}

/// Limits of the ingest path.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct IngestConfig {
    /// Largest request body, before and after decompression ("16MiB", "512KiB", or bytes).
    pub max_body: ByteSize,
    /// Log records that may wait for the writer before ingest answers 503.
    pub queue_records: usize,
    /// Most records committed in one transaction.
    pub max_commit_records: usize,
    /// Free space that must stay on the data directory's filesystem (when a store keeps its
    /// files there): below it, writes answer 503 and `/_health` says why.
    pub min_free_disk: ByteSize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8010)),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 4317)),
            data_dir: PathBuf::from("./tether-data"),
            behind_tls_proxy: false,
            public_url: None,
            server: ServerConfig::default(),
            ingest: IngestConfig::default(),
            storage: StorageConfig::default(),
            retention: RetentionConfig::default(),
            alerts: AlertsConfig::default(),
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        let defaults = tether_server::Limits::default();
        IngestConfig {
            max_body: ByteSize(defaults.max_body_bytes as u64),
            queue_records: defaults.batcher.queue_records,
            max_commit_records: defaults.batcher.max_commit_records,
            min_free_disk: ByteSize(512 * 1024 * 1024),
        }
    }
}

/// A byte size written as a number of bytes or with a unit (KiB, MiB, GiB, KB, MB, GB).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ByteSize(pub u64);

impl ByteSize {
    fn parse(text: &str) -> Option<ByteSize> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let n: u64 = digits.parse().ok()?;
        let mult = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            _ => return None,
        };
        n.checked_mul(mult).map(ByteSize)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(ByteSize(n)),
            Raw::Text(t) => ByteSize::parse(&t).ok_or_else(|| {
                serde::de::Error::custom(format!("invalid byte size {t:?}, expected e.g. 16MiB"))
            }),
        }
    }
}

/// Values given on the command line; `None` leaves the lower layers' value.
#[derive(Debug, Default, Clone)]
pub(crate) struct Overrides {
    pub config_file: Option<PathBuf>,
    pub http_addr: Option<SocketAddr>,
    pub grpc_addr: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
}

/// Environment variables that configure the server (others named `TETHER_*` are refused,
/// so a typo is not silently ignored).
const ENV_KEYS: [&str; 15] = [
    "TETHER_CONFIG",
    "TETHER_BEHIND_TLS_PROXY",
    "TETHER_HTTP_ADDR",
    "TETHER_GRPC_ADDR",
    "TETHER_DATA_DIR",
    "TETHER_POSTGRES_URL",
    "TETHER_BLOB_URL",
    "TETHER_CLICKHOUSE_URL",
    "TETHER_METADATA_CACHE_TTL_MS",
    "TETHER_EMBEDDED_LOGS",
    "TETHER_OPERATOR_KEY",
    "TETHER_PUBLIC_URL",
    // Read at first start only, by the bootstrap.
    "TETHER_PROJECT_TOKEN",
    "TETHER_API_KEY",
    "TETHER_ADMIN_PASSWORD",
];

/// Builds the configuration from its layers. `env` is passed in so tests stay hermetic.
pub(crate) fn load(cli: &Overrides, env: &HashMap<String, String>) -> anyhow::Result<Config> {
    if let Some(unknown) = env.keys().find(|k| k.starts_with("TETHER_") && !ENV_KEYS.contains(&k.as_str())) {
        bail!("unknown environment variable {unknown}; known: {}", ENV_KEYS.join(", "));
    }
    let file = cli.config_file.clone().or_else(|| env.get("TETHER_CONFIG").map(PathBuf::from));
    let mut config = match file {
        Some(path) => from_file(&path)?,
        None => Config::default(),
    };
    if let Some(v) = env.get("TETHER_HTTP_ADDR") {
        config.http_addr = v.parse().with_context(|| format!("TETHER_HTTP_ADDR: invalid address {v:?}"))?;
    }
    if let Some(v) = env.get("TETHER_GRPC_ADDR") {
        config.grpc_addr = v.parse().with_context(|| format!("TETHER_GRPC_ADDR: invalid address {v:?}"))?;
    }
    if let Some(v) = env.get("TETHER_DATA_DIR") {
        config.data_dir = PathBuf::from(v);
    }
    for (key, slot) in [
        ("TETHER_POSTGRES_URL", &mut config.storage.postgres_url),
        ("TETHER_BLOB_URL", &mut config.storage.blob_url),
        ("TETHER_CLICKHOUSE_URL", &mut config.storage.clickhouse_url),
    ] {
        if let Some(v) = env.get(key) {
            *slot = Some(v.clone()).filter(|v| !v.is_empty());
        }
    }
    if let Some(v) = env.get("TETHER_BEHIND_TLS_PROXY") {
        config.behind_tls_proxy = match v.as_str() {
            "1" | "true" => true,
            "0" | "false" | "" => false,
            other => bail!("TETHER_BEHIND_TLS_PROXY: expected true or false, not {other:?}"),
        };
    }
    if let Some(v) = env.get("TETHER_PUBLIC_URL") {
        config.public_url = Some(v.clone()).filter(|v| !v.is_empty());
    }
    if let Some(v) = env.get("TETHER_OPERATOR_KEY") {
        config.server.operator_key = Some(v.clone()).filter(|v| !v.is_empty());
    }
    if let Some(v) = env.get("TETHER_METADATA_CACHE_TTL_MS") {
        config.storage.metadata_cache_ttl_ms = v
            .parse()
            .with_context(|| format!("TETHER_METADATA_CACHE_TTL_MS: not a number of milliseconds: {v:?}"))?;
    }
    if let Some(v) = env.get("TETHER_EMBEDDED_LOGS") {
        config.storage.embedded_logs = match v.as_str() {
            "duckdb" => EmbeddedLogs::Duckdb,
            "rows" => EmbeddedLogs::Rows,
            other => bail!("TETHER_EMBEDDED_LOGS: expected duckdb or rows, not {other:?}"),
        };
    }
    config.http_addr = cli.http_addr.unwrap_or(config.http_addr);
    config.grpc_addr = cli.grpc_addr.unwrap_or(config.grpc_addr);
    config.data_dir = cli.data_dir.clone().unwrap_or(config.data_dir);
    validate(&config)?;
    Ok(config)
}

fn from_file(path: &Path) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

fn validate(config: &Config) -> anyhow::Result<()> {
    if config.http_addr == config.grpc_addr && config.http_addr.port() != 0 {
        bail!("http_addr and grpc_addr must differ (both are {})", config.http_addr);
    }
    if config.ingest.max_body.0 < 1024 {
        bail!("ingest.max_body must be at least 1KiB");
    }
    let server = &config.server;
    if server.max_connections == 0
        || server.header_timeout_secs == 0
        || server.body_timeout_secs == 0
        || server.request_timeout_secs == 0
    {
        bail!("server.max_connections and the server timeouts must be positive");
    }
    // The largest request budget: a 25 MiB recording body decoded to four times its size.
    if config.server.in_flight.0 < 100 << 20 {
        bail!("server.in_flight must be at least 100MiB (what one large recording request may decode to)");
    }
    if let Some(url) = &config.public_url
        && url::Url::parse(url).map_or(true, |u| {
            !matches!(u.scheme(), "http" | "https") || u.path() != "/" || u.query().is_some()
        })
    {
        bail!("public_url must be an origin such as https://tether.example.com (got {url:?})");
    }
    if let Some(proxy) = &config.alerts.webhook_proxy
        && url::Url::parse(proxy)
            .map_or(true, |u| !matches!(u.scheme(), "http" | "https") || u.host().is_none())
    {
        bail!(
            "alerts.webhook_proxy must be an http:// or https:// URL (got {:?})",
            crate::storage::redact(proxy)
        );
    }
    if let Some(key) = &config.server.operator_key
        && let Err(e) = key.parse::<tether_server::bootstrap::OperatorKey>()
    {
        bail!("server.operator_key (TETHER_OPERATOR_KEY): {e}");
    }
    if config.storage.duckdb_memory.0 < 64 * 1024 * 1024 {
        bail!("storage.duckdb_memory must be at least 64MiB");
    }
    if config.ingest.queue_records == 0 || config.ingest.max_commit_records == 0 {
        bail!("ingest.queue_records and ingest.max_commit_records must be positive");
    }
    if let Some(url) = &config.storage.postgres_url
        && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        bail!("storage.postgres_url must start with postgres:// (got {})", crate::storage::redact(url));
    }
    if let Some(url) = &config.storage.blob_url
        && !(url.starts_with("s3://") || url.starts_with("file:///"))
    {
        bail!("storage.blob_url must be s3://bucket/prefix or file:///absolute/path (got {url})");
    }
    if let Some(url) = &config.storage.clickhouse_url
        && let Err(e) = tether_store_clickhouse::ClickHouseOptions::from_url(url)
    {
        bail!("storage.clickhouse_url ({}): {e}", crate::storage::redact(url));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tether.toml");
        std::fs::write(
            &file,
            "http_addr = \"127.0.0.1:1000\"\ngrpc_addr = \"127.0.0.1:1001\"\ndata_dir = \"/from/file\"\n[ingest]\nmax_body = \"2MiB\"\n",
        )
        .unwrap();
        let cli = Overrides {
            config_file: Some(file.clone()),
            data_dir: Some("/from/cli".into()),
            ..Default::default()
        };
        let config = load(&cli, &env(&[("TETHER_GRPC_ADDR", "127.0.0.1:2001"), ("PATH", "/bin")])).unwrap();
        assert_eq!(config.http_addr, "127.0.0.1:1000".parse().unwrap());
        assert_eq!(config.grpc_addr, "127.0.0.1:2001".parse().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("/from/cli"));
        assert_eq!(config.ingest.max_body, ByteSize(2 << 20));
        assert_eq!(load(&Overrides::default(), &env(&[])).unwrap(), Config::default());
        std::fs::write(
            &file,
            "[storage]\npostgres_url = \"postgres://a@h:5432/d\"\nblob_url = \"s3://b/p\"\n",
        )
        .unwrap();
        let cli = Overrides { config_file: Some(file), ..Default::default() };
        let storage = load(&cli, &env(&[("TETHER_BLOB_URL", "file:///srv/blobs")])).unwrap().storage;
        assert_eq!(storage.postgres_url.as_deref(), Some("postgres://a@h:5432/d"));
        assert_eq!(storage.blob_url.as_deref(), Some("file:///srv/blobs"), "env wins over the file");
    }

    #[test]
    fn unknown_and_invalid_settings_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "http_adr = \"127.0.0.1:1\"\n").unwrap();
        let cli = Overrides { config_file: Some(file.clone()), ..Default::default() };
        let err = format!("{:#}", load(&cli, &env(&[])).unwrap_err());
        assert!(err.contains("unknown field `http_adr`"), "{err}");
        let err = load(&Overrides::default(), &env(&[("TETHER_HTTP_ADR", "x")])).unwrap_err();
        assert!(err.to_string().contains("TETHER_HTTP_ADR"));
        assert!(load(&Overrides::default(), &env(&[("TETHER_HTTP_ADDR", "nope")])).is_err());
        let err = load(&Overrides::default(), &env(&[("TETHER_POSTGRES_URL", "mysql://x")])).unwrap_err();
        assert!(err.to_string().contains("postgres_url"), "{err}");
        let err = load(&Overrides::default(), &env(&[("TETHER_BLOB_URL", "gs://b")])).unwrap_err();
        assert!(err.to_string().contains("blob_url"), "{err}");
        assert_eq!(ByteSize::parse("16MiB"), Some(ByteSize(16 << 20)));
        assert_eq!(ByteSize::parse("12 parsecs"), None);
        std::fs::write(&file, "[server]\nheader_timeout_secs = 0\n").unwrap();
        let cli = Overrides { config_file: Some(file.clone()), ..Default::default() };
        assert!(load(&cli, &env(&[])).unwrap_err().to_string().contains("timeouts must be positive"));
        std::fs::write(&file, "[server]\nin_flight = \"128MiB\"\nbody_timeout_secs = 5\n").unwrap();
        let edge = load(&cli, &env(&[])).unwrap().server.edge();
        assert_eq!((edge.in_flight_bytes, edge.body_timeout.as_secs()), (128 << 20, 5));
    }
}
