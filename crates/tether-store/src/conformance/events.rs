//! The event suite: captured events and exception occurrences.

use serde_json::json;
use tether_model::{Event, ExceptionRecord, ProjectId};

use super::{EventStores, T0};
use crate::ExceptionScope;

pub fn event(project_id: ProjectId, uuid: &str, session: &str) -> Event {
    Event {
        project_id,
        uuid: uuid.into(),
        event: "$pageview".into(),
        distinct_id: "anon-1".into(),
        session_id: Some(session.into()),
        window_id: Some("w1".into()),
        timestamp_ms: T0 / 1_000_000,
        current_url: Some("https://shop.example.com/".into()),
        properties: json!({"$browser": "Chrome"}).to_string(),
    }
}

pub fn exception(uuid: &str, issue_id: i64, session: &str, user: &str, ms: i64) -> ExceptionRecord {
    ExceptionRecord {
        project_id: 1,
        uuid: uuid.into(),
        issue_id,
        session_id: Some(session.into()),
        window_id: None,
        distinct_id: user.into(),
        timestamp_ms: ms,
        url: Some("https://shop.example.com/cart".into()),
        name: "TypeError".into(),
        message: "x is undefined".into(),
        exception_list: json!([{"type": "TypeError", "value": "x is undefined"}]),
    }
}

pub async fn events_are_seen_once_per_uuid_and_project(s: EventStores) {
    s.events
        .append_events(vec![event(1, "u1", "s1"), event(1, "u2", "s1"), event(1, "u1", "s1")])
        .await
        .unwrap();
    // An SDK retry of u2 in a later call, and the same uuid in another project.
    s.events.append_events(vec![event(1, "u2", "s1"), event(2, "u2", "s1")]).await.unwrap();
    let got = s.events.session_events(1, "s1", 100).await.unwrap();
    let mut uuids: Vec<_> = got.iter().map(|e| e.uuid.as_str()).collect();
    uuids.sort();
    assert_eq!(uuids, ["u1", "u2"], "a repeated uuid is seen once");
    assert_eq!(got[0].property("$browser"), Some(json!("Chrome")));
    assert_eq!(got[0].current_url.as_deref(), Some("https://shop.example.com/"));
    assert_eq!(s.events.session_events(2, "s1", 100).await.unwrap().len(), 1);
    assert!(s.events.session_events(1, "other", 100).await.unwrap().is_empty());
    // One event by its uuid and time, within its project only.
    let at = T0 / 1_000_000;
    let one = s.events.event(1, "u2", at).await.unwrap().expect("stored");
    assert_eq!((one.uuid.as_str(), one.property("$browser")), ("u2", Some(json!("Chrome"))));
    assert_eq!(s.events.event(1, "u2", at + 1).await.unwrap(), None, "another time");
    assert_eq!(s.events.event(3, "u2", at).await.unwrap(), None, "another project");
}

pub async fn exceptions_aggregate_per_issue_and_session(s: EventStores) {
    let t = 1_767_225_600_000;
    let hour = 3_600_000;
    let rows = vec![
        exception("e1", 10, "s1", "alice", t),
        exception("e2", 10, "s1", "alice", t + hour),
        exception("e3", 10, "s2", "bob", t + 2 * hour),
        exception("e4", 11, "s1", "alice", t + 7 * hour),
    ];
    s.events.append_exceptions(rows.clone()).await.unwrap();
    s.events.append_exceptions(rows).await.unwrap(); // the SDK retried the whole batch
    let all = s.events.issue_stats(ExceptionScope { project_id: 1, ..Default::default() }).await.unwrap();
    assert_eq!(all.iter().map(|i| i.issue_id).collect::<Vec<_>>(), [11, 10], "most recently seen first");
    assert_eq!(
        (all[1].occurrences, all[1].sessions, all[1].users),
        (3, 2, 2),
        "retries are not double counted"
    );
    // The seed's rule: same session, within ±6 h of a log at t + 30 min.
    let scope = ExceptionScope {
        project_id: 1,
        session_id: Some("s1".into()),
        from_ms: Some(t + hour / 2 - 6 * hour),
        to_ms: Some(t + hour / 2 + 6 * hour),
        ..Default::default()
    };
    let related = s.events.issue_stats(scope.clone()).await.unwrap();
    assert_eq!(related.len(), 1);
    assert_eq!((related[0].issue_id, related[0].occurrences), (10, 2));
    let daily = s
        .events
        .issue_daily_counts(ExceptionScope { project_id: 1, from_ms: Some(t), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(daily, [(10, 0, 3), (11, 0, 1)]);
    let latest = s.events.exceptions(ExceptionScope { issue_id: Some(10), ..scope }, 1).await.unwrap();
    assert_eq!(latest[0].uuid, "e2");
    assert_eq!(latest[0].exception_list[0]["type"], "TypeError");
    let everything =
        s.events.exceptions(ExceptionScope { project_id: 1, ..Default::default() }, 100).await.unwrap();
    assert_eq!(everything.len(), 4, "no occurrence is returned twice");
    let other = ExceptionScope { project_id: 2, ..Default::default() };
    assert!(s.events.issue_stats(other).await.unwrap().is_empty());
    let counts = s
        .events
        .session_exception_counts(ExceptionScope { project_id: 1, ..Default::default() }, Vec::new())
        .await
        .unwrap();
    let mut counts: Vec<_> = counts.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    counts.sort();
    assert_eq!(counts, [("s1", 3), ("s2", 1)]);
    let some = s
        .events
        .session_exception_counts(
            ExceptionScope { project_id: 1, ..Default::default() },
            vec!["s2".into(), "none".into()],
        )
        .await
        .unwrap();
    assert_eq!(some, [("s2".to_owned(), 1)]);
}

pub async fn exception_ranges_are_half_open(s: EventStores) {
    let t = 1_767_225_600_000;
    s.events
        .append_exceptions(vec![
            exception("a", 1, "s1", "alice", t),
            exception("b", 1, "s1", "alice", t + 1000),
        ])
        .await
        .unwrap();
    let scope =
        ExceptionScope { project_id: 1, from_ms: Some(t), to_ms: Some(t + 1000), ..Default::default() };
    let got = s.events.exceptions(scope.clone(), 10).await.unwrap();
    assert_eq!(
        got.iter().map(|e| e.uuid.as_str()).collect::<Vec<_>>(),
        ["a"],
        "from is inclusive, to exclusive"
    );
    assert_eq!(s.events.issue_stats(scope).await.unwrap()[0].occurrences, 1);
}

pub async fn deleting_old_events_leaves_newer_ones_and_other_projects(s: EventStores) {
    let at = |mut e: Event, ms: i64| {
        e.timestamp_ms = ms;
        e
    };
    let t = T0 / 1_000_000;
    s.events
        .append_events(vec![
            at(event(1, "old", "s1"), t - 1),
            at(event(1, "new", "s1"), t),
            at(event(2, "p2", "s1"), t - 1),
        ])
        .await
        .unwrap();
    let mut other = exception("p2-old", 10, "s1", "alice", t - 1);
    other.project_id = 2;
    s.events
        .append_exceptions(vec![
            exception("e-old", 10, "s1", "alice", t - 1),
            exception("e-new", 10, "s1", "bob", t),
            other,
        ])
        .await
        .unwrap();

    assert_eq!(s.events.delete_events_before(1, t).await.unwrap(), 2, "one event, one exception");
    let uuids = |events: Vec<Event>| events.into_iter().map(|e| e.uuid).collect::<Vec<_>>();
    assert_eq!(uuids(s.events.session_events(1, "s1", 10).await.unwrap()), ["new"]);
    assert_eq!(uuids(s.events.session_events(2, "s1", 10).await.unwrap()), ["p2"]);
    let scope = |project_id| ExceptionScope { project_id, ..Default::default() };
    let left: Vec<_> = s.events.exceptions(scope(1), 10).await.unwrap().into_iter().map(|e| e.uuid).collect();
    assert_eq!(left, ["e-new"]);
    let stats = s.events.issue_stats(scope(1)).await.unwrap();
    assert_eq!((stats[0].occurrences, stats[0].users, stats[0].first_ms), (1, 1, t));
    assert_eq!(s.events.exceptions(scope(2), 10).await.unwrap().len(), 1);
    assert_eq!(s.events.delete_events_before(1, t).await.unwrap(), 0);
}
