//! Alert decisions on real stores (DuckDB and SQLite in a temp dir) with a clock the test
//! moves: a threshold alert fires once when its window holds more logs than its threshold,
//! resolves once the window has moved past them, and its notification names the project;
//! an issue alert notifies of a new issue once.

use serde_json::Value;
use tether_model::{AlertRule, LogId};
use tether_store::conformance::logs::sample;
use tether_store::{AlertEventKind, AlertSpec, AlertStore, IssueStore, LogWriter, StoredLog};

mod common;

use common::{NOW_MS, fixture};

fn spec(rule: AlertRule) -> AlertSpec {
    AlertSpec {
        name: "payments".into(),
        rule,
        webhook_url: "http://hooks.example/x".into(),
        link_base: "http://tether.example".into(),
        enabled: true,
    }
}

#[tokio::test]
async fn a_threshold_alert_fires_once_and_resolves_when_its_window_moves_on() {
    let f = fixture().await;
    let rule = AlertRule::LogThreshold { query: "q=declined".into(), threshold: 2, window_secs: 60 };
    let alert = f.meta.create_alert(2, spec(rule), NOW_MS).await.unwrap();
    let logs = (1..=3)
        .map(|i| StoredLog {
            id: LogId(i),
            record: sample(2, (NOW_MS - 10_000 + i) * 1_000_000, "payment declined"),
        })
        .collect();
    f.duck.append_logs(logs).await.unwrap();
    f.duck
        .append_logs(vec![StoredLog {
            id: LogId(9),
            record: sample(1, (NOW_MS - 10_000) * 1_000_000, "payment declined"),
        }])
        .await
        .unwrap();

    let decided = f.app.evaluate_alerts().await.unwrap();
    assert_eq!(decided.len(), 1, "3 logs > threshold 2 in the last minute");
    let event = &decided[0].1[0];
    assert_eq!(event.kind, AlertEventKind::Fired);
    assert_eq!(event.value, 3, "only project 2's logs count");
    let payload: Value = serde_json::from_str(&event.payload).unwrap();
    assert_eq!(payload["status"], "firing");
    assert_eq!(payload["alert"]["id"], alert.id);
    let link = payload["link"].as_str().unwrap();
    assert!(link.starts_with("http://tether.example/project/2/logs?q=declined&from="), "{link}");
    assert!(f.app.evaluate_alerts().await.unwrap().is_empty(), "still firing: nothing new to say");

    f.clock.advance(60_000);
    let decided = f.app.evaluate_alerts().await.unwrap();
    assert_eq!(decided[0].1[0].kind, AlertEventKind::Resolved, "the window moved past the logs");
    assert!(f.app.evaluate_alerts().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_issue_alert_notifies_of_a_new_issue_once() {
    let f = fixture().await;
    f.meta.create_alert(1, spec(AlertRule::NewIssue), NOW_MS).await.unwrap();
    assert!(f.app.evaluate_alerts().await.unwrap().is_empty(), "no issue yet");
    let issue = f.meta.record_occurrence(1, "fp", "TypeError", "x is undefined", NOW_MS).await.unwrap();
    f.meta.record_occurrence(2, "fp", "RangeError", "other project", NOW_MS).await.unwrap();

    let decided = f.app.evaluate_alerts().await.unwrap();
    assert_eq!(decided.len(), 1);
    let payload: Value = serde_json::from_str(&decided[0].1[0].payload).unwrap();
    assert_eq!(payload["status"], "new");
    assert_eq!(payload["issue"]["id"], issue);
    assert_eq!(payload["link"], format!("http://tether.example/project/1/errors/{issue}"));
    assert!(f.app.evaluate_alerts().await.unwrap().is_empty(), "notified once");
    assert!(f.meta.alert_events(1, decided[0].0.id, 10).await.unwrap().len() == 1, "recorded in the history");
}
