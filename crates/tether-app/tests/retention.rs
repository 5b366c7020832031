//! Retention by the clock: what a project's settings no longer keep is deleted, per project,
//! and nothing newer.

mod common;

use bytes::Bytes;
use common::{DAY_MS, NOW_MS, fixture};
use futures::TryStreamExt;
use tether_model::{LogId, ProjectSettings, RecordingChunk, RecordingStats, Retention};
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

fn chunk(session: &str, marker: &str, at_ms: i64) -> RecordingChunk {
    RecordingChunk {
        project_id: 1,
        session_id: session.into(),
        window_id: "w".into(),
        distinct_id: "ada".into(),
        blob: Bytes::from(format!("[{{\"marker\":\"{marker}\"}}]")),
        size: 20,
        stats: RecordingStats { first_ms: at_ms, last_ms: at_ms, ..Default::default() },
    }
}

/// Every blob file's bytes under the blob folder, by path.
fn blob_files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.join("blobs")];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

async fn played(f: &common::Fixture, session: &str) -> Vec<String> {
    let stream = f.recordings.session_chunks(1, session).await.unwrap();
    let chunks: Vec<(String, Bytes)> = stream.try_collect().await.unwrap();
    chunks.into_iter().map(|(_, b)| String::from_utf8(b.to_vec()).unwrap()).collect()
}

/// A recording's bytes share segments with other sessions' (one per group commit);
/// retention still removes every byte of an expired session, and a kept session that
/// shared a segment with it plays as before.
#[tokio::test]
async fn an_expired_sessions_bytes_are_deleted_from_shared_segments() {
    let f = fixture().await;
    let long_ago = NOW_MS - 40 * DAY_MS;
    // One group commit, 40 days ago: an expired session and the start of a kept one.
    let group = vec![chunk("expired", "EXPIRED-BYTES", long_ago), chunk("kept", "kept-start", long_ago)];
    f.recordings.store_chunks(group, long_ago).await.unwrap();
    f.recordings
        .store_chunks(vec![chunk("kept", "kept-end", NOW_MS - DAY_MS)], NOW_MS - DAY_MS)
        .await
        .unwrap();
    let files = blob_files(f.dir.path());
    assert_eq!(files.len(), 2, "one segment per group commit: {files:?}");

    let deleted = f.app.expire().await.unwrap();
    let recordings_of = |project| deleted.iter().find(|(p, _)| *p == project).unwrap().1.recordings;
    assert_eq!(recordings_of(1), 1);
    assert!(
        f.recordings
            .session_chunks(1, "expired")
            .await
            .unwrap()
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .is_empty()
    );
    let files = blob_files(f.dir.path());
    let leftover = files.iter().find(|(_, bytes)| bytes.windows(13).any(|w| w == b"EXPIRED-BYTES"));
    assert!(leftover.is_none(), "the expired session's bytes are still in {leftover:?}");
    assert_eq!(played(&f, "kept").await, [r#"[{"marker":"kept-start"}]"#, r#"[{"marker":"kept-end"}]"#]);
    let days = f.recordings.blobs.list("recordings/1").await.unwrap().folders;
    assert_eq!(days.len(), 2, "yesterday's segment and today's compacted one, not the old day: {days:?}");
    assert_eq!(files.len(), 2);

    // A run with nothing to expire changes nothing.
    f.app.expire().await.unwrap();
    assert_eq!(blob_files(f.dir.path()), files);
    assert_eq!(played(&f, "kept").await.len(), 2);
}
