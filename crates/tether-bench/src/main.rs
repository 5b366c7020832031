//! Tether's benchmarks. They report figures; they do not judge them.
//!
//! Each starts `tether serve` (the release binary next to this one) as a child process on a
//! temporary data directory and drives it over HTTP like real clients:
//! - `logs`: seeded OTLP/protobuf batches, then search, histogram and session-filter latency;
//!   on the embedded store, or with `--clickhouse` on ClickHouse + PostgreSQL, one or more
//!   `--replicas` (as `capture`);
//! - `capture`: posthog-js-shaped `/e/` and `/s/` traffic, then serving a 30-minute recording;
//! - `stamp`: an app using `tether-stamp` logging into it, with and without the layer;
//! - `metadata`: request latency of ingest and the logs API with metadata on SQLite and on
//!   PostgreSQL, with and without the metadata read cache;
//! - `overload`: many clients sending logs, events and recordings faster than storage
//!   commits, for a bounded time: the share of 503s, peak memory, and that every
//!   acknowledged record is stored.

mod backends;
mod capture;
mod generate;
mod logs;
mod metadata;
mod overload;
mod row_blocks;
mod server;
mod stamp;
mod tantivy_side;
mod templates;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Ingest and query benchmarks for Tether")]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// OTLP logs ingest and log queries.
    Logs(logs::LogsArgs),
    /// PostHog capture (/e/, /s/) and recording playback.
    Capture(capture::CaptureArgs),
    /// The cost of stamping request logs with the browser's session (`tether-stamp`).
    Stamp(stamp::StampArgs),
    /// Request latency with metadata on SQLite vs PostgreSQL, cache off and on.
    Metadata(metadata::MetadataArgs),
    /// Many clients sending faster than storage commits: 503s, memory, nothing lost.
    Overload(overload::OverloadArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().bench {
        Bench::Logs(args) => logs::run(args).await,
        Bench::Capture(args) => capture::run(args).await,
        Bench::Stamp(args) => stamp::run(args).await,
        Bench::Metadata(args) => metadata::run(args).await,
        Bench::Overload(args) => overload::run(args).await,
    }
}
