//! A [`LogFilter`] evaluated on a log in Rust, with the SQL backends' semantics: a body
//! search is a case-insensitive substring (lower-cased when the text has letters), an
//! attribute compares as the text DuckDB stores for it (integers in decimal, finite
//! doubles as ryu writes them, booleans as `true`/`false`, lists and maps as JSON), a
//! number comparison casts that text, and a test of a missing field or attribute is false.

use std::borrow::Cow;
use std::cell::RefCell;

use regex::Regex;
use tether_model::{AttrValue, Attributes};
use tether_store::{
    Compare, Condition, ErrorKind, Field, LogExpr, LogFilter, StoreError, StoreResult, StoredLog,
};

/// An attribute's value as filters and facets see it (`None` for an empty value or a
/// double that is not finite, which DuckDB stores as NULL).
pub(crate) fn attribute_text(value: &AttrValue) -> Option<Cow<'_, str>> {
    match value {
        AttrValue::String(s) | AttrValue::Bytes(s) => Some(Cow::Borrowed(s)),
        AttrValue::Int(v) => Some(Cow::Owned(v.to_string())),
        AttrValue::Double(d) if d.is_finite() => {
            Some(Cow::Owned(ryu::Buffer::new().format_finite(*d).to_owned()))
        }
        AttrValue::Double(_) | AttrValue::Empty => None,
        AttrValue::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        AttrValue::Array(_) => serde_json::to_string(value).ok().map(Cow::Owned),
        AttrValue::KvList(kv) => Some(Cow::Owned(kv.to_json())),
    }
}

/// The first value under `key` (what `attr.key` compares).
fn attribute<'a>(attributes: &'a Attributes, key: &str) -> Option<&'a AttrValue> {
    attributes.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A 32-digit hex id in lowercase; `None` for text that is no trace id (it matches nothing).
fn trace_hex(text: &str) -> Option<String> {
    (text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())).then(|| text.to_ascii_lowercase())
}

/// A condition ready to test logs: texts lower-cased and regexes compiled once.
enum Test {
    Contains(String),
    ContainsFolded(String),
    Pattern(Regex, Vec<String>),
    /// The body contains each word (what a pattern's match must).
    Words(Vec<String>),
    Equals(Field, Option<String>),
    Present(Field),
    Severity(Compare, u8),
    AttrEquals(String, String),
    AttrPresent(String),
    AttrCompare(String, Compare, f64),
}

enum Expr {
    All(Vec<Expr>),
    Any(Vec<Expr>),
    Not(Box<Expr>),
    Test(Test),
}

/// A filter ready to test logs.
pub(crate) struct Matcher {
    from_ns: i64,
    to_ns: i64,
    severities: Vec<u8>,
    services: Vec<String>,
    session_id: Option<String>,
    distinct_ids: Vec<String>,
    /// `Some(None)`: a trace filter no log can match.
    trace_id: Option<Option<String>>,
    query: Option<Expr>,
    /// The body tests every match passes (see [`LogExpr::required`]): checked on a log's
    /// body before the rest of it is read.
    body_tests: Vec<Test>,
}

/// The body contains `text`, case-insensitively (text without letters has no case).
fn body_test(text: &str) -> Test {
    if text.chars().any(char::is_alphabetic) {
        Test::ContainsFolded(text.to_lowercase())
    } else {
        Test::Contains(text.to_owned())
    }
}

fn compile(expr: &LogExpr) -> StoreResult<Expr> {
    Ok(match expr {
        LogExpr::And(parts) => Expr::All(parts.iter().map(compile).collect::<StoreResult<_>>()?),
        LogExpr::Or(parts) => Expr::Any(parts.iter().map(compile).collect::<StoreResult<_>>()?),
        LogExpr::Not(inner) => Expr::Not(Box::new(compile(inner)?)),
        LogExpr::Match(condition) => Expr::Test(match condition {
            Condition::Body(t) => body_test(t),
            Condition::Pattern { regex, words } => {
                let regex = Regex::new(regex)
                    .map_err(|e| StoreError::new(ErrorKind::InvalidInput, format!("bad pattern: {e}")))?;
                Test::Pattern(regex, words.clone())
            }
            Condition::Equals(Field::Trace, v) => Test::Equals(Field::Trace, trace_hex(v)),
            Condition::Equals(field, v) => Test::Equals(*field, Some(v.clone())),
            Condition::Present(field) => Test::Present(*field),
            Condition::Severity(op, s) => Test::Severity(*op, s.code()),
            Condition::AttrEquals { key, value } => Test::AttrEquals(key.clone(), value.clone()),
            Condition::AttrPresent(key) => Test::AttrPresent(key.clone()),
            Condition::AttrCompare { key, op, value } => Test::AttrCompare(key.clone(), *op, *value),
        }),
    })
}

fn compare<T: PartialOrd>(a: T, op: Compare, b: T) -> bool {
    match op {
        Compare::Eq => a == b,
        Compare::Lt => a < b,
        Compare::Le => a <= b,
        Compare::Gt => a > b,
        Compare::Ge => a >= b,
    }
}

fn field(log: &StoredLog, field: Field) -> Option<&str> {
    let r = &log.record;
    let text = match field {
        Field::Service => r.service.as_str(),
        Field::Trace => r.trace_id.as_str(),
        Field::Session => r.session_id.as_deref()?,
        Field::Person => r.distinct_id.as_deref()?,
    };
    Some(text)
}

thread_local! {
    /// Where ASCII bodies are lower-cased to be searched, reused.
    static LOWERED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Whether `lower(body)` contains `needle` (lower-cased already). An ASCII body (most) is
/// lower-cased into a reused buffer, others through `to_lowercase`.
fn contains_folded(body: &str, needle: &str) -> bool {
    if !body.is_ascii() {
        return body.to_lowercase().contains(needle);
    }
    LOWERED.with_borrow_mut(|lowered| {
        lowered.clear();
        lowered.extend(body.bytes().map(|b| b.to_ascii_lowercase()));
        memchr::memmem::find(lowered, needle.as_bytes()).is_some()
    })
}

fn has_words(body: &str, words: &[String]) -> bool {
    words.iter().all(|w| body.contains(w.as_str()))
}

impl Test {
    /// The tests of bodies alone (the others hold here).
    fn holds_on_body(&self, body: &str) -> bool {
        match self {
            Test::Contains(t) => body.contains(t.as_str()),
            Test::ContainsFolded(t) => contains_folded(body, t),
            Test::Words(words) => has_words(body, words),
            Test::Pattern(regex, words) => has_words(body, words) && regex.is_match(body),
            _ => true,
        }
    }

    fn holds(&self, log: &StoredLog) -> bool {
        let r = &log.record;
        match self {
            Test::Contains(_) | Test::ContainsFolded(_) | Test::Words(_) | Test::Pattern(..) => {
                self.holds_on_body(&r.body)
            }
            Test::Equals(f, v) => v.as_deref().is_some_and(|v| field(log, *f) == Some(v)),
            Test::Present(f) => field(log, *f).is_some_and(|v| !v.is_empty()),
            Test::Severity(op, code) => compare(r.severity.code(), *op, *code),
            Test::AttrEquals(key, value) => {
                attribute(&r.attributes, key).and_then(attribute_text).is_some_and(|t| t == value.as_str())
            }
            Test::AttrPresent(key) => attribute(&r.attributes, key).is_some(),
            Test::AttrCompare(key, op, value) => attribute(&r.attributes, key)
                .and_then(attribute_text)
                .and_then(|t| t.trim().parse::<f64>().ok())
                .is_some_and(|n| compare(n, *op, *value)),
        }
    }
}

impl Expr {
    fn holds(&self, log: &StoredLog) -> bool {
        match self {
            Expr::All(parts) => parts.iter().all(|p| p.holds(log)),
            Expr::Any(parts) => parts.iter().any(|p| p.holds(log)),
            Expr::Not(inner) => !inner.holds(log),
            Expr::Test(test) => test.holds(log),
        }
    }
}

impl Matcher {
    /// Refuses a pattern whose regex does not compile.
    pub(crate) fn new(filter: &LogFilter) -> StoreResult<Matcher> {
        Ok(Matcher {
            from_ns: filter.from_ns,
            to_ns: filter.to_ns,
            severities: filter.severities.iter().map(|s| s.code()).collect(),
            services: filter.services.clone(),
            session_id: filter.session_id.clone(),
            distinct_ids: filter.distinct_ids.clone(),
            trace_id: filter.trace_id.as_deref().map(trace_hex),
            query: filter.query.as_ref().map(compile).transpose()?,
            body_tests: filter
                .query
                .iter()
                .flat_map(LogExpr::required)
                .filter_map(|c| match c {
                    Condition::Body(t) => Some(body_test(t)),
                    Condition::Pattern { words, .. } => Some(Test::Words(words.clone())),
                    _ => None,
                })
                .collect(),
        })
    }

    /// Whether a log with this body may match (the filter's required body tests hold).
    pub(crate) fn body_may_match(&self, body: &str) -> bool {
        self.body_tests.iter().all(|t| t.holds_on_body(body))
    }

    /// Whether the log matches (its project is the caller's to check).
    pub(crate) fn holds(&self, log: &StoredLog) -> bool {
        let r = &log.record;
        r.timestamp_ns >= self.from_ns
            && r.timestamp_ns < self.to_ns
            && (self.severities.is_empty() || self.severities.contains(&r.severity.code()))
            && (self.services.is_empty() || self.services.contains(&r.service))
            && self.session_id.as_ref().is_none_or(|s| r.session_id.as_ref() == Some(s))
            && (self.distinct_ids.is_empty()
                || r.distinct_id.as_ref().is_some_and(|d| self.distinct_ids.contains(d)))
            && self.trace_id.as_ref().is_none_or(|t| t.as_ref().is_some_and(|t| *t == r.trace_id))
            && self.query.as_ref().is_none_or(|q| q.holds(log))
    }

    /// Whether a block with logs of these severities (a bit per code) may hold a match.
    pub(crate) fn may_hold_severities(&self, severities: u8) -> bool {
        self.severities.is_empty() || self.severities.iter().any(|&code| severities & (1 << code) != 0)
    }
}
