//! `tether admin set-password` on the data directory of a running Tether: the new password
//! works, the old one and the user's sessions stop working.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

mod common;
use common::healthy;

async fn login(base: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap()
}

fn set_password(data_dir: &std::path::Path, username: &str, password: &str) -> std::process::Output {
    let mut child = common::tether_command()
        .args(["admin", "set-password", username, "--data-dir"])
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn an_operator_sets_a_new_password_while_tether_runs() {
    let dir = tempfile::tempdir().unwrap();
    let tether = common::spawn(dir.path(), &[("TETHER_ADMIN_PASSWORD", "first-password-1")]);
    healthy(&tether).await;
    let ok = login(&tether.base, "first-password-1").await;
    assert_eq!(ok.status(), 200);
    let session = ok.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();

    let out = set_password(dir.path(), "admin", "second-password-2");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Password of admin changed"));

    assert_eq!(login(&tether.base, "first-password-1").await.status(), 401);
    assert_eq!(login(&tether.base, "second-password-2").await.status(), 200);
    // The old session ends (another process changed it: within the metadata cache's 5 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let me = reqwest::Client::new()
            .get(format!("{}/api/me", tether.base))
            .header("cookie", &session)
            .send()
            .await
            .unwrap();
        if me.status() == 401 {
            break;
        }
        assert!(Instant::now() < deadline, "the old session still works");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let unknown = set_password(dir.path(), "nobody", "third-password-3");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user named \"nobody\""));
    let short = set_password(dir.path(), "admin", "short");
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8 characters"));
}
