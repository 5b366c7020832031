//! Retention by the clock: what a project's settings no longer keep is deleted, per project,
//! and nothing newer.

mod common;

use common::{DAY_MS, NOW_MS, fixture};
use tether_model::{LogId, ProjectSettings, Retention};
use tether_store::conformance::logs::sample;
use tether_store::{LogFilter, LogReader, LogWriter, MetadataStore, StoredLog};

#[tokio::test]
async fn what_a_projects_retention_no_longer_keeps_is_deleted() {
    let f = fixture().await;
    let week = ProjectSettings {
        retention: Retention { logs_days: 7, ..Retention::default() },
        ..Default::default()
    };
    f.meta.set_project_settings(2, week).await.unwrap();
    let at = |days: i64| (NOW_MS - days * DAY_MS) * 1_000_000;
    let logs = [(1, 1, 10), (2, 1, 1), (3, 2, 10), (4, 2, 1)].map(|(id, project, days)| StoredLog {
        id: LogId(id),
        record: sample(project, at(days), "GET /cart"),
    });
    f.duck.append_logs(logs.to_vec()).await.unwrap();

    let deleted = f.app.expire().await.unwrap();
    let logs_of = |project| deleted.iter().find(|(p, _)| *p == project).unwrap().1.logs;
    assert_eq!((logs_of(1), logs_of(2)), (0, 1), "project 1 keeps 30 days, project 2 seven");
    let left = |project| LogFilter::new(project, at(40), NOW_MS * 1_000_000);
    assert_eq!(f.duck.summary(left(1)).await.unwrap().logs, 2);
    assert_eq!(f.duck.summary(left(2)).await.unwrap().logs, 1, "the day-old log stays");

    f.clock.advance(25 * DAY_MS);
    let deleted = f.app.expire().await.unwrap();
    assert_eq!(
        deleted.iter().map(|(_, d)| d.logs).sum::<u64>(),
        2,
        "10 + 25 days is past project 1's 30; 26 past 7"
    );
}
