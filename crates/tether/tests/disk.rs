//! A nearly full disk under the data directory: ingest answers 503 with the reason and
//! `/_health` says why, reads go on, nothing stored is lost, and ingest resumes by itself
//! when space is freed. The data directory is a small tmpfs (mounting it needs root, or
//! passwordless sudo, as scripts/test has for apt-get).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{api, healthy, send_log};

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

fn run_as_root(args: &[&str]) -> bool {
    let direct = Command::new(args[0]).args(&args[1..]).status().is_ok_and(|s| s.success());
    direct || Command::new("sudo").arg("-n").args(args).status().is_ok_and(|s| s.success())
}

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Tmpfs {
        let target = path.to_str().unwrap();
        assert!(
            run_as_root(&["mount", "-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", target]),
            "cannot mount a tmpfs at {target}: this test needs root or passwordless sudo"
        );
        Tmpfs(path.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        run_as_root(&["umount", "-l", self.0.to_str().unwrap()]);
    }
}

/// Bytes available on the filesystem of `path` (from `df`).
fn available(path: &Path) -> u64 {
    let out = Command::new("df").args(["--output=avail", "-B1"]).arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().parse().unwrap()
}

#[tokio::test]
async fn ingest_pauses_on_a_nearly_full_disk_and_resumes_by_itself() {
    let mount_point = tempfile::tempdir().unwrap();
    let _tmpfs = Tmpfs::mount(mount_point.path(), "256m");
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("tether.toml");
    std::fs::write(&config, "[ingest]\nmin_free_disk = \"96MiB\"\n").unwrap();
    let data_dir = mount_point.path().join("data");
    let tether = common::spawn(&data_dir, &[("TETHER_CONFIG", config.to_str().unwrap())]);
    healthy(&tether).await;
    assert_eq!(send_log(&tether, "before the disk filled").await.status(), 200);

    // Leave 48 MB free: under the 96 MiB threshold.
    let filler = mount_point.path().join("filler");
    let fill = available(mount_point.path()).saturating_sub(48 * 1024 * 1024);
    std::fs::write(&filler, vec![0u8; fill as usize]).unwrap();
    let refused = send_log(&tether, "while the disk is full").await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let reason = refused.json::<serde_json::Value>().await.unwrap()["error"].as_str().unwrap().to_owned();
    assert!(reason.starts_with("disk almost full: ") && reason.contains("min_free_disk 100 MB"), "{reason}");
    let health = reqwest::get(format!("{}/_health", tether.base)).await.unwrap();
    assert_eq!(health.status(), 503);
    let health: serde_json::Value = health.json().await.unwrap();
    assert!(health["error"].as_str().unwrap().starts_with("disk almost full"), "{health}");
    let (status, page) = api(&tether, "projects/1/logs?from=-1h").await;
    assert_eq!(status, 200, "reads go on");
    assert_eq!(page["results"][0]["body"], "before the disk filled");

    std::fs::remove_file(&filler).unwrap();
    assert_eq!(send_log(&tether, "after space was freed").await.status(), 200);
    healthy(&tether).await;
    let (_, page) = api(&tether, "projects/1/logs?from=-1h").await;
    let bodies: Vec<&str> =
        page["results"].as_array().unwrap().iter().filter_map(|l| l["body"].as_str()).collect();
    assert_eq!(bodies, ["after space was freed", "before the disk filled"]);
}
