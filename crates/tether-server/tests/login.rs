//! UI login: the admin user, the session cookie, and reading the API with it.

mod common;

use common::TestServer;
use serde_json::{Value, json};

#[tokio::test]
async fn admin_logs_in_reads_with_the_cookie_and_logs_out() {
    let s = TestServer::start().await;
    let password = s.admin_password.clone();
    let client = reqwest::Client::new();
    let login = |password: String| {
        client
            .post(format!("{}/api/login", s.base))
            .json(&json!({"username": "admin", "password": password}))
            .send()
    };
    let wrong = login("not it".into()).await.unwrap();
    assert_eq!(wrong.status(), 401);
    let ok = login(password).await.unwrap();
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
