//! `tether serve` on PostgreSQL (metadata) and S3 (recording bytes), the services
//! scripts/test starts (`TETHER_TEST_POSTGRES_URL`, `TETHER_TEST_S3_URL` and `AWS_*`):
//! several processes on one database, and the database going away and coming back.

use serde_json::{Value, json};

mod common;
use common::{Relay, Tether, api, capture, fresh_storage, healthy, send_log, survives_an_outage};

/// Tether on PostgreSQL and S3, in a data directory of its own (for DuckDB).
struct OnServices {
    tether: Tether,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for OnServices {
    type Target = Tether;
    fn deref(&self) -> &Tether {
        &self.tether
    }
}

fn spawn(postgres_url: &str, blob_url: &str) -> OnServices {
    let dir = tempfile::tempdir().unwrap();
    let env = [("TETHER_POSTGRES_URL", postgres_url), ("TETHER_BLOB_URL", blob_url)];
    OnServices { tether: common::spawn(dir.path(), &env), _dir: dir }
}

#[tokio::test]
async fn two_processes_share_one_postgres_and_bucket() {
    let (pg, s3) = fresh_storage("two_processes").await;
    // Both start at once on the empty database: one first start between them.
    let (a, b) = (spawn(&pg, &s3), spawn(&pg, &s3));
    healthy(&a).await;
    healthy(&b).await;
    let (_, projects) = api(&b, "projects").await;
    assert_eq!(projects["results"].as_array().unwrap().len(), 1, "{projects}");

    // A person identified through A, and an exception captured through A, are seen by B.
    let identify = json!([
        {"event": "$identify", "distinct_id": "ada@example.com", "uuid": "0192f0a1-0000-7000-8000-000000000001",
         "timestamp": "2026-01-01T00:00:00Z",
         "properties": {"$anon_distinct_id": "anon-ada", "$set": {"plan": "pro"}, "$session_id": "s-1"}},
        {"event": "$exception", "distinct_id": "ada@example.com", "uuid": "0192f0a1-0000-7000-8000-000000000002",
         "timestamp": "2026-01-01T00:00:01Z",
         "properties": {"$session_id": "s-1", "$exception_list": [{"type": "TypeError", "value": "shared issue",
             "stacktrace": {"frames": [{"filename": "app.js", "function": "pay", "in_app": true}]}}]}}
    ]);
    assert_eq!(capture(&a, identify).await, 200);
    let (status, person) = api(&b, "projects/1/persons/anon-ada").await;
    assert_eq!(status, 200, "{person}");
    assert_eq!(person["distinct_ids"], json!(["ada@example.com", "anon-ada"]));
    assert_eq!(person["properties"]["plan"], "pro");
    let (_, issues) = api(&b, "projects/1/error_tracking/issues").await;
    let names: Vec<&str> =
        issues["results"].as_array().unwrap().iter().filter_map(|i| i["description"].as_str()).collect();
    assert_eq!(names, ["shared issue"], "{issues}");

    // Each process mints log ids with its own node number: never the same id.
    assert_eq!(send_log(&a, "from a").await.status(), 200);
    assert_eq!(send_log(&b, "from b").await.status(), 200);
    let id_of = |page: Value| page["results"][0]["id"].as_str().unwrap().parse::<i64>().unwrap();
    let id_a = id_of(api(&a, "projects/1/logs?from=-1h").await.1);
    let id_b = id_of(api(&b, "projects/1/logs?from=-1h").await.1);
    assert_ne!(id_a % 1024, id_b % 1024, "node numbers differ: {id_a} {id_b}");
}

#[tokio::test]
async fn postgres_going_away_is_503_then_recovers_without_a_restart() {
    let (pg, s3) = fresh_storage("outage").await;
    let (relay, url) = Relay::in_front_of(&pg).await;
    let tether = spawn(&url, &s3);
    healthy(&tether).await;
    // Cached project and key lookups keep working for a few seconds; then the metadata
    // store is asked, and cannot answer.
    survives_an_outage(&tether, &relay).await;
}
