//! The alerts suite: alerts per project, state changes that happen once however many
//! evaluations race, and the history with each notification's delivery.

use super::MetaStores;
use crate::{AlertEventKind, AlertRule, AlertSpec, Delivery, NewAlertEvent};

fn spec(name: &str) -> AlertSpec {
    AlertSpec {
        name: name.into(),
        rule: AlertRule::LogThreshold {
            query: "q=timeout&severity=error".into(),
            threshold: 20,
            window_secs: 300,
        },
        webhook_url: "http://hooks.example/tether".into(),
        link_base: "http://tether.example".into(),
        enabled: true,
    }
}

fn event(kind: AlertEventKind, at_ms: i64) -> NewAlertEvent {
    NewAlertEvent { kind, at_ms, value: 25, payload: r#"{"status":"firing"}"#.into() }
}

pub async fn alerts_belong_to_their_project_and_keep_their_rule(s: MetaStores) {
    let p = s.meta.create_project("Default", "phc_al1").await.unwrap();
    let q = s.meta.create_project("Other", "phc_al2").await.unwrap();
    let a = s.alerts.create_alert(p.id, spec("errors"), 1_000).await.unwrap();
    assert_eq!((a.firing, a.enabled, a.checked_until_ms, a.created_at_ms), (false, true, 1_000, 1_000));
    assert_eq!(a.rule, spec("x").rule);
    let issue =
        s.alerts.create_alert(p.id, AlertSpec { rule: AlertRule::NewIssue, ..spec("issues") }, 2_000).await;
    let issue = issue.unwrap();
    assert_eq!(s.alerts.alerts(p.id).await.unwrap(), [a.clone(), issue.clone()]);
    assert_eq!(s.alerts.alerts(q.id).await.unwrap(), []);
    assert_eq!(s.alerts.alert(q.id, a.id).await.unwrap(), None);

    let off = AlertSpec { enabled: false, name: "errors, renamed".into(), ..spec("errors") };
    let updated = s.alerts.update_alert(p.id, a.id, off).await.unwrap().unwrap();
    assert_eq!((updated.name.as_str(), updated.enabled), ("errors, renamed", false));
    assert_eq!(s.alerts.update_alert(q.id, a.id, spec("theirs")).await.unwrap(), None);
    let enabled: Vec<i64> = s.alerts.enabled_alerts().await.unwrap().iter().map(|a| a.id).collect();
    assert_eq!(enabled, [issue.id]);

    s.alerts.set_firing(p.id, a.id, true, event(AlertEventKind::Fired, 3_000)).await.unwrap().unwrap();
    assert!(!s.alerts.delete_alert(q.id, a.id).await.unwrap());
    assert!(s.alerts.delete_alert(p.id, a.id).await.unwrap());
    assert_eq!(s.alerts.alert(p.id, a.id).await.unwrap(), None);
    assert_eq!(s.alerts.alert_events(p.id, a.id, 10).await.unwrap(), [], "history goes with the alert");
}

pub async fn an_alert_fires_once_per_breach_and_records_deliveries(s: MetaStores) {
    let p = s.meta.create_project("Default", "phc_al3").await.unwrap();
    let a = s.alerts.create_alert(p.id, spec("errors"), 1_000).await.unwrap();
    // Two evaluations see the same breach at once: one records it.
    let (x, y) = tokio::join!(
        s.alerts.set_firing(p.id, a.id, true, event(AlertEventKind::Fired, 2_000)),
        s.alerts.set_firing(p.id, a.id, true, event(AlertEventKind::Fired, 2_000)),
    );
    let fired: Vec<_> = [x.unwrap(), y.unwrap()].into_iter().flatten().collect();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        (fired[0].kind, fired[0].delivery, fired[0].attempts),
        (AlertEventKind::Fired, Delivery::Pending, 0)
    );
    assert!(s.alerts.alert(p.id, a.id).await.unwrap().unwrap().firing);
    assert_eq!(
        s.alerts.set_firing(p.id, a.id, true, event(AlertEventKind::Fired, 2_500)).await.unwrap(),
        None
    );
    let resolved =
        s.alerts.set_firing(p.id, a.id, false, event(AlertEventKind::Resolved, 3_000)).await.unwrap();
    assert_eq!(resolved.unwrap().kind, AlertEventKind::Resolved);

    s.alerts.record_delivery(fired[0].id, Delivery::Failed, 5, Some("HTTP 500".into())).await.unwrap();
    let history = s.alerts.alert_events(p.id, a.id, 10).await.unwrap();
    assert_eq!(
        history.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [AlertEventKind::Resolved, AlertEventKind::Fired]
    );
    assert_eq!((history[1].delivery, history[1].attempts), (Delivery::Failed, 5));
    assert_eq!(history[1].last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(history[1].payload, r#"{"status":"firing"}"#);
    assert_eq!(s.alerts.alert_events(p.id, a.id, 1).await.unwrap().len(), 1);

    // Issue alerts move their marks once per evaluation that saw the old ones.
    let i =
        s.alerts.create_alert(p.id, AlertSpec { rule: AlertRule::NewIssue, ..spec("issues") }, 1_000).await;
    let i = i.unwrap();
    let from = (i.last_issue_id, i.checked_until_ms);
    let events = vec![event(AlertEventKind::Fired, 4_000)];
    let won = s.alerts.advance_issue_marks(p.id, i.id, from, (7, 4_000), events.clone()).await.unwrap();
    assert_eq!(won.unwrap().len(), 1);
    assert_eq!(s.alerts.advance_issue_marks(p.id, i.id, from, (7, 4_000), events).await.unwrap(), None);
    let moved = s.alerts.alert(p.id, i.id).await.unwrap().unwrap();
    assert_eq!((moved.last_issue_id, moved.checked_until_ms), (7, 4_000));
}
