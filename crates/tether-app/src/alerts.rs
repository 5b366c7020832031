//! Alert decisions: whether each enabled alert fires, resolves or notifies of an issue, at
//! the clock's now, recorded in the alert store with the notification each will send.
//! Delivering the notifications (webhooks, retries) is the server's.
//!
//! A log threshold alert counts the logs matching its saved search over its window only
//! (`[now − window, now)`), through the same store query as the logs page's summary. An
//! issue alert lists the project's newest issues and notifies for those it has not seen (a
//! new id, or a reopening after its last check). State changes are compare-and-set in the
//! store, so processes sharing storage that evaluate the same alert notify once.

use serde::Serialize;
use tether_model::{AlertRule, ProjectId};
use tether_store::{Alert, AlertEvent, AlertEventKind, IssueQuery, NewAlertEvent, StoreResult};

use crate::App;
use crate::search::{self, format_ns};

/// Issues an issue alert looks at per evaluation (the newest seen).
const ISSUES_PER_CHECK: usize = 200;
/// How far behind the clock an issue alert looks for reopenings. The store stamps a
/// reopening with its clock before the write commits, so a check that starts after the
/// stamp can read the issues before the commit shows; looking only at stamps this old
/// (and covering each stretch of time once) reports every reopening once, a little late.
pub const REOPEN_SETTLE_MS: i64 = 2_000;

/// What a webhook receives: the JSON body of a notification.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub alert: AlertName,
    #[schema(value_type = i64)]
    pub project_id: ProjectId,
    /// `firing` or `resolved` (threshold alerts), `new` or `regressed` (issue alerts).
    pub status: &'static str,
    /// Threshold alerts: the count over the window, the rule and its saved search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Issue alerts: the issue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue: Option<IssueName>,
    /// When it was decided (RFC 3339).
    pub at: String,
    /// The page showing it, in the alert's project.
    pub link: String,
    /// One line for a chat message.
    pub text: String,
}

/// The alert a notification is of.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertName {
    pub id: i64,
    pub name: String,
    /// `log_threshold` or `new_issue`.
    pub kind: &'static str,
}

/// The issue an issue alert notifies of.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssueName {
    pub id: i64,
    pub name: String,
    pub description: String,
}

impl App {
    /// Evaluates every enabled alert at the clock's now; returns each alert with the
    /// history entries this evaluation recorded (each one a notification to deliver).
    pub async fn evaluate_alerts(&self) -> StoreResult<Vec<(Alert, Vec<AlertEvent>)>> {
        let mut decided = Vec::new();
        for alert in self.stores.alerts.enabled_alerts().await? {
            let now_ms = self.now_ms();
            let events = match &alert.rule {
                AlertRule::LogThreshold { query, threshold, window_secs } => {
                    self.evaluate_threshold(&alert, query, *threshold, *window_secs, now_ms).await?
                }
                AlertRule::NewIssue => self.evaluate_issues(&alert, now_ms).await?,
            };
            if !events.is_empty() {
                decided.push((alert, events));
            }
        }
        Ok(decided)
    }

    async fn evaluate_threshold(
        &self,
        alert: &Alert,
        query: &str,
        threshold: u64,
        window_secs: u32,
        now_ms: i64,
    ) -> StoreResult<Vec<AlertEvent>> {
        let now_ns = now_ms.saturating_mul(1_000_000);
        // Checked when saved; a grammar change could still make an old one fail.
        let Ok(mut p) = search::parse(Some(query), alert.project_id, now_ns) else {
            return Ok(Vec::new());
        };
        let from_ns = now_ns - i64::from(window_secs) * 1_000_000_000;
        (p.filter.from_ns, p.filter.to_ns) = (from_ns, now_ns);
        let count = self.stores.logs.summary(p.filter).await?.logs;
        let breached = count > threshold;
        if breached == alert.firing {
            return Ok(Vec::new());
        }
        let status = if breached { "firing" } else { "resolved" };
        // The saved search over the window, re-encoded (a query may be saved unescaped).
        let window = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form_urlencoded::parse(query.as_bytes()))
            .append_pair("from", &format_ns(from_ns))
            .append_pair("to", &format_ns(now_ns))
            .finish();
        let notification = Notification {
            alert: AlertName { id: alert.id, name: alert.name.clone(), kind: "log_threshold" },
            project_id: alert.project_id,
            status,
            count: Some(count),
            threshold: Some(threshold),
            window_secs: Some(window_secs),
            query: Some(query.to_owned()),
            issue: None,
            at: format_ns(now_ns),
            // The project is in the path: a link to `/logs` would open whichever project
            // the UI shows first.
            link: format!("{}/project/{}/logs?{window}", alert.link_base, alert.project_id),
            text: format!(
                "{}: {count} matching logs in the last {window_secs} s (threshold {threshold}) — {status}",
                alert.name
            ),
        };
        let kind = if breached { AlertEventKind::Fired } else { AlertEventKind::Resolved };
        let event =
            NewAlertEvent { kind, at_ms: now_ms, value: count as i64, payload: payload(&notification) };
        Ok(self
            .stores
            .alerts
            .set_firing(alert.project_id, alert.id, breached, event)
            .await?
            .into_iter()
            .collect())
    }

    async fn evaluate_issues(&self, alert: &Alert, now_ms: i64) -> StoreResult<Vec<AlertEvent>> {
        let query =
            IssueQuery { project_id: alert.project_id, limit: ISSUES_PER_CHECK, ..Default::default() };
        let issues = self.stores.issues.issues(query).await?;
        let mut last_id = alert.last_issue_id;
        let mut events = Vec::new();
        let settled = (now_ms - REOPEN_SETTLE_MS).max(alert.checked_until_ms);
        for issue in &issues {
            let new = issue.id > alert.last_issue_id;
            let regressed =
                !new && issue.reopened_at_ms.is_some_and(|at| at > alert.checked_until_ms && at <= settled);
            if !new && !regressed {
                continue;
            }
            last_id = last_id.max(issue.id);
            let status = if new { "new" } else { "regressed" };
            let notification = Notification {
                alert: AlertName { id: alert.id, name: alert.name.clone(), kind: "new_issue" },
                project_id: alert.project_id,
                status,
                count: None,
                threshold: None,
                window_secs: None,
                query: None,
                issue: Some(IssueName {
                    id: issue.id,
                    name: issue.name.clone(),
                    description: issue.description.clone(),
                }),
                at: format_ns(now_ms.saturating_mul(1_000_000)),
                link: format!("{}/project/{}/errors/{}", alert.link_base, alert.project_id, issue.id),
                text: format!("{}: {status} issue {}: {}", alert.name, issue.name, issue.description),
            };
            events.push(NewAlertEvent {
                kind: AlertEventKind::Fired,
                at_ms: now_ms,
                value: issue.id,
                payload: payload(&notification),
            });
        }
        let from = (alert.last_issue_id, alert.checked_until_ms);
        let recorded = self
            .stores
            .alerts
            .advance_issue_marks(alert.project_id, alert.id, from, (last_id, settled), events)
            .await?;
        Ok(recorded.unwrap_or_default())
    }
}

/// The notification as the history stores it and the webhook receives it.
fn payload(notification: &Notification) -> String {
    // A struct of strings and numbers always serializes.
    serde_json::to_string(notification).unwrap_or_default()
}
