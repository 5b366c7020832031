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
/// resolved where a source map is known.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEvent {
    pub event: Event,
    pub exception: Option<serde_json::Value>,
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
            out.push(SessionEvent { event, exception });
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
