//! A database made by an older Tether is brought to the current schema when the store
//! connects, and what it held stays searchable. Needs `TETHER_TEST_CLICKHOUSE_URL` (see
//! `conformance.rs`).

use tether_store::conformance::logs::{append, sample};
use tether_store::{LogExpr, LogFilter, LogQuery, LogReader};
use tether_store_clickhouse::ClickAnalytics;

const MINUTE_NS: i64 = 60_000_000_000;

/// The names of the skipping indexes of `logs`.
async fn indexes(client: &clickhouse::Client) -> Vec<String> {
    let mut names: Vec<String> = client
        .query("SELECT name FROM system.data_skipping_indices WHERE database = currentDatabase() AND table = 'logs'")
        .fetch_all()
        .await
        .expect("list indexes");
    names.sort();
    names
}

#[tokio::test]
async fn a_database_of_version_2_gets_the_body_filter_and_keeps_its_logs_searchable() {
    if !tether_store::conformance::service_available("TETHER_TEST_CLICKHOUSE_URL") {
        return;
    }
    let server = std::env::var("TETHER_TEST_CLICKHOUSE_URL").expect("checked above");
    let name = format!("upgrade_{}", std::process::id());
    let url = format!("{}{}database={name}", server, if server.contains('?') { "&" } else { "?" });
    let store = ClickAnalytics::connect(&url).await.expect("connect");
    // Turn the new database back into what version 2 made: its two body filters, and no
    // record of version 3.
    let client = clickhouse::Client::default().with_url(server.trim_end_matches('/')).with_database(&name);
    for sql in [
        "ALTER TABLE logs DROP INDEX body_grams",
        "ALTER TABLE logs ADD INDEX body_tokens lowerUTF8(body) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1",
        "ALTER TABLE logs ADD INDEX body_ngrams lowerUTF8(body) TYPE ngrambf_v1(3, 65536, 3, 0) GRANULARITY 1",
        "DELETE FROM tether_schema WHERE version = 3",
    ] {
        client.query(sql).execute().await.expect(sql);
    }
    assert!(indexes(&client).await.contains(&"body_ngrams".to_owned()));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
    let old = sample(1, now - MINUTE_NS, "payment 7f3a9c21d4 declined by the issuer");
    append(&store, vec![old]).await;
    drop(store);

    let store = ClickAnalytics::connect(&url).await.expect("connect again");
    let names = indexes(&client).await;
    assert!(names.contains(&"body_grams".to_owned()), "{names:?}");
    assert!(!names.iter().any(|n| n == "body_tokens" || n == "body_ngrams"), "{names:?}");
    let newer = sample(1, now, "refund 7F3A9C21D4 sent");
    append(&store, vec![newer]).await;
    let filter = LogFilter {
        query: Some(LogExpr::body("a9c21d")),
        ..LogFilter::new(1, now - 10 * MINUTE_NS, now + MINUTE_NS)
    };
    let page = store.search(LogQuery { filter, limit: 10, after: None }).await.expect("search");
    let bodies: Vec<&str> = page.logs.iter().map(|l| l.record.body.as_str()).collect();
    assert_eq!(bodies, ["refund 7F3A9C21D4 sent", "payment 7f3a9c21d4 declined by the issuer"]);
    client.query(&format!("DROP DATABASE {name}")).execute().await.expect("drop the database");
}
