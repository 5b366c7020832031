//! Error-tracking issues and persons: small, relational, updated in place.

use async_trait::async_trait;
use serde_json::{Map, Value};
use tether_model::{PersonUpdate, ProjectId};

use crate::StoreResult;

pub use tether_model::IssueStatus;

/// An error-tracking issue: exceptions grouped by fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issue {
    pub id: i64,
    pub fingerprint: String,
    /// The exception type.
    pub name: String,
    /// The exception message.
    pub description: String,
    pub status: IssueStatus,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// When an occurrence last reopened the issue after it was resolved, by the store's
    /// clock at that moment (not the occurrence's own time, which may be late or skewed:
    /// alerts compare it with when they last looked); `None` when it never regressed.
    pub reopened_at_ms: Option<i64>,
}

/// Which issues to list. Empty or `None` fields mean "any".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IssueQuery {
    pub project_id: ProjectId,
    pub status: Option<IssueStatus>,
    /// Case-insensitive substring of the name or description.
    pub text: Option<String>,
    /// Only these issues (when given; an empty list selects none).
    pub ids: Option<Vec<i64>>,
    pub limit: usize,
}

/// A person: properties and every distinct id known to be them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Person {
    pub id: i64,
    pub distinct_ids: Vec<String>,
    pub properties: Map<String, Value>,
    pub created_at_ms: i64,
}

/// Issues.
#[async_trait]
pub trait IssueStore: Send + Sync {
    /// The issue of a fingerprint, created if new; marks it seen at `seen_ms` and reopens it
    /// when it was resolved. Two processes recording the same new fingerprint at once get
    /// the same issue.
    async fn record_occurrence(
        &self,
        project_id: ProjectId,
        fingerprint: &str,
        name: &str,
        description: &str,
        seen_ms: i64,
    ) -> StoreResult<i64>;
    /// The issues matching `query`, most recently seen first, at most `query.limit`.
    async fn issues(&self, query: IssueQuery) -> StoreResult<Vec<Issue>>;
    async fn issue(&self, project_id: ProjectId, id: i64) -> StoreResult<Option<Issue>>;
    /// `NotFound` when the project has no such issue.
    async fn set_issue_status(
        &self,
        project_id: ProjectId,
        id: i64,
        status: IssueStatus,
    ) -> StoreResult<Issue>;
}

/// Persons.
#[async_trait]
pub trait PersonStore: Send + Sync {
    /// Applies updates in order; all are visible when the call returns Ok, none when it
    /// fails, and concurrent calls (from any process) behave as if one ran after the other.
    /// Each creates or updates the person of `update.distinct_id`, merges in the persons of
    /// `merge_from`, then applies `$set`, `$set_once` and `$unset`.
    async fn apply_person_updates(&self, updates: Vec<PersonUpdate>) -> StoreResult<()>;
    /// [`PersonStore::apply_person_updates`] of one update.
    async fn apply_person_update(&self, update: PersonUpdate) -> StoreResult<()> {
        self.apply_person_updates(vec![update]).await
    }
    async fn person(&self, project_id: ProjectId, distinct_id: &str) -> StoreResult<Option<Person>>;
    /// The project's persons, newest first, at most `limit`; with `search`, those with a
    /// distinct id or a property (name or value) containing it, case-insensitively.
    async fn persons(
        &self,
        project_id: ProjectId,
        search: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Person>>;
}
