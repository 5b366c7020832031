//! The conformance suite: one set of behaviours every storage backend must show. A backend
//! runs it with [`crate::conformance_suite!`], handing in a function that builds fresh,
//! empty stores. Each case builds its own data; no case depends on another.

use std::any::Any;
use std::sync::Arc;

use serde_json::json;
use tether_model::{
    AttrValue, Attributes, Event, ExceptionRecord, LogId, LogRecord, PersonUpdate, ProjectId, RecordingChunk,
    RecordingStats, Severity,
};

use crate::{
    AttrFilter, AttrOp, Breakdown, ErrorKind, EventStore, ExceptionScope, IssueStatus, IssueStore, KeyScope,
    LogFilter, LogQuery, LogReader, LogWriter, MetadataStore, NewApiKey, PersonStore, ProjectSettings,
    RecordingQuery, RecordingStore, UserStore,
};

/// Fresh, empty stores of one backend, plus whatever keeps them alive (a temp dir).
pub struct Stores {
    pub writer: Arc<dyn LogWriter>,
    pub logs: Arc<dyn LogReader>,
    pub meta: Arc<dyn MetadataStore>,
    pub events: Arc<dyn EventStore>,
    pub recordings: Arc<dyn RecordingStore>,
    pub issues: Arc<dyn IssueStore>,
    pub persons: Arc<dyn PersonStore>,
    pub users: Arc<dyn UserStore>,
    pub guard: Box<dyn Any + Send>,
}

/// Expands into one `#[tokio::test]` per conformance case, each calling `$make().await`
/// for its own stores.
#[macro_export]
macro_rules! conformance_suite {
    ($make:path) => {
        $crate::conformance_suite!(@cases $make;
            append_then_get_round_trips_every_field,
            ids_increase_across_appends,
            pages_are_newest_first_and_stable_while_logs_arrive,
            filters_select_the_right_logs,
            projects_never_see_each_others_logs,
            histogram_counts_per_bucket_and_breakdown,
            facets_count_services_severities_and_attributes,
            tail_returns_what_arrived_after_the_cursor,
            metadata_projects_and_tokens,
            metadata_api_keys_by_hash_and_revocation,
            events_are_deduplicated_by_uuid_per_project,
            exceptions_aggregate_per_issue_and_session,
            issues_reopen_when_seen_again,
            recordings_fold_chunks_into_a_summary,
            recording_chunks_commit_together,
            persons_merge_on_identify_and_keep_set_once,
            users_and_sessions_expire);
    };
    (@cases $make:path; $($case:ident),*) => {
        $(
            #[tokio::test]
            async fn $case() {
                $crate::conformance::$case($make().await).await;
            }
        )*
    };
}

const SEC: i64 = 1_000_000_000;
/// 2026-01-01T00:00:00Z; every case places its logs relative to it.
const T0: i64 = 1_767_225_600 * SEC;

/// A log with typical fields; tests change what they need.
pub fn sample(project_id: ProjectId, timestamp_ns: i64, body: &str) -> LogRecord {
    LogRecord {
        project_id,
        timestamp_ns,
        observed_timestamp_ns: timestamp_ns + 1000,
        severity: Severity::Info,
        severity_text: "INFO".into(),
        severity_number: 9,
        service: "checkout".into(),
        body: body.into(),
        session_id: None,
        distinct_id: None,
        trace_id: String::new(),
        span_id: String::new(),
        trace_flags: 0,
        event_name: String::new(),
        scope_name: "app".into(),
        scope_version: "1.0".into(),
        attributes: Attributes::default(),
        resource_attributes: Arc::new(Attributes(vec![(
            "service.name".into(),
            AttrValue::String("checkout".into()),
        )])),
        scope_attributes: Arc::default(),
    }
}

fn all(project_id: ProjectId) -> LogFilter {
    LogFilter::new(project_id, T0 - 1000 * SEC, T0 + 1000 * SEC)
}

async fn bodies(logs: &dyn LogReader, filter: LogFilter) -> Vec<String> {
    let page = logs.search(LogQuery { filter, limit: 1000, after: None }).await.expect("search");
    page.logs.into_iter().map(|l| l.record.body).collect()
}

pub async fn append_then_get_round_trips_every_field(s: Stores) {
    let mut log = sample(1, T0, "payment failed: card declined");
    log.severity = Severity::Error;
    log.severity_text = "ERROR".into();
    log.severity_number = 17;
    log.session_id = Some("0192f0a1-sess".into());
    log.distinct_id = Some("user@example.com".into());
    log.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736".into();
    log.span_id = "00f067aa0ba902b7".into();
    log.trace_flags = 1;
    log.event_name = "payment.failed".into();
    log.attributes = Attributes(vec![
        ("sessionId".into(), AttrValue::String("0192f0a1-sess".into())),
        ("amount".into(), AttrValue::Int(4200)),
        ("ratio".into(), AttrValue::Double(0.5)),
        ("retry".into(), AttrValue::Bool(false)),
        ("tags".into(), AttrValue::Array(vec![AttrValue::String("a".into()), AttrValue::Int(2)])),
        ("nested".into(), AttrValue::KvList(Attributes(vec![("k".into(), AttrValue::String("v".into()))]))),
    ]);
    log.scope_attributes = Arc::new(Attributes(vec![("lib".into(), AttrValue::String("otel".into()))]));
    let ids = s.writer.append_logs(vec![log.clone()]).await.expect("append");
    assert_eq!(ids.len(), 1);
    let got = s.logs.get(1, ids[0]).await.expect("get").expect("stored log is found");
    assert_eq!(got.id, ids[0]);
    assert_eq!(got.record.attributes.to_json(), log.attributes.to_json());
    assert_eq!(got.record.resource_attributes.to_json(), log.resource_attributes.to_json());
    assert_eq!(got.record.scope_attributes.to_json(), log.scope_attributes.to_json());
    let mut want = log.clone();
    want.attributes = got.record.attributes.clone();
    want.resource_attributes = got.record.resource_attributes.clone();
    want.scope_attributes = got.record.scope_attributes.clone();
    assert_eq!(got.record, want);
    assert!(s.logs.get(2, ids[0]).await.expect("get").is_none(), "other project must not see it");
    assert!(s.logs.get(1, LogId(ids[0].0 + 1)).await.expect("get").is_none());
}

pub async fn ids_increase_across_appends(s: Stores) {
    let first = s.writer.append_logs(vec![sample(1, T0, "a"), sample(1, T0, "b")]).await.unwrap();
    let second = s.writer.append_logs(vec![sample(1, T0 - SEC, "c")]).await.unwrap();
    assert!(first[0] < first[1] && first[1] < second[0], "{first:?} {second:?}");
    assert_eq!(s.logs.last_id().await.unwrap(), second[0]);
    assert!(s.writer.append_logs(Vec::new()).await.unwrap().is_empty());
}

pub async fn pages_are_newest_first_and_stable_while_logs_arrive(s: Stores) {
    // Three logs share a timestamp so the id must break ties.
    let logs: Vec<_> = (0..10).map(|i| sample(1, T0 + (i / 3) * SEC, &format!("log {i}"))).collect();
    s.writer.append_logs(logs).await.unwrap();
    let filter = all(1);
    let first = s.logs.search(LogQuery { filter: filter.clone(), limit: 4, after: None }).await.unwrap();
    let names = |p: &crate::LogPage| p.logs.iter().map(|l| l.record.body.clone()).collect::<Vec<_>>();
    assert_eq!(names(&first), ["log 9", "log 8", "log 7", "log 6"]);
    // New logs arrive, newer and older than the cursor, between page requests.
    s.writer
        .append_logs(vec![sample(1, T0 + 100 * SEC, "newer"), sample(1, T0 - 5 * SEC, "older")])
        .await
        .unwrap();
    let second =
        s.logs.search(LogQuery { filter: filter.clone(), limit: 4, after: first.next }).await.unwrap();
    assert_eq!(names(&second), ["log 5", "log 4", "log 3", "log 2"]);
    let third = s.logs.search(LogQuery { filter, limit: 4, after: second.next }).await.unwrap();
    assert_eq!(names(&third), ["log 1", "log 0", "older"]);
    assert_eq!(third.next, None, "a short page is the last one");
}

/// A named change to the default filter and the bodies it must select, newest first.
type FilterCase = (&'static str, Box<dyn Fn(&mut LogFilter)>, Vec<&'static str>);

pub async fn filters_select_the_right_logs(s: Stores) {
    let mut a = sample(1, T0, "Timeout talking to Stripe");
    a.severity = Severity::Error;
    a.session_id = Some("s1".into());
    a.distinct_id = Some("alice".into());
    a.trace_id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into();
    a.attributes = Attributes(vec![
        ("http.route".into(), AttrValue::String("/pay".into())),
        ("status".into(), AttrValue::Int(504)),
    ]);
    let mut b = sample(1, T0 + SEC, "user signed in (100% ok)");
    b.service = "auth".into();
    b.session_id = Some("s2".into());
    b.distinct_id = Some("bob".into());
    b.attributes = Attributes(vec![("http.route".into(), AttrValue::String("/login".into()))]);
    let mut c = sample(1, T0 + 2 * SEC, "cache warm");
    c.severity = Severity::Debug;
    let outside = sample(1, T0 + 2000 * SEC, "timeout outside the range");
    s.writer.append_logs(vec![a, b, c, outside]).await.unwrap();

    let cases: Vec<FilterCase> = vec![
        (
            "no filter",
            Box::new(|_| {}),
            vec!["cache warm", "user signed in (100% ok)", "Timeout talking to Stripe"],
        ),
        (
            "text is case-insensitive",
            Box::new(|f| f.text = Some("TIMEOUT".into())),
            vec!["Timeout talking to Stripe"],
        ),
        (
            "text matches % literally",
            Box::new(|f| f.text = Some("100%".into())),
            vec!["user signed in (100% ok)"],
        ),
        ("text matches _ literally", Box::new(|f| f.text = Some("e_w".into())), vec![]),
        (
            "severity",
            Box::new(|f| f.severities = vec![Severity::Error, Severity::Debug]),
            vec!["cache warm", "Timeout talking to Stripe"],
        ),
        ("service", Box::new(|f| f.services = vec!["auth".into()]), vec!["user signed in (100% ok)"]),
        ("session", Box::new(|f| f.session_id = Some("s1".into())), vec!["Timeout talking to Stripe"]),
        ("distinct id", Box::new(|f| f.distinct_id = Some("bob".into())), vec!["user signed in (100% ok)"]),
        (
            "trace id",
            Box::new(|f| f.trace_id = Some("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into())),
            vec!["Timeout talking to Stripe"],
        ),
        (
            "attr equals",
            Box::new(|f| {
                f.attributes =
                    vec![AttrFilter { key: "http.route".into(), op: AttrOp::Equals("/login".into()) }]
            }),
            vec!["user signed in (100% ok)"],
        ),
        (
            "attr equals int",
            Box::new(|f| {
                f.attributes = vec![AttrFilter { key: "status".into(), op: AttrOp::Equals("504".into()) }]
            }),
            vec!["Timeout talking to Stripe"],
        ),
        (
            "attr not equals keeps logs without it",
            Box::new(|f| {
                f.attributes =
                    vec![AttrFilter { key: "http.route".into(), op: AttrOp::NotEquals("/login".into()) }]
            }),
            vec!["cache warm", "Timeout talking to Stripe"],
        ),
        (
            "attr exists",
            Box::new(|f| f.attributes = vec![AttrFilter { key: "http.route".into(), op: AttrOp::Exists }]),
            vec!["user signed in (100% ok)", "Timeout talking to Stripe"],
        ),
        (
            "attr not exists",
            Box::new(|f| f.attributes = vec![AttrFilter { key: "status".into(), op: AttrOp::NotExists }]),
            vec!["cache warm", "user signed in (100% ok)"],
        ),
        (
            "key with quote and dot",
            Box::new(|f| f.attributes = vec![AttrFilter { key: "we\"ird.key/x".into(), op: AttrOp::Exists }]),
            vec![],
        ),
        (
            "time range end is exclusive",
            Box::new(|f| {
                f.from_ns = T0;
                f.to_ns = T0 + SEC;
            }),
            vec!["Timeout talking to Stripe"],
        ),
        (
            "filters combine",
            Box::new(|f| {
                f.services = vec!["checkout".into()];
                f.severities = vec![Severity::Debug];
            }),
            vec!["cache warm"],
        ),
    ];
    for (name, change, want) in cases {
        let mut filter = all(1);
        change(&mut filter);
        assert_eq!(bodies(s.logs.as_ref(), filter).await, want, "case: {name}");
    }
}

pub async fn projects_never_see_each_others_logs(s: Stores) {
    let mut other = sample(2, T0, "project two");
    other.session_id = Some("shared".into());
    let mut mine = sample(1, T0, "project one");
    mine.session_id = Some("shared".into());
    s.writer.append_logs(vec![other, mine]).await.unwrap();
    let mut filter = all(1);
    filter.session_id = Some("shared".into());
    assert_eq!(bodies(s.logs.as_ref(), filter.clone()).await, ["project one"]);
    let hist = s.logs.histogram(filter.clone(), 60 * SEC, Breakdown::Severity).await.unwrap();
    assert_eq!(hist.iter().map(|b| b.count).sum::<u64>(), 1);
    let summary = s.logs.summary(all(1)).await.unwrap();
    assert_eq!((summary.logs, summary.sessions, summary.users), (1, 1, 0));
    let tail = s.logs.tail(all(2), LogId(0), 10).await.unwrap();
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].record.body, "project two");
}

pub async fn histogram_counts_per_bucket_and_breakdown(s: Stores) {
    let mut logs = Vec::new();
    for i in 0..6 {
        let mut l = sample(1, T0 + i * 20 * SEC, "x");
        if i % 2 == 0 {
            l.severity = Severity::Error;
            l.service = "api".into();
        }
        logs.push(l);
    }
    s.writer.append_logs(logs).await.unwrap();
    let mut hist = s.logs.histogram(all(1), 60 * SEC, Breakdown::Severity).await.unwrap();
    hist.sort_by(|a, b| (a.start_ns, &a.key).cmp(&(b.start_ns, &b.key)));
    let got: Vec<_> = hist.iter().map(|b| (b.start_ns - T0, b.key.as_str(), b.count)).collect();
    assert_eq!(got, [(0, "error", 2), (0, "info", 1), (60 * SEC, "error", 1), (60 * SEC, "info", 2)]);
    let by_service = s.logs.histogram(all(1), 3600 * SEC, Breakdown::Service).await.unwrap();
    let mut got: Vec<_> = by_service.iter().map(|b| (b.key.as_str(), b.count)).collect();
    got.sort();
    assert_eq!(got, [("api", 3), ("checkout", 3)]);
}

pub async fn facets_count_services_severities_and_attributes(s: Stores) {
    let mut logs = Vec::new();
    for i in 0..5 {
        let mut l = sample(1, T0 + i * SEC, "x");
        l.service = if i < 3 { "api".into() } else { "web".into() };
        l.attributes = Attributes(vec![
            ("route".into(), AttrValue::String(if i < 4 { "/a".into() } else { "/b".into() })),
            ("code".into(), AttrValue::Int(200)),
        ]);
        logs.push(l);
    }
    s.writer.append_logs(logs).await.unwrap();
    let facets = s.logs.facets(all(1), 10, 5).await.unwrap();
    let services: Vec<_> = facets.services.iter().map(|v| (v.value.as_str(), v.count)).collect();
    assert_eq!(services, [("api", 3), ("web", 2)]);
    let severities: Vec<_> = facets.severities.iter().map(|v| (v.value.as_str(), v.count)).collect();
    assert_eq!(severities, [("info", 5)]);
    let route = facets.attributes.iter().find(|a| a.key == "route").expect("route facet");
    assert_eq!(route.count, 5);
    let values: Vec<_> = route.values.iter().map(|v| (v.value.as_str(), v.count)).collect();
    assert_eq!(values, [("/a", 4), ("/b", 1)]);
    let code = facets.attributes.iter().find(|a| a.key == "code").expect("code facet");
    assert_eq!(code.values[0].value, "200");
}

pub async fn tail_returns_what_arrived_after_the_cursor(s: Stores) {
    let before = s.logs.last_id().await.unwrap();
    let ids =
        s.writer.append_logs(vec![sample(1, T0, "one"), sample(1, T0 - 50 * SEC, "two")]).await.unwrap();
    let got = s.logs.tail(all(1), before, 10).await.unwrap();
    assert_eq!(got.iter().map(|l| l.record.body.as_str()).collect::<Vec<_>>(), ["one", "two"]);
    assert!(s.logs.tail(all(1), ids[1], 10).await.unwrap().is_empty());
    let limited = s.logs.tail(all(1), before, 1).await.unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].id, ids[0]);
}

pub async fn metadata_projects_and_tokens(s: Stores) {
    assert!(s.meta.projects().await.unwrap().is_empty());
    let p = s.meta.create_project("Default", "phc_one").await.unwrap();
    let q = s.meta.create_project("Shop", "phc_two").await.unwrap();
    assert_ne!(p.id, q.id);
    let dup = s.meta.create_project("Dup", "phc_one").await.unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::InvalidInput);
    assert_eq!(s.meta.project_by_token("phc_two").await.unwrap(), Some(q.clone()));
    assert_eq!(s.meta.project_by_token("phc_nope").await.unwrap(), None);
    assert_eq!(s.meta.project(p.id).await.unwrap(), Some(p.clone()));
    assert_eq!(s.meta.projects().await.unwrap(), [p.clone(), q]);
    assert_eq!(p.settings, ProjectSettings::default());
    let off = ProjectSettings { session_recording: false, ..ProjectSettings::default() };
    assert_eq!(s.meta.set_project_settings(p.id, off).await.unwrap().settings, off);
    assert_eq!(s.meta.project(p.id).await.unwrap().unwrap().settings, off);
    assert_eq!(s.meta.set_project_settings(999, off).await.unwrap_err().kind(), ErrorKind::NotFound);
    s.meta.ping().await.unwrap();
}

pub async fn metadata_api_keys_by_hash_and_revocation(s: Stores) {
    let p = s.meta.create_project("Default", "phc_x").await.unwrap();
    let admin = s
        .meta
        .create_api_key(NewApiKey {
            name: "admin".into(),
            scope: KeyScope::AllProjects,
            secret_hash: "h1".into(),
            prefix: "phx_ab".into(),
        })
        .await
        .unwrap();
    let scoped = s
        .meta
        .create_api_key(NewApiKey {
            name: "ci".into(),
            scope: KeyScope::Project(p.id),
            secret_hash: "h2".into(),
            prefix: "phx_cd".into(),
        })
        .await
        .unwrap();
    assert_eq!(s.meta.api_key_by_hash("h1").await.unwrap(), Some(admin.clone()));
    assert_eq!(s.meta.api_key_by_hash("h2").await.unwrap().map(|k| k.scope), Some(KeyScope::Project(p.id)));
    assert_eq!(s.meta.api_keys().await.unwrap().len(), 2);
    s.meta.revoke_api_key(scoped.id).await.unwrap();
    assert_eq!(s.meta.api_key_by_hash("h2").await.unwrap(), None);
    assert_eq!(s.meta.api_keys().await.unwrap(), [admin]);
    assert_eq!(s.meta.revoke_api_key(scoped.id).await.unwrap_err().kind(), ErrorKind::NotFound);
}

fn event(project_id: ProjectId, uuid: &str, session: &str) -> Event {
    Event {
        project_id,
        uuid: uuid.into(),
        event: "$pageview".into(),
        distinct_id: "anon-1".into(),
        session_id: Some(session.into()),
        window_id: Some("w1".into()),
        timestamp_ms: T0 / 1_000_000,
        current_url: Some("https://shop.example.com/".into()),
        properties: json!({"$browser": "Chrome"}).as_object().cloned().unwrap_or_default(),
    }
}

fn exception(uuid: &str, issue_id: i64, session: &str, user: &str, ms: i64) -> ExceptionRecord {
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

pub async fn events_are_deduplicated_by_uuid_per_project(s: Stores) {
    let new = s
        .events
        .append_events(vec![event(1, "u1", "s1"), event(1, "u2", "s1"), event(1, "u1", "s1")])
        .await
        .unwrap();
    assert_eq!(new, 2, "a repeated uuid in one batch is stored once");
    assert_eq!(s.events.append_events(vec![event(1, "u2", "s1"), event(2, "u2", "s1")]).await.unwrap(), 1);
    let got = s.events.session_events(1, "s1", 100).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].properties["$browser"], "Chrome");
    assert_eq!(got[0].current_url.as_deref(), Some("https://shop.example.com/"));
    assert!(s.events.session_events(1, "other", 100).await.unwrap().is_empty());
}

pub async fn exceptions_aggregate_per_issue_and_session(s: Stores) {
    let t = 1_767_225_600_000;
    let hour = 3_600_000;
    let rows = vec![
        exception("e1", 10, "s1", "alice", t),
        exception("e2", 10, "s1", "alice", t + hour),
        exception("e3", 10, "s2", "bob", t + 2 * hour),
        exception("e4", 11, "s1", "alice", t + 7 * hour),
    ];
    assert_eq!(s.events.append_exceptions(rows.clone()).await.unwrap(), 4);
    assert_eq!(s.events.append_exceptions(rows).await.unwrap(), 0, "retries are not double counted");
    let all = s.events.issue_stats(ExceptionScope { project_id: 1, ..Default::default() }).await.unwrap();
    assert_eq!(all.iter().map(|i| i.issue_id).collect::<Vec<_>>(), [11, 10], "most recently seen first");
    assert_eq!((all[1].occurrences, all[1].sessions, all[1].users), (3, 2, 2));
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
    let other = ExceptionScope { project_id: 2, ..Default::default() };
    assert!(s.events.issue_stats(other).await.unwrap().is_empty());
}

pub async fn issues_reopen_when_seen_again(s: Stores) {
    let p = s.meta.create_project("P", "phc_issues").await.unwrap();
    let id = s.issues.record_occurrence(p.id, "fp1", "TypeError", "x is undefined", 1000).await.unwrap();
    assert_eq!(s.issues.record_occurrence(p.id, "fp1", "TypeError", "x", 500).await.unwrap(), id);
    let other = s.issues.record_occurrence(p.id, "fp2", "RangeError", "y", 2000).await.unwrap();
    assert_ne!(id, other);
    let issue = s.issues.issue(p.id, id).await.unwrap().unwrap();
    assert_eq!((issue.first_seen_ms, issue.last_seen_ms, issue.status), (500, 1000, IssueStatus::Active));
    assert_eq!(
        s.issues.set_issue_status(p.id, id, IssueStatus::Resolved).await.unwrap().status,
        IssueStatus::Resolved
    );
    s.issues.record_occurrence(p.id, "fp1", "TypeError", "x", 3000).await.unwrap();
    assert_eq!(s.issues.issue(p.id, id).await.unwrap().unwrap().status, IssueStatus::Active, "reopened");
    s.issues.set_issue_status(p.id, other, IssueStatus::Suppressed).await.unwrap();
    s.issues.record_occurrence(p.id, "fp2", "RangeError", "y", 4000).await.unwrap();
    assert_eq!(s.issues.issue(p.id, other).await.unwrap().unwrap().status, IssueStatus::Suppressed);
    let list = s.issues.issues(p.id).await.unwrap();
    assert_eq!(list.iter().map(|i| i.id).collect::<Vec<_>>(), [other, id]);
    let missing = s.issues.set_issue_status(p.id, 9999, IssueStatus::Resolved).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

fn chunk(window: &str, blob: &[u8], first: i64, last: i64, clicks: u64) -> RecordingChunk {
    RecordingChunk {
        project_id: 1,
        session_id: "sess-1".into(),
        window_id: window.into(),
        distinct_id: "alice".into(),
        blob: blob.to_vec(),
        size: blob.len() as u64,
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

pub async fn recordings_fold_chunks_into_a_summary(s: Stores) {
    s.recordings.append_chunk(chunk("w1", b"second", 5000, 9000, 2)).await.unwrap();
    s.recordings.append_chunk(chunk("w1", b"first", 1000, 4000, 1)).await.unwrap();
    s.recordings.append_chunk(chunk("w1", b"first", 1000, 4000, 1)).await.unwrap(); // SDK retry
    s.recordings.append_chunk(chunk("w2", b"other tab", 6000, 7000, 0)).await.unwrap();
    let r = s.recordings.recording(1, "sess-1").await.unwrap().expect("recording");
    assert_eq!((r.start_ms, r.end_ms, r.duration_ms), (1000, 9000, 8000));
    assert_eq!((r.clicks, r.keypresses, r.active_ms), (3, 3, 300));
    assert_eq!(r.first_url.as_deref(), Some("https://shop.example.com/1000"));
    assert!(r.has_full_snapshot);
    let chunks = s.recordings.chunks(1, "sess-1").await.unwrap();
    let got: Vec<_> = chunks.iter().map(|(w, b)| (w.as_str(), b.as_slice())).collect();
    assert_eq!(got, [("w1", &b"first"[..]), ("w1", &b"second"[..]), ("w2", &b"other tab"[..])]);
    let list = |q: RecordingQuery| {
        let rec = s.recordings.clone();
        async move { rec.recordings(q).await.unwrap().len() }
    };
    let base = RecordingQuery { project_id: 1, limit: 10, ..Default::default() };
    assert_eq!(list(base.clone()).await, 1);
    assert_eq!(list(RecordingQuery { distinct_ids: vec!["bob".into()], ..base.clone() }).await, 0);
    assert_eq!(list(RecordingQuery { min_duration_ms: Some(9000), ..base.clone() }).await, 0);
    assert_eq!(list(RecordingQuery { has_errors: Some(true), ..base.clone() }).await, 0);
    s.events.append_exceptions(vec![exception("x1", 1, "sess-1", "alice", 2000)]).await.unwrap();
    assert_eq!(list(RecordingQuery { has_errors: Some(true), ..base.clone() }).await, 1);
    assert_eq!(s.recordings.recording(1, "sess-1").await.unwrap().unwrap().exceptions, 1);
    assert_eq!(list(RecordingQuery { project_id: 2, ..base }).await, 0);
    let flags = s.recordings.session_flags(1, vec!["sess-1".into(), "never".into()]).await.unwrap();
    let got: Vec<_> = flags.iter().map(|f| (f.session_id.as_str(), f.has_recording, f.exceptions)).collect();
    assert_eq!(got, [("sess-1", true, 1), ("never", false, 0)]);
}

/// Chunks of concurrent requests committed as one group: several sessions, and a retry of
/// a chunk inside the same group counted once.
pub async fn recording_chunks_commit_together(s: Stores) {
    let mut other = chunk("w9", b"another visitor", 2000, 3000, 5);
    other.session_id = "sess-2".into();
    let group = vec![
        chunk("w1", b"first", 1000, 4000, 1),
        other,
        chunk("w1", b"first", 1000, 4000, 1), // the SDK's retry, in the same group
        chunk("w1", b"second", 5000, 9000, 2),
    ];
    s.recordings.append_chunks(group).await.unwrap();
    let one = s.recordings.recording(1, "sess-1").await.unwrap().expect("sess-1");
    assert_eq!((one.start_ms, one.end_ms, one.clicks), (1000, 9000, 3));
    assert_eq!(s.recordings.chunks(1, "sess-1").await.unwrap().len(), 2);
    let two = s.recordings.recording(1, "sess-2").await.unwrap().expect("sess-2");
    assert_eq!((two.start_ms, two.clicks), (2000, 5));
}

pub async fn persons_merge_on_identify_and_keep_set_once(s: Stores) {
    let p = s.meta.create_project("P", "phc_persons").await.unwrap();
    let update =
        |distinct: &str, merge: &[&str], set: serde_json::Value, set_once: serde_json::Value| PersonUpdate {
            project_id: p.id,
            distinct_id: distinct.into(),
            merge_from: merge.iter().map(|m| (*m).to_owned()).collect(),
            set: set.as_object().cloned().unwrap_or_default(),
            set_once: set_once.as_object().cloned().unwrap_or_default(),
            unset: Vec::new(),
            timestamp_ms: 1000,
        };
    s.persons
        .apply_person_update(update("anon-1", &[], json!({"browser": "Chrome"}), json!({"first_url": "/a"})))
        .await
        .unwrap();
    s.persons
        .apply_person_update(update(
            "user@example.com",
            &["anon-1"],
            json!({"email": "user@example.com"}),
            json!({"first_url": "/b"}),
        ))
        .await
        .unwrap();
    let person = s.persons.person(p.id, "anon-1").await.unwrap().expect("merged person");
    assert_eq!(person.distinct_ids, ["anon-1", "user@example.com"]);
    assert_eq!(person.properties["email"], "user@example.com");
    assert_eq!(person.properties["browser"], "Chrome");
    assert_eq!(person.properties["first_url"], "/a", "set_once keeps the first value");
    let mut unset = update("user@example.com", &[], json!({}), json!({}));
    unset.unset = vec!["browser".into()];
    s.persons.apply_person_update(unset).await.unwrap();
    let person = s.persons.person(p.id, "user@example.com").await.unwrap().unwrap();
    assert!(!person.properties.contains_key("browser"));
    assert!(s.persons.person(p.id, "nobody").await.unwrap().is_none());
}

pub async fn users_and_sessions_expire(s: Stores) {
    assert_eq!(s.users.user_count().await.unwrap(), 0);
    let admin = s.users.create_user("admin", "hash-1").await.unwrap();
    assert_eq!(s.users.create_user("admin", "hash-2").await.unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(s.users.user_by_name("admin").await.unwrap(), Some((admin.clone(), "hash-1".to_owned())));
    assert_eq!(s.users.user_by_name("nobody").await.unwrap(), None);
    s.users.create_session("t1", admin.id, 2000).await.unwrap();
    assert_eq!(s.users.session_user("t1", 1000).await.unwrap(), Some(admin.clone()));
    assert_eq!(s.users.session_user("t1", 2000).await.unwrap(), None, "expired");
    assert_eq!(s.users.session_user("nope", 1000).await.unwrap(), None);
    s.users.delete_session("t1").await.unwrap();
    assert_eq!(s.users.session_user("t1", 1000).await.unwrap(), None);
    assert_eq!(s.users.user_count().await.unwrap(), 1);
}
