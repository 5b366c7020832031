//! `tether serve` on PostgreSQL (metadata) and S3 (recording bytes), the services
//! scripts/test starts (`TETHER_TEST_POSTGRES_URL`, `TETHER_TEST_S3_URL` and `AWS_*`):
//! several processes on one database, and the database going away and coming back.

use serde_json::Value;

mod common;
use common::{
    InTempDir, Relay, ada_identifies_and_throws, api, capture, fresh_storage, healthy,
    sees_ada_and_her_issue, send_log, services, spawn_in_temp_dir, survives_an_outage,
};

/// Tether on PostgreSQL and S3, in a data directory of its own (for DuckDB).
fn spawn(postgres_url: &str, blob_url: &str) -> InTempDir {
    spawn_in_temp_dir(&[("TETHER_POSTGRES_URL", postgres_url), ("TETHER_BLOB_URL", blob_url)])
}

#[tokio::test]
async fn two_processes_share_one_postgres_and_bucket() {
    if !services(&["TETHER_TEST_POSTGRES_URL", "TETHER_TEST_S3_URL"]) {
        return;
    }
    let (pg, s3) = fresh_storage("two_processes").await;
    // Both start at once on the empty database: one first start between them.
    let (a, b) = (spawn(&pg, &s3), spawn(&pg, &s3));
    healthy(&a).await;
    healthy(&b).await;
    let (_, projects) = api(&b, "projects").await;
    assert_eq!(projects["results"].as_array().unwrap().len(), 1, "{projects}");

    // A person identified through A, and an exception captured through A, are seen by B.
    let identify = ada_identifies_and_throws();
    assert_eq!(capture(&a, identify).await, 200);
    sees_ada_and_her_issue(&b).await;

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
    if !services(&["TETHER_TEST_POSTGRES_URL", "TETHER_TEST_S3_URL"]) {
        return;
    }
    let (pg, s3) = fresh_storage("outage").await;
    let (relay, url) = Relay::in_front_of(&pg).await;
    let tether = spawn(&url, &s3);
    healthy(&tether).await;
    // Cached project and key lookups keep working for a few seconds; then the metadata
    // store is asked, and cannot answer.
    survives_an_outage(&tether, &relay).await;
}
