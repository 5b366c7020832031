//! The log suite's large-data cases: what a backend may estimate for a search matching many
//! logs, and what it must then say.

use tether_model::{AttrValue, Attributes, LogRecord};

use super::logs::{append, sample};
use super::{LogStores, SEC, T0};
use crate::{LogExpr, LogFilter};

/// 300,000 logs over 300 s; every 20th says "timeout waiting", carries one of 500 sessions
/// and one of 50 users.
async fn many_logs(s: &LogStores) {
    let records: Vec<LogRecord> = (0..300_000i64)
        .map(|i| {
            if i % 20 == 0 {
                let mut log =
                    sample(1, T0 + i * 1_000_000, &format!("GET /pay failed: timeout waiting ({i})"));
                log.session_id = Some(format!("s{}", (i / 20) % 500));
                log.distinct_id = Some(format!("u{}", (i / 20) % 50));
                log.service = if i % 40 == 0 { "payments" } else { "checkout" }.into();
                log
            } else {
                sample(1, T0 + i * 1_000_000, &format!("GET /cart ok in {}ms", i % 300))
            }
        })
        .collect();
    for chunk in records.chunks(20_000) {
        append(s.writer.as_ref(), chunk.to_vec()).await;
    }
}

fn within(value: u64, want: u64, tolerance: f64) -> bool {
    (value as f64 - want as f64).abs() <= want as f64 * tolerance
}

pub async fn summaries_and_facets_of_a_large_search_are_exact_or_say_they_are_not(s: LogStores) {
    many_logs(&s).await;
    let all = LogFilter::new(1, T0 - SEC, T0 + 400 * SEC);
    let search = LogFilter { query: Some(LogExpr::body("Timeout Waiting")), ..all.clone() };
    let summary = s.logs.summary(search.clone()).await.unwrap();
    if summary.approximate {
        assert!(within(summary.logs, 15_000, 0.05), "{summary:?}");
        assert!(within(summary.sessions, 500, 0.05), "{summary:?}");
        assert!(within(summary.users, 50, 0.05), "{summary:?}");
    } else {
        assert_eq!((summary.logs, summary.sessions, summary.users), (15_000, 500, 50));
    }
    let plain = s.logs.summary(all.clone()).await.unwrap();
    assert_eq!((plain.logs, plain.sessions, plain.users, plain.approximate), (300_000, 500, 50, false));

    let facets = s.logs.facets(search, 10, 10).await.unwrap();
    let services: Vec<(&str, u64)> = facets.services.iter().map(|v| (v.value.as_str(), v.count)).collect();
    if facets.sampled {
        assert_eq!(services.iter().map(|s| s.0).collect::<Vec<_>>(), ["checkout", "payments"]);
        assert!(services.iter().all(|s| within(s.1, services[0].1, 0.1)), "{services:?}");
    } else {
        assert_eq!(services, [("checkout", 7_500), ("payments", 7_500)]);
    }
    let plain = s.logs.facets(all, 10, 10).await.unwrap();
    assert!(!plain.sampled);
    let total: u64 = plain.services.iter().map(|v| v.count).sum();
    assert_eq!(total, 300_000, "{:?}", plain.services);
}

/// After a deploy, the attribute facets of a wide range show the new release, not the old
/// one: a backend that counts a sample of the matches takes the newest, not any. 60,000
/// logs over 60 s; the oldest 10,000 say release "v1", the rest "v2"; every service count
/// is exact.
pub async fn facets_of_many_logs_count_the_newest(s: LogStores) {
    let records: Vec<LogRecord> = (0..60_000i64)
        .map(|i| {
            let mut log = sample(1, T0 + i * 1_000_000, &format!("GET /cart ok in {}ms", i % 300));
            let release = if i < 10_000 { "v1" } else { "v2" };
            log.attributes = Attributes(vec![("release".into(), AttrValue::String(release.into()))]);
            log
        })
        .collect();
    for chunk in records.chunks(20_000) {
        append(s.writer.as_ref(), chunk.to_vec()).await;
    }
    let facets = s.logs.facets(LogFilter::new(1, T0 - SEC, T0 + 100 * SEC), 10, 10).await.unwrap();
    let services: Vec<(&str, u64)> = facets.services.iter().map(|v| (v.value.as_str(), v.count)).collect();
    assert_eq!(services, [("checkout", 60_000)]);
    let release = facets.attributes.iter().find(|a| a.key == "release").expect("release facet");
    let values: Vec<&str> = release.values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(values, ["v2"], "{release:?}");
}
