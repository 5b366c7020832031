//! The rules of the use cases on real stores (DuckDB and SQLite in a temp dir), with time
//! from a clock the test moves: the ±6 h window of related errors, the sparkline's days,
//! a person's ids and when a person is not found.

use tether_app::errors::{IssueFilter, RELATED_WINDOW_MS, Related, SPARKLINE_DAYS};
use tether_model::{LogId, PersonUpdate};
use tether_store::conformance::events::exception;
use tether_store::conformance::logs::sample;
use tether_store::{ErrorKind, EventStore, IssueStore, LogWriter, PersonStore, StoredLog};

mod common;

use common::{DAY_MS, Fixture, NOW_MS, fixture};

impl Fixture {
    /// A log of session `s1` at `ms`, with id `id`.
    async fn log(&self, id: i64, ms: i64, session: Option<&str>) {
        let mut record = sample(1, ms * 1_000_000, "payment declined");
        record.session_id = session.map(str::to_owned);
        self.duck.append_logs(vec![StoredLog { id: LogId(id), record }]).await.unwrap();
    }

    /// An occurrence of issue `name` in session `s1` by `user` at `ms`; the issue's id.
    async fn occurrence(&self, name: &str, uuid: &str, user: &str, ms: i64) -> i64 {
        let issue = self.meta.record_occurrence(1, name, name, "boom", ms).await.unwrap();
        self.duck.append_exceptions(vec![exception(uuid, issue, "s1", user, ms)]).await.unwrap();
        issue
    }
}

#[tokio::test]
async fn related_errors_are_the_sessions_within_six_hours_of_the_log() {
    let f = fixture().await;
    f.log(1, NOW_MS, Some("s1")).await;
    f.log(2, NOW_MS, None).await;
    let inside = f.occurrence("TypeError", "e1", "ada", NOW_MS - RELATED_WINDOW_MS + 1).await;
    let late = f.occurrence("RangeError", "e2", "ada", NOW_MS + RELATED_WINDOW_MS - 1).await;
    f.occurrence("SyntaxError", "e3", "ada", NOW_MS - RELATED_WINDOW_MS - 1).await;
    f.occurrence("EvalError", "e4", "ada", NOW_MS + RELATED_WINDOW_MS + 1).await;

    let Related::Issues { session_id, issues } = f.app.related_to_log(1, "1").await.unwrap() else {
        panic!("the log has a session")
    };
    assert_eq!(session_id, "s1");
    let ids: Vec<i64> = issues.iter().map(|r| r.issue.id).collect();
    assert_eq!(ids, [late, inside], "inside ±6 h, most recently seen first; the rest outside");
    assert_eq!(issues[0].last_seen_in_session_ms, NOW_MS + RELATED_WINDOW_MS - 1);

    assert_eq!(f.app.related_to_log(1, "2").await.unwrap(), Related::NoSession);
    for missing in ["3", "not-a-number"] {
        let e = f.app.related_to_log(1, missing).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{missing}");
    }
    assert_eq!(f.app.related_to_log(2, "1").await.unwrap_err().kind(), ErrorKind::NotFound, "other project");
}

#[tokio::test]
async fn the_sparkline_counts_the_last_two_weeks_by_the_clock() {
    let f = fixture().await;
    let issue = f.occurrence("TypeError", "e1", "ada", NOW_MS).await;
    f.occurrence("TypeError", "e2", "ada", NOW_MS - 1000).await;
    f.occurrence("TypeError", "e3", "ada", NOW_MS - (SPARKLINE_DAYS - 1) * DAY_MS).await;
    f.occurrence("TypeError", "e4", "ada", NOW_MS - SPARKLINE_DAYS * DAY_MS).await;

    let listed = f.app.issues(IssueFilter { project_id: 1, ..Default::default() }).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].issue.id, issue);
    assert_eq!(listed[0].stats.as_ref().map(|s| s.occurrences), Some(4), "all occurrences count");
    let mut expected = vec![0; SPARKLINE_DAYS as usize];
    (expected[0], expected[SPARKLINE_DAYS as usize - 1]) = (1, 2);
    assert_eq!(listed[0].sparkline, expected, "today last, 13 days ago first, 14 days ago out");

    let detail = f.app.issue(1, issue).await.unwrap();
    assert_eq!(detail.occurrences.len(), 4);
    assert_eq!(detail.occurrences[0].uuid, "e1", "newest first");
    assert_eq!(f.app.issue(1, issue + 1).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(f.app.issue(2, issue).await.unwrap_err().kind(), ErrorKind::NotFound, "other project");

    // A day later the line moves along: the oldest day drops out, today is empty.
    f.clock.advance(DAY_MS);
    let listed = f.app.issues(IssueFilter { project_id: 1, ..Default::default() }).await.unwrap();
    let mut expected = vec![0; SPARKLINE_DAYS as usize];
    expected[SPARKLINE_DAYS as usize - 2] = 2;
    assert_eq!(listed[0].sparkline, expected);
}

#[tokio::test]
async fn a_person_is_all_their_ids_and_an_unknown_id_with_nothing_is_not_found() {
    let f = fixture().await;
    let identify = PersonUpdate {
        project_id: 1,
        distinct_id: "ada@example.com".into(),
        merge_from: vec!["anon-1".into()],
        set: Default::default(),
        set_once: Default::default(),
        unset: Vec::new(),
        timestamp_ms: NOW_MS,
    };
    f.meta.apply_person_updates(vec![identify]).await.unwrap();
    f.occurrence("TypeError", "e1", "anon-1", NOW_MS).await;

    let mut ids = f.app.person_ids(1, "anon-1").await.unwrap();
    ids.sort();
    assert_eq!(ids, ["ada@example.com", "anon-1"]);
    let ada = f.app.person_summary(1, "ada@example.com").await.unwrap();
    assert_eq!(ada.errors, 1, "the error under the anonymous id is hers");
    assert!(ada.person.is_some());

    let unknown = f.app.person_summary(1, "nobody").await.unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    f.occurrence("TypeError", "e2", "visitor-9", NOW_MS).await;
    let anonymous = f.app.person_summary(1, "visitor-9").await.unwrap();
    assert_eq!((anonymous.person, anonymous.errors), (None, 1), "no person, still their data");
}

#[tokio::test]
async fn live_tail_rereads_the_last_seconds_until_the_clock_moves_past_them() {
    let f = fixture().await;
    let filter = || tether_store::LogFilter::new(1, 0, i64::MAX);
    let start = f.app.tail(filter(), None, 100).await.unwrap();
    assert!(start.logs.is_empty());
    let horizon = LogId::at_micros(NOW_MS * 1000 - tether_app::logs::TAIL_OVERLAP_US);
    assert_eq!(start.cursor, horizon, "from now on, minus the overlap");

    // A log minted a second ago is returned, but the cursor stays at the horizon: a log
    // minted before it and committed late would still be found by the next poll.
    let id = LogId::at_micros(NOW_MS * 1000 - 1_000_000);
    let mut record = sample(1, NOW_MS * 1_000_000, "late commit");
    record.session_id = Some("s1".into());
    f.duck.append_logs(vec![StoredLog { id, record }]).await.unwrap();
    let poll = f.app.tail(filter(), Some(start.cursor), 100).await.unwrap();
    assert_eq!(poll.logs.iter().map(|l| l.id).collect::<Vec<_>>(), [id]);
    assert_eq!(poll.cursor, horizon);
    let again = f.app.tail(filter(), Some(poll.cursor), 100).await.unwrap();
    assert_eq!(again.logs.len(), 1, "re-read while inside the overlap");

    f.clock.advance(tether_app::logs::TAIL_OVERLAP_US / 1000 + 1000);
    let later = f.app.tail(filter(), Some(again.cursor), 100).await.unwrap();
    assert_eq!(later.cursor, id, "past the overlap the cursor moves to the newest log");
    assert!(f.app.tail(filter(), Some(later.cursor), 100).await.unwrap().logs.is_empty());
}

#[tokio::test]
async fn a_sessions_logs_are_those_around_its_recording() {
    let f = fixture().await;
    let margin_ms = tether_app::logs::SESSION_LOG_MARGIN_NS / 1_000_000;
    let (start, end) = (NOW_MS, NOW_MS + 600_000);
    let chunk = tether_store::ChunkEntry {
        project_id: 1,
        session_id: "s1".into(),
        window_id: "w1".into(),
        distinct_id: "ada".into(),
        chunk_id: "c1".into(),
        place: tether_store::ChunkPlace { blob_key: "k".into(), offset: 0, length: 1 },
        size: 10,
        stats: tether_model::RecordingStats { first_ms: start, last_ms: end, ..Default::default() },
    };
    tether_store::RecordingIndex::index_chunks(f.duck.as_ref(), vec![chunk]).await.unwrap();
    for (id, ms) in [
        (1, start - margin_ms - 1),
        (2, start - margin_ms + 1),
        (3, end + margin_ms - 1),
        (4, end + margin_ms + 1),
    ] {
        f.log(id, ms, Some("s1")).await;
    }
    let (logs, truncated) = f.app.session_logs(1, "s1").await.unwrap();
    assert_eq!(logs.iter().map(|l| l.id.0).collect::<Vec<_>>(), [2, 3], "oldest first, within the margin");
    assert!(!truncated);
    let (unrecorded, _) = f.app.session_logs(1, "s2").await.unwrap();
    assert!(unrecorded.is_empty());
}

#[tokio::test]
async fn the_histogram_ends_at_now_unless_a_later_bucket_has_logs() {
    let f = fixture().await;
    let minute = 60_000_000_000i64;
    let now = NOW_MS * 1_000_000;
    // Last 15 minutes as the UI asks for them: 5 minutes of slack after now.
    let filter = || tether_store::LogFilter::new(1, now - 15 * minute, now + 5 * minute);
    f.log(1, NOW_MS - 60_000, None).await;
    let hist = f.app.histogram(filter(), tether_store::Breakdown::Severity).await.unwrap();
    let (last, _) = hist.buckets.last().unwrap();
    assert!(*last <= now && now < last + hist.width_ns, "the last bucket holds now");
    assert_eq!(hist.buckets.iter().flat_map(|(_, c)| c.values()).sum::<u64>(), 1);
    // A sender whose clock runs 3 minutes fast: its bucket is kept.
    f.log(2, NOW_MS + 180_000, None).await;
    let hist = f.app.histogram(filter(), tether_store::Breakdown::Severity).await.unwrap();
    let (last, counts) = hist.buckets.last().unwrap();
    assert!(*last > now && counts.values().sum::<u64>() == 1, "the future log's bucket ends the chart");
}
