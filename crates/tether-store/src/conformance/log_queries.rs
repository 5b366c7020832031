//! The query suite: every operator of a search's filter tree ([`LogExpr`]) selects the same
//! logs in a page, a summary and a histogram, whether a condition stays in the tree or moves
//! to the filter's own fields ([`LogFilter::and_query`]).

use tether_model::{AttrValue, Attributes, LogRecord, Severity};

use super::logs::{all, append, bodies, sample};
use super::{LogStores, SEC, T0};
use crate::{Breakdown, Compare, Condition, Field, LogExpr, LogFilter};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const OTHER_TRACE: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
/// A request id shared by two logs (an id-like value, which a backend may index).
const REQUEST: &str = "0192f0a1-5cbc-7109-b24f-bafb9503989b";

fn m(condition: Condition) -> LogExpr {
    LogExpr::Match(condition)
}

fn equals(field: Field, value: &str) -> LogExpr {
    m(Condition::Equals(field, value.into()))
}

fn severity(op: Compare, s: Severity) -> LogExpr {
    m(Condition::Severity(op, s))
}

fn attr_compare(key: &str, op: Compare, value: f64) -> LogExpr {
    m(Condition::AttrCompare { key: key.into(), op, value })
}

fn shape(regex: &str, words: &[&str]) -> LogExpr {
    m(Condition::Pattern { regex: regex.into(), words: words.iter().map(|w| (*w).to_owned()).collect() })
}

/// Six logs, oldest first: A (T0) … F (T0 + 5 s).
async fn six_logs(s: &LogStores) {
    let attrs = |entries: &[(&str, AttrValue)]| {
        Attributes(entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    };
    let text = |v: &str| AttrValue::String(v.into());
    let mut a = sample(1, T0, "Timeout talking to Stripe");
    a.severity = Severity::Error;
    (a.session_id, a.distinct_id, a.trace_id) = (Some("s1".into()), Some("alice".into()), TRACE.into());
    a.attributes = attrs(&[
        ("http.route", text("/pay")),
        ("status", AttrValue::Int(504)),
        ("duration_ms", AttrValue::Double(1250.5)),
        ("request_id", text(REQUEST)),
    ]);
    let mut b = sample(1, T0 + SEC, "user signed in (100% ok)");
    (b.service, b.session_id, b.distinct_id) = ("auth".into(), Some("s2".into()), Some("bob".into()));
    b.attributes = attrs(&[
        ("http.route", text("/login")),
        ("status", AttrValue::Int(200)),
        ("duration_ms", AttrValue::Int(12)),
    ]);
    let mut c = sample(1, T0 + 2 * SEC, "cache warm");
    c.severity = Severity::Debug;
    let mut d = sample(1, T0 + 3 * SEC, "payment declined: card expired");
    d.severity = Severity::Warn;
    (d.session_id, d.distinct_id) = (Some("s1".into()), Some("alice".into()));
    d.attributes =
        attrs(&[("http.route", text("/pay")), ("status", text("n/a")), ("request_id", text(REQUEST))]);
    let mut e = sample(1, T0 + 4 * SEC, "healthcheck ok");
    (e.severity, e.service) = (Severity::Trace, String::new());
    e.attributes = attrs(&[("status", AttrValue::Int(204))]);
    let mut f = sample(1, T0 + 5 * SEC, "Payment service crashed");
    (f.severity, f.service, f.session_id) = (Severity::Fatal, "billing".into(), Some("s3".into()));
    (f.distinct_id, f.trace_id) = (Some("carol".into()), OTHER_TRACE.into());
    append(s.writer.as_ref(), vec![a, b, c, d, e, f]).await;
}

/// What each operator selects, as the logs' letters newest first.
fn cases() -> Vec<(&'static str, LogExpr, &'static str)> {
    use Compare::*;
    let body = LogExpr::body;
    let has_attr = |key: &str| m(Condition::AttrPresent(key.into()));
    vec![
        ("a word, any case", body("PAYMENT"), "FD"),
        ("AND", LogExpr::And(vec![body("payment"), body("declined")]), "D"),
        ("OR", LogExpr::Or(vec![body("cache"), body("healthcheck")]), "EC"),
        ("NOT", body("ok").negate(), "FDCA"),
        ("an empty AND holds for every log", LogExpr::And(vec![]), "FEDCBA"),
        ("an empty OR holds for none", LogExpr::Or(vec![]), ""),
        (
            "nested",
            LogExpr::And(vec![
                LogExpr::Or(vec![equals(Field::Service, "checkout"), equals(Field::Service, "billing")]),
                severity(Eq, Severity::Debug).negate(),
            ]),
            "FDA",
        ),
        ("service", equals(Field::Service, "auth"), "B"),
        ("has a service", m(Condition::Present(Field::Service)), "FDCBA"),
        ("severity =", severity(Eq, Severity::Warn), "D"),
        ("severity >=", severity(Ge, Severity::Error), "FA"),
        ("severity >", severity(Gt, Severity::Warn), "FA"),
        ("severity <", severity(Lt, Severity::Info), "EC"),
        ("severity <=", severity(Le, Severity::Info), "ECB"),
        ("trace", equals(Field::Trace, TRACE), "A"),
        ("has a trace", m(Condition::Present(Field::Trace)), "FA"),
        ("session", equals(Field::Session, "s1"), "DA"),
        (
            "either session",
            LogExpr::Or(vec![equals(Field::Session, "s2"), equals(Field::Session, "s3")]),
            "FB",
        ),
        ("no session", m(Condition::Present(Field::Session)).negate(), "EC"),
        ("person", equals(Field::Person, "alice"), "DA"),
        ("has a person", m(Condition::Present(Field::Person)), "FDBA"),
        ("attribute =", LogExpr::attr_equals("http.route", "/pay"), "DA"),
        ("attribute = an integer as text", LogExpr::attr_equals("status", "504"), "A"),
        ("attribute = an id", LogExpr::attr_equals("request_id", REQUEST), "DA"),
        (
            "NOT attribute = keeps logs without it",
            LogExpr::attr_equals("http.route", "/pay").negate(),
            "FECB",
        ),
        ("attribute exists", has_attr("status"), "EDBA"),
        ("attribute does not exist", has_attr("status").negate(), "FC"),
        ("attribute >", attr_compare("status", Gt, 250.0), "A"),
        ("attribute >=", attr_compare("status", Ge, 200.0), "EBA"),
        ("attribute <", attr_compare("status", Lt, 204.0), "B"),
        ("attribute <=", attr_compare("status", Le, 204.0), "EB"),
        ("attribute > a fraction", attr_compare("duration_ms", Gt, 100.0), "A"),
        ("NOT attribute > keeps logs it cannot compare", attr_compare("status", Gt, 250.0).negate(), "FEDCB"),
        (
            "a pattern's shape",
            shape(r"^\s*user\s+\S+\s+in\s+\(100%\s+\S+\s*$", &["user", "in", "(100%"]),
            "B",
        ),
        ("a pattern's shape has every token", shape(r"^\s*Payment\s+\S+\s*$", &["Payment"]), ""),
        ("a pattern's words are exact", shape(r"^\s*payment\s+\S+\s+crashed\s*$", &["payment"]), ""),
        ("NOT a pattern", shape(r"^\s*cache\s+\S+\s*$", &["cache"]).negate(), "FEDBA"),
    ]
}

/// Every operator selects the same logs through the page, the summary and the histogram,
/// whether it stays in the query or a field of the filter takes it.
pub async fn every_operator_selects_the_right_logs(s: LogStores) {
    six_logs(&s).await;
    let letter = |body: &str| match body {
        "Timeout talking to Stripe" => 'A',
        "user signed in (100% ok)" => 'B',
        "cache warm" => 'C',
        "payment declined: card expired" => 'D',
        "healthcheck ok" => 'E',
        _ => 'F',
    };
    for (name, expr, want) in cases() {
        let mut hoisted = all(1);
        hoisted.and_query(expr.clone());
        for filter in [LogFilter { query: Some(expr.clone()), ..all(1) }, hoisted] {
            let got: String =
                bodies(s.logs.as_ref(), filter.clone()).await.iter().map(|b| letter(b)).collect();
            assert_eq!(got, want, "case {name}: {filter:?}");
            let summary = s.logs.summary(filter.clone()).await.unwrap();
            assert_eq!(summary.logs, want.len() as u64, "summary of {name}");
            let hist = s.logs.histogram(filter, 60 * SEC, Breakdown::Severity).await.unwrap();
            assert_eq!(
                hist.buckets.iter().map(|b| b.count).sum::<u64>(),
                want.len() as u64,
                "histogram of {name}"
            );
        }
    }
}

/// Bodies whose words meet in every way a search text can straddle: single and double
/// spaces, punctuation, digits and other letters against a word, a word inside a longer
/// one. Each text finds exactly the bodies that contain it ignoring case — in a page, a
/// summary (logs, sessions, people) and a histogram — however a backend cuts bodies up
/// to index them.
pub async fn texts_match_as_substrings_wherever_words_meet(s: LogStores) {
    let shapes = [
        "Connection timed out after 30s",
        "connection TIMED  OUT twice",
        "timed-out worker",
        "job 3fatimed out again",
        "blk 9fe3bad1 timed out in 5ms",
        "untimed outage in eu",
        "Request to server failed",
        "sent to server2 quickly",
        "xto server restarted",
        "École timed outé",
        "pre timed out",
        "TIMEDOUT flag",
    ];
    let records: Vec<_> = (0..shapes.len() * 30)
        .map(|i| {
            let mut r = sample(1, T0 + i as i64 * SEC, shapes[i % shapes.len()]);
            (r.session_id, r.distinct_id) = (Some(format!("s{}", i % 7)), Some(format!("u{}", i % 5)));
            if i % 3 == 0 {
                (r.severity, r.severity_text, r.severity_number) = (Severity::Error, "ERROR".into(), 17);
            }
            if i % 2 == 0 {
                r.service = "search".into();
            }
            r
        })
        .collect();
    append(s.writer.as_ref(), records.clone()).await;
    let texts = [
        "timed out",
        "TIMED OUT",
        "timed",
        "med ou",
        "ed out",
        "timed-out",
        "out",
        "utage",
        "timedout",
        "onnection timed",
        "connection timed out after",
        "to server",
        "to serv",
        "server",
        "ole timed",
        "cole timed out",
        "xto server restarted",
        "bad timed out",
        "timed out in",
        "out in",
        "in 5ms",
    ];
    for text in texts {
        let matching: Vec<_> =
            records.iter().filter(|r| r.body.to_lowercase().contains(&text.to_lowercase())).collect();
        let distinct = |id: fn(&LogRecord) -> Option<&String>| {
            matching.iter().filter_map(|r| id(r)).collect::<std::collections::HashSet<_>>().len() as u64
        };
        let (sessions, users) = (distinct(|r| r.session_id.as_ref()), distinct(|r| r.distinct_id.as_ref()));
        let filter = LogFilter { query: Some(LogExpr::body(text)), ..all(1) };
        let found = bodies(s.logs.as_ref(), filter.clone()).await;
        assert_eq!(found.len(), matching.len(), "{text:?}: {found:?}");
        let summary = s.logs.summary(filter.clone()).await.unwrap();
        assert_eq!(
            (summary.logs, summary.sessions, summary.users),
            (matching.len() as u64, sessions, users),
            "{text:?}"
        );
        let minute = |r: &&LogRecord| r.timestamp_ns.div_euclid(60 * SEC) * 60 * SEC;
        let by_severity = |r: &&LogRecord| r.severity.as_str().to_owned();
        let by_service = |r: &&LogRecord| r.service.clone();
        for (breakdown, key) in [
            (Breakdown::Severity, &by_severity as &dyn Fn(&&LogRecord) -> String),
            (Breakdown::Service, &by_service),
        ] {
            let hist = s.logs.histogram(filter.clone(), 60 * SEC, breakdown).await.unwrap();
            let mut got = std::collections::BTreeMap::new();
            hist.buckets.iter().for_each(|b| *got.entry((b.start_ns, b.key.clone())).or_insert(0) += b.count);
            let mut want = std::collections::BTreeMap::new();
            matching.iter().for_each(|r| *want.entry((minute(r), key(r))).or_insert(0) += 1);
            assert_eq!(got, want, "{text:?} by {breakdown:?}");
        }
    }
}
