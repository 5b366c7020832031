//! Request by request: the network requests a recorded session's browser made (posthog-js's
//! `rrweb/network@1` recording), each with the backend logs and the error issues it caused,
//! matched by the strongest evidence there is and labelled with it:
//!
//! - **trace**: the response named its trace (`Server-Timing: traceparent;desc=…`, which the
//!   stamping middleware adds) and logs carry that trace id — exact, whatever the clocks say;
//! - **session + route + time**: no trace, but logs of the same session mention the request's
//!   path within [`ROUTE_WINDOW_MS`] of it (browser and server clocks differ a little).
//!
//! An exception the same tab threw within [`ERROR_AFTER_MS`] after a failed request (a status
//! of 400 or more, or error logs) is taken as caused by the latest such request.
//! [`linking`] says how much of a project's logging can be linked at all.

pub mod linking;

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use tether_ingest::posthog::network::{NetworkRequest, network_requests};
use tether_ingest::posthog::snapshots::chunk_events_json;
use tether_model::{ProjectId, Severity};
use tether_store::{
    ExceptionScope, Issue, IssueQuery, LogFilter, LogQuery, StoreError, StoreResult, StoredLog,
};

use crate::App;

/// Most requests one session lists (the first ones).
pub const MAX_REQUESTS: usize = 2000;
/// Traces looked up on their own: those whose logs are not among the session's (a service
/// that propagates the trace but not the session).
const MAX_TRACE_LOOKUPS: usize = 100;
/// Logs one trace contributes at most.
const MAX_TRACE_LOGS: usize = 200;
/// How far outside a request's span a log of its route may be and still be its.
pub const ROUTE_WINDOW_MS: i64 = 2_000;
/// How long after a failed request an exception in the same tab is taken as caused by it.
pub const ERROR_AFTER_MS: i64 = 5_000;
/// How far from the request a trace's logs are looked for.
const TRACE_WINDOW_NS: i64 = 3600 * 1_000_000_000;

/// How a request's logs were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// The trace id the backend named in the response.
    Trace,
    /// The same session, the request's path, about the same time.
    SessionRouteTime,
}

impl MatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Trace => "trace",
            MatchKind::SessionRouteTime => "session_route_time",
        }
    }
}

/// An issue a request caused: the exception the page threw after it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestIssue {
    pub issue: Issue,
    pub exception_ms: i64,
}

/// A network request of a session with what it caused.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRequest {
    pub window_id: String,
    pub request: NetworkRequest,
    /// `None` when no log was found.
    pub matched: Option<MatchKind>,
    /// Oldest first.
    pub logs: Vec<StoredLog>,
    pub issues: Vec<RequestIssue>,
}

impl SessionRequest {
    fn failed(&self) -> bool {
        self.request.status.is_some_and(|s| s >= 400)
            || self.logs.iter().any(|l| l.record.severity >= Severity::Error)
    }
}

impl App {
    /// The network requests of a recorded session, oldest first (at most
    /// [`MAX_REQUESTS`]), each with its logs and issues; `None` when the session was not
    /// recorded.
    pub async fn session_requests(
        &self,
        project_id: ProjectId,
        session_id: &str,
    ) -> StoreResult<Option<Vec<SessionRequest>>> {
        let Some(recorded) = self.recorded_requests(project_id, session_id).await? else { return Ok(None) };
        let (session_logs, _) = self.session_logs(project_id, session_id).await?;
        let by_trace = self.logs_by_trace(project_id, &recorded, &session_logs).await?;
        let mut requests: Vec<SessionRequest> = recorded
            .into_iter()
            .map(|(window_id, request)| {
                let (matched, logs) = match request.trace_id.as_ref().and_then(|t| by_trace.get(t)) {
                    Some(logs) => (Some(MatchKind::Trace), logs.clone()),
                    None if request.is_api_call() => {
                        let logs = route_logs(&request, &session_logs);
                        (Some(MatchKind::SessionRouteTime).filter(|_| !logs.is_empty()), logs)
                    }
                    None => (None, Vec::new()),
                };
                SessionRequest { window_id, request, matched, logs, issues: Vec::new() }
            })
            .collect();
        self.add_issues(project_id, session_id, &mut requests).await?;
        Ok(Some(requests))
    }

    /// The requests recorded in each window of the session, oldest first, a request the
    /// SDK reported twice (a page's navigation entry, before and after load) once.
    async fn recorded_requests(
        &self,
        project_id: ProjectId,
        session_id: &str,
    ) -> StoreResult<Option<Vec<(String, NetworkRequest)>>> {
        let chunks = self.stores.recordings.session_chunks(project_id, session_id).await?;
        let parsed: Vec<Vec<(String, NetworkRequest)>> = chunks
            .and_then(|(window_id, blob)| async move {
                // Inflating and parsing are CPU work: off the reactor.
                let requests = tokio::task::spawn_blocking(move || {
                    chunk_events_json(&blob).and_then(|events| network_requests(&events))
                })
                .await
                .map_err(|e| StoreError::internal("recording task failed", e))?
                .map_err(|e| StoreError::new(tether_store::ErrorKind::Internal, e))?;
                Ok(requests.into_iter().map(|r| (window_id.clone(), r)).collect())
            })
            .try_collect()
            .await?;
        if parsed.is_empty() {
            return Ok(None);
        }
        let mut seen: HashMap<(String, String, i64, String), usize> = HashMap::new();
        let mut out: Vec<(String, NetworkRequest)> = Vec::new();
        for (window, request) in parsed.into_iter().flatten() {
            let key = (window.clone(), request.url.clone(), request.start_ms, request.initiator.clone());
            match seen.get(&key) {
                Some(&i) => out[i] = (window, request),
                None => {
                    seen.insert(key, out.len());
                    out.push((window, request));
                }
            }
        }
        out.sort_by_key(|(_, r)| r.start_ms);
        out.truncate(MAX_REQUESTS);
        Ok(Some(out))
    }

    /// The logs of each trace the requests name: from the session's logs, and for traces
    /// without any there, looked up by trace id.
    async fn logs_by_trace(
        &self,
        project_id: ProjectId,
        requests: &[(String, NetworkRequest)],
        session_logs: &[StoredLog],
    ) -> StoreResult<HashMap<String, Vec<StoredLog>>> {
        let wanted: HashSet<&str> = requests.iter().filter_map(|(_, r)| r.trace_id.as_deref()).collect();
        let mut by_trace: HashMap<String, Vec<StoredLog>> = HashMap::new();
        for log in session_logs.iter().filter(|l| wanted.contains(l.record.trace_id.as_str())) {
            by_trace.entry(log.record.trace_id.clone()).or_default().push(log.clone());
        }
        let missing: Vec<(String, i64)> = requests
            .iter()
            .filter_map(|(_, r)| Some((r.trace_id.clone()?, r.start_ms)))
            .filter(|(t, _)| !by_trace.contains_key(t))
            .collect::<HashMap<_, _>>()
            .into_iter()
            .take(MAX_TRACE_LOOKUPS)
            .collect();
        let found: Vec<(String, Vec<StoredLog>)> = futures::stream::iter(missing)
            .map(|(trace, at_ms)| async move {
                let at = at_ms.saturating_mul(1_000_000);
                let mut filter = LogFilter::new(project_id, at - TRACE_WINDOW_NS, at + TRACE_WINDOW_NS);
                filter.trace_id = Some(trace.clone());
                let page =
                    self.stores.logs.search(LogQuery { filter, limit: MAX_TRACE_LOGS, after: None }).await?;
                let mut logs = page.logs;
                logs.reverse();
                Ok::<_, StoreError>((trace, logs))
            })
            .buffer_unordered(4)
            .try_collect()
            .await?;
        by_trace.extend(found.into_iter().filter(|(_, logs)| !logs.is_empty()));
        Ok(by_trace)
    }

    /// Gives each exception of the session to the latest failed request of its tab that
    /// ended at most [`ERROR_AFTER_MS`] before it.
    async fn add_issues(
        &self,
        project_id: ProjectId,
        session_id: &str,
        requests: &mut [SessionRequest],
    ) -> StoreResult<()> {
        let (Some(first), Some(last)) = (requests.first(), requests.iter().map(|r| r.request.end_ms).max())
        else {
            return Ok(());
        };
        let scope = ExceptionScope {
            project_id,
            session_id: Some(session_id.to_owned()),
            from_ms: Some(first.request.start_ms),
            to_ms: Some(last + ERROR_AFTER_MS + 1),
            ..Default::default()
        };
        let exceptions = self.stores.events.exceptions(scope, MAX_REQUESTS).await?;
        let mut caused: Vec<(usize, i64, i64)> = Vec::new();
        for exception in &exceptions {
            let at = exception.timestamp_ms;
            let cause = requests.iter().rposition(|r| {
                let same_tab = exception.window_id.as_ref().is_none_or(|w| *w == r.window_id);
                same_tab && r.failed() && r.request.end_ms <= at && at - r.request.end_ms <= ERROR_AFTER_MS
            });
            if let Some(i) = cause
                && !caused.iter().any(|(j, issue, _)| *j == i && *issue == exception.issue_id)
            {
                caused.push((i, exception.issue_id, at));
            }
        }
        if caused.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = caused.iter().map(|(_, issue, _)| *issue).collect();
        let query = IssueQuery { project_id, limit: ids.len(), ids: Some(ids), ..Default::default() };
        let issues: HashMap<i64, Issue> =
            self.stores.issues.issues(query).await?.into_iter().map(|i| (i.id, i)).collect();
        for (i, issue_id, exception_ms) in caused {
            if let Some(issue) = issues.get(&issue_id) {
                requests[i].issues.push(RequestIssue { issue: issue.clone(), exception_ms });
            }
        }
        Ok(())
    }
}

/// The session's logs that mention the request's path (in the body or an attribute) within
/// [`ROUTE_WINDOW_MS`] of it.
fn route_logs(request: &NetworkRequest, session_logs: &[StoredLog]) -> Vec<StoredLog> {
    let Some(path) = url_path(&request.url).filter(|p| p.len() > 1) else { return Vec::new() };
    let from = (request.start_ms - ROUTE_WINDOW_MS).saturating_mul(1_000_000);
    let to = (request.end_ms + ROUTE_WINDOW_MS).saturating_mul(1_000_000);
    session_logs
        .iter()
        .filter(|l| (from..=to).contains(&l.record.timestamp_ns))
        .filter(|l| {
            l.record.body.contains(path)
                || l.record
                    .attributes
                    .0
                    .iter()
                    .any(|(_, v)| matches!(v, tether_model::AttrValue::String(s) if s.contains(path)))
        })
        .cloned()
        .collect()
}

/// The path of a URL (`/api/cart` of `https://shop.test/api/cart?x=1`), `None` when it has
/// none.
pub fn url_path(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = &rest[rest.find('/')?..];
    Some(path.split(['?', '#']).next().unwrap_or(path))
}

/// The host of a URL (`shop.test:8080`), `None` for a relative one.
pub fn url_host(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_and_path() {
        assert_eq!(url_path("https://shop.test:8080/api/cart?x=1#top"), Some("/api/cart"));
        assert_eq!(url_host("https://shop.test:8080/api/cart?x=1"), Some("shop.test:8080"));
        assert_eq!(url_path("https://shop.test"), None);
        assert_eq!(url_host("/relative"), None);
        assert_eq!(url_path("/relative?q"), Some("/relative"));
    }
}
