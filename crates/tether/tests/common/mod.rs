//! The real `tether` binary as a child process for the end-to-end tests, killed on drop.
#![allow(dead_code, unreachable_pub)] // Each test binary uses a different part of the harness.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "phc_binarytests";
pub const KEY: &str = "phx_binarytests";

pub struct Tether {
    pub child: Child,
    pub base: String,
}

impl Drop for Tether {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// Starts `tether serve` on `data_dir` with the fixed token and key and `env` added.
pub fn spawn(data_dir: &Path, env: &[(&str, &str)]) -> Tether {
    let http = free_addr();
    let mut command = Command::new(env!("CARGO_BIN_EXE_tether"));
    // The test runner's TETHER_TEST_* variables are not settings (Tether refuses unknown ones).
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("TETHER_")) {
        command.env_remove(key);
    }
    let child = command
        .args(["serve", "--http-addr", &http, "--grpc-addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("TETHER_PROJECT_TOKEN", TOKEN)
        .env("TETHER_API_KEY", KEY)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .expect("tether starts");
    Tether { child, base: format!("http://{http}") }
}

/// Waits until `/_health` answers 200.
pub async fn healthy(tether: &Tether) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reqwest::get(format!("{}/_health", tether.base)).await.is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "tether did not become healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
