//! Which attributes identify a log's session and person. Resolved once at ingestion into
//! their own columns; the original attributes are kept untouched.
//!
//! The key lists follow the conventions PostHog's Logs product checks
//! (`sessionId`/`posthogDistinctId` documented, plus OTel's `session.id` and common aliases).

use crate::Attributes;

/// A resolved session id.
pub type SessionId = String;
/// A resolved person distinct id.
pub type DistinctId = String;

/// Session keys after the documented `sessionId`, in precedence order.
const SESSION_FALLBACK_KEYS: [&str; 9] = [
    "session.id",
    "session_id",
    "sessionID",
    "$session_id",
    "posthogSessionId",
    "posthogSessionID",
    "posthog_session_id",
    "posthog.session.id",
    "posthog.session_id",
];

const DISTINCT_ID_KEYS: [&str; 5] =
    ["posthogDistinctId", "user.id", "enduser.id", "$distinct_id", "distinct_id"];

/// Longest id we accept; longer values are not ids (and stay only in the attributes).
const MAX_ID_LEN: usize = 200;

/// The log's session: `sessionId` (log attributes, then resource attributes), then each
/// fallback key in order, each looked up in the log attributes before the resource ones.
pub fn resolve_session_id(log: &Attributes, resource: &Attributes) -> Option<SessionId> {
    std::iter::once("sessionId").chain(SESSION_FALLBACK_KEYS).find_map(|key| lookup(key, log, resource))
}

/// The log's person: `posthogDistinctId`, then `user.id`, `enduser.id`, `$distinct_id`,
/// `distinct_id`; log attributes before resource attributes for each key.
pub fn resolve_distinct_id(log: &Attributes, resource: &Attributes) -> Option<DistinctId> {
    DISTINCT_ID_KEYS.into_iter().find_map(|key| lookup(key, log, resource))
}

fn lookup(key: &str, log: &Attributes, resource: &Attributes) -> Option<String> {
    [log, resource]
        .into_iter()
        .filter_map(|attrs| attrs.get(key)?.as_id_text())
        .find(|id| !id.is_empty() && id.len() <= MAX_ID_LEN && !id.chars().any(char::is_control))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AttrValue;

    fn attrs(pairs: &[(&str, &str)]) -> Attributes {
        Attributes(pairs.iter().map(|(k, v)| ((*k).to_owned(), AttrValue::String((*v).to_owned()))).collect())
    }

    #[test]
    fn session_precedence() {
        let none = attrs(&[]);
        let cases: Vec<(Attributes, Attributes, Option<&str>)> = vec![
            (attrs(&[("sessionId", "a")]), none.clone(), Some("a")),
            (none.clone(), attrs(&[("sessionId", "r")]), Some("r")),
            (attrs(&[("session.id", "l")]), attrs(&[("sessionId", "r")]), Some("r")),
            (attrs(&[("session.id", "otel")]), none.clone(), Some("otel")),
            (attrs(&[("posthog.session_id", "p"), ("session_id", "s")]), none.clone(), Some("s")),
            (attrs(&[("sessionId", ""), ("$session_id", "d")]), none.clone(), Some("d")),
            (attrs(&[("sessionId", "  ")]), none.clone(), None),
            (attrs(&[("other", "x")]), none.clone(), None),
        ];
        for key in SESSION_FALLBACK_KEYS {
            assert_eq!(resolve_session_id(&attrs(&[(key, "k")]), &none).as_deref(), Some("k"), "{key}");
        }
        for (log, resource, want) in cases {
            assert_eq!(resolve_session_id(&log, &resource).as_deref(), want, "{log:?} {resource:?}");
        }
    }

    #[test]
    fn distinct_id_precedence_and_types() {
        let none = attrs(&[]);
        for key in DISTINCT_ID_KEYS {
            assert_eq!(resolve_distinct_id(&attrs(&[(key, "u")]), &none).as_deref(), Some("u"));
        }
        let both = attrs(&[("distinct_id", "low"), ("posthogDistinctId", "high")]);
        assert_eq!(resolve_distinct_id(&both, &none).as_deref(), Some("high"));
        let int = Attributes(vec![("user.id".into(), AttrValue::Int(42))]);
        assert_eq!(resolve_distinct_id(&int, &none).as_deref(), Some("42"));
        let boolean = Attributes(vec![("user.id".into(), AttrValue::Bool(true))]);
        assert_eq!(resolve_distinct_id(&boolean, &none), None);
        let long = attrs(&[("posthogDistinctId", &"x".repeat(201))]);
        assert_eq!(resolve_distinct_id(&long, &none), None);
    }
}
