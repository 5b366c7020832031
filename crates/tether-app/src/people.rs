//! People: which distinct ids are one person, and what a person's page counts.

use tether_model::ProjectId;
use tether_store::{ErrorKind, ExceptionScope, LogFilter, Person, StoreError, StoreResult};

use crate::App;

/// A person's logs are counted over this many recent days.
pub const LOG_COUNT_DAYS: i64 = 30;

/// A person as their page shows them: who (if identified) and how much they left behind.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonSummary {
    /// `None` for a distinct id no person was made for (anonymous), still with its data.
    pub person: Option<Person>,
    pub distinct_ids: Vec<String>,
    pub sessions: u64,
    pub logs_30d: u64,
    pub errors: u64,
}

/// Most persons one list answers with.
pub const MAX_PERSONS: usize = 500;

impl App {
    /// The project's persons, newest first (at most `limit`, up to [`MAX_PERSONS`]); with
    /// `search`, those with a distinct id or property containing it.
    pub async fn persons(
        &self,
        project_id: ProjectId,
        search: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Person>> {
        self.stores.persons.persons(project_id, search, limit.min(MAX_PERSONS)).await
    }

    /// Every distinct id of the person behind `distinct_id` (just itself if no person is
    /// known), so that a filter on one id finds what the person did under the others.
    pub async fn person_ids(&self, project_id: ProjectId, distinct_id: &str) -> StoreResult<Vec<String>> {
        Ok(match self.stores.persons.person(project_id, distinct_id).await? {
            Some(p) => p.distinct_ids,
            None => vec![distinct_id.to_owned()],
        })
    }

    /// The person behind `distinct_id` with their counts; not found when there is neither
    /// a person nor any session, log or error under the id.
    pub async fn person_summary(
        &self,
        project_id: ProjectId,
        distinct_id: &str,
    ) -> StoreResult<PersonSummary> {
        let person = self.stores.persons.person(project_id, distinct_id).await?;
        let ids = person.as_ref().map_or_else(|| vec![distinct_id.to_owned()], |p| p.distinct_ids.clone());
        let sessions = self.stores.recordings.index.count_recordings(project_id, ids.clone()).await?;
        let errors = ExceptionScope { project_id, distinct_ids: ids.clone(), ..Default::default() };
        let errors: u64 = self.stores.events.issue_stats(errors).await?.iter().map(|s| s.occurrences).sum();
        let now_ns = self.now_ms().saturating_mul(1_000_000);
        let day_ns = 86_400 * 1_000_000_000;
        let mut filter = LogFilter::new(project_id, now_ns - LOG_COUNT_DAYS * day_ns, now_ns + day_ns);
        filter.distinct_ids = ids.clone();
        let logs_30d = self.stores.logs.summary(filter).await?.logs;
        if person.is_none() && sessions == 0 && errors == 0 && logs_30d == 0 {
            return Err(StoreError::new(
                ErrorKind::NotFound,
                format!("no person with distinct id {distinct_id}"),
            ));
        }
        Ok(PersonSummary { person, distinct_ids: ids, sessions, logs_30d, errors })
    }
}
