//! Log patterns of a search over a real store: counts, shares, errors, sessions, examples,
//! ids that hold across ranges, the pattern as a filter, and estimates from a sample.

use tether_app::patterns::compare::Change;
use tether_app::search;
use tether_model::{LogId, Severity};
use tether_store::conformance::logs::sample;
use tether_store::{EventStore, IssueStore, LogFilter, LogQuery, LogReader, LogWriter, StoredLog};

mod common;

use common::{NOW_MS, fixture};

const MIN_NS: i64 = 60_000_000_000;
const NOW_NS: i64 = NOW_MS * 1_000_000;

/// `n` logs from `make(i)` (body, severity, session), one every `step_ns` ending at now,
/// with ids minted from their time as the server's node `node` mints them.
fn logs(
    node: i64,
    n: i64,
    step_ns: i64,
    make: impl Fn(i64) -> (String, Severity, Option<String>),
) -> Vec<StoredLog> {
    (0..n)
        .map(|i| {
            let (body, severity, session) = make(i);
            let mut record = sample(1, NOW_NS - (n - i) * step_ns, &body);
            record.severity = severity;
            record.distinct_id = session.as_ref().map(|s| format!("user-of-{s}"));
            record.session_id = session;
            StoredLog { id: LogId(LogId::at_micros(record.timestamp_ns / 1000).0 + node), record }
        })
        .collect()
}

#[tokio::test]
async fn the_patterns_of_a_search_with_their_counts_errors_and_sessions() {
    let f = fixture().await;
    let names = ["ada", "bob", "cyd", "dee", "eve", "fay"];
    let logins = logs(1, 30, MIN_NS, |i| {
        let name = names[i as usize % names.len()];
        (format!("user {name} logged in from 10.0.0.{i}"), Severity::Info, Some(format!("s{}", i % 5)))
    });
    let declines = logs(2, 20, 2 * MIN_NS, |i| {
        let severity = if i % 4 == 0 { Severity::Error } else { Severity::Warn };
        (format!("payment declined for order {}", 5000 + i), severity, None)
    });
    let warm = logs(3, 5, MIN_NS, |_| ("cache warm".into(), Severity::Debug, None));
    f.duck.append_logs([logins, declines, warm].concat()).await.unwrap();

    let hour = LogFilter::new(1, NOW_NS - 60 * MIN_NS, NOW_NS);
    let found = f.app.patterns(hour.clone()).await.unwrap();
    assert_eq!((found.total, found.sampled), (55, 55), "every log read: the counts are exact");
    let summary: Vec<(&str, u64, u64, u64, u64)> = found
        .patterns
        .iter()
        .map(|p| (p.template.as_str(), p.count, p.errors, p.sessions, p.people))
        .collect();
    assert_eq!(
        summary,
        [
            ("user <*> logged in from <ip>", 30, 0, 5, 5),
            ("payment declined for order <num>", 20, 5, 0, 0),
            ("cache warm", 5, 0, 0, 0),
        ]
    );
    let login = &found.patterns[0];
    assert!((login.share - 30.0 / 55.0).abs() < 1e-9);
    assert_eq!(login.sparkline.iter().sum::<u64>(), 30);
    assert_eq!(login.sparkline.len(), found.buckets.len());
    assert_eq!((login.first_ns, login.last_ns), (NOW_NS - 30 * MIN_NS, NOW_NS - MIN_NS));
    assert_eq!(login.examples.len(), 3);
    assert_eq!(login.examples[0].body, "user fay logged in from 10.0.0.29", "the newest first");
    assert_eq!(login.services, ["checkout"]);

    // The same pattern in a narrower range, where two users logged in (too few to tell the
    // name is a variable by these logs alone), keeps its template and id.
    let two_minutes = LogFilter::new(1, NOW_NS - 2 * MIN_NS, NOW_NS);
    let narrow = f.app.patterns(two_minutes).await.unwrap();
    let same = narrow.patterns.iter().find(|p| p.template == login.template).expect("the login pattern");
    assert_eq!((same.id.as_str(), same.count), (login.id.as_str(), 2));

    // The pattern is a filter: its logs, and no others.
    let q = format!(
        "q={}",
        form_urlencoded::byte_serialize(format!("pattern:\"{}\"", login.template).as_bytes())
            .collect::<String>()
    );
    let mut search = search::parse(Some(&q), 1, NOW_NS).unwrap();
    (search.filter.from_ns, search.filter.to_ns) = (hour.from_ns, hour.to_ns);
    let page = f.duck.search(LogQuery { filter: search.filter, limit: 100, after: None }).await.unwrap();
    assert_eq!(page.logs.len(), 30);
    assert!(page.logs.iter().all(|l| l.record.body.contains("logged in")));

    // Every log on a page carries its pattern.
    let page = f.duck.search(LogQuery { filter: hour, limit: 100, after: None }).await.unwrap();
    let of_page = f.app.patterns_of(1, &page.logs).await.unwrap();
    for (log, (id, template)) in page.logs.iter().zip(&of_page) {
        let listed = found.patterns.iter().find(|p| &p.id == id).expect("a listed pattern");
        assert_eq!(&listed.template, template, "{}", log.record.body);
    }
}

#[tokio::test]
async fn counts_of_a_search_larger_than_the_sample_are_estimated() {
    let f = fixture().await;
    // 24,000 logs over the last hour, three of every four of one shape.
    let many = logs(1, 24_000, 150_000_000, |i| {
        let body = if i % 4 == 3 {
            format!("GET /orders/{i} 500 in {} ms", i % 90)
        } else {
            format!("GET /health 200 in {} ms", i % 7)
        };
        (body, Severity::Info, None)
    });
    f.duck.append_logs(many).await.unwrap();
    let found = f.app.patterns(LogFilter::new(1, NOW_NS - 60 * MIN_NS, NOW_NS)).await.unwrap();
    assert_eq!(found.total, 24_000);
    assert!(
        found.sampled <= tether_app::patterns::SAMPLE_LOGS as u64 && found.sampled > 5_000,
        "{}",
        found.sampled
    );
    let counts: Vec<(&str, u64)> = found.patterns.iter().map(|p| (p.template.as_str(), p.count)).collect();
    assert_eq!(counts.len(), 2, "{counts:?}");
    assert_eq!(counts[0].0, "GET /health <num> in <num> ms");
    let within = |count: u64, want: f64| (count as f64 - want).abs() / want < 0.05;
    assert!(within(counts[0].1, 18_000.0) && within(counts[1].1, 6_000.0), "{counts:?}");
}

#[tokio::test]
async fn what_changed_between_two_ranges_and_between_sessions_with_and_without_errors() {
    let f = fixture().await;
    // The hour before: steady logins and health checks. The last hour: the same, plus a new
    // error shape in the sessions that hit an exception, and health checks gone quiet.
    let steady = |node, offset_ns| {
        logs(node, 120, MIN_NS, move |i| {
            let session = Some(format!("s{}", i % 10));
            (format!("user u{i} logged in"), Severity::Info, session)
        })
        .into_iter()
        .map(move |mut l| {
            l.record.timestamp_ns -= offset_ns;
            l.id = LogId(LogId::at_micros(l.record.timestamp_ns / 1000).0 + node);
            l
        })
        .collect::<Vec<_>>()
    };
    let health = logs(3, 60, MIN_NS, |i| (format!("GET /health {}", 200 + i % 2), Severity::Debug, None))
        .into_iter()
        .map(|mut l| {
            l.record.timestamp_ns -= 60 * MIN_NS;
            l.id = LogId(LogId::at_micros(l.record.timestamp_ns / 1000).0 + 3);
            l
        })
        .collect::<Vec<_>>();
    let failures = logs(4, 30, 2 * MIN_NS, |i| {
        (format!("payment failed for order {}", 900 + i), Severity::Error, Some(format!("s{}", i % 2)))
    });
    f.duck.append_logs([steady(1, 0), health, failures].concat()).await.unwrap();
    for (n, session) in ["s0", "s1"].iter().enumerate() {
        let issue =
            f.meta.record_occurrence(1, "TypeError", "TypeError", "boom", NOW_MS - 60_000).await.unwrap();
        let record = tether_store::conformance::events::exception(
            &format!("e{n}"),
            issue,
            session,
            "ada",
            NOW_MS - 60_000,
        );
        f.duck.append_exceptions(vec![record]).await.unwrap();
    }

    let last_hour = LogFilter::new(1, NOW_NS - 60 * MIN_NS, NOW_NS);
    let ranges =
        f.app.compare_ranges(last_hour.clone(), NOW_NS - 120 * MIN_NS, NOW_NS - 60 * MIN_NS).await.unwrap();
    let rows: Vec<(&str, Change, u64, u64)> =
        ranges.patterns.iter().map(|p| (p.template.as_str(), p.change, p.current, p.baseline)).collect();
    assert_eq!(
        rows,
        [
            ("GET /health <num>", Change::Gone, 0, 60),
            ("payment failed for order <num>", Change::New, 30, 0),
            ("user <id> logged in", Change::Same, 60, 60),
        ],
        "most surprising first; the logins kept their rate"
    );
    assert!(ranges.patterns[1].surprise > 10.0 && ranges.patterns[2].surprise < 0.01);

    // Sessions s0 and s1 hit an exception: the payment failures are theirs alone.
    let sessions = f.app.compare_sessions(last_hour, None).await.unwrap();
    let first = &sessions.patterns[0];
    assert_eq!(
        (first.template.as_str(), first.change, first.current, first.baseline),
        ("payment failed for order <num>", Change::New, 30, 0)
    );
    assert_eq!(
        (sessions.current_total, sessions.baseline_total),
        (42, 48),
        "12 logins of s0 and s1 with the failures; 48 of the others"
    );
}
