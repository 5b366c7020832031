//! The logs search parameters: the query string the logs API takes and an alert saves
//! (`q` in the [`crate::query`] language, `severity`, `service`, `attr`, `session_id`,
//! `distinct_id`, `trace_id`, a time range, paging), parsed into a typed [`Search`]. Every parameter is checked, and a bad one is
//! refused naming it. Written once here because the API and the alerts both parse it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tether_model::{LogId, ProjectId, Severity};
use tether_store::{
    Breakdown, Condition, ErrorKind, LogExpr, LogFilter, PageCursor, StoreError, StoreResult,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = crate::logs::MAX_PAGE;
const DEFAULT_RANGE_NS: i64 = 3600 * 1_000_000_000;
/// Default end of range is a little in the future so senders with a fast clock still show.
const DEFAULT_END_SLACK_NS: i64 = 300 * 1_000_000_000;

/// What a search asks for, parsed.
#[derive(Debug)]
pub struct Search {
    pub filter: LogFilter,
    pub limit: usize,
    pub cursor: Option<PageCursor>,
    pub after: Option<LogId>,
    pub breakdown: Breakdown,
}

fn invalid(message: String) -> StoreError {
    StoreError::new(ErrorKind::InvalidInput, message)
}

/// The filters an alert may save: the window sets its time range, so `from`, `to` and paging
/// are refused. Checks the query parses as a search.
pub fn check_saved_search(query: &str) -> StoreResult<()> {
    for (key, _) in form_urlencoded::parse(query.as_bytes()) {
        if !["q", "severity", "service", "attr", "session_id", "distinct_id", "trace_id"]
            .contains(&key.as_ref())
        {
            return Err(invalid(format!(
                "invalid query: {key} is not a filter (the window sets the time range)"
            )));
        }
    }
    parse(Some(query), 0, 0).map(drop)
}

/// Parses the query string of a logs request for `project_id`, relative to `now`.
pub fn parse(raw: Option<&str>, project_id: ProjectId, now: i64) -> StoreResult<Search> {
    let mut p = Search {
        filter: LogFilter::new(project_id, now - DEFAULT_RANGE_NS, now + DEFAULT_END_SLACK_NS),
        limit: DEFAULT_LIMIT,
        cursor: None,
        after: None,
        breakdown: Breakdown::Severity,
    };
    // Added once every field is read: the fields a query requires move to the filter's own
    // when those are unset (see [`LogFilter::and_query`]).
    let mut query = Vec::new();
    let pairs = form_urlencoded::parse(raw.unwrap_or("").as_bytes());
    for (key, value) in pairs {
        let value = value.trim();
        let bad = |why: &str| invalid(format!("invalid {key}: {why}"));
        match key.as_ref() {
            "from" => {
                p.filter.from_ns = parse_time(value, now)
                    .ok_or_else(|| bad("expected RFC 3339 or relative time like -1h"))?
            }
            "to" => {
                p.filter.to_ns = parse_time(value, now)
                    .ok_or_else(|| bad("expected RFC 3339 or relative time like -1h"))?
            }
            "q" => query.extend(crate::query::parse(value).map_err(|e| invalid(format!("invalid q: {e}")))?),
            "severity" => {
                for name in value.split(',').filter(|s| !s.is_empty()) {
                    let s = Severity::parse_name(&name.to_ascii_lowercase())
                        .ok_or_else(|| bad("expected trace, debug, info, warn, error or fatal"))?;
                    p.filter.severities.push(s);
                }
            }
            "service" => p.filter.services.push(value.to_owned()),
            "attr" => query
                .push(parse_attr(value).ok_or_else(|| bad("expected key=value, key!=value, key or !key"))?),
            "session_id" => p.filter.session_id = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "distinct_id" => {
                p.filter.distinct_ids = Some(value.to_owned()).filter(|v| !v.is_empty()).into_iter().collect()
            }
            "trace_id" => {
                let hex = value.to_ascii_lowercase();
                if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad("expected 32 hex characters"));
                }
                p.filter.trace_id = Some(hex);
            }
            "limit" => {
                p.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| bad(&format!("expected a number from 1 to {MAX_LIMIT}")))?
            }
            "cursor" => {
                p.cursor = Some(decode_cursor(value).ok_or_else(|| bad("not a cursor from this API"))?)
            }
            "after" => p.after = Some(LogId(value.parse().map_err(|_| bad("not a cursor from this API"))?)),
            "breakdown" => {
                p.breakdown = match value {
                    "severity" => Breakdown::Severity,
                    "service" => Breakdown::Service,
                    _ => return Err(bad("expected severity or service")),
                }
            }
            other => return Err(invalid(format!("unknown parameter {other}"))),
        }
    }
    if !query.is_empty() {
        p.filter.and_query(LogExpr::all(query));
    }
    if p.filter.from_ns >= p.filter.to_ns {
        return Err(invalid("invalid time range: from must be before to".to_owned()));
    }
    Ok(p)
}

/// RFC 3339, `now`, or a relative offset: `-30s`, `-15m`, `-1h`, `-7d`, `-2w`.
pub fn parse_time(value: &str, now: i64) -> Option<i64> {
    if value == "now" {
        return Some(now);
    }
    if let Some(rel) = value.strip_prefix('-') {
        let (digits, unit) = rel.split_at(rel.find(|c: char| !c.is_ascii_digit())?);
        let n: i64 = digits.parse().ok()?;
        let unit_secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            _ => return None,
        };
        return now.checked_sub(n.checked_mul(unit_secs)?.checked_mul(1_000_000_000)?);
    }
    let t = OffsetDateTime::parse(value, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos()).ok()
}

/// `attr=`: `key=value`, `key!=value`, `key` (has it) or `!key` (has it not).
fn parse_attr(value: &str) -> Option<LogExpr> {
    let (key, expr) = if let Some((key, v)) = value.split_once("!=") {
        (key.trim(), LogExpr::attr_equals(key.trim(), v.trim()).negate())
    } else if let Some((key, v)) = value.split_once('=') {
        (key.trim(), LogExpr::attr_equals(key.trim(), v.trim()))
    } else if let Some(key) = value.strip_prefix('!') {
        (key.trim(), LogExpr::Match(Condition::AttrPresent(key.trim().to_owned())).negate())
    } else {
        (value, LogExpr::Match(Condition::AttrPresent(value.to_owned())))
    };
    (!key.is_empty()).then_some(expr)
}

/// Formats Unix nanoseconds as RFC 3339 UTC with nanoseconds, as the API and notifications
/// show times.
pub fn format_ns(ns: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Cursors are opaque to clients: base64url of `timestamp.id`.
pub fn encode_cursor(c: PageCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{}", c.timestamp_ns, c.id.0))
}

fn decode_cursor(value: &str) -> Option<PageCursor> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(value).ok()?).ok()?;
    let (ts, id) = text.split_once('.')?;
    Some(PageCursor { timestamp_ns: ts.parse().ok()?, id: LogId(id.parse().ok()?) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600_000_000_000;

    #[test]
    fn parses_every_parameter() {
        let p = parse(
            Some("from=-15m&to=2026-01-01T00:00:00Z&q=Timeout&severity=error,WARN&severity=fatal&service=a&service=b\
                  &attr=http.route%3D/pay&attr=x!%3D1&attr=has&attr=!gone&session_id=s&distinct_id=u\
                  &trace_id=4BF92F3577B34DA6A3CE929D0E0E4736&limit=5&breakdown=service"),
            1,
            NOW,
        )
        .unwrap();
        assert_eq!(p.filter.from_ns, NOW - 900 * 1_000_000_000);
        assert_eq!(p.filter.to_ns, NOW);
        assert_eq!(p.filter.severities, [Severity::Error, Severity::Warn, Severity::Fatal]);
        assert_eq!(p.filter.services, ["a", "b"]);
        let has = |key: &str| LogExpr::Match(Condition::AttrPresent(key.into()));
        assert_eq!(
            p.filter.query,
            Some(LogExpr::And(vec![
                LogExpr::body("Timeout"),
                LogExpr::attr_equals("http.route", "/pay"),
                LogExpr::attr_equals("x", "1").negate(),
                has("has"),
                has("gone").negate(),
            ]))
        );
        assert_eq!(p.filter.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(p.limit, 5);
        assert_eq!(p.breakdown, Breakdown::Service);
    }

    #[test]
    fn bad_parameters_are_named() {
        let cases = [
            ("from=yesterday", "invalid from"),
            ("severity=loud", "invalid severity"),
            ("limit=0", "invalid limit"),
            ("limit=1001", "invalid limit"),
            ("trace_id=xyz", "invalid trace_id"),
            ("cursor=@@", "invalid cursor"),
            ("attr=", "invalid attr"),
            ("q=service%3A", "invalid q: column 9: expected a value"),
            ("colour=red", "unknown parameter colour"),
            ("from=-1h&to=-2h", "invalid time range"),
        ];
        for (query, want) in cases {
            let err = parse(Some(query), 1, NOW).unwrap_err();
            assert!(err.to_string().starts_with(want), "{query}: {err}");
        }
    }

    #[test]
    fn cursor_round_trips() {
        let c = PageCursor { timestamp_ns: NOW, id: LogId(42) };
        assert_eq!(decode_cursor(&encode_cursor(c)), Some(c));
    }
}

#[cfg(test)]
mod query_tests {
    use super::*;

    #[test]
    fn fields_a_query_requires_use_the_filters_own_unless_those_are_set() {
        let p = parse(Some("q=service:api level:error session:s1 timeout&service=web"), 1, 0).unwrap();
        assert_eq!(p.filter.services, ["web"], "the parameter keeps its own; the query's is ANDed");
        assert_eq!(p.filter.severities, [Severity::Error]);
        assert_eq!(p.filter.session_id.as_deref(), Some("s1"));
        let service = LogExpr::Match(Condition::Equals(tether_store::Field::Service, "api".into()));
        assert_eq!(p.filter.query, Some(LogExpr::And(vec![service, LogExpr::body("timeout")])));
        let p = parse(Some("q=level:error OR service:api"), 1, 0).unwrap();
        assert!(p.filter.severities.is_empty() && p.filter.services.is_empty(), "an OR stays a query");
    }
}
