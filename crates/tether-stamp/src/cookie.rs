//! The posthog-js cookie, read when a request carries no tracing headers: a full-page
//! navigation or form post (the browser sends no custom headers on those) still carries the
//! `ph_{token}_posthog` cookie, whose JSON holds `distinct_id` and `$sesid`
//! (`[last activity ms, session id, session start ms]`).
//!
//! Only when posthog-js persists to a cookie (its default `localStorage+cookie`, or
//! `cookie`) and only for the site's own domain; with `persistence: 'memory'`, before
//! consent (`opt_out_capturing_by_default`, `cookieless_mode`) or after an opt-out there is
//! no cookie, and the request is simply not stamped.

use http::HeaderMap;
use percent_encoding::percent_decode_str;
use serde_json::Value;

/// Longest `cookie` header text considered, all headers together; longer ones are ignored.
const MAX_COOKIE_LEN: usize = 16 * 1024;
/// posthog-js starts a new session after 30 minutes without activity: a cookie whose last
/// activity is older names a session the browser has left.
const SESSION_IDLE_MS: i64 = 30 * 60 * 1000;

/// The distinct id and the (still active) session id of the first posthog-js cookie.
pub(crate) fn posthog_ids(headers: &HeaderMap, now_ms: i64) -> (Option<String>, Option<String>) {
    let mut total = 0;
    for value in headers.get_all(http::header::COOKIE) {
        total += value.len();
        if total > MAX_COOKIE_LEN {
            return (None, None);
        }
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            let Some((name, raw)) = pair.trim().split_once('=') else { continue };
            if !(name.starts_with("ph_") && name.ends_with("_posthog")) {
                continue;
            }
            let Ok(json) = percent_decode_str(raw).decode_utf8() else { continue };
            let Ok(props) = serde_json::from_str::<Value>(&json) else { continue };
            let distinct_id = props.get("distinct_id").and_then(Value::as_str).map(str::to_owned);
            let session = props.get("$sesid").and_then(Value::as_array);
            let active = session
                .and_then(|s| s.first())
                .and_then(Value::as_i64)
                .is_some_and(|last| now_ms.saturating_sub(last) <= SESSION_IDLE_MS);
            let session_id =
                session.and_then(|s| s.get(1)).and_then(Value::as_str).filter(|_| active).map(str::to_owned);
            return (distinct_id, session_id);
        }
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::COOKIE, HeaderValue::from_str(value).unwrap());
        headers
    }

    fn posthog_cookie(last_activity: i64) -> String {
        let json = format!(
            r#"{{"distinct_id":"ada@example.com","$sesid":[{last_activity},"0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",{}]}}"#,
            NOW - 60_000
        );
        let encoded: String =
            percent_encoding::utf8_percent_encode(&json, percent_encoding::NON_ALPHANUMERIC).collect();
        format!("theme=dark; ph_phc_abc123_posthog={encoded}; other=1")
    }

    #[test]
    fn the_cookie_names_the_person_and_the_active_session() {
        let (distinct, session) = posthog_ids(&cookie(&posthog_cookie(NOW - 5_000)), NOW);
        assert_eq!(distinct.as_deref(), Some("ada@example.com"));
        assert_eq!(session.as_deref(), Some("0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"));
    }

    #[test]
    fn a_session_idle_for_over_30_minutes_is_over() {
        let (distinct, session) = posthog_ids(&cookie(&posthog_cookie(NOW - 31 * 60_000)), NOW);
        assert_eq!(distinct.as_deref(), Some("ada@example.com"));
        assert_eq!(session, None);
    }

    #[test]
    fn other_and_broken_cookies_name_nobody() {
        for value in ["theme=dark", "ph_x_posthog=%7Bnot-json", "ph_x_posthog=%FF", "ph_x_posthog=%5B1%5D"] {
            assert_eq!(posthog_ids(&cookie(value), NOW), (None, None), "{value}");
        }
        let huge = format!("pad={}; {}", "x".repeat(MAX_COOKIE_LEN), posthog_cookie(NOW));
        assert_eq!(posthog_ids(&cookie(&huge), NOW), (None, None));
    }
}
