//! `tether admin …` on a data directory: `set-password` while Tether runs (the new password
//! works, the old one and the user's sessions stop working), `create-user` before the first
//! start (that user is the first admin; no `admin` of the start's own) and after it.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

mod common;
use common::healthy;

async fn login(base: &str, password: &str) -> reqwest::Response {
    login_as(base, "admin", password).await
}

async fn login_as(base: &str, username: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

/// `tether admin {args…} --data-dir DIR` with `password` on standard input.
fn admin(data_dir: &std::path::Path, args: &[&str], password: &str) -> std::process::Output {
    let mut child = common::tether_command()
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

fn set_password(data_dir: &std::path::Path, username: &str, password: &str) -> std::process::Output {
    admin(data_dir, &["set-password", username], password)
}

#[tokio::test]
async fn an_operator_creates_the_first_admin_before_the_first_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = admin(&data, &["create-user", "ops", "--role", "admin"], "ops-password-1");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("User ops (admin) created"));
    let bad = admin(&data, &["create-user", "x", "--role", "owner"], "whatever-long");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid role \"owner\""));

    let tether = common::spawn(&data, &[]);
    healthy(&tether).await;
    let ok = login_as(&tether.base, "ops", "ops-password-1").await;
    assert_eq!(ok.status(), 200);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["user"]["role"], "admin");
    let users: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/users", tether.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<_> = users["results"].as_array().unwrap().iter().map(|u| u["username"].clone()).collect();
    assert_eq!(names, [json!("ops")], "no admin user of the start's own");

    // While it runs: a viewer, who logs in with that role.
    let out = admin(&data, &["create-user", "grace", "--role", "viewer"], "grace-password-1");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let grace: serde_json::Value =
        login_as(&tether.base, "grace", "grace-password-1").await.json().await.unwrap();
    assert_eq!(grace["user"]["role"], "viewer");
    let taken = admin(&data, &["create-user", "grace"], "grace-password-2");
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("username already taken"));
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

/// Secrets the operator gave through the environment are not printed; the operator key is
/// rotated by configuring a new one and disabled by configuring `disabled`.
#[tokio::test]
async fn the_operator_key_is_rotated_and_disabled_and_given_secrets_are_not_printed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let banner = dir.path().join("banner.txt");
    let password = "given-admin-password";
    let tether = common::spawn_printing_to(
        &data,
        &[("TETHER_ADMIN_PASSWORD", password)],
        Stdio::from(std::fs::File::create(&banner).unwrap()),
    );
    healthy(&tether).await;
    drop(tether);
    let printed = std::fs::read_to_string(&banner).unwrap();
    assert!(printed.contains("First start"), "{printed}");
    assert!(
        !printed.contains(password) && !printed.contains(common::KEY),
        "printed a given secret: {printed}"
    );
    assert!(printed.contains("TETHER_ADMIN_PASSWORD") && printed.contains("TETHER_API_KEY"), "{printed}");

    let me = |base: String, key: String| async move {
        reqwest::Client::new().get(format!("{base}/api/me")).bearer_auth(key).send().await.unwrap().status()
    };
    let rotated = "phx_rotatedoperatorkey0123456789";
    let tether = common::spawn(&data, &[("TETHER_OPERATOR_KEY", rotated)]);
    healthy(&tether).await;
    assert_eq!(me(tether.base.clone(), common::KEY.into()).await, 401, "the old key is revoked");
    assert_eq!(me(tether.base.clone(), rotated.into()).await, 200);
    drop(tether);
    let tether = common::spawn(&data, &[("TETHER_OPERATOR_KEY", "disabled")]);
    healthy(&tether).await;
    assert_eq!(me(tether.base.clone(), rotated.into()).await, 401, "no operator key");
    drop(tether);
    let refused = refused_start(&data, "TETHER_OPERATOR_KEY", "phx_short");
    assert!(refused.contains("server.operator_key"), "{refused}");
}

/// What `tether serve` on `data_dir` with `variable` set to `value` says as it refuses to start.
fn refused_start(data_dir: &std::path::Path, variable: &str, value: &str) -> String {
    let out = common::tether_command()
        .args(["serve", "--data-dir"])
        .arg(data_dir)
        .env(variable, value)
        .output()
        .unwrap();
    assert!(!out.status.success(), "started with {variable}={value}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// With `public_url` set, the links Tether hands out use it, whatever `Host` a request
/// carried; a `public_url` that is not an origin is refused at start.
#[tokio::test]
async fn links_are_built_on_the_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env =
        [("TETHER_ADMIN_PASSWORD", "admin-password-1"), ("TETHER_PUBLIC_URL", "https://tether.example.com/")];
    let tether = common::spawn(&data, &env);
    healthy(&tether).await;
    let login = login(&tether.base, "admin-password-1").await;
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let invite: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/invites", tether.base))
        .header("cookie", cookie)
        .header("host", "attacker.example")
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        invite["url"].as_str().unwrap().starts_with("https://tether.example.com/invite/tin_"),
        "{invite}"
    );
    let refused = refused_start(&data, "TETHER_PUBLIC_URL", "https://tether.example.com/some/path");
    assert!(refused.contains("public_url must be an origin"), "{refused}");
}
