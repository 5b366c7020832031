//! `tether`: the single binary. Parses the command line, loads configuration, wires the
//! embedded stores into the server, binds the ports, and handles signals.

mod config;
mod demo;
mod storage;

/// Ingest allocates and frees many small strings per record (decode, normalize, append);
/// with mimalloc the logs benchmark ingests ~8% more records/s than with glibc malloc (99.9k → 107.6k).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tether_server::bootstrap::{FirstStart, OperatorKey, ensure_admin, first_start, set_operator_key};
use tether_server::{AppState, Limits, Listeners, Stores};

#[derive(Parser)]
#[command(name = "tether", version, about = "Backend logs linked to session replays and errors")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (embedded storage unless `[storage]` names other backends).
    Serve {
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// HTTP address (UI, API, OTLP/HTTP). Default 127.0.0.1:8010.
        #[arg(long)]
        http_addr: Option<SocketAddr>,
        /// OTLP/gRPC address. Default 127.0.0.1:4317.
        #[arg(long)]
        grpc_addr: Option<SocketAddr>,
        /// Data directory. Default ./tether-data.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Run Tether with a sample web shop wired to it, to see the whole loop before wiring
    /// your own app: click around the shop, then open its logs in Tether.
    Demo(demo::DemoArgs),
    /// Operator tasks on the metadata store (works while Tether runs).
    #[command(subcommand)]
    Admin(AdminCommand),
}

/// Where the metadata store is (for `tether admin …`).
#[derive(clap::Args)]
struct StoreArgs {
    /// The same configuration as `serve` (it names the metadata store).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory (for the embedded metadata store). Default ./tether-data.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a UI user, the password read as one line from standard input
    /// (`echo 'their password' | tether admin create-user grace --role member`): the first
    /// admin of an instance (also before its first start, which then makes no `admin`
    /// user of its own), or a person while no admin is at hand to invite them.
    CreateUser {
        username: String,
        /// admin, member or viewer.
        #[arg(long, default_value = "admin")]
        role: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set a UI user's password, read as one line from standard input
    /// (`echo 'new password' | tether admin set-password admin`); ends the user's sessions.
    SetPassword {
        username: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Allocator settings, read from the environment before `main`.
///
/// glibc malloc, which DuckDB (C++) allocates through: two arenas instead of one per thread
/// the writer has run on, and freed blocks kept for reuse instead of handed back and faulted
/// in again on the next commit (page faults were a sixth of the DuckDB writer's time on
/// `/e/`). Measured in one sitting with `tether-bench capture --clients 64`: `/e/` 3,533 →
/// 3,823 and 3,999 → 4,616 requests/s, peak RSS 423–458 → 428–432 MB.
///
/// mimalloc (Rust's allocations) without transparent huge pages: with them, the memory it
/// purges comes back as 2 MB pages zeroed on the first touch, and zeroing them was 15 % of
/// the server's CPU samples on `/e/` (under the events' Arrow builders and the body's
/// inflating). Measured in one sitting: `/e/` 0.35 → 0.30 CPU s per 1,000 requests, peak
/// RSS 345–390 → 254–275 MB.
///
/// Settings the environment already has are kept.
const MALLOC_SETTINGS: [(&str, &str); 4] = [
    ("MALLOC_ARENA_MAX", "2"),
    ("MALLOC_MMAP_THRESHOLD_", "67108864"),
    ("MALLOC_TRIM_THRESHOLD_", "268435456"),
    ("MIMALLOC_ALLOW_THP", "0"),
];

/// The allocators read their settings from the environment once, before `main`: when they are
/// missing, the process starts itself again with them (same pid, same arguments). The
/// workspace forbids `unsafe`, which `mallopt` would need.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if MALLOC_SETTINGS.iter().all(|(name, _)| std::env::var_os(name).is_some()) {
            return;
        }
        let Ok(exe) = std::env::current_exe() else { return };
        let mut again = std::process::Command::new(exe);
        again.args(std::env::args_os().skip(1));
        for (name, value) in MALLOC_SETTINGS {
            if std::env::var_os(name).is_none() {
                again.env(name, value);
            }
        }
        // Returns only when the exec failed: then run as we are.
        let _ = again.exec();
    }
}

fn main() -> std::process::ExitCode {
    tune_malloc();
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line, causes included: "cannot use PostgreSQL at … : connection refused".
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let env: HashMap<String, String> = std::env::vars().collect();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve { config, http_addr, grpc_addr, data_dir } => {
            init_tracing(None);
            let overrides = config::Overrides { config_file: config, http_addr, grpc_addr, data_dir };
            let config = config::load(&overrides, &env)?;
            runtime.block_on(async {
                let server = Server::start(&config, &env, None).await?;
                print_banner(&server);
                server.run(shutdown_signal()).await
            })
        }
        Command::Demo(args) => {
            let overrides = config::Overrides {
                config_file: args.config.clone(),
                http_addr: args.http_addr,
                grpc_addr: args.grpc_addr,
                data_dir: Some(args.data_dir.clone()),
            };
            let config = config::load(&overrides, &env)?;
            runtime.block_on(demo::run(&config, &env, &args))
        }
        Command::Admin(AdminCommand::SetPassword { username, store }) => {
            let (config, password) = admin_input(store, &env)?;
            runtime.block_on(set_password(&config, &username, &password))
        }
        Command::Admin(AdminCommand::CreateUser { username, role, store }) => {
            let role = tether_store::Role::parse(&role)
                .with_context(|| format!("invalid role {role:?}: expected admin, member or viewer"))?;
            let (config, password) = admin_input(store, &env)?;
            runtime.block_on(create_user(&config, &username, role, &password))
        }
    }
}

/// The configuration of a `tether admin` command and the password it reads from standard
/// input (one line, by the same rule as the UI's: `auth::check_new_password`).
fn admin_input(store: StoreArgs, env: &HashMap<String, String>) -> anyhow::Result<(config::Config, String)> {
    let overrides = config::Overrides {
        config_file: store.config,
        http_addr: None,
        grpc_addr: None,
        data_dir: store.data_dir,
    };
    let config = config::load(&overrides, env)?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    tether_server::auth::check_new_password(&password).map_err(anyhow::Error::msg)?;
    Ok((config, password))
}

/// The metadata store of an existing instance (never a new, empty one by mistake).
async fn existing_metadata(config: &config::Config) -> anyhow::Result<(tether_store_sql::SqlMeta, String)> {
    let sqlite = config.data_dir.join(tether_store_embedded::layout::METADATA);
    if config.storage.postgres_url.is_none() && !sqlite.exists() {
        anyhow::bail!("no Tether data in {} (pass --data-dir or --config)", config.data_dir.display());
    }
    storage::open_metadata(config).await
}

/// `tether admin set-password`: a new password hash, and the user's sessions ended.
async fn set_password(config: &config::Config, username: &str, password: &str) -> anyhow::Result<()> {
    let (meta, described) = existing_metadata(config).await?;
    let hash = tether_server::auth::hash_password(password);
    if !tether_store::UserStore::set_password(&meta, username, &hash).await? {
        anyhow::bail!("no user named {username:?} in {described}");
    }
    println!("Password of {username} changed in {described}; their sessions are ended.");
    Ok(())
}

/// `tether admin create-user`: a user with a role and a password.
async fn create_user(
    config: &config::Config,
    username: &str,
    role: tether_store::Role,
    password: &str,
) -> anyhow::Result<()> {
    tether_server::auth::check_username(username).map_err(anyhow::Error::msg)?;
    // Before the first start too: then that start makes no `admin` of its own.
    if config.storage.postgres_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    }
    let (meta, described) = storage::open_metadata(config).await?;
    let hash = tether_server::auth::hash_password(password);
    let user = tether_store::UserStore::create_user(&meta, username, &hash, role).await?;
    println!("User {} ({}) created in {described}.", user.username, role.as_str());
    Ok(())
}

/// Server diagnostics go to stderr, filtered by `RUST_LOG` (default `info`). When `otel` is
/// given (the demo), the shop's logs are also exported to Tether through it.
fn init_tracing(otel: Option<&tether_stamp::otlp::SdkLoggerProvider>) {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let otel = otel.map(|provider| {
        tether_stamp::otlp::tracing_layer(provider).with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target(tether_demo::SHOP_LOG_TARGET, tracing::Level::DEBUG),
        )
    });
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter))
        .with(otel)
        .init();
}

/// Tether with its stores open and its ports bound, not yet serving.
pub(crate) struct Server {
    storage: storage::Storage,
    pub(crate) state: AppState,
    writer: tether_server::WriterHandle,
    listeners: Listeners,
    /// Seconds between retention runs; 0 means none.
    retention_secs: u64,
    alerts: config::AlertsConfig,
    pub(crate) http_addr: SocketAddr,
    pub(crate) grpc_addr: SocketAddr,
    pub(crate) data_dir: PathBuf,
    /// Set on the first start of this data directory, with its operator key.
    pub(crate) created: Option<(FirstStart, Secret)>,
    /// Set when the admin user was created now.
    pub(crate) admin_password: Option<Secret>,
}

/// A secret made at start: printed once if Tether made it, named if the operator gave it.
pub(crate) enum Secret {
    Made(String),
    /// Given by this environment variable.
    Given(&'static str),
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Made(secret) => write!(f, "{secret} (shown only now)"),
            Secret::Given(variable) => write!(f, "the one in {variable}"),
        }
    }
}

impl Server {
    /// Opens the stores (creating the default project and the admin user on first start,
    /// with `default_password` unless `TETHER_ADMIN_PASSWORD` is set) and binds both ports.
    pub(crate) async fn start(
        config: &config::Config,
        env: &HashMap<String, String>,
        default_password: Option<&str>,
    ) -> anyhow::Result<Server> {
        let env_pairs: Vec<(String, String)> = env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let storage = storage::Storage::open(config, &env_pairs).await?;
        let stores = &storage.stores;
        let created = first_start(
            stores.meta.as_ref(),
            env.get("TETHER_PROJECT_TOKEN").map(String::as_str),
            env.get("TETHER_API_KEY").map(String::as_str),
        )
        .await
        .context("cannot create the default project")?;
        if let Some(wanted) = &config.server.operator_key {
            let wanted = wanted.parse().map_err(|e: String| anyhow::anyhow!("server.operator_key: {e}"))?;
            let revoked = set_operator_key(stores.meta.as_ref(), &wanted)
                .await
                .context("cannot set the operator key")?;
            tracing::info!(revoked, disabled = wanted == OperatorKey::Disabled, "operator key as configured");
        }
        let given_password = env.get("TETHER_ADMIN_PASSWORD").map(String::as_str);
        let admin_password = ensure_admin(stores.users.as_ref(), given_password.or(default_password))
            .await
            .context("cannot create the admin user")?
            // A password given through the environment is the operator's already: not printed.
            .map(|p| {
                if given_password.is_some() {
                    Secret::Given("TETHER_ADMIN_PASSWORD")
                } else {
                    Secret::Made(p)
                }
            });
        let created = created.map(|first| {
            let key = match env.contains_key("TETHER_API_KEY") {
                true => Secret::Given("TETHER_API_KEY"),
                false => Secret::Made(first.api_key.clone()),
            };
            (first, key)
        });
        let http = tokio::net::TcpListener::bind(config.http_addr)
            .await
            .with_context(|| format!("cannot listen on {} (http_addr)", config.http_addr))?;
        let grpc = tokio::net::TcpListener::bind(config.grpc_addr)
            .await
            .with_context(|| format!("cannot listen on {} (grpc_addr)", config.grpc_addr))?;
        let limits = Limits {
            max_body_bytes: usize::try_from(config.ingest.max_body.0).unwrap_or(usize::MAX),
            batcher: tether_server::BatcherConfig {
                queue_records: config.ingest.queue_records,
                max_commit_records: config.ingest.max_commit_records,
            },
            edge: config.server.edge(),
            ..Limits::default()
        };
        let (state, writer) =
            AppState::new(stores.clone(), limits).await.context("cannot start the writers")?;
        state.set_behind_tls_proxy(config.behind_tls_proxy);
        if let Some(url) = &config.public_url {
            state.set_public_url(url.trim_end_matches('/'));
        }
        state.set_webhook_rules(
            config.alerts.allowed_webhook_networks.clone(),
            config.alerts.webhook_proxy.clone(),
        );
        if let Some(networks) = &config.server.trusted_proxies {
            state.trust_proxies(networks.clone());
        }
        if storage.uses_data_dir {
            state.guard_disk(config.data_dir.clone(), config.ingest.min_free_disk.0);
        }
        Ok(Server {
            http_addr: http.local_addr()?,
            grpc_addr: grpc.local_addr()?,
            data_dir: config.data_dir.clone(),
            storage,
            state,
            writer,
            listeners: Listeners { http, grpc },
            retention_secs: config.retention.interval_secs,
            alerts: config.alerts.clone(),
            created,
            admin_password,
        })
    }

    pub(crate) fn stores(&self) -> &Stores {
        &self.storage.stores
    }

    /// Serves until `shutdown` completes, then drains the writer and checkpoints.
    pub(crate) async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        // Stopped with the servers: it holds the state, whose writers must drain at exit.
        let retention = (self.retention_secs > 0).then(|| {
            tether_server::retention::spawn(self.state.clone(), Duration::from_secs(self.retention_secs))
        });
        let alerts = (self.alerts.interval_secs > 0).then(|| {
            let config = tether_server::alerts::AlertConfig {
                interval: Duration::from_secs(self.alerts.interval_secs),
                timeout: Duration::from_secs(self.alerts.webhook_timeout_secs.max(1)),
                ..Default::default()
            };
            tether_server::alerts::spawn(self.state.clone(), config)
        });
        let shutdown = async move {
            shutdown.await;
            for task in retention.into_iter().chain(alerts.into_iter().flatten()) {
                task.abort();
            }
        };
        tether_server::serve(self.state, self.writer, self.listeners, shutdown).await?;
        self.storage.close().await?;
        tracing::info!("stopped; every acknowledged log is stored");
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: finishing in-flight requests and flushing batches");
}

fn print_banner(server: &Server) {
    let (http, grpc) = (server.http_addr, server.grpc_addr);
    println!("\nTether is running");
    println!("  HTTP (UI, API, OTLP/HTTP): http://{http}");
    println!("  OTLP/gRPC:                 {grpc}");
    println!("  Data directory:            {}", server.data_dir.display());
    for (what, place) in &server.storage.described {
        println!("  {:<27}{place}", format!("{what}:"));
    }
    if let Some(password) = &server.admin_password {
        println!("  UI login:                  user admin, password {password}");
    }
    let Some((first, key)) = &server.created else {
        println!("\nProject tokens and API keys were printed at first start.\n");
        return;
    };
    let token = &first.project.token;
    let id = first.project.id;
    println!("\nFirst start: created \"{}\" (id {id}).", first.project.name);
    println!("  Project token (public, for SDKs and OTLP): {token}");
    println!("  Operator API key (secret):                 {key}");
    let key = match key {
        Secret::Made(key) => key.as_str(),
        Secret::Given(_) => "$TETHER_API_KEY",
    };
    println!("\nSend a log:");
    println!(
        "  curl -X POST http://{http}/v1/logs -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n    -d '{{\"resourceLogs\":[{{\"resource\":{{\"attributes\":[{{\"key\":\"service.name\",\"value\":{{\"stringValue\":\"api\"}}}}]}},\"scopeLogs\":[{{\"logRecords\":[{{\"severityText\":\"ERROR\",\"body\":{{\"stringValue\":\"payment failed\"}},\"attributes\":[{{\"key\":\"sessionId\",\"value\":{{\"stringValue\":\"my-session\"}}}},{{\"key\":\"posthogDistinctId\",\"value\":{{\"stringValue\":\"user@example.com\"}}}}]}}]}}]}}]}}'"
    );
    println!("\nRead it back:");
    println!(
        "  curl -H \"Authorization: Bearer {key}\" 'http://{http}/api/projects/{id}/logs?session_id=my-session'"
    );
    println!("\nOpenTelemetry SDKs (Python, Node, …):");
    println!("  export OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=http://{http}/v1/logs");
    println!("  export OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/protobuf");
    println!("  export OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer {token}'");
    println!("  # or gRPC: OTEL_EXPORTER_OTLP_ENDPOINT=http://{grpc} OTEL_EXPORTER_OTLP_PROTOCOL=grpc\n");
}
