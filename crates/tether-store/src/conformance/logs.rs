//! The log suite: appends, pages, filters, aggregates and live tail.

use std::sync::Arc;

use tether_model::{AttrValue, Attributes, LogId, LogIdGen, LogRecord, ProjectId, Severity};

use super::{LogStores, SEC, T0};
use crate::{Breakdown, Condition, LogExpr, LogFilter, LogQuery, LogReader, LogWriter, StoredLog};

/// Stores records under fresh ids (as the server does), returning the ids.
pub async fn append(writer: &dyn LogWriter, records: Vec<LogRecord>) -> Vec<LogId> {
    static IDS: std::sync::OnceLock<LogIdGen> = std::sync::OnceLock::new();
    let ids = IDS.get_or_init(|| LogIdGen::new(0)).mint(records.len());
    let logs = ids.iter().zip(records).map(|(id, record)| StoredLog { id: *id, record }).collect();
    writer.append_logs(logs).await.expect("append");
    ids
}

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

pub(super) fn all(project_id: ProjectId) -> LogFilter {
    LogFilter::new(project_id, T0 - 1000 * SEC, T0 + 1000 * SEC)
}

pub(super) async fn bodies(logs: &dyn LogReader, filter: LogFilter) -> Vec<String> {
    let page = logs.search(LogQuery { filter, limit: 1000, after: None }).await.expect("search");
    page.logs.into_iter().map(|l| l.record.body).collect()
}

pub async fn append_then_get_round_trips_every_field(s: LogStores) {
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
    let ids = append(s.writer.as_ref(), vec![log.clone()]).await;
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
    // Severity text and number as an SDK may send them besides the usual `WARN` / 13, and
    // fields left empty, come back as sent too.
    for (text, number, scope) in [("warning", 14, ""), ("", 0, "lib"), ("WARN", 13, "")] {
        let mut odd = sample(1, T0, "odd");
        (odd.severity, odd.severity_text, odd.severity_number) = (Severity::Warn, text.into(), number);
        (odd.scope_name, odd.scope_version) = (scope.into(), String::new());
        odd.resource_attributes = Arc::default();
        let id = append(s.writer.as_ref(), vec![odd.clone()]).await[0];
        assert_eq!(s.logs.get(1, id).await.expect("get").expect("stored").record, odd);
    }
}

pub async fn pages_are_newest_first_and_stable_while_logs_arrive(s: LogStores) {
    // Three logs share a timestamp so the id must break ties.
    let logs: Vec<_> = (0..10).map(|i| sample(1, T0 + (i / 3) * SEC, &format!("log {i}"))).collect();
    append(s.writer.as_ref(), logs).await;
    let filter = all(1);
    let first = s.logs.search(LogQuery { filter: filter.clone(), limit: 4, after: None }).await.unwrap();
    let names = |p: &crate::LogPage| p.logs.iter().map(|l| l.record.body.clone()).collect::<Vec<_>>();
    assert_eq!(names(&first), ["log 9", "log 8", "log 7", "log 6"]);
    // New logs arrive, newer and older than the cursor, between page requests.
    append(s.writer.as_ref(), vec![sample(1, T0 + 100 * SEC, "newer"), sample(1, T0 - 5 * SEC, "older")])
        .await;
    let second =
        s.logs.search(LogQuery { filter: filter.clone(), limit: 4, after: first.next }).await.unwrap();
    assert_eq!(names(&second), ["log 5", "log 4", "log 3", "log 2"]);
    let third = s.logs.search(LogQuery { filter, limit: 4, after: second.next }).await.unwrap();
    assert_eq!(names(&third), ["log 1", "log 0", "older"]);
    assert_eq!(third.next, None, "a short page is the last one");
}

/// A named change to the default filter and the bodies it must select, newest first.
type FilterCase = (&'static str, Box<dyn Fn(&mut LogFilter)>, Vec<&'static str>);

pub async fn filters_select_the_right_logs(s: LogStores) {
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
    append(s.writer.as_ref(), vec![a, b, c, outside]).await;

    let cases: Vec<FilterCase> = vec![
        (
            "no filter",
            Box::new(|_| {}),
            vec!["cache warm", "user signed in (100% ok)", "Timeout talking to Stripe"],
        ),
        (
            "text is case-insensitive",
            Box::new(|f| f.query = Some(LogExpr::body("TIMEOUT"))),
            vec!["Timeout talking to Stripe"],
        ),
        (
            "text matches % literally",
            Box::new(|f| f.query = Some(LogExpr::body("100%"))),
            vec!["user signed in (100% ok)"],
        ),
        ("text matches _ literally", Box::new(|f| f.query = Some(LogExpr::body("e_w"))), vec![]),
        (
            "severity",
            Box::new(|f| f.severities = vec![Severity::Error, Severity::Debug]),
            vec!["cache warm", "Timeout talking to Stripe"],
        ),
        ("service", Box::new(|f| f.services = vec!["auth".into()]), vec!["user signed in (100% ok)"]),
        ("session", Box::new(|f| f.session_id = Some("s1".into())), vec!["Timeout talking to Stripe"]),
        ("distinct id", Box::new(|f| f.distinct_ids = vec!["bob".into()]), vec!["user signed in (100% ok)"]),
        (
            "any of several distinct ids",
            Box::new(|f| f.distinct_ids = vec!["bob".into(), "alice".into(), "carol".into()]),
            vec!["user signed in (100% ok)", "Timeout talking to Stripe"],
        ),
        (
            "trace id",
            Box::new(|f| f.trace_id = Some("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into())),
            vec!["Timeout talking to Stripe"],
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

pub async fn projects_never_see_each_others_logs(s: LogStores) {
    let mut other = sample(2, T0, "project two");
    other.session_id = Some("shared".into());
    let mut mine = sample(1, T0, "project one");
    mine.session_id = Some("shared".into());
    append(s.writer.as_ref(), vec![other, mine]).await;
    let mut filter = all(1);
    filter.session_id = Some("shared".into());
    assert_eq!(bodies(s.logs.as_ref(), filter.clone()).await, ["project one"]);
    let hist = s.logs.histogram(filter.clone(), 60 * SEC, Breakdown::Severity).await.unwrap();
    assert_eq!(hist.buckets.iter().map(|b| b.count).sum::<u64>(), 1);
    let summary = s.logs.summary(all(1)).await.unwrap();
    assert_eq!((summary.logs, summary.sessions, summary.users), (1, 1, 0));
    let tail = s.logs.tail(all(2), LogId(0), 10).await.unwrap();
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].record.body, "project two");
}

pub async fn histogram_counts_per_bucket_and_breakdown(s: LogStores) {
    let mut logs = Vec::new();
    for i in 0..6 {
        let mut l = sample(1, T0 + i * 20 * SEC, "x");
        if i % 2 == 0 {
            l.severity = Severity::Error;
            l.service = "api".into();
        }
        logs.push(l);
    }
    append(s.writer.as_ref(), logs).await;
    let hist = s.logs.histogram(all(1), 60 * SEC, Breakdown::Severity).await.unwrap();
    assert!(!hist.approximate, "six logs are counted, not estimated");
    let mut hist = hist.buckets;
    hist.sort_by(|a, b| (a.start_ns, &a.key).cmp(&(b.start_ns, &b.key)));
    let got: Vec<_> = hist.iter().map(|b| (b.start_ns - T0, b.key.as_str(), b.count)).collect();
    assert_eq!(got, [(0, "error", 2), (0, "info", 1), (60 * SEC, "error", 1), (60 * SEC, "info", 2)]);
    let by_service = s.logs.histogram(all(1), 3600 * SEC, Breakdown::Service).await.unwrap();
    let mut got: Vec<_> = by_service.buckets.iter().map(|b| (b.key.as_str(), b.count)).collect();
    got.sort();
    assert_eq!(got, [("api", 3), ("checkout", 3)]);
}

pub async fn facets_count_services_severities_and_attributes(s: LogStores) {
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
    append(s.writer.as_ref(), logs).await;
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

/// Attributes holding the log's own session or person id (how SDKs send them) are read,
/// filtered and counted like any other, however a backend stores them.
pub async fn attributes_repeating_the_logs_ids_filter_and_count_like_others(s: LogStores) {
    let mut logs = Vec::new();
    for (i, (session, person)) in [("s-1", "ada"), ("s-1", "ada"), ("s-2", "bob")].into_iter().enumerate() {
        let mut l = sample(1, T0 + i as i64 * SEC, &format!("log {i}"));
        l.session_id = Some(session.into());
        l.distinct_id = Some(person.into());
        l.attributes = Attributes(vec![
            ("sessionId".into(), AttrValue::String(session.into())),
            ("posthogDistinctId".into(), AttrValue::String(person.into())),
            // Not the log's id, though it is another log's.
            ("previousSession".into(), AttrValue::String("s-1".into())),
        ]);
        logs.push(l);
    }
    let ids = append(s.writer.as_ref(), logs.clone()).await;
    let got = s.logs.get(1, ids[2]).await.unwrap().unwrap();
    assert_eq!(got.record.attributes.to_json(), logs[2].attributes.to_json());
    let with = |expr: LogExpr| LogFilter { query: Some(expr), ..all(1) };
    let mut found = bodies(s.logs.as_ref(), with(LogExpr::attr_equals("sessionId", "s-1"))).await;
    found.sort();
    assert_eq!(found, ["log 0", "log 1"]);
    let found =
        bodies(s.logs.as_ref(), with(LogExpr::attr_equals("posthogDistinctId", "ada").negate())).await;
    assert_eq!(found, ["log 2"]);
    let found = bodies(s.logs.as_ref(), with(LogExpr::attr_equals("previousSession", "s-2"))).await;
    assert!(found.is_empty(), "{found:?}");
    let facets = s.logs.facets(all(1), 10, 5).await.unwrap();
    let values = |key: &str| -> Vec<(String, u64)> {
        let facet = facets.attributes.iter().find(|a| a.key == key).expect("facet");
        facet.values.iter().map(|v| (v.value.clone(), v.count)).collect()
    };
    assert_eq!(values("sessionId"), [("s-1".to_owned(), 2), ("s-2".to_owned(), 1)]);
    assert_eq!(values("posthogDistinctId"), [("ada".to_owned(), 2), ("bob".to_owned(), 1)]);
}

/// Records with many attributes, in differing orders (a backend may store the first few
/// apart from the rest): every entry reads back with its type, and filters and facets find
/// a key wherever it sits in the record.
pub async fn many_attributes_in_any_order_filter_and_count(s: LogStores) {
    let mut logs = Vec::new();
    for i in 0..3i64 {
        let mut l = sample(1, T0 + i * SEC, &format!("log {i}"));
        l.session_id = Some(format!("s-{i}"));
        let mut attrs: Vec<(String, AttrValue)> =
            (0..20).map(|k| (format!("key.{k:02}"), AttrValue::Int(k * 10 + i))).collect();
        attrs.push(("late.flag".into(), AttrValue::Bool(i == 1)));
        attrs.push(("sessionId".into(), AttrValue::String(format!("s-{i}"))));
        attrs.push(("nothing".into(), AttrValue::Empty));
        // The first log has the late keys first, the others last; the last starts with a
        // key holding a control character (a backend may join keys with one).
        if i == 0 {
            attrs.rotate_right(3);
        }
        if i == 2 {
            attrs.insert(0, ("unit\u{1f}separated".into(), AttrValue::String("u".into())));
        }
        l.attributes = Attributes(attrs);
        logs.push(l);
    }
    let ids = append(s.writer.as_ref(), logs.clone()).await;
    for (id, log) in ids.iter().zip(&logs) {
        let got = s.logs.get(1, *id).await.unwrap().expect("stored");
        assert_eq!(got.record.attributes.to_json(), log.attributes.to_json());
    }
    let with = |expr: LogExpr| LogFilter { query: Some(expr), ..all(1) };
    let has = |key: &str| LogExpr::Match(Condition::AttrPresent(key.into()));
    let found = bodies(s.logs.as_ref(), with(LogExpr::attr_equals("key.19", "192"))).await;
    assert_eq!(found, ["log 2"]);
    let found = bodies(s.logs.as_ref(), with(LogExpr::attr_equals("late.flag", "true"))).await;
    assert_eq!(found, ["log 1"]);
    let found = bodies(s.logs.as_ref(), with(LogExpr::attr_equals("unit\u{1f}separated", "u"))).await;
    assert_eq!(found, ["log 2"]);
    let mut found = bodies(s.logs.as_ref(), with(LogExpr::attr_equals("sessionId", "s-1").negate())).await;
    found.sort();
    assert_eq!(found, ["log 0", "log 2"]);
    assert_eq!(bodies(s.logs.as_ref(), with(has("nothing"))).await.len(), 3);
    assert!(bodies(s.logs.as_ref(), with(has("key.05").negate())).await.is_empty());
    assert_eq!(bodies(s.logs.as_ref(), with(has("absent").negate())).await.len(), 3);
    let facets = s.logs.facets(all(1), 30, 5).await.unwrap();
    let keys: Vec<_> = facets.attributes.iter().map(|a| (a.key.as_str(), a.count)).collect();
    for key in ["key.00", "key.19", "late.flag", "sessionId"] {
        assert!(keys.contains(&(key, 3)), "{key} in {keys:?}");
    }
    let session = facets.attributes.iter().find(|a| a.key == "sessionId").expect("facet");
    let mut values: Vec<_> = session.values.iter().map(|v| v.value.as_str()).collect();
    values.sort();
    assert_eq!(values, ["s-0", "s-1", "s-2"]);
}

pub async fn appended_logs_keep_the_ids_they_were_given(s: LogStores) {
    let given = [LogId(5_000_000_001), LogId(5_000_000_002), LogId(4_000_000_003)];
    let logs = given
        .iter()
        .zip(["a", "b", "c"])
        .map(|(id, body)| StoredLog { id: *id, record: sample(1, T0, body) })
        .collect();
    s.writer.append_logs(logs).await.unwrap();
    for (id, body) in given.iter().zip(["a", "b", "c"]) {
        assert_eq!(s.logs.get(1, *id).await.unwrap().expect("stored").record.body, body);
    }
    s.writer.append_logs(Vec::new()).await.unwrap();
    assert_eq!(bodies(s.logs.as_ref(), all(1)).await.len(), 3);
}

pub async fn tail_returns_what_arrived_after_the_cursor(s: LogStores) {
    let before = append(s.writer.as_ref(), vec![sample(1, T0, "old")]).await[0];
    let ids = append(s.writer.as_ref(), vec![sample(1, T0, "one"), sample(1, T0 - 50 * SEC, "two")]).await;
    let got = s.logs.tail(all(1), before, 10).await.unwrap();
    assert_eq!(got.iter().map(|l| l.record.body.as_str()).collect::<Vec<_>>(), ["one", "two"], "id order");
    assert!(s.logs.tail(all(1), ids[1], 10).await.unwrap().is_empty());
    let limited = s.logs.tail(all(1), before, 1).await.unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].id, ids[0]);
    let mut errors = all(1);
    errors.severities = vec![Severity::Error];
    assert!(s.logs.tail(errors, before, 10).await.unwrap().is_empty(), "tail applies the filter");
}

/// Two processes appending at once, each with its own node number: every log is stored
/// once, under its own id.
pub async fn concurrent_writers_lose_nothing(s: LogStores) {
    let (a, b) = (Arc::new(LogIdGen::new(1)), Arc::new(LogIdGen::new(2)));
    let mut tasks = Vec::new();
    for round in 0..8 {
        let ids = if round % 2 == 0 { a.clone() } else { b.clone() };
        let writer = s.writer.clone();
        tasks.push(tokio::spawn(async move {
            let records: Vec<_> =
                (0..50).map(|i| sample(1, T0 + i * SEC, &format!("w{round} {i}"))).collect();
            let logs =
                ids.mint(records.len()).into_iter().zip(records).map(|(id, record)| StoredLog { id, record });
            writer.append_logs(logs.collect()).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut got = bodies(s.logs.as_ref(), all(1)).await;
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 400);
    let tail = s.logs.tail(all(1), LogId(0), 1000).await.unwrap();
    let mut ids: Vec<_> = tail.iter().map(|l| l.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 400, "ids are unique and in order");
}

pub async fn deleting_old_logs_leaves_newer_ones_and_other_projects(s: LogStores) {
    let log = |project, at: i64, body: &str, session: &str| {
        let mut l = sample(project, T0 + at * SEC, body);
        l.session_id = Some(session.into());
        l
    };
    let old = append(
        s.writer.as_ref(),
        vec![
            log(1, -500, "old", "s-old"),
            log(1, -100, "old mixed", "s-mixed"),
            log(2, -500, "other", "s-old"),
        ],
    )
    .await;
    append(s.writer.as_ref(), vec![log(1, 0, "new", "s-new"), log(1, 10, "new mixed", "s-mixed")]).await;

    assert_eq!(s.writer.delete_logs_before(1, T0).await.unwrap(), 2);
    assert_eq!(bodies(s.logs.as_ref(), all(1)).await, ["new mixed", "new"]);
    assert_eq!(s.logs.get(1, old[0]).await.unwrap(), None);
    let hist = s.logs.histogram(all(1), 60 * SEC, Breakdown::Severity).await.unwrap();
    assert_eq!(hist.buckets.iter().map(|b| b.count).sum::<u64>(), 2, "{hist:?}");
    let facets = s.logs.facets(all(1), 10, 5).await.unwrap();
    assert_eq!(facets.services.iter().map(|v| v.count).sum::<u64>(), 2);
    let summary = s.logs.summary(all(1)).await.unwrap();
    assert_eq!((summary.logs, summary.sessions), (2, 2));
    let session = |id: &str| LogFilter { session_id: Some(id.into()), ..all(1) };
    assert!(bodies(s.logs.as_ref(), session("s-old")).await.is_empty());
    assert_eq!(bodies(s.logs.as_ref(), session("s-mixed")).await, ["new mixed"]);
    assert_eq!(bodies(s.logs.as_ref(), all(2)).await, ["other"]);
    assert_eq!(
        bodies(s.logs.as_ref(), LogFilter { session_id: Some("s-old".into()), ..all(2) }).await,
        ["other"]
    );

    assert_eq!(s.writer.delete_logs_before(1, T0).await.unwrap(), 0);
    // The session index keeps working for logs that arrive after the deletion.
    append(s.writer.as_ref(), vec![log(1, -50, "late", "s-old")]).await;
    assert_eq!(bodies(s.logs.as_ref(), session("s-old")).await, ["late"]);
}

/// Enough logs that a backend's text index (if it has one) holds several blocks: every
/// token and every part of one is found, exactly where it is, by every read.
pub async fn text_search_finds_every_match_among_many_logs(s: LogStores) {
    // splitmix64: ids that look random (no two share a run of digits by construction).
    let token = |i: i64| {
        let mut x = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        format!("{:016x}", x ^ (x >> 31))
    };
    let logs: Vec<LogRecord> = (0..6000)
        .map(|i| sample(1, T0 + i * 1_000_000, &format!("GET /api/orders/{i} ok (request_id={})", token(i))))
        .collect();
    for chunk in logs.chunks(1000) {
        append(s.writer.as_ref(), chunk.to_vec()).await;
    }
    for i in [0, 1, 2047, 2048, 4095, 4100, 5999] {
        let id = token(i);
        for text in [id.clone(), id[3..15].to_uppercase(), format!("orders/{i} ok")] {
            let filter = LogFilter { query: Some(LogExpr::body(&text)), ..all(1) };
            let found = bodies(s.logs.as_ref(), filter.clone()).await;
            assert_eq!(found.len(), 1, "{text:?}: {found:?}");
            assert!(found[0].contains(&id), "{text:?}: {found:?}");
            assert_eq!(s.logs.summary(filter.clone()).await.unwrap().logs, 1, "{text:?}");
            let hist = s.logs.histogram(filter, 60 * SEC, Breakdown::Severity).await.unwrap();
            assert_eq!(hist.buckets.iter().map(|b| b.count).sum::<u64>(), 1, "{text:?}");
        }
    }
    let every = LogFilter { query: Some(LogExpr::body("REQUEST_ID=")), ..all(1) };
    assert_eq!(s.logs.summary(every.clone()).await.unwrap().logs, 6000);
    let page = s.logs.search(LogQuery { filter: every, limit: 100, after: None }).await.unwrap();
    let newest: Vec<_> = page.logs.iter().map(|l| l.record.timestamp_ns - T0).take(2).collect();
    assert_eq!(newest, [5999 * 1_000_000, 5998 * 1_000_000]);
    assert!(
        bodies(s.logs.as_ref(), LogFilter { query: Some(LogExpr::body("no such text")), ..all(1) })
            .await
            .is_empty()
    );
}

pub async fn samples_keep_the_logs_of_some_ids_the_same_everywhere(s: LogStores) {
    // Ids 1..=30 a second apart; the sample keeps ids whose remainder is below `keep`.
    let logs: Vec<StoredLog> = (1..=30)
        .map(|i| {
            let mut record = sample(1, T0 + i * SEC, &format!("log {i}"));
            if i % 3 == 0 {
                (record.severity, record.session_id, record.distinct_id) =
                    (Severity::Error, Some("s1".into()), Some("ada".into()));
            }
            StoredLog { id: LogId(i), record }
        })
        .collect();
    s.writer.append_logs(logs).await.expect("append");
    let mut other = sample(2, T0 + SEC, "another project's");
    other.severity = Severity::Error;
    s.writer.append_logs(vec![StoredLog { id: LogId(31), record: other }]).await.expect("append");
    let ids = |sampled: Vec<crate::LogSample>| sampled.into_iter().map(|l| l.id.0).collect::<Vec<_>>();
    let all_of = s.logs.sample(all(1), crate::SAMPLE_MODULUS, 100).await.unwrap();
    assert_eq!(
        ids(all_of),
        (1..=30).rev().collect::<Vec<_>>(),
        "keeping every remainder keeps every log, newest first"
    );
    assert_eq!(ids(s.logs.sample(all(1), 10, 100).await.unwrap()), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(
        ids(s.logs.sample(all(1), 10, 4).await.unwrap()),
        [9, 8, 7, 6],
        "at most the limit, the newest"
    );
    let errors = LogFilter { severities: vec![Severity::Error], ..all(1) };
    let got: Vec<_> = s
        .logs
        .sample(errors, 7, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.id.0, l.body, l.timestamp_ns - T0, l.severity, l.service, l.session_id, l.distinct_id))
        .collect();
    let error = |i: i64| {
        let (session, person) = (Some("s1".to_owned()), Some("ada".to_owned()));
        (i, format!("log {i}"), i * SEC, Severity::Error, "checkout".to_owned(), session, person)
    };
    assert_eq!(got, [error(6), error(3)], "the filter holds, and every field is read");
    let queried = LogFilter { query: Some(LogExpr::body("log 2")), ..all(1) };
    assert_eq!(ids(s.logs.sample(queried, 25, 100).await.unwrap()), [24, 23, 22, 21, 20, 2]);
}

pub async fn the_sessions_of_a_search_latest_match_first(s: LogStores) {
    let log = |at: i64, body: &str, session: Option<&str>, person: Option<&str>| {
        let mut l = sample(1, T0 + at * SEC, body);
        (l.session_id, l.distinct_id) = (session.map(str::to_owned), person.map(str::to_owned));
        l
    };
    append(
        s.writer.as_ref(),
        vec![
            log(0, "checkout failed", Some("s1"), Some("ada")),
            log(3, "checkout failed", Some("s2"), Some("bob")),
            log(5, "checkout failed again", Some("s1"), Some("ada")),
            log(9, "all good", Some("s3"), Some("cyd")),
            log(10, "checkout failed", None, None),
        ],
    )
    .await;
    let failed = LogFilter { query: Some(LogExpr::body("checkout failed")), ..all(1) };
    let got = s.logs.sessions(failed.clone(), 10).await.unwrap();
    let hit = |session: &str, person: &str, first: i64, last: i64, logs| crate::SessionHit {
        session_id: session.into(),
        distinct_id: Some(person.into()),
        first_ns: T0 + first * SEC,
        last_ns: T0 + last * SEC,
        logs,
    };
    assert_eq!(
        got,
        [hit("s1", "ada", 0, 5, 2), hit("s2", "bob", 3, 3, 1)],
        "latest match first; no session left out"
    );
    assert_eq!(s.logs.sessions(failed, 1).await.unwrap(), [hit("s1", "ada", 0, 5, 2)]);
    assert!(
        s.logs
            .sessions(LogFilter { query: Some(LogExpr::body("nothing")), ..all(1) }, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Linking health: per service, how many of its logs carry a session, a person and a trace,
/// and the language its SDK named; services with most logs first, only logs of the filter.
pub async fn linking_counts_the_linkable_logs_of_each_service(s: LogStores) {
    let log = |at: i64, service: &str, session: bool, person: bool, trace: bool| {
        let mut l = sample(1, T0 + at * SEC, "GET /api/cart 200");
        l.service = service.into();
        if session {
            l.session_id = Some(format!("s{at}"));
        }
        if person {
            l.distinct_id = Some("ada".into());
        }
        if trace {
            l.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736".into();
            l.span_id = "00f067aa0ba902b7".into();
        }
        if service == "api" {
            let mut resource = (*l.resource_attributes).clone();
            resource.0.push((crate::SDK_LANGUAGE_ATTRIBUTE.into(), AttrValue::String("rust".into())));
            l.resource_attributes = Arc::new(resource);
        }
        l
    };
    append(
        s.writer.as_ref(),
        vec![
            log(0, "api", true, true, true),
            log(1, "api", true, false, true),
            log(2, "api", false, false, true),
            log(3, "worker", false, false, false),
            log(4, "worker", false, true, false),
            log(5, "api", false, false, false),
            log(600, "api", true, true, true), // outside the range asked for
        ],
    )
    .await;
    let got = s.logs.linking(LogFilter::new(1, T0, T0 + 60 * SEC)).await.unwrap();
    let linking =
        |service: &str, logs, with_session, with_distinct_id, with_trace, language: Option<&str>| {
            crate::ServiceLinking {
                service: service.into(),
                logs,
                with_session,
                with_distinct_id,
                with_trace,
                language: language.map(str::to_owned),
            }
        };
    assert_eq!(got, [linking("api", 4, 2, 1, 3, Some("rust")), linking("worker", 2, 0, 1, 0, None)]);
    assert!(s.logs.linking(LogFilter::new(2, T0, T0 + 60 * SEC)).await.unwrap().is_empty());
}
