//! Capture: what posthog-js sends becomes durable — events (de-duplicated by uuid by the
//! store), exceptions grouped into issues by fingerprint, person changes, and recording
//! chunks — each through its group commit, so concurrent requests share one commit per kind
//! and a request returns only once everything it sent is durable.
//!
//! Exceptions are grouped by their frames as written in the source where a source map is
//! known (so a rebuild, with new minified names and positions, does not open a new issue)
//! and stored as sent.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use tether_model::exceptions::exception_info;
use tether_model::{CapturedEvent, Event, ExceptionRecord, PersonUpdate, ProjectId, RecordingChunk};
use tether_store::IssueStore;

use crate::commit::{Batcher, SubmitError};

/// Resolves the frames of an `$exception_list` through the project's uploaded source maps;
/// frames without one stay as sent. Never fails (a map that cannot be read leaves frames
/// as sent). The server's, with its cache of parsed maps.
#[async_trait]
pub trait Symbolicate: Send + Sync {
    async fn symbolicate(&self, project_id: ProjectId, exception_list: &Value) -> Value;
    /// Whether uploaded bytes read as a symbol set (the reason when not).
    async fn check_symbol_set(&self, bytes: bytes::Bytes) -> Result<(), String>;
}

/// The group commits capture writes through, one per kind.
#[derive(Clone)]
pub struct CaptureWriters {
    pub events: Batcher<Event>,
    pub exceptions: Batcher<ExceptionRecord>,
    pub persons: Batcher<PersonUpdate>,
    pub chunks: Batcher<RecordingChunk>,
}

/// The capture use cases over their writers, the issue store and the symbolicator.
#[derive(Clone)]
pub struct Capture {
    writers: CaptureWriters,
    issues: Arc<dyn IssueStore>,
    symbols: Arc<dyn Symbolicate>,
    known: Arc<KnownPersons>,
}

/// Distinct ids this process saw committed with a person. Persons are never deleted, only
/// merged (which keeps every id's person), so an event that only makes sure its id has a
/// person (most events: no `$set`, no merge) needs no write for these ids. Checking each
/// in a metadata transaction was a tenth of `/e/`'s CPU at 64 clients. Bounded: forgotten
/// all at once when full (each id then costs one check again).
#[derive(Default)]
struct KnownPersons(std::sync::Mutex<HashSet<(ProjectId, String)>>);

/// Ids remembered at most (~100 bytes each).
const KNOWN_PERSONS: usize = 100_000;

impl KnownPersons {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<(ProjectId, String)>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The updates that still need a write.
    fn needed(&self, updates: Vec<PersonUpdate>) -> Vec<PersonUpdate> {
        let known = self.lock();
        updates
            .into_iter()
            .filter(|u| !only_ensures_person(u) || !known.contains(&(u.project_id, u.distinct_id.clone())))
            .collect()
    }

    /// Notes ids whose person updates were committed.
    fn remember(&self, ids: Vec<(ProjectId, String)>) {
        let mut known = self.lock();
        if known.len() + ids.len() > KNOWN_PERSONS {
            known.clear();
        }
        known.extend(ids);
    }
}

/// Whether an update only makes sure its distinct id has a person.
fn only_ensures_person(u: &PersonUpdate) -> bool {
    u.merge_from.is_empty() && u.set.is_empty() && u.set_once.is_empty() && u.unset.is_empty()
}

impl Capture {
    pub fn new(
        writers: CaptureWriters,
        issues: Arc<dyn IssueStore>,
        symbols: Arc<dyn Symbolicate>,
    ) -> Capture {
        Capture { writers, issues, symbols, known: Arc::default() }
    }

    /// The writers, for their queue depths.
    pub fn writers(&self) -> &CaptureWriters {
        &self.writers
    }

    /// Stores a request's events: exceptions become issue occurrences, person operations
    /// are applied, and every event is kept. Returns once all of it is durable.
    pub async fn store_events(
        &self,
        project_id: ProjectId,
        captured: Vec<CapturedEvent>,
    ) -> Result<(), SubmitError> {
        let mut exceptions = Vec::new();
        for e in captured.iter().filter(|e| e.event == "$exception") {
            if let Some(record) = self.exception(project_id, e).await? {
                exceptions.push(record);
            }
        }
        let persons = self.known.needed(person_updates(project_id, captured.iter()));
        let with_person: Vec<(ProjectId, String)> =
            persons.iter().map(|u| (u.project_id, u.distinct_id.clone())).collect();
        let events: Vec<Event> = captured
            .into_iter()
            .map(|e| Event {
                project_id,
                uuid: e.uuid,
                event: e.event,
                distinct_id: e.distinct_id,
                session_id: e.session_id,
                window_id: e.window_id,
                timestamp_ms: e.timestamp_ms,
                current_url: e.current_url,
                properties: e.properties,
            })
            .collect();
        // Each kind commits in its own group at the same time: a request waits for the
        // slowest commit, not for all in turn. A full queue refuses at once (503, which
        // posthog-js retries with the same uuids: events are stored once, person updates
        // apply again as the same changes).
        let w = &self.writers;
        let (exceptions, persons, events) =
            tokio::join!(w.exceptions.submit(exceptions), w.persons.submit(persons), w.events.submit(events));
        exceptions?;
        persons?;
        self.known.remember(with_person);
        events
    }

    /// Stores a request's recording chunks with other requests' in one commit.
    pub async fn store_chunks(&self, chunks: Vec<RecordingChunk>) -> Result<(), SubmitError> {
        self.writers.chunks.submit(chunks).await
    }

    /// The occurrence an `$exception` event makes, its issue recorded (opened, or reopened
    /// when resolved); `None` for one without an exception list.
    async fn exception(
        &self,
        project_id: ProjectId,
        e: &CapturedEvent,
    ) -> Result<Option<ExceptionRecord>, SubmitError> {
        let mut properties = e.properties_map();
        let Some(list) = properties.get("$exception_list").cloned() else { return Ok(None) };
        properties.insert("$exception_list".into(), self.symbols.symbolicate(project_id, &list).await);
        let Some(info) = exception_info(&properties) else { return Ok(None) };
        let issue_id = self
            .issues
            .record_occurrence(project_id, &info.fingerprint, &info.name, &info.message, e.timestamp_ms)
            .await?;
        Ok(Some(ExceptionRecord {
            project_id,
            uuid: e.uuid.clone(),
            issue_id,
            session_id: e.session_id.clone(),
            window_id: e.window_id.clone(),
            distinct_id: e.distinct_id.clone(),
            timestamp_ms: e.timestamp_ms,
            url: e.current_url.clone(),
            name: info.name,
            message: info.message,
            // Stored as sent: a map uploaded later still applies when it is read.
            exception_list: list,
        }))
    }
}

/// The person changes of a batch: one per event that carries person operations, and one to
/// create the person of each identified distinct id. Events marked
/// `$process_person_profile: false` (anonymous, in posthog-js's default mode) create none.
fn person_updates<'a>(
    project_id: ProjectId,
    events: impl Iterator<Item = &'a CapturedEvent>,
) -> Vec<PersonUpdate> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for e in events {
        if !e.makes_person {
            continue;
        }
        let merge_from: Vec<String> = e.merge_from.iter().cloned().collect();
        let has_ops =
            !merge_from.is_empty() || !e.set.is_empty() || !e.set_once.is_empty() || !e.unset.is_empty();
        if has_ops || seen.insert(e.distinct_id.clone()) {
            out.push(PersonUpdate {
                project_id,
                distinct_id: e.distinct_id.clone(),
                merge_from,
                set: e.set.clone(),
                set_once: e.set_once.clone(),
                unset: e.unset.clone(),
                timestamp_ms: e.timestamp_ms,
            });
        }
    }
    out
}
