//! Error tracking: issues with their counts and a two-week sparkline, and the seed's
//! question — which issues a log's session hit within ±6 hours of the log.

use std::collections::HashMap;

use tether_model::ExceptionRecord;
use tether_model::ProjectId;
use tether_store::{
    ErrorKind, ExceptionScope, Issue, IssueQuery, IssueStats, IssueStatus, StoreError, StoreResult,
};

use crate::App;

/// The window around a log in which its session's exceptions count as related: wide
/// enough for a session that stays open through lunch, narrow enough that a returning
/// visitor's exceptions of another day do not show.
pub const RELATED_WINDOW_MS: i64 = 6 * 3600 * 1000;
/// Most related issues one log shows.
pub const MAX_RELATED: usize = 100;
/// Most issues one list shows.
pub const MAX_ISSUES: usize = 1000;
/// Days in an issue's occurrence sparkline (the last of them is today).
pub const SPARKLINE_DAYS: i64 = 14;
const DAY_MS: i64 = 86_400_000;

/// Which issues to list.
#[derive(Debug, Clone, Default)]
pub struct IssueFilter {
    pub project_id: ProjectId,
    pub status: Option<IssueStatus>,
    /// Only issues this person (any of their distinct ids) hit.
    pub distinct_id: Option<String>,
    /// Case-insensitive substring of the name or description.
    pub text: Option<String>,
    /// Only issues with an occurrence in `[from_ms, to_ms)`; the counts are of that range.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// An issue with its counts in the filter's scope and its occurrences per day over the
/// last [`SPARKLINE_DAYS`] days, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueWithStats {
    pub issue: Issue,
    pub stats: Option<IssueStats>,
    pub sparkline: Vec<u64>,
}

/// Most occurrences one issue's page lists.
pub const MAX_OCCURRENCES: usize = 100;

/// One issue with its counts, its newest occurrences (newest first), and the newest
/// one's `$exception_list` with frames resolved where a source map is known.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueDetail {
    pub issue: Issue,
    pub stats: Option<IssueStats>,
    pub occurrences: Vec<ExceptionRecord>,
    pub latest_exception: Option<serde_json::Value>,
    /// What the SDK sent with the newest occurrence (see `App::occurrence_properties`).
    pub latest_properties: serde_json::Map<String, serde_json::Value>,
}

/// An issue a log's session hit near the log.
#[derive(Debug, Clone, PartialEq)]
pub struct RelatedIssue {
    pub issue: Issue,
    pub occurrences_in_session: u64,
    pub last_seen_in_session_ms: i64,
}

/// The errors related to a log.
#[derive(Debug, Clone, PartialEq)]
pub enum Related {
    /// The log names no session, so nothing can be related to it.
    NoSession,
    /// The session's issues within ±6 h of the log, most recently seen first.
    Issues { session_id: String, issues: Vec<RelatedIssue> },
}

impl App {
    /// The project's issues matching `filter` (newest first, at most [`MAX_ISSUES`]).
    pub async fn issues(&self, filter: IssueFilter) -> StoreResult<Vec<IssueWithStats>> {
        let project_id = filter.project_id;
        let distinct_ids = match &filter.distinct_id {
            Some(d) => self.person_ids(project_id, d).await?,
            None => Vec::new(),
        };
        // A time range or a person narrows the list to the issues they hit.
        let scoped = filter.from_ms.is_some() || filter.to_ms.is_some() || !distinct_ids.is_empty();
        let scope = ExceptionScope {
            project_id,
            from_ms: filter.from_ms,
            to_ms: filter.to_ms,
            distinct_ids,
            ..Default::default()
        };
        let stats: HashMap<i64, IssueStats> = self
            .stores
            .events
            .issue_stats(scope.clone())
            .await?
            .into_iter()
            .map(|s| (s.issue_id, s))
            .collect();
        let first_day = (self.now_ms() / DAY_MS - (SPARKLINE_DAYS - 1)) * DAY_MS;
        let mut sparklines: HashMap<i64, Vec<u64>> = HashMap::new();
        let daily = self.stores.events.issue_daily_counts(ExceptionScope {
            from_ms: Some(first_day),
            to_ms: None,
            ..scope
        });
        for (issue, day, n) in daily.await? {
            let line = sparklines.entry(issue).or_insert_with(|| vec![0; SPARKLINE_DAYS as usize]);
            if let Some(slot) = line.get_mut(day as usize) {
                *slot = n;
            }
        }
        let issues = self
            .stores
            .issues
            .issues(IssueQuery {
                project_id,
                status: filter.status,
                text: filter.text.filter(|q| !q.is_empty()),
                ids: scoped.then(|| stats.keys().copied().collect()),
                limit: MAX_ISSUES,
            })
            .await?;
        Ok(issues
            .into_iter()
            .map(|issue| IssueWithStats {
                stats: stats.get(&issue.id).cloned(),
                sparkline: sparklines.remove(&issue.id).unwrap_or_else(|| vec![0; SPARKLINE_DAYS as usize]),
                issue,
            })
            .collect())
    }

    /// One issue of the project with its counts and newest [`MAX_OCCURRENCES`] occurrences.
    pub async fn issue(&self, project_id: ProjectId, issue_id: i64) -> StoreResult<IssueDetail> {
        let issue = self
            .stores
            .issues
            .issue(project_id, issue_id)
            .await?
            .ok_or_else(|| StoreError::new(ErrorKind::NotFound, format!("issue {issue_id} not found")))?;
        let scope = ExceptionScope { project_id, issue_id: Some(issue_id), ..Default::default() };
        let stats = self.stores.events.issue_stats(scope.clone()).await?.pop();
        let occurrences = self.stores.events.exceptions(scope, MAX_OCCURRENCES).await?;
        let latest_exception = match occurrences.first() {
            Some(e) => Some(self.symbols.symbolicate(project_id, &e.exception_list).await),
            None => None,
        };
        let latest_properties = match occurrences.first() {
            Some(e) => self.occurrence_properties(e).await?,
            None => serde_json::Map::new(),
        };
        Ok(IssueDetail { issue, stats, occurrences, latest_exception, latest_properties })
    }

    /// The properties the SDK sent with an occurrence's `$exception` event (browser, OS, URL,
    /// library, the app's own), without the exception list; empty when the event is not
    /// stored.
    async fn occurrence_properties(
        &self,
        occurrence: &ExceptionRecord,
    ) -> StoreResult<serde_json::Map<String, serde_json::Value>> {
        let event = self
            .stores
            .events
            .event(occurrence.project_id, &occurrence.uuid, occurrence.timestamp_ms)
            .await?;
        let mut properties = event.map(|e| e.properties_map()).unwrap_or_default();
        properties.retain(|key, _| !key.starts_with("$exception_"));
        Ok(properties)
    }

    /// Issues with at least one exception in the log's session within ±6 h of the log
    /// ([`RELATED_WINDOW_MS`]), most recently seen first, at most [`MAX_RELATED`].
    pub async fn related_to_log(&self, project_id: ProjectId, log_id: &str) -> StoreResult<Related> {
        let log = self.log(project_id, log_id).await?;
        let Some(session_id) = log.record.session_id else { return Ok(Related::NoSession) };
        let at_ms = log.record.timestamp_ns / 1_000_000;
        let scope = ExceptionScope {
            project_id,
            session_id: Some(session_id.clone()),
            from_ms: Some(at_ms - RELATED_WINDOW_MS),
            to_ms: Some(at_ms + RELATED_WINDOW_MS),
            ..Default::default()
        };
        let stats: Vec<IssueStats> =
            self.stores.events.issue_stats(scope).await?.into_iter().take(MAX_RELATED).collect();
        // One lookup for every issue, then in the order of the stats (most recent first).
        let mut issues: HashMap<i64, Issue> = self
            .stores
            .issues
            .issues(IssueQuery {
                project_id,
                ids: Some(stats.iter().map(|s| s.issue_id).collect()),
                limit: MAX_RELATED,
                ..Default::default()
            })
            .await?
            .into_iter()
            .map(|i| (i.id, i))
            .collect();
        let issues = stats
            .iter()
            .filter_map(|s| {
                Some(RelatedIssue {
                    issue: issues.remove(&s.issue_id)?,
                    occurrences_in_session: s.occurrences,
                    last_seen_in_session_ms: s.last_ms,
                })
            })
            .collect();
        Ok(Related::Issues { session_id, issues })
    }
}
