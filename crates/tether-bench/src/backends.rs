//! Which stores the servers under test use: embedded (the default), or ClickHouse for logs,
//! events and the recording index (and PostgreSQL for metadata), with one or more `tether`
//! processes sharing them.

use anyhow::bail;

use crate::server::{Server, start_server_with};

/// Storage options shared by the logs and capture benchmarks.
#[derive(clap::Args)]
pub(crate) struct StorageArgs {
    /// A ClickHouse HTTP URL: logs, events and the recording index go to a fresh database there.
    #[arg(long, env = "TETHER_TEST_CLICKHOUSE_URL")]
    clickhouse_url: Option<String>,
    /// A PostgreSQL URL allowed to create databases: metadata goes to a fresh one (needed by
    /// --replicas above 1, since replicas share their projects and node numbers).
    #[arg(long, env = "TETHER_TEST_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Use ClickHouse (--clickhouse-url) instead of the embedded store.
    #[arg(long)]
    clickhouse: bool,
    /// Tether processes sharing the stores; clients are spread over them.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// An S3 URL (`s3://bucket/prefix`, endpoint and credentials from the `AWS_*` variables):
    /// recording bytes go under a fresh prefix there.
    #[arg(long, env = "TETHER_TEST_S3_URL")]
    s3_url: Option<String>,
    /// Keep recording bytes in S3 (--s3-url) instead of a local folder.
    #[arg(long)]
    s3: bool,
}

/// The running servers and where their ClickHouse database is, if any.
pub(crate) struct Servers {
    pub(crate) servers: Vec<Server>,
    clickhouse: Option<url::Url>,
    /// The recording bytes of several replicas: one folder they all use.
    _blobs: Option<tempfile::TempDir>,
    /// Recording bytes are in S3.
    s3: bool,
}

impl Servers {
    /// Starts `args.replicas` servers on the chosen stores.
    pub(crate) async fn start(args: &StorageArgs, name: &str) -> anyhow::Result<Servers> {
        Self::start_with_config(args, name, None).await
    }

    /// [`Servers::start`] with a configuration file (`TETHER_CONFIG`) for the other settings.
    pub(crate) async fn start_with_config(
        args: &StorageArgs,
        name: &str,
        config: Option<&std::path::Path>,
    ) -> anyhow::Result<Servers> {
        let unique = format!("bench_{name}_{}", std::process::id());
        let mut env: Vec<(String, String)> =
            config.map(|c| ("TETHER_CONFIG".to_owned(), c.display().to_string())).into_iter().collect();
        let mut clickhouse = None;
        if args.clickhouse {
            let Some(url) = &args.clickhouse_url else { bail!("--clickhouse needs --clickhouse-url") };
            let mut url = url::Url::parse(url)?;
            url.query_pairs_mut().append_pair("database", &unique);
            env.push(("TETHER_CLICKHOUSE_URL".to_owned(), url.to_string()));
            clickhouse = Some(url);
        }
        if args.replicas > 1 || args.clickhouse {
            let Some(admin) = &args.postgres_url else {
                bail!("ClickHouse and several replicas need --postgres-url for shared metadata")
            };
            let url = tether_store_sql::create_database(admin, &unique).await?;
            env.push(("TETHER_POSTGRES_URL".to_owned(), url));
        }
        if args.replicas > 1 && !args.clickhouse {
            bail!("--replicas above 1 needs --clickhouse (each embedded store is its own)");
        }
        let blobs = (args.replicas > 1 && !args.s3).then(tempfile::tempdir).transpose()?;
        if let Some(dir) = &blobs {
            env.push(("TETHER_BLOB_URL".to_owned(), format!("file://{}", dir.path().display())));
        }
        if args.s3 {
            let Some(url) = &args.s3_url else { bail!("--s3 needs --s3-url") };
            env.push(("TETHER_BLOB_URL".to_owned(), format!("{}/{unique}", url.trim_end_matches('/'))));
        }
        let servers = (0..args.replicas.max(1)).map(|_| start_server_with(&env)).collect::<Result<_, _>>()?;
        Ok(Servers { servers, clickhouse, _blobs: blobs, s3: args.s3 })
    }

    /// What the servers run on, for the report's first line.
    pub(crate) fn describe(&self) -> String {
        let stores = match (self.clickhouse.is_some(), self.s3) {
            (true, true) => "ClickHouse + PostgreSQL + S3",
            (true, false) => "ClickHouse + PostgreSQL",
            (false, true) => "embedded + S3",
            (false, false) => "embedded",
        };
        format!("{} × tether on {stores}", self.servers.len())
    }

    /// Bytes on disk of the active parts of `tables` in the ClickHouse database, after
    /// merging them (what the data settles to); `None` on the embedded store.
    pub(crate) async fn clickhouse_bytes(&self, tables: &[&str]) -> anyhow::Result<Option<u64>> {
        let Some(url) = &self.clickhouse else { return Ok(None) };
        let database: String =
            url.query_pairs().find(|(k, _)| k == "database").map(|(_, v)| v.into_owned()).unwrap_or_default();
        let mut endpoint = url.clone();
        endpoint.set_query(None);
        let client = reqwest::Client::new();
        let run = |sql: String| {
            let (client, endpoint) = (client.clone(), endpoint.clone());
            async move {
                let resp = client.post(endpoint).body(sql).send().await?;
                if !resp.status().is_success() {
                    bail!("ClickHouse answered {}: {}", resp.status(), resp.text().await.unwrap_or_default());
                }
                Ok::<_, anyhow::Error>(resp.text().await?)
            }
        };
        for table in tables {
            run(format!("OPTIMIZE TABLE {database}.{table} FINAL")).await?;
        }
        let list = tables.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
        let bytes = run(format!(
            "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = '{database}' AND table IN ({list})"
        ))
        .await?;
        Ok(Some(bytes.trim().parse()?))
    }
}
