//! Recordings: the list with its "with errors" filter and each recording's exception count,
//! which join the recording index and the event store (they may be different databases).

use std::collections::HashMap;

use tether_model::{Event, ProjectId};
use tether_store::{ErrorFilter, ExceptionScope, Recording, RecordingQuery, StoreResult};

use crate::App;

/// How far outside a list's time range an exception may be and still mark a recording in
/// it as "with errors": a session's exceptions happen during the session, and sessions
/// last hours at most.
pub const ERROR_MARGIN_MS: i64 = 86_400_000;

/// What the recordings list is asked for. Newest first.
#[derive(Debug, Clone, Default)]
pub struct RecordingFilter {
    pub project_id: ProjectId,
    /// Only this person's recordings (under any of their distinct ids).
    pub distinct_id: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub min_duration_ms: Option<i64>,
    /// Only recordings with (true) or without (false) errors: console errors recorded in
    /// the session or exceptions captured in it.
    pub has_errors: Option<bool>,
    pub limit: usize,
}

/// Most events a session's event list shows.
pub const MAX_SESSION_EVENTS: usize = 1000;

/// A captured event of a session with its first exception (for `$exception` events), frames
/// resolved where a source map is known, and what the person did in words.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEvent {
    pub event: Event,
    pub exception: Option<serde_json::Value>,
    /// `click on button "Checkout"`, the page of a `$pageview`, an exception's message; `None`
    /// when the event says nothing more than its name.
    pub label: Option<String>,
}

/// A recording with the number of exceptions captured in its session.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedRecording {
    pub recording: Recording,
    pub exceptions: u64,
}

impl App {
    /// Recordings matching `filter`, newest first, each with its exception count.
    pub async fn recordings(&self, filter: RecordingFilter) -> StoreResult<Vec<ListedRecording>> {
        let project_id = filter.project_id;
        let distinct_ids = match &filter.distinct_id {
            Some(d) => self.person_ids(project_id, d).await?,
            None => Vec::new(),
        };
        let errors = filter.has_errors.map(|has_errors| ErrorFilter {
            has_errors,
            exceptions: ExceptionScope {
                project_id,
                from_ms: filter.from_ms.map(|t| t - ERROR_MARGIN_MS),
                to_ms: filter.to_ms.map(|t| t + ERROR_MARGIN_MS),
                ..Default::default()
            },
        });
        let query = RecordingQuery {
            project_id,
            distinct_ids,
            from_ms: filter.from_ms,
            to_ms: filter.to_ms,
            min_duration_ms: filter.min_duration_ms,
            errors,
            limit: filter.limit,
        };
        let recordings = self.stores.recordings.index.recordings(query).await?;
        self.with_exceptions(project_id, recordings).await
    }

    /// The session's captured events, oldest first (at most [`MAX_SESSION_EVENTS`]), for the
    /// replay's Events and Errors tabs.
    pub async fn session_events(
        &self,
        project_id: ProjectId,
        session_id: &str,
    ) -> StoreResult<Vec<SessionEvent>> {
        let events = self.stores.events.session_events(project_id, session_id, MAX_SESSION_EVENTS).await?;
        let mut out = Vec::with_capacity(events.len());
        for event in events {
            // Parsed only where the text names the list.
            let listed = event.properties.contains("\"$exception_list\"");
            let exception = match listed.then(|| event.property("$exception_list")).flatten() {
                Some(list) => self.symbols.symbolicate(project_id, &list).await.get(0).cloned(),
                None => None,
            };
            let label = label(&event, exception.as_ref());
            out.push(SessionEvent { event, exception, label });
        }
        Ok(out)
    }

    /// One session's recording with its exception count; `None` when it was not recorded.
    pub async fn recording(
        &self,
        project_id: ProjectId,
        session_id: &str,
    ) -> StoreResult<Option<ListedRecording>> {
        let Some(recording) = self.stores.recordings.index.recording(project_id, session_id).await? else {
            return Ok(None);
        };
        Ok(self.with_exceptions(project_id, vec![recording]).await?.pop())
    }

    async fn with_exceptions(
        &self,
        project_id: ProjectId,
        recordings: Vec<Recording>,
    ) -> StoreResult<Vec<ListedRecording>> {
        let ids: Vec<String> = recordings.iter().map(|r| r.session_id.clone()).collect();
        let counts: HashMap<String, u64> = if ids.is_empty() {
            HashMap::new()
        } else {
            let scope = ExceptionScope { project_id, ..Default::default() };
            self.stores.events.session_exception_counts(scope, ids).await?.into_iter().collect()
        };
        Ok(recordings
            .into_iter()
            .map(|r| ListedRecording {
                exceptions: counts.get(&r.session_id).copied().unwrap_or(0),
                recording: r,
            })
            .collect())
    }
}

/// What an event says in words (see [`SessionEvent::label`]).
fn label(event: &Event, exception: Option<&serde_json::Value>) -> Option<String> {
    match event.event.as_str() {
        "$autocapture" => {
            let properties = event.properties_map();
            let action = properties.get("$event_type").and_then(|v| v.as_str()).unwrap_or("interaction");
            let chain = properties.get("$elements_chain").and_then(|v| v.as_str()).unwrap_or_default();
            Some(format!("{action} on {}", element_of(chain)?))
        }
        "$pageview" | "$pageleave" => event.current_url.clone(),
        "$exception" => {
            let e = exception?;
            let text =
                [&e["type"], &e["value"]].iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(": ");
            (!text.is_empty()).then_some(text)
        }
        _ => None,
    }
}

/// The target element of a posthog-js `$elements_chain` (its first element:
/// `button.primary:attr__id="checkout"text="Checkout";div…`) as `button "Checkout"`, or
/// `button#checkout` without text; `None` for an empty chain.
fn element_of(chain: &str) -> Option<String> {
    let first = first_element(chain);
    let tag: String = first.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    if tag.is_empty() {
        return None;
    }
    if let Some(text) = quoted_value(first, "text=\"").filter(|t| !t.trim().is_empty()) {
        let text: String = text.trim().chars().take(60).collect();
        return Some(format!("{tag} \"{text}\""));
    }
    Some(match quoted_value(first, "attr__id=\"") {
        Some(id) => format!("{tag}#{id}"),
        None => tag,
    })
}

/// The chain up to its first `;` outside a quoted value.
fn first_element(chain: &str) -> &str {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in chain.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => return &chain[..i],
            _ => {}
        }
    }
    chain
}

/// The value after `key` (which ends with its opening quote), up to the closing quote,
/// escapes undone.
fn quoted_value(element: &str, key: &str) -> Option<String> {
    let start = element.find(key)? + key.len();
    let mut out = String::new();
    let mut chars = element[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '"' => return Some(out),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, properties: serde_json::Value) -> Event {
        Event {
            project_id: 1,
            uuid: "u".into(),
            event: name.into(),
            distinct_id: "d".into(),
            session_id: None,
            window_id: None,
            timestamp_ms: 0,
            current_url: Some("http://shop.test/cart".into()),
            properties: properties.to_string(),
        }
    }

    #[test]
    fn events_say_what_the_person_did() {
        let click = event(
            "$autocapture",
            serde_json::json!({"$event_type": "click",
              "$elements_chain": "button.primary:attr__class=\"primary\"attr__id=\"checkout\"nth-child=\"2\"text=\"Pay \\\"now\\\"\";aside:nth-child=\"1\""}),
        );
        assert_eq!(label(&click, None).as_deref(), Some("click on button \"Pay \"now\"\""));
        let no_text = event(
            "$autocapture",
            serde_json::json!({"$event_type": "change", "$elements_chain": "input:attr__id=\"coupon\""}),
        );
        assert_eq!(label(&no_text, None).as_deref(), Some("change on input#coupon"));
        assert_eq!(
            label(&event("$pageview", serde_json::json!({})), None).as_deref(),
            Some("http://shop.test/cart")
        );
        let thrown = serde_json::json!({"type": "Error", "value": "Checkout failed"});
        assert_eq!(
            label(&event("$exception", serde_json::json!({})), Some(&thrown)).as_deref(),
            Some("Error: Checkout failed")
        );
        assert_eq!(label(&event("signed_up", serde_json::json!({})), None), None);
        assert_eq!(label(&event("$autocapture", serde_json::json!({"$elements_chain": ""})), None), None);
    }
}
