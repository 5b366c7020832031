//! What people set: a project's settings, a user's role, an issue's status and an alert's rule, with the rules
//! that make a value of them valid (the API and the stores share them, so a value is
//! checked the same way wherever it comes from).

/// A project's settings: what its PostHog SDKs are told to capture (through remote config)
/// and how long its data is kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectSettings {
    pub session_recording: bool,
    pub console_log_recording: bool,
    pub exception_autocapture: bool,
    pub privacy: Privacy,
    pub network: NetworkCapture,
    pub retention: Retention,
    pub ingest_limits: IngestLimits,
}

/// What posthog-js records of the page's network requests into replays (its
/// `rrweb/network@1` plugin), delivered with remote config; the replay's Network tab and
/// each request's backend logs come from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkCapture {
    /// Each request's URL, method, status and timings (and the trace the backend named in
    /// `Server-Timing`).
    pub requests: bool,
    /// Request and response headers (posthog-js always leaves out `Authorization`, cookies
    /// and the like).
    pub headers: bool,
    /// Request and response bodies, up to 1 MB each (posthog-js redacts a body that looks
    /// like it holds a password, token or card number).
    pub bodies: bool,
}

impl Default for NetworkCapture {
    /// Timings on, payloads off: what a request did is recorded, what it carried is not.
    fn default() -> Self {
        NetworkCapture { requests: true, headers: false, bodies: false }
    }
}

/// How fast a project's SDKs may send, counted by each Tether process on its own; 0 is no
/// limit (the default). Past a limit capture answers 503 with `Retry-After`, which
/// posthog-js retries.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(default, deny_unknown_fields)]
pub struct IngestLimits {
    /// Events per second (`/e/` and the other event routes), in bursts of up to 5 s' worth.
    pub events_per_second: u64,
    /// Recording bytes per second as sent (`/s/` bodies), in bursts of up to 5 s' worth.
    pub recording_bytes_per_second: u64,
}

/// What session replays leave out of a page, delivered to posthog-js as
/// `sessionRecording.masking` in remote config (an app's own `posthog.init` options win).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Privacy {
    /// What is typed into inputs is recorded as asterisks (posthog-js's own default).
    pub mask_all_inputs: bool,
    /// A CSS selector: the text of matching elements (and their children) is masked. Empty
    /// for none.
    pub mask_text_selector: String,
    /// A CSS selector: matching elements are not recorded at all (the replay shows an empty
    /// box of their size). Empty for none.
    pub block_selector: String,
}

impl Privacy {
    /// The longest selector a setting may hold.
    pub const MAX_SELECTOR_LEN: usize = 1000;
}

impl Default for Privacy {
    fn default() -> Self {
        Privacy { mask_all_inputs: true, mask_text_selector: String::new(), block_selector: String::new() }
    }
}

impl Default for ProjectSettings {
    fn default() -> Self {
        ProjectSettings {
            session_recording: true,
            console_log_recording: true,
            exception_autocapture: true,
            privacy: Privacy::default(),
            network: NetworkCapture::default(),
            retention: Retention::default(),
            ingest_limits: IngestLimits::default(),
        }
    }
}

/// Days a project keeps each kind of data; older data is deleted in the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    pub logs_days: u32,
    /// Events and exception occurrences.
    pub events_days: u32,
    /// Session recordings (index and bytes), counted from a recording's last activity.
    pub recordings_days: u32,
}

impl Retention {
    /// The longest retention a setting may ask for (ten years).
    pub const MAX_DAYS: u32 = 3650;
}

impl Default for Retention {
    /// A month of logs and replays, a quarter of events and errors (what errors need to
    /// show regressions).
    fn default() -> Self {
        Retention { logs_days: 30, events_days: 90, recordings_days: 30 }
    }
}

impl ProjectSettings {
    /// These settings with a JSON merge patch applied (RFC 7386 without deletes: settings
    /// always have every field; `{"retention": {"logs_days": 7}}` changes only that), checked;
    /// the reason, naming the field, when the result is not valid settings.
    pub fn patched(&self, patch: serde_json::Value) -> Result<ProjectSettings, String> {
        let serde_json::Value::Object(mut merged) = serde_json::json!(self) else {
            return Err("invalid settings: they do not serialize as an object".into());
        };
        merge(&mut merged, patch)?;
        let settings: ProjectSettings = serde_json::from_value(serde_json::Value::Object(merged))
            .map_err(|e| format!("invalid settings: {e}"))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Why these settings cannot be saved (the first reason, naming the field), if any.
    pub fn validate(&self) -> Result<(), String> {
        let r = self.retention;
        for (name, days) in [
            ("logs_days", r.logs_days),
            ("events_days", r.events_days),
            ("recordings_days", r.recordings_days),
        ] {
            if !(1..=Retention::MAX_DAYS).contains(&days) {
                return Err(format!("invalid retention.{name}: expected 1 to {} days", Retention::MAX_DAYS));
            }
        }
        for (name, selector) in [
            ("mask_text_selector", &self.privacy.mask_text_selector),
            ("block_selector", &self.privacy.block_selector),
        ] {
            check_selector(name, selector)?;
        }
        Ok(())
    }
}

/// Applies a merge patch's objects onto `target`.
fn merge(
    target: &mut serde_json::Map<String, serde_json::Value>,
    patch: serde_json::Value,
) -> Result<(), String> {
    let serde_json::Value::Object(fields) = patch else {
        return Err("invalid settings: expected a JSON object".into());
    };
    for (key, value) in fields {
        if let Some(serde_json::Value::Object(slot)) = target.get_mut(&key)
            && value.is_object()
        {
            merge(slot, value)?;
            continue;
        }
        // An unknown key is kept too, so that deserializing names it in the error.
        target.insert(key, value);
    }
    Ok(())
}

/// Longest name of a project, an API key or an alert, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// A name people give (a project, an API key, an alert), trimmed: 1 to [`MAX_NAME_CHARS`]
/// characters without control characters; the reason otherwise.
pub fn valid_name(name: &str) -> Result<&str, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(format!(
            "invalid name: expected 1 to {MAX_NAME_CHARS} characters, no control characters"
        ));
    }
    Ok(name)
}

/// How long an invitation link works unless the admin says otherwise, and at most, in hours.
pub const DEFAULT_INVITE_HOURS: i64 = 7 * 24;
pub const MAX_INVITE_HOURS: i64 = 30 * 24;

/// The hours an invitation asked to work `requested` hours lasts (a week when unsaid); the
/// reason when out of range.
pub fn invite_hours(requested: Option<i64>) -> Result<i64, String> {
    let hours = requested.unwrap_or(DEFAULT_INVITE_HOURS);
    if !(1..=MAX_INVITE_HOURS).contains(&hours) {
        return Err(format!("invalid expires_in_hours: expected 1 to {MAX_INVITE_HOURS}"));
    }
    Ok(hours)
}

/// A selector is handed to every recorded browser as it is, so it is kept short and free of
/// control characters. Its CSS syntax is the browser's to judge: a parser here would refuse
/// selectors that newer browsers accept. rrweb treats a selector that does not parse as
/// matching nothing (masking nothing), so the UI checks each one with the browser's own
/// parser before saving.
fn check_selector(name: &str, selector: &str) -> Result<(), String> {
    if selector.len() > Privacy::MAX_SELECTOR_LEN {
        return Err(format!("invalid privacy.{name}: longer than {} characters", Privacy::MAX_SELECTOR_LEN));
    }
    if selector.chars().any(char::is_control) {
        return Err(format!("invalid privacy.{name}: contains a control character"));
    }
    Ok(())
}

/// What a person may do. Roles are instance-wide: every user reads every project.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything, changes nothing but their own password, sessions and keys.
    Viewer,
    /// A viewer who also triages issues and uploads source maps.
    Member,
    /// Manages people, projects, settings, alerts and every key.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }

    /// The role named `name`, or why there is none.
    pub fn parse_named(name: &str) -> Result<Role, String> {
        Role::parse(name).ok_or_else(|| format!("invalid role {name:?}: expected admin, member or viewer"))
    }

    /// The role stored as `name`; `None` for anything else.
    pub fn parse(name: &str) -> Option<Role> {
        [Role::Viewer, Role::Member, Role::Admin].into_iter().find(|r| r.as_str() == name)
    }
}

/// What an alert watches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AlertRule {
    /// More than `threshold` logs matching `query` (the logs API's query string: `q`,
    /// `severity`, `service`, `attr`, …, without a time range) within the last
    /// `window_secs`. Fires when crossed, resolves when back at or under it.
    LogThreshold { query: String, threshold: u64, window_secs: u32 },
    /// An issue seen for the first time, or again after it was resolved. Each one notifies
    /// once; there is nothing to resolve.
    NewIssue,
}

/// An issue's state. A new occurrence reopens a resolved issue; suppressed stays suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IssueStatus {
    Active,
    Resolved,
    Suppressed,
}

impl IssueStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueStatus::Active => "active",
            IssueStatus::Resolved => "resolved",
            IssueStatus::Suppressed => "suppressed",
        }
    }

    /// The status named `s`, or why there is none.
    pub fn parse_named(s: &str) -> Result<IssueStatus, String> {
        IssueStatus::parse(s)
            .ok_or_else(|| format!("invalid status {s:?}: expected active, resolved or suppressed"))
    }

    pub fn parse(s: &str) -> Option<IssueStatus> {
        [IssueStatus::Active, IssueStatus::Resolved, IssueStatus::Suppressed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Longest webhook URL an alert may post to.
pub const MAX_WEBHOOK_URL_LEN: usize = 2048;

/// An alert's webhook, normalized: an http:// or https:// URL with a host; the reason
/// otherwise.
pub fn webhook_url(raw: &str) -> Result<String, String> {
    let refused = || "invalid webhook_url: expected an http:// or https:// URL".to_owned();
    let parsed = url::Url::parse(raw.trim()).map_err(|_| refused())?;
    let ok = matches!(parsed.scheme(), "http" | "https")
        && parsed.host().is_some()
        && raw.len() <= MAX_WEBHOOK_URL_LEN;
    ok.then(|| parsed.to_string()).ok_or_else(refused)
}

/// Longest window a threshold alert may count over (a day).
pub const MAX_ALERT_WINDOW_SECS: u32 = 86_400;

impl AlertRule {
    /// Why the rule cannot be saved, if it cannot: a threshold alert's window is 1 s to a
    /// day. (Its query is the logs API's grammar, which the server parses.)
    pub fn validate(&self) -> Result<(), String> {
        if let AlertRule::LogThreshold { window_secs, .. } = self
            && !(1..=MAX_ALERT_WINDOW_SECS).contains(window_secs)
        {
            return Err(format!("invalid window_secs: expected 1 to {MAX_ALERT_WINDOW_SECS}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patch_changes_only_what_it_names_and_is_checked() {
        let settings = ProjectSettings::default();
        let week = settings.patched(json!({"retention": {"logs_days": 7}})).unwrap();
        assert_eq!(week.retention, Retention { logs_days: 7, ..Retention::default() });
        assert_eq!(week.privacy, settings.privacy, "what the patch does not name stays");
        let refused = |patch| settings.patched(patch).unwrap_err();
        assert!(refused(json!({"retention": {"logs_days": 0}})).starts_with("invalid retention.logs_days"));
        assert!(refused(json!({"colour": "red"})).contains("unknown field `colour`"));
        assert!(refused(json!([1])).starts_with("invalid settings: expected a JSON object"));
        assert!(refused(json!({"privacy": {"block_selector": "a\u{7}"}})).contains("control character"));
    }

    #[test]
    fn names_rules_and_invitation_hours() {
        assert_eq!(valid_name("  Shop  "), Ok("Shop"));
        for bad in ["", "   ", "a\nb", &"x".repeat(MAX_NAME_CHARS + 1)] {
            assert!(valid_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(invite_hours(None), Ok(DEFAULT_INVITE_HOURS));
        assert_eq!(invite_hours(Some(1)), Ok(1));
        assert!(invite_hours(Some(0)).is_err() && invite_hours(Some(MAX_INVITE_HOURS + 1)).is_err());
        assert!(
            AlertRule::LogThreshold { query: String::new(), threshold: 1, window_secs: 0 }
                .validate()
                .is_err()
        );
        assert_eq!(webhook_url(" https://hooks.example/x "), Ok("https://hooks.example/x".to_owned()));
        for bad in
            ["ftp://hooks.example/x", "hooks.example", "http://", &format!("http://a/{}", "x".repeat(3000))]
        {
            assert!(webhook_url(bad).is_err(), "{bad}");
        }
        assert_eq!(Role::parse_named("admin"), Ok(Role::Admin));
        assert!(Role::parse_named("owner").is_err());
    }
}
