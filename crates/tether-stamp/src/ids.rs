//! Reading the browser's session and person from request headers, strictly.
//!
//! These headers come from the internet: anyone can send them. A value is used only if it
//! looks like an id (bounded length, a safe character set), so a hostile or broken client can
//! neither bloat every log line nor inject control characters into them.

use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use percent_encoding::percent_decode_str;

/// Session id header that posthog-js adds to requests for hosts listed in `tracing_headers`.
pub const SESSION_HEADER: &str = "x-posthog-session-id";
/// Distinct id (person) header added by posthog-js.
pub const DISTINCT_ID_HEADER: &str = "x-posthog-distinct-id";
/// Window (tab) id header added by posthog-js.
pub const WINDOW_HEADER: &str = "x-posthog-window-id";

/// Longest accepted session or window id; posthog-js sends 36-character UUIDs.
const MAX_ID_LEN: usize = 128;
/// Longest accepted distinct id (PostHog's own limit on distinct ids is 200).
const MAX_DISTINCT_ID_LEN: usize = 200;
/// Longest `baggage` header considered (the W3C limit); longer ones are ignored whole.
const MAX_BAGGAGE_LEN: usize = 8192;

/// Who made a request: the PostHog session, person and window of the browser, each present
/// only when the request carried a valid value for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamp {
    /// The PostHog session id (`X-POSTHOG-SESSION-ID` or baggage `session.id`).
    pub session_id: Option<String>,
    /// The PostHog distinct id (`X-POSTHOG-DISTINCT-ID` or baggage `user.id`).
    pub distinct_id: Option<String>,
    /// The browser tab (`X-POSTHOG-WINDOW-ID`).
    pub window_id: Option<String>,
}

impl Stamp {
    /// Reads the PostHog tracing headers, falling back to W3C `baggage` entries `session.id`
    /// and `user.id`, then to the posthog-js cookie (see `cookie.rs`; a page load or form
    /// post sends no custom headers). Invalid values are dropped one by one; `None` when
    /// nothing valid is left.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let baggage = Baggage::from_headers(headers);
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let (cookie_distinct_id, cookie_session_id) = crate::cookie::posthog_ids(headers, now_ms);
        let stamp = Self {
            session_id: header(headers, SESSION_HEADER)
                .and_then(valid_id)
                .or_else(|| baggage.session_id.and_then(valid_id))
                .or_else(|| cookie_session_id.and_then(valid_id)),
            distinct_id: header(headers, DISTINCT_ID_HEADER)
                .and_then(valid_distinct_id)
                .or_else(|| baggage.user_id.and_then(valid_distinct_id))
                .or_else(|| cookie_distinct_id.and_then(valid_distinct_id)),
            window_id: header(headers, WINDOW_HEADER).and_then(valid_id),
        };
        (!stamp.is_empty()).then_some(stamp)
    }

    /// True when no id is known.
    pub fn is_empty(&self) -> bool {
        self.session_id.is_none() && self.distinct_id.is_none() && self.window_id.is_none()
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// A session or window id: letters, digits and `-_.:`, at most [`MAX_ID_LEN`] bytes.
fn valid_id(value: String) -> Option<String> {
    let value = value.trim();
    let ok = !value.is_empty()
        && value.len() <= MAX_ID_LEN
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        && !is_placeholder(value);
    ok.then(|| value.to_owned())
}

/// A distinct id: any printable text (emails, UUIDs, database ids) up to
/// [`MAX_DISTINCT_ID_LEN`] bytes.
fn valid_distinct_id(value: String) -> Option<String> {
    let value = value.trim();
    let ok = !value.is_empty()
        && value.len() <= MAX_DISTINCT_ID_LEN
        && !value.chars().any(char::is_control)
        && !is_placeholder(value);
    ok.then(|| value.to_owned())
}

/// What JavaScript sends when the id it interpolated was missing.
fn is_placeholder(value: &str) -> bool {
    ["undefined", "null", "none", "nan"].iter().any(|p| value.eq_ignore_ascii_case(p))
}

/// The two W3C baggage entries we read.
#[derive(Default)]
struct Baggage {
    session_id: Option<String>,
    user_id: Option<String>,
}

impl Baggage {
    /// Parses every `baggage` header (`key=value;properties, …`, values percent-encoded).
    /// The first occurrence of a key wins; oversized or non-UTF-8 headers are ignored.
    fn from_headers(headers: &HeaderMap) -> Self {
        let mut out = Self::default();
        let mut total = 0;
        for value in headers.get_all("baggage") {
            total += value.len();
            if total > MAX_BAGGAGE_LEN {
                return Self::default();
            }
            let Ok(value) = value.to_str() else { continue };
            for member in value.split(',') {
                let pair = member.split(';').next().unwrap_or_default();
                let Some((key, raw)) = pair.split_once('=') else { continue };
                let slot = match key.trim() {
                    "session.id" => &mut out.session_id,
                    "user.id" => &mut out.user_id,
                    _ => continue,
                };
                if slot.is_none() {
                    *slot = percent_decode_str(raw.trim()).decode_utf8().ok().map(|v| v.into_owned());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn posthog_headers_are_read() {
        let stamp = Stamp::from_headers(&headers(&[
            ("X-POSTHOG-SESSION-ID", "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
            ("X-POSTHOG-DISTINCT-ID", "ada@example.com"),
            ("X-POSTHOG-WINDOW-ID", "0199a1b2-0000-7e5f-8a9b-0c1d2e3f4a5b"),
        ]))
        .unwrap();
        assert_eq!(stamp.session_id.as_deref(), Some("0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"));
        assert_eq!(stamp.distinct_id.as_deref(), Some("ada@example.com"));
        assert_eq!(stamp.window_id.as_deref(), Some("0199a1b2-0000-7e5f-8a9b-0c1d2e3f4a5b"));
    }

    #[test]
    fn baggage_fills_what_the_headers_lack() {
        let stamp = Stamp::from_headers(&headers(&[
            ("baggage", "tenant=acme, session.id=s-42;prop=1"),
            ("baggage", "user.id=J%C3%BCrgen%20K"),
        ]))
        .unwrap();
        assert_eq!(stamp.session_id.as_deref(), Some("s-42"));
        assert_eq!(stamp.distinct_id.as_deref(), Some("Jürgen K"));

        let both = Stamp::from_headers(&headers(&[
            ("x-posthog-session-id", "from-header"),
            ("baggage", "session.id=from-baggage,user.id=u1"),
        ]))
        .unwrap();
        assert_eq!(both.session_id.as_deref(), Some("from-header"));
        assert_eq!(both.distinct_id.as_deref(), Some("u1"));
    }

    #[test]
    fn invalid_values_are_ignored_one_by_one() {
        let long = "a".repeat(MAX_ID_LEN + 1);
        let stamp = Stamp::from_headers(&headers(&[
            ("x-posthog-session-id", &long),
            ("x-posthog-distinct-id", "ok-user"),
            ("x-posthog-window-id", "bad id with spaces"),
        ]))
        .unwrap();
        assert_eq!(stamp, Stamp { distinct_id: Some("ok-user".into()), ..Stamp::default() });

        for bad in ["", "  ", "undefined", "null", "<script>", "a/b", "s\u{7f}"] {
            let mut map = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(bad) {
                map.insert(SESSION_HEADER, v);
            }
            assert_eq!(Stamp::from_headers(&map), None, "{bad:?}");
        }
        // Percent-decoding cannot smuggle control characters in.
        assert_eq!(Stamp::from_headers(&headers(&[("baggage", "user.id=a%0Ab")])), None);
        assert_eq!(Stamp::from_headers(&headers(&[("baggage", "user.id=%FF")])), None);
        let huge = format!("session.id=s1,pad={}", "x".repeat(MAX_BAGGAGE_LEN));
        assert_eq!(Stamp::from_headers(&headers(&[("baggage", &huge)])), None);
        let long_user = "u".repeat(MAX_DISTINCT_ID_LEN + 1);
        assert_eq!(Stamp::from_headers(&headers(&[("x-posthog-distinct-id", &long_user)])), None);
    }
}
