//! The logs query API through HTTP: pages, filters, histogram, facets, tail, and errors.

mod common;

use common::{TestServer, now_ns, otlp_json};
use serde_json::{Value, json};

fn bodies(v: &Value) -> Vec<String> {
    v["results"].as_array().unwrap().iter().map(|l| l["body"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn pages_follow_cursor_without_gaps_or_repeats() {
    let s = TestServer::start().await;
    let t = now_ns() - 60_000_000_000;
    for i in 0..25 {
        let body = format!("log {i:02}");
        assert_eq!(s.send_json(&otlp_json("api", t + i * 1_000_000, &[(&body, &[])])).await.0, 200);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("logs?limit=10&cursor={c}"),
            None => "logs?limit=10".to_owned(),
        };
        let (status, page) = s.api(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(bodies(&page));
        // A log arriving mid-pagination must not disturb the pages.
        s.send_json(&otlp_json("api", now_ns(), &[("late arrival", &[])])).await;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let want: Vec<String> = (0..25).rev().map(|i| format!("log {i:02}")).collect();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn filters_histogram_and_facets() {
    let s = TestServer::start().await;
    let t = now_ns() - 120_000_000_000;
    let mut body = otlp_json("payments", t, &[("Stripe TIMEOUT after 30s", &[("http.route", "/pay")])]);
    body["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["severityNumber"] = json!(17);
    s.send_json(&body).await;
    s.send_json(&otlp_json("auth", t, &[("user signed in", &[("http.route", "/login")])])).await;
    let cases = [
        ("logs?q=timeout", vec!["Stripe TIMEOUT after 30s"]),
        ("logs?severity=error", vec!["Stripe TIMEOUT after 30s"]),
        ("logs?service=auth", vec!["user signed in"]),
        ("logs?attr=http.route%3D/login", vec!["user signed in"]),
        ("logs?attr=http.route!%3D/login", vec!["Stripe TIMEOUT after 30s"]),
        ("logs?attr=!http.route", vec![]),
        ("logs?from=-10s", vec![]),
    ];
    for (path, want) in cases {
        let (status, page) = s.api(path).await;
        assert_eq!(status, 200, "{path}: {page}");
        assert_eq!(bodies(&page), want, "{path}");
    }
    let (_, hist) = s.api("logs/histogram?from=-1h&to=now").await;
    assert_eq!(hist["bucket_seconds"], 120);
    let buckets = hist["buckets"].as_array().unwrap();
    assert!((30..=31).contains(&buckets.len()), "{}", buckets.len());
    let total: u64 = buckets.iter().map(|b| b["total"].as_u64().unwrap()).sum();
    assert_eq!(total, 2);
    let errors: u64 = buckets.iter().filter_map(|b| b["counts"]["error"].as_u64()).sum();
    assert_eq!(errors, 1);
    let (_, by_service) = s.api("logs/histogram?breakdown=service").await;
    assert!(by_service["buckets"].as_array().unwrap().iter().any(|b| b["counts"]["auth"] == 1));
    let (_, facets) = s.api("logs/facets").await;
    assert_eq!(
        facets["services"],
        json!([{ "value": "auth", "count": 1 }, { "value": "payments", "count": 1 }])
    );
    let route = facets["attributes"].as_array().unwrap().iter().find(|a| a["key"] == "http.route").unwrap();
    assert_eq!(route["count"], 2);
}

#[tokio::test]
async fn one_log_has_everything_and_tail_follows_arrivals() {
    let s = TestServer::start().await;
    let (_, start) = s.api("logs/tail").await;
    let cursor = start["cursor"].as_str().unwrap().to_owned();
    s.send_json(&otlp_json("api", now_ns(), &[("first", &[("sessionId", "t1")]), ("second", &[])])).await;
    let (_, tail) = s.api(&format!("logs/tail?after={cursor}")).await;
    assert_eq!(bodies(&tail), ["first", "second"]);
    // The cursor stays a little behind "now", so a log committed late by another Tether
    // process is not skipped: the next poll may repeat these two (clients drop repeats by
    // id), and never returns anything older than the cursor.
    let next = tail["cursor"].as_str().unwrap().to_owned();
    assert!(
        next.parse::<i64>().unwrap() <= tail["results"][1]["id"].as_str().unwrap().parse::<i64>().unwrap()
    );
    let (_, again) = s.api(&format!("logs/tail?after={next}")).await;
    assert!(bodies(&again).iter().all(|b| b == "first" || b == "second"), "{again}");
    let cursor = |v: &Value| v["cursor"].as_str().unwrap().parse::<i64>().unwrap();
    assert!(cursor(&again) >= next.parse::<i64>().unwrap(), "the cursor never goes back");
    s.send_json(&otlp_json("api", now_ns(), &[("third", &[])])).await;
    let (_, third) = s.api(&format!("logs/tail?after={next}")).await;
    assert_eq!(bodies(&third).last().map(String::as_str), Some("third"));

    let id = tail["results"][0]["id"].as_str().unwrap();
    let (status, log) = s.api(&format!("logs/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(log["body"], "first");
    assert_eq!(log["scope"]["name"], "test");
    assert_eq!(log["severity_text"], "INFO");
    assert!(log["observed_timestamp"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn api_errors_are_json_with_the_right_status() {
    let s = TestServer::start().await;
    let cases = [
        ("logs?severity=loud", 400, "invalid severity"),
        ("logs?limit=5000", 400, "invalid limit"),
        ("logs/123456", 404, "not found"),
        ("logs/not-a-number", 404, "not found"),
    ];
    for (path, status, msg) in cases {
        let (got, v) = s.api(path).await;
        assert_eq!(got, status, "{path}");
        assert!(v["error"].as_str().unwrap().contains(msg), "{path}: {v}");
    }
    let get = |url: String, key: Option<String>| {
        let mut req = s.client.get(url);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send()
    };
    let logs_url = |project: i64| format!("{}/api/projects/{project}/logs", s.base);
    assert_eq!(get(logs_url(s.project_id), None).await.unwrap().status(), 401);
    assert_eq!(get(logs_url(s.project_id), Some("phx_wrong".into())).await.unwrap().status(), 401);
    assert_eq!(get(logs_url(s.project_id), Some(s.token.clone())).await.unwrap().status(), 401);
    assert_eq!(get(logs_url(999), Some(s.api_key.clone())).await.unwrap().status(), 404);

    // A key scoped to a second project may read it but not the first one, which it is
    // answered does not exist.
    let post = |path: String, body: Value| {
        let req = s.client.post(format!("{}{path}", s.base)).bearer_auth(&s.api_key).json(&body);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let created = post("/api/projects".into(), json!({ "name": "Shop" })).await;
    let shop = created["id"].as_i64().unwrap();
    assert!(created["token"].as_str().unwrap().starts_with("phc_"));
    // Keys are made by a person, logged in.
    let key: Value = s
        .client
        .post(format!("{}/api/projects/{shop}/api_keys", s.base))
        .header("cookie", s.admin_cookie().await)
        .json(&json!({ "name": "shop reader" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shop_key = key["secret"].as_str().unwrap().to_owned();
    assert_eq!(get(logs_url(shop), Some(shop_key.clone())).await.unwrap().status(), 200);
    let denied = get(logs_url(s.project_id), Some(shop_key.clone())).await.unwrap();
    assert_eq!(denied.status(), 404);
    let projects: Value =
        get(format!("{}/api/projects", s.base), Some(shop_key)).await.unwrap().json().await.unwrap();
    assert_eq!(projects["results"].as_array().unwrap().len(), 1);
    assert_eq!(projects["results"][0]["name"], "Shop");
}

#[tokio::test]
async fn patterns_of_a_search_and_the_pattern_of_each_log() {
    let s = TestServer::start().await;
    let t = now_ns() - 120_000_000_000;
    let orders: Vec<String> = (0..12).map(|i| format!("order {} shipped to 10.1.2.{i}", 4000 + i)).collect();
    let logins: Vec<String> =
        ["ada", "bob", "cyd", "dee"].iter().map(|u| format!("user {u} logged in")).collect();
    let records: Vec<(&str, &[(&str, &str)])> =
        orders.iter().chain(&logins).map(|b| (b.as_str(), &[][..])).collect();
    assert_eq!(s.send_json(&otlp_json("shop", t, &records)).await.0, 200);

    let (status, found) = s.api("logs/patterns?from=-1h").await;
    assert_eq!(status, 200, "{found}");
    assert_eq!((found["total"].as_u64(), found["sampled"].as_u64()), (Some(16), Some(16)));
    let rows: Vec<(&str, u64)> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["template"].as_str().unwrap(), p["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(rows, [("order <num> shipped to <ip>", 12), ("user <*> logged in", 4)]);
    let first = &found["results"][0];
    assert_eq!(first["examples"].as_array().unwrap().len(), 3);
    assert!(first["examples"][0]["body"].as_str().unwrap().contains("shipped"));
    assert_eq!(first["services"], json!(["shop"]));

    // Each log carries its pattern; the pattern is a filter.
    let (_, page) = s.api("logs?q=ada").await;
    assert_eq!(page["results"][0]["pattern"]["template"], "user <*> logged in");
    let (status, page) = s.api("logs?q=pattern%3A%22user%20%3C*%3E%20logged%20in%22").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(bodies(&page).len(), 4);
    let (status, err) = s.api("logs/patterns?q=pattern%3A*").await;
    assert_eq!(
        (status, err["error"].as_str().unwrap_or_default().contains("template")),
        (400, true),
        "{err}"
    );
}

#[tokio::test]
async fn what_changed_against_the_previous_range() {
    let s = TestServer::start().await;
    let minute = 60_000_000_000i64;
    let now = now_ns();
    let before: Vec<String> = (0..6).map(|i| format!("cache miss for key k{i}")).collect();
    let after: Vec<String> = (0..9).map(|i| format!("payment gateway timeout after {i} ms")).collect();
    let records = |bodies: &[String]| {
        bodies.iter().map(|b| (b.clone(), vec![])).collect::<Vec<(String, Vec<(&str, &str)>)>>()
    };
    for (bodies, at) in [(&before, now - 45 * minute), (&after, now - 5 * minute)] {
        let owned = records(bodies);
        let batch: Vec<(&str, &[(&str, &str)])> =
            owned.iter().map(|(b, a)| (b.as_str(), a.as_slice())).collect();
        assert_eq!(s.send_json(&otlp_json("shop", at, &batch)).await.0, 200);
    }
    let (status, found) = s.api("logs/patterns/compare?from=-30m&to=-0s").await;
    assert_eq!(status, 200, "{found}");
    let rows: Vec<(&str, &str, u64, u64)> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["template"].as_str().unwrap(),
                p["change"].as_str().unwrap(),
                p["current"].as_u64().unwrap(),
                p["baseline"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("payment gateway timeout after <num> ms", "new", 9, 0), ("cache miss for key <id>", "gone", 0, 6)]
    );
    assert_eq!((found["current_total"].as_u64(), found["baseline_total"].as_u64()), (Some(9), Some(6)));
    let (status, err) = s.api("logs/patterns/compare?against=yesterday").await;
    assert_eq!(status, 400, "{err}");
    let (status, sessions) = s.api("logs/patterns/compare?against=sessions").await;
    assert_eq!((status, sessions["baseline_label"].as_str()), (200, Some("other sessions")), "{sessions}");
}
