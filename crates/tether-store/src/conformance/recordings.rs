//! The recording index suite: summaries folded from chunks, chunk lists, list filters.

use tether_model::{ProjectId, RecordingStats};

use super::RecordingStores;
use crate::{ChunkEntry, ChunkPlace, ErrorFilter, ExceptionScope, PlacedChunk, RecordingQuery};

fn chunk(window: &str, chunk_id: &str, first: i64, last: i64, clicks: u64) -> ChunkEntry {
    ChunkEntry {
        project_id: 1,
        session_id: "sess-1".into(),
        window_id: window.into(),
        distinct_id: "alice".into(),
        chunk_id: chunk_id.into(),
        place: ChunkPlace {
            blob_key: format!("recordings/1/2026-12-05/{window}-{chunk_id}.seg"),
            offset: first as u64,
            length: 10,
        },
        size: 100,
        stats: RecordingStats {
            first_ms: first,
            last_ms: last,
            first_url: Some(format!("https://shop.example.com/{first}")),
            clicks,
            keypresses: 1,
            console_errors: 0,
            active_ms: 100,
            has_full_snapshot: first == 1000,
        },
    }
}

fn keys(refs: &[crate::ChunkRef]) -> Vec<(&str, &str)> {
    refs.iter().map(|r| (r.window_id.as_str(), r.place.blob_key.rsplit('/').next().unwrap_or(""))).collect()
}

async fn count(s: &RecordingStores, q: RecordingQuery) -> usize {
    s.index.recordings(q).await.unwrap().len()
}

fn base(project_id: ProjectId) -> RecordingQuery {
    RecordingQuery { project_id, limit: 10, ..Default::default() }
}

pub async fn recordings_fold_chunks_into_a_summary(s: RecordingStores) {
    s.index.index_chunks(vec![chunk("w2", "c3", 6000, 7000, 0)]).await.unwrap();
    s.index.index_chunks(vec![chunk("w1", "c2", 5000, 9000, 2)]).await.unwrap();
    s.index.index_chunks(vec![chunk("w1", "c1", 1000, 4000, 1)]).await.unwrap();
    s.index.index_chunks(vec![chunk("w1", "c1", 1000, 4000, 1)]).await.unwrap(); // SDK retry
    let r = s.index.recording(1, "sess-1").await.unwrap().expect("recording");
    assert_eq!((r.start_ms, r.end_ms, r.duration_ms), (1000, 9000, 8000));
    assert_eq!((r.clicks, r.keypresses, r.active_ms, r.size), (3, 3, 300, 300));
    assert_eq!(r.first_url.as_deref(), Some("https://shop.example.com/1000"));
    assert!(r.has_full_snapshot);
    let refs = s.index.chunks(1, "sess-1").await.unwrap();
    assert_eq!(keys(&refs), [("w1", "w1-c1.seg"), ("w1", "w1-c2.seg"), ("w2", "w2-c3.seg")]);
    assert!(s.index.chunks(2, "sess-1").await.unwrap().is_empty(), "other project");
    assert_eq!(count(&s, base(1)).await, 1);
    assert_eq!(count(&s, RecordingQuery { distinct_ids: vec!["bob".into()], ..base(1) }).await, 0);
    assert_eq!(count(&s, RecordingQuery { distinct_ids: vec!["alice".into()], ..base(1) }).await, 1);
    assert_eq!(count(&s, RecordingQuery { min_duration_ms: Some(9000), ..base(1) }).await, 0);
    assert_eq!(count(&s, base(2)).await, 0);
    let recorded = s.index.recorded_sessions(1, vec!["sess-1".into(), "never".into()]).await.unwrap();
    assert_eq!(recorded, ["sess-1"]);
}

/// A person's sessions are counted without listing them: every session of any of their ids,
/// once, and none of another project.
pub async fn a_persons_recordings_are_counted(s: RecordingStores) {
    let session = |project_id, session: &str, user: &str, id: &str| ChunkEntry {
        project_id,
        session_id: session.into(),
        distinct_id: user.into(),
        ..chunk("w1", id, 1000, 2000, 0)
    };
    s.index
        .index_chunks(vec![
            session(1, "s1", "anon-1", "c1"),
            session(1, "s1", "anon-1", "c2"),
            session(1, "s2", "ada", "c3"),
            session(1, "s3", "bob", "c4"),
            session(2, "s4", "ada", "c5"),
        ])
        .await
        .unwrap();
    let counted = |ids: &[&str]| s.index.count_recordings(1, ids.iter().map(|i| (*i).to_owned()).collect());
    assert_eq!(counted(&["ada"]).await.unwrap(), 1, "not project 2's");
    assert_eq!(counted(&["ada", "anon-1"]).await.unwrap(), 2, "a session of two chunks counts once");
    assert_eq!(counted(&["nobody"]).await.unwrap(), 0);
    assert_eq!(s.index.count_recordings(2, vec!["ada".into()]).await.unwrap(), 1);
}

/// Chunks of concurrent requests indexed as one group: several sessions, and a retry of a
/// chunk inside the same group counted once.
pub async fn recording_chunks_index_together(s: RecordingStores) {
    let mut other = chunk("w9", "c9", 2000, 3000, 5);
    other.session_id = "sess-2".into();
    let group = vec![
        chunk("w1", "c2", 5000, 9000, 2), // a later chunk first: the first URL is still c1's
        other,
        chunk("w1", "c1", 1000, 4000, 1),
        chunk("w1", "c1", 1000, 4000, 1), // the SDK's retry, in the same group
    ];
    s.index.index_chunks(group).await.unwrap();
    let one = s.index.recording(1, "sess-1").await.unwrap().expect("sess-1");
    assert_eq!((one.start_ms, one.end_ms, one.clicks, one.size), (1000, 9000, 3, 200));
    assert_eq!(one.first_url.as_deref(), Some("https://shop.example.com/1000"));
    assert_eq!(s.index.chunks(1, "sess-1").await.unwrap().len(), 2);
    let two = s.index.recording(1, "sess-2").await.unwrap().expect("sess-2");
    assert_eq!((two.start_ms, two.clicks), (2000, 5));
    // Another session that sent the very same bytes (the same chunk id) keeps its own chunk.
    let mut same_bytes = chunk("w1", "c1", 1000, 4000, 1);
    same_bytes.session_id = "sess-3".into();
    s.index.index_chunks(vec![same_bytes]).await.unwrap();
    assert_eq!(s.index.chunks(1, "sess-3").await.unwrap().len(), 1);
    assert!(s.index.recording(1, "sess-3").await.unwrap().is_some());
}

/// "With errors" is console errors, or an exception of the session in the scope's time
/// range — also when 100,000 sessions have one (no list of them goes into a query).
pub async fn recordings_filter_by_errors(s: RecordingStores) {
    let mut noisy = chunk("w1", "n1", 1000, 2000, 0);
    noisy.session_id = "console".into();
    noisy.stats.console_errors = 2;
    let mut calm = chunk("w1", "q1", 1000, 2000, 0);
    calm.session_id = "calm".into();
    let mut late = chunk("w1", "l1", 1000, 2000, 0);
    late.session_id = "late".into();
    s.index.index_chunks(vec![noisy, calm, late, chunk("w1", "c1", 1000, 2000, 0)]).await.unwrap();
    let errors = |has_errors: bool, to_ms: i64| RecordingQuery {
        errors: Some(ErrorFilter {
            has_errors,
            exceptions: ExceptionScope { project_id: 1, to_ms: Some(to_ms), ..Default::default() },
        }),
        ..base(1)
    };
    let sessions = |q: RecordingQuery| {
        let index = s.index.clone();
        async move {
            let mut v: Vec<_> =
                index.recordings(q).await.unwrap().into_iter().map(|r| r.session_id).collect();
            v.sort();
            v
        }
    };
    assert_eq!(sessions(errors(true, 10_000)).await, ["console"]);
    assert_eq!(sessions(errors(false, 10_000)).await, ["calm", "late", "sess-1"]);

    // 100,000 sessions with an exception, one of them recorded; one recorded session's
    // exception comes after the range; another project's exception of "calm" does not count.
    let mut many: Vec<_> = (0..100_000)
        .map(|i| super::events::exception(&format!("x{i}"), 1, &format!("unrecorded-{i}"), "bob", 5_000))
        .collect();
    many.push(super::events::exception("x-sess", 1, "sess-1", "alice", 5_000));
    many.push(super::events::exception("x-late", 1, "late", "alice", 20_000));
    many.push(tether_model::ExceptionRecord {
        project_id: 2,
        ..super::events::exception("x-other", 1, "calm", "c", 5_000)
    });
    for batch in many.chunks(20_000) {
        s.events.append_exceptions(batch.to_vec()).await.unwrap();
    }
    assert_eq!(sessions(errors(true, 10_000)).await, ["console", "sess-1"]);
    assert_eq!(sessions(errors(false, 10_000)).await, ["calm", "late"]);
    assert_eq!(sessions(errors(true, 30_000)).await, ["console", "late", "sess-1"]);
}

pub async fn recordings_overlap_the_time_range(s: RecordingStores) {
    s.index.index_chunks(vec![chunk("w1", "c1", 1000, 4000, 0)]).await.unwrap();
    let range = |from: i64, to: i64| RecordingQuery { from_ms: Some(from), to_ms: Some(to), ..base(1) };
    assert_eq!(count(&s, range(0, 1000)).await, 0, "to is exclusive");
    assert_eq!(count(&s, range(0, 1001)).await, 1);
    assert_eq!(count(&s, range(2000, 3000)).await, 1, "inside");
    assert_eq!(count(&s, range(4000, 5000)).await, 1, "the end is inclusive of the span");
    assert_eq!(count(&s, range(4001, 5000)).await, 0);
}

pub async fn ended_recordings_are_found_and_forgotten(s: RecordingStores) {
    let of = |project_id, session: &str, first, last| ChunkEntry {
        project_id,
        session_id: session.into(),
        chunk_id: format!("{session}-{first}"),
        ..chunk("w1", "c", first, last, 0)
    };
    s.index
        .index_chunks(vec![
            of(1, "ended", 1000, 2000),
            of(1, "ended-too", 1500, 2999),
            of(1, "ongoing", 1000, 2000),
            of(1, "ongoing", 2500, 3000),
            of(2, "ended", 1000, 2000),
        ])
        .await
        .unwrap();
    let mut ended = s.index.recordings_ended_before(1, 3000, 10).await.unwrap();
    ended.sort();
    assert_eq!(ended, ["ended", "ended-too"]);
    assert_eq!(s.index.recordings_ended_before(1, 3000, 1).await.unwrap().len(), 1, "limit");

    s.index.forget_recordings(1, ended).await.unwrap();
    assert_eq!(s.index.recording(1, "ended").await.unwrap(), None);
    assert!(s.index.chunks(1, "ended").await.unwrap().is_empty());
    assert!(s.index.recordings_ended_before(1, 3000, 10).await.unwrap().is_empty());
    let listed: Vec<_> =
        s.index.recordings(base(1)).await.unwrap().into_iter().map(|r| r.session_id).collect();
    assert_eq!(listed, ["ongoing"]);
    assert_eq!(s.index.chunks(1, "ongoing").await.unwrap().len(), 2);
    assert!(s.index.recording(2, "ended").await.unwrap().is_some(), "other project");

    // A chunk of a forgotten session that arrives later starts a new summary.
    s.index.index_chunks(vec![of(1, "ended", 5000, 6000)]).await.unwrap();
    let again = s.index.recording(1, "ended").await.unwrap().expect("recording");
    assert_eq!((again.start_ms, again.end_ms, again.size), (5000, 6000, 100));

    // Forgotten means forgotten: the same bytes sent again are a recording again.
    s.index.index_chunks(vec![of(1, "ended-too", 1500, 2999)]).await.unwrap();
    assert_eq!(s.index.chunks(1, "ended-too").await.unwrap().len(), 1, "indexed again");
}

/// Compaction's view of the index: which chunks a segment still holds, and moving them to
/// another segment without touching what the summaries say.
pub async fn chunks_are_found_by_segment_and_moved(s: RecordingStores) {
    let at = |blob: &str, offset: u64| ChunkPlace { blob_key: blob.into(), offset, length: 10 };
    let mut entries = vec![chunk("w1", "c1", 1000, 2000, 1), chunk("w1", "c2", 3000, 4000, 2)];
    entries[0].place = at("r/1/old-a.seg", 0);
    entries[1].place = at("r/1/old-a.seg", 10);
    let mut elsewhere = chunk("w1", "c3", 5000, 6000, 0);
    elsewhere.place = at("r/1/old-b.seg", 0);
    let mut other_session = chunk("w1", "c9", 1000, 2000, 0);
    (other_session.session_id, other_session.place) = ("sess-2".into(), at("r/1/old-a.seg", 20));
    let mut other_project = chunk("w1", "c1", 1000, 2000, 0);
    (other_project.project_id, other_project.place) = (2, at("r/1/old-a.seg", 0));
    entries.extend([elsewhere, other_session, other_project]);
    s.index.index_chunks(entries).await.unwrap();

    let mut held =
        s.index.chunks_in_blobs(1, vec!["r/1/old-a.seg".into(), "r/1/none.seg".into()]).await.unwrap();
    held.sort_by(|a, b| (&a.session_id, &a.chunk_id).cmp(&(&b.session_id, &b.chunk_id)));
    let placed = |session: &str, id: &str, place| PlacedChunk {
        session_id: session.into(),
        chunk_id: id.into(),
        place,
    };
    assert_eq!(
        held,
        [
            placed("sess-1", "c1", at("r/1/old-a.seg", 0)),
            placed("sess-1", "c2", at("r/1/old-a.seg", 10)),
            placed("sess-2", "c9", at("r/1/old-a.seg", 20))
        ]
    );
    let before = s.index.recording(1, "sess-1").await.unwrap().expect("sess-1");

    s.index.forget_recordings(1, vec!["sess-2".into()]).await.unwrap();
    let moved = vec![
        placed("sess-1", "c1", at("r/1/new.seg", 100)),
        placed("sess-1", "c2", at("r/1/new.seg", 110)),
        placed("sess-2", "c9", at("r/1/new.seg", 120)), // forgotten meanwhile: skipped
    ];
    s.index.move_chunks(1, moved).await.unwrap();
    let refs = s.index.chunks(1, "sess-1").await.unwrap();
    let places: Vec<&ChunkPlace> = refs.iter().map(|r| &r.place).collect();
    assert_eq!(places, [&at("r/1/new.seg", 100), &at("r/1/new.seg", 110), &at("r/1/old-b.seg", 0)]);
    assert!(s.index.chunks_in_blobs(1, vec!["r/1/old-a.seg".into()]).await.unwrap().is_empty());
    assert!(s.index.chunks(1, "sess-2").await.unwrap().is_empty(), "a skipped move indexes nothing");
    let after = s.index.recording(1, "sess-1").await.unwrap().expect("sess-1");
    assert_eq!(after, before, "moving bytes changes no summary");
    let other = s.index.chunks_in_blobs(2, vec!["r/1/old-a.seg".into()]).await.unwrap();
    assert_eq!(other.len(), 1, "another project's chunk is not moved");
}
