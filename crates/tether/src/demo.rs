//! `tether demo`: Tether plus a sample shop on a second port whose page uses the stock
//! posthog-js against Tether and whose backend logs through OTLP with the stamping layer;
//! optionally seeded with generated logs for volume.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use rand::SeedableRng;
use tether_demo::seed::{SeedPlan, SeedSession, seed_logs};
use tether_demo::shop::{self, ShopConfig};
use tether_store::RecordingQuery;

use crate::{Server, config, init_tracing, shutdown_signal};

/// The UI password of a new demo data directory (unless `TETHER_ADMIN_PASSWORD` is set):
/// the demo listens on loopback and is meant to be tried at once.
const DEMO_PASSWORD: &str = "demo";

#[derive(clap::Args)]
pub(crate) struct DemoArgs {
    /// Tether's HTTP address (UI, API, OTLP/HTTP, capture).
    #[arg(long)]
    pub http_addr: Option<SocketAddr>,
    /// Tether's OTLP/gRPC address.
    #[arg(long)]
    pub grpc_addr: Option<SocketAddr>,
    /// The shop's address.
    #[arg(long, default_value = "127.0.0.1:8011")]
    pub shop_addr: SocketAddr,
    /// A TOML configuration file, as `serve` takes (e.g. a `[storage]` section to run the
    /// demo on ClickHouse, PostgreSQL and S3).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory of the demo (kept apart from `serve`'s). Delete it to start over.
    #[arg(long, default_value = "./tether-demo-data")]
    pub data_dir: PathBuf,
    /// Generate this many logs over the last days before starting (some linked to the
    /// sessions recorded in earlier demo runs), to try the logs page at volume.
    #[arg(long, default_value_t = 0)]
    pub seed_logs: u64,
    /// Over how many days (1–365) the seeded logs are spread.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub seed_days: u32,
}

pub(crate) async fn run(
    config: &config::Config,
    env: &HashMap<String, String>,
    args: &DemoArgs,
) -> anyhow::Result<()> {
    let server = Server::start(config, env, Some(DEMO_PASSWORD)).await?;
    let project = server.stores().meta.projects().await?.into_iter().next().context("no project")?;
    let tether_url = format!("http://{}", browser_addr(server.http_addr));
    let provider =
        tether_stamp::otlp::logger_provider(&format!("{tether_url}/v1/logs"), &project.token, "demo-shop")
            .context("cannot set up the shop's OTLP exporter")?;
    init_tracing(Some(&provider));

    if args.seed_logs > 0 {
        seed(&server, project.id, args).await?;
    }
    let shop_listener = tokio::net::TcpListener::bind(args.shop_addr)
        .await
        .with_context(|| format!("cannot listen on {} (shop_addr)", args.shop_addr))?;
    let shop_url = format!("http://{}", browser_addr(shop_listener.local_addr()?));
    let shop =
        shop::router(&ShopConfig { tether_url: tether_url.clone(), project_token: project.token.clone() });
    let seeded_days = if args.seed_logs > 0 { args.seed_days } else { 0 };
    print_instructions(&server, &shop_url, &tether_url, &login_hint(&server, env), seeded_days);

    let (stop_shop, shop_stopped) = tokio::sync::oneshot::channel::<()>();
    let shop_task = tokio::spawn(async move {
        axum::serve(shop_listener, shop)
            .with_graceful_shutdown(async {
                let _ = shop_stopped.await;
            })
            .await
    });
    let jobs = tokio::spawn(shop::background_jobs(Duration::from_secs(15)));
    // Stop order: the shop, then its last log batch into Tether, then Tether.
    let shutdown = async move {
        shutdown_signal().await;
        jobs.abort();
        let _ = stop_shop.send(());
        match shop_task.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "the shop stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "the shop task failed"),
            Ok(Ok(())) => {}
        }
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown());
        if !matches!(tokio::time::timeout(Duration::from_secs(10), flushed).await, Ok(Ok(Ok(())))) {
            tracing::warn!("the shop's last logs may not have reached Tether");
        }
    };
    server.run(shutdown).await
}

/// Fills the store with generated logs, linking some to sessions recorded earlier.
async fn seed(server: &Server, project_id: i64, args: &DemoArgs) -> anyhow::Result<()> {
    let stores = server.stores();
    let recorded = stores
        .recordings
        .index
        .recordings(RecordingQuery { project_id, limit: 50, ..RecordingQuery::default() })
        .await?
        .into_iter()
        .map(|r| SeedSession {
            session_id: r.session_id,
            distinct_id: r.distinct_id,
            start_ms: r.start_ms,
            end_ms: r.end_ms,
        })
        .collect::<Vec<_>>();
    let now_ms = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
    let plan = SeedPlan { project_id, count: args.seed_logs, now_ms, days: args.seed_days, recorded };
    println!(
        "Seeding {} logs over the last {} days ({} recorded sessions get some)…",
        plan.count,
        plan.days,
        plan.recorded.len()
    );
    let started = std::time::Instant::now();
    let step = (plan.count / 10).max(1);
    let mut next_report = step;
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let state = server.state.clone();
    let write = |chunk| {
        let state = state.clone();
        async move { state.append_logs(chunk).await }
    };
    seed_logs(&plan, &mut rng, write, |written| {
        if written >= next_report || written == plan.count {
            println!("  {written} of {}", plan.count);
            next_report = written + step;
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("cannot seed logs: {}", e.message))?;
    println!("Seeded {} logs in {:.1} s.", plan.count, started.elapsed().as_secs_f64());
    if plan.recorded.is_empty() {
        println!(
            "(No recorded sessions yet, so the generated logs link to made-up sessions. Click around \
             the shop, then restart with --seed-logs to also put generated logs inside your sessions.)"
        );
    }
    Ok(())
}

/// The address a browser on this machine should use for a bound socket.
fn browser_addr(bound: SocketAddr) -> SocketAddr {
    if bound.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
    } else {
        bound
    }
}

/// How to log in to the UI, as far as this run knows.
fn login_hint(server: &Server, env: &HashMap<String, String>) -> String {
    match &server.admin_password {
        Some(password) => format!("user admin, password {password}"),
        None if env.contains_key("TETHER_ADMIN_PASSWORD") => {
            "user admin, password from TETHER_ADMIN_PASSWORD".to_owned()
        }
        None => format!("user admin, password {DEMO_PASSWORD} unless you changed it"),
    }
}

/// `seeded_days` is 0 when no logs were generated this run.
fn print_instructions(server: &Server, shop_url: &str, tether_url: &str, login: &str, seeded_days: u32) {
    println!(
        "
Tether demo is running
  Shop:    {shop_url}   <- open this and click around for a minute
  Tether:  {tether_url}   ({login})
  Data:    {data}   (delete it to start over)
{storage}

What to try
  1. In the shop, add a few products to the cart, apply coupon SAVE10 and click Checkout.
     Checkout fails in the backend (an ERROR log) and then in the page (an exception);
     the coupon crashes the page (a TypeError); the Espresso machine is out of stock (a WARN).
  2. In Tether, open Logs: every request the shop handled for you is there, stamped with
     your session and person by the shop's middleware, not by hand. Click the line
     \"payment declined: card processor timed out…\":
       - View recording plays your visit at that moment, its Network tab open at the
         checkout request with the logs and the error it caused,
       - Related errors lists the exception your page threw,
       - the person is you (the shop signed you in as a random customer).
  3. Errors and Replays show the same from the other side. The shop's background job logs
     every 15 s outside any request: its logs have no session, and Related errors says so.{seeded}
Ctrl-C stops the shop and Tether.
",
        data = server.data_dir.display(),
        storage = server
            .storage
            .described
            .iter()
            .map(|(what, place)| format!("  {:<23}{place}", format!("{what}:")))
            .collect::<Vec<_>>()
            .join("\n"),
        seeded = if seeded_days > 0 {
            format!(
                "\n  4. The generated logs span the last {seeded_days} days: pick \"Last 7 days\" (or a custom range) in\n     Logs to search and chart them all."
            )
        } else {
            String::new()
        }
    );
}
