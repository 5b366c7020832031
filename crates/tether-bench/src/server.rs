//! The server under test: the release `tether` binary as a child process, and /proc readings.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

pub(crate) const TOKEN: &str = "phc_benchmarktoken";
pub(crate) const API_KEY: &str = "phx_benchmarkkey";

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
    pub(crate) data_dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub(crate) fn start_server() -> anyhow::Result<Server> {
    start_server_with(&[])
}

/// [`start_server`] with extra environment (e.g. `TETHER_POSTGRES_URL`).
pub(crate) fn start_server_with(env: &[(String, String)]) -> anyhow::Result<Server> {
    let exe = std::env::current_exe()?.with_file_name("tether");
    if !exe.exists() {
        bail!("{} not found: run `cargo build --release` first", exe.display());
    }
    let data_dir = tempfile::tempdir()?;
    let http = format!("127.0.0.1:{}", free_port()?);
    let grpc = format!("127.0.0.1:{}", free_port()?);
    let mut command = Command::new(exe);
    // Variables like TETHER_TEST_POSTGRES_URL are the benchmark's, not settings (Tether
    // refuses unknown TETHER_* variables).
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("TETHER_")) {
        command.env_remove(key);
    }
    let child = command
        .args(["serve", "--http-addr", &http, "--grpc-addr", &grpc, "--data-dir"])
        .arg(data_dir.path())
        .env("TETHER_PROJECT_TOKEN", TOKEN)
        .env("TETHER_API_KEY", API_KEY)
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stderr(Stdio::from(std::fs::File::create("/tmp/bench-server.log")?))
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start tether")?;
    Ok(Server { child, base: format!("http://{http}"), data_dir })
}

/// The highest anonymous and file-backed resident memory of a process, sampled from /proc
/// every 100 ms while it lives: `VmHWM` (the kernel's peak) counts the pages of files the
/// process maps (tantivy's index) with its own heap, and says nothing of which was which.
pub(crate) struct MemoryWatch {
    peaks: std::sync::Arc<[std::sync::atomic::AtomicU64; 2]>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl MemoryWatch {
    pub(crate) fn start(pid: u32) -> MemoryWatch {
        use std::sync::atomic::Ordering::Relaxed;
        let watch = MemoryWatch { peaks: Default::default(), stop: Default::default() };
        let (peaks, stop) = (watch.peaks.clone(), watch.stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Relaxed) {
                let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { break };
                for (field, peak) in ["RssAnon:", "RssFile:"].iter().zip(peaks.iter()) {
                    peak.fetch_max(status_kb(&status, field), Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        watch
    }

    /// The highest (anonymous, mapped files) resident MB seen so far.
    pub(crate) fn peaks_mb(&self) -> (f64, f64) {
        let mb = |i: usize| self.peaks[i].load(std::sync::atomic::Ordering::Relaxed) as f64 / 1024.0;
        (mb(0), mb(1))
    }
}

impl Drop for MemoryWatch {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A `kB` field of /proc/<pid>/status.
fn status_kb(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Peak resident memory of a process, from /proc (Linux), in MB.
pub(crate) fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status_kb(&status, "VmHWM:") as f64 / 1024.0
}

/// User plus system CPU seconds a process has used, from /proc (Linux).
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Bytes of every file under `dir`, folders included (the text index has one).
pub(crate) fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .filter_map(|e| e.metadata().ok().map(|m| (e.path(), m)))
        .map(|(path, m)| if m.is_dir() { dir_bytes(&path) } else { m.len() })
        .sum()
}

pub(crate) fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

/// Waits until the server answers its health check.
pub(crate) async fn wait_healthy(client: &reqwest::Client, server: &Server) -> anyhow::Result<()> {
    let health = format!("{}/_health", server.base);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client.get(&health).send().await.map(|r| r.status().is_success()).unwrap_or(false) {
        if Instant::now() > deadline {
            bail!("tether did not become healthy within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
