//! UI login: the admin user, the session cookie, and reading the API with it.

mod common;

use common::TestServer;
use serde_json::Value;

#[tokio::test]
async fn admin_logs_in_reads_with_the_cookie_and_logs_out() {
    let s = TestServer::start().await;
    let password = s.admin_password.clone();
    let client = reqwest::Client::new();
    let wrong = s.login("not it").await;
    assert_eq!(wrong.status(), 401);
    let ok = s.login(&password).await;
    assert_eq!(ok.status(), 200);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();
    let get = |path: &str, cookie: Option<&str>| {
        let mut req = client.get(format!("{}{path}", s.base));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    let me: Value = get("/api/me", Some(&session)).await.unwrap().json().await.unwrap();
    assert_eq!(me["user"]["username"], "admin");
    let logs = get(&format!("/api/projects/{}/logs", s.project_id), Some(&session)).await.unwrap();
    assert_eq!(logs.status(), 200);
    assert_eq!(get("/api/me", None).await.unwrap().status(), 401);
    assert_eq!(get("/api/me", Some("tether_session=forged")).await.unwrap().status(), 401);
    let out = client.post(format!("{}/api/logout", s.base)).header("cookie", &session).send().await.unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(get("/api/me", Some(&session)).await.unwrap().status(), 401, "the session ended");
}

/// A scripted brute force: after five wrong passwords every attempt waits twice as long
/// as the last (429 with Retry-After, the password not even checked), so in three seconds
/// a guesser gets a handful of tries instead of hundreds; the failures are counted in
/// /metrics, and the right password works again once the wait is over.
#[tokio::test]
async fn a_brute_force_of_the_login_is_throttled() {
    let s = TestServer::start().await;
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    let (mut checked, mut throttled) = (0, 0);
    let mut retry_after = 0;
    while started.elapsed() < std::time::Duration::from_secs(3) {
        let resp = s.login(&format!("guess-{checked}-{throttled}")).await;
        match resp.status().as_u16() {
            401 => checked += 1,
            429 => {
                throttled += 1;
                retry_after = resp.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap();
                let v: Value = resp.json().await.unwrap();
                assert!(
                    v["error"].as_str().unwrap().starts_with("too many failed logins; try again in"),
                    "{v}"
                );
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!((5..=7).contains(&checked), "passwords checked in 3 s: {checked}");
    assert!(throttled > 10, "attempts refused: {throttled}");
    // The right password is refused too while the wait lasts …
    assert_eq!(s.login(&s.admin_password).await.status(), 429);
    let metrics = client.get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(&format!("tether_logins_failed_total {checked}")), "{metrics}");
    assert!(metrics.contains("tether_logins_throttled_total "), "{metrics}");
    // … and accepted once it is over.
    tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    assert_eq!(s.login(&s.admin_password).await.status(), 200);
}

/// Forty wrong passwords for one user at once: the password is checked a handful of times
/// (each attempt is counted before its slow hash), the rest are 429 — also when each
/// attempt claims another client address in `X-Forwarded-For`, which only a trusted
/// proxy may set.
#[tokio::test]
async fn a_concurrent_burst_of_guesses_gets_a_handful_of_checks() {
    let s = TestServer::start().await;
    let guesses = (0..40).map(|i| {
        let request = s
            .client
            .post(format!("{}/api/login", s.base))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .json(&serde_json::json!({"username": "admin", "password": format!("guess {i}")}));
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= 6, "passwords checked: {checked} of {statuses:?}");
    assert_eq!(checked + statuses.iter().filter(|s| **s == 429).count(), 40, "{statuses:?}");
}
