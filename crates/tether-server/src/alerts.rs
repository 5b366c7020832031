//! Alerts: a background task evaluates every enabled alert now and then, and a delivery task
//! POSTs each notification to its webhook.
//!
//! A log threshold alert counts the logs matching its saved search over its window only
//! (`[now − window, now)`), through the same store query as the logs page's summary. An
//! issue alert lists the project's newest issues and notifies for those it has not seen
//! (a new id, or a reopening after its last check). State changes are compare-and-set in the
//! store, so processes sharing storage that evaluate the same alert notify once.
//!
//! Delivery runs beside ingest, never in its path: notifications wait in a bounded queue
//! (a full queue records the notification as failed rather than wait), each attempt has a
//! timeout, failures are retried with doubling backoff, and the outcome is recorded on the
//! alert's history.

use std::time::Duration;

use std::sync::Arc;

use serde_json::json;
use tether_store::{
    Alert, AlertEvent, AlertEventKind, AlertRule, Delivery, IssueQuery, NewAlertEvent, StoreResult,
};
use tokio::sync::mpsc;

use crate::AppState;
use crate::api::params;

/// How often alerts are evaluated and how notifications are delivered.
#[derive(Debug, Clone, Copy)]
pub struct AlertConfig {
    pub interval: Duration,
    /// Longest wait for one webhook attempt.
    pub timeout: Duration,
    /// Attempts per notification.
    pub attempts: u32,
    /// Wait before the second attempt; doubled after each further one.
    pub first_backoff: Duration,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            attempts: 5,
            first_backoff: Duration::from_secs(1),
        }
    }
}

/// Notifications waiting for delivery at most.
const QUEUE: usize = 1024;
/// Webhooks called at once (a slow one holds one slot, not the queue).
const CONCURRENT_DELIVERIES: usize = 8;
/// Issues an issue alert looks at per evaluation (the newest seen).
const ISSUES_PER_CHECK: usize = 200;
/// How far behind the clock an issue alert looks for reopenings. The store stamps a
/// reopening with its clock before the write commits, so a check that starts after the
/// stamp can read the issues before the commit shows; looking only at stamps this old
/// (and covering each stretch of time once) reports every reopening once, a little late.
const REOPEN_SETTLE_MS: i64 = 2_000;

/// A notification on its way.
struct Notification {
    event_id: i64,
    url: String,
    payload: String,
}

/// Starts the evaluator and the delivery task; they run for as long as the process lives.
pub fn spawn(state: AppState, config: AlertConfig) -> Vec<tokio::task::JoinHandle<()>> {
    let (tx, rx) = mpsc::channel(QUEUE);
    let delivery = tokio::spawn(deliver(state.clone(), rx, config));
    let evaluator = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(config.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = evaluate_all(&state, &tx).await {
                tracing::warn!(error = %e, "alert evaluation failed; retrying at the next one");
            }
        }
    });
    vec![evaluator, delivery]
}

/// Parses an alert's saved search (the logs API's query string); the time range is the
/// alert's window, so `from`, `to` and paging are refused.
pub(crate) fn check_query(query: &str) -> Result<(), crate::ApiError> {
    for (key, _) in form_urlencoded::parse(query.as_bytes()) {
        if !["q", "severity", "service", "attr", "session_id", "distinct_id", "trace_id"]
            .contains(&key.as_ref())
        {
            return Err(crate::ApiError::bad_request(format!(
                "invalid query: {key} is not a filter (the window sets the time range)"
            )));
        }
    }
    params::parse(Some(query), 0, 0).map(drop)
}

async fn evaluate_all(state: &AppState, tx: &mpsc::Sender<Notification>) -> StoreResult<()> {
    for alert in state.alerts().enabled_alerts().await? {
        let now_ms = state.app().now_ms();
        let events = match &alert.rule {
            AlertRule::LogThreshold { query, threshold, window_secs } => {
                evaluate_threshold(state, &alert, query, *threshold, *window_secs, now_ms).await?
            }
            AlertRule::NewIssue => evaluate_issues(state, &alert, now_ms).await?,
        };
        for event in events {
            let notification = Notification {
                event_id: event.id,
                url: alert.webhook_url.clone(),
                payload: event.payload.clone(),
            };
            if tx.try_send(notification).is_err() {
                tracing::warn!(alert = alert.id, "alert notification queue full; notification dropped");
                state
                    .alerts()
                    .record_delivery(event.id, Delivery::Failed, 0, Some("delivery queue full".into()))
                    .await?;
            }
        }
    }
    Ok(())
}

async fn evaluate_threshold(
    state: &AppState,
    alert: &Alert,
    query: &str,
    threshold: u64,
    window_secs: u32,
    now_ms: i64,
) -> StoreResult<Vec<AlertEvent>> {
    let now_ns = now_ms.saturating_mul(1_000_000);
    let Ok(mut p) = params::parse(Some(query), alert.project_id, now_ns) else {
        tracing::warn!(alert = alert.id, "alert query no longer parses; skipped");
        return Ok(Vec::new());
    };
    let from_ns = now_ns - i64::from(window_secs) * 1_000_000_000;
    (p.filter.from_ns, p.filter.to_ns) = (from_ns, now_ns);
    let count = state.logs().summary(p.filter).await?.logs;
    let breached = count > threshold;
    if breached == alert.firing {
        return Ok(Vec::new());
    }
    let status = if breached { "firing" } else { "resolved" };
    // The saved search over the window, re-encoded (a query may be saved unescaped).
    let search = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(query.as_bytes()))
        .append_pair("from", &params::format_ns(from_ns))
        .append_pair("to", &params::format_ns(now_ns))
        .finish();
    // The project is in the path: a link to `/logs` would open whichever project the UI
    // shows first.
    let link = format!("{}/project/{}/logs?{search}", alert.link_base, alert.project_id);
    let payload = json!({
        "alert": { "id": alert.id, "name": alert.name, "kind": "log_threshold" },
        "project_id": alert.project_id,
        "status": status,
        "count": count,
        "threshold": threshold,
        "window_secs": window_secs,
        "query": query,
        "at": params::format_ns(now_ns),
        "link": link,
        "text": format!("{}: {count} matching logs in the last {window_secs} s (threshold {threshold}) — {status}", alert.name),
    });
    let kind = if breached { AlertEventKind::Fired } else { AlertEventKind::Resolved };
    let event = NewAlertEvent { kind, at_ms: now_ms, value: count as i64, payload: payload.to_string() };
    Ok(state.alerts().set_firing(alert.project_id, alert.id, breached, event).await?.into_iter().collect())
}

async fn evaluate_issues(state: &AppState, alert: &Alert, now_ms: i64) -> StoreResult<Vec<AlertEvent>> {
    let query = IssueQuery { project_id: alert.project_id, limit: ISSUES_PER_CHECK, ..Default::default() };
    let issues = state.issues().issues(query).await?;
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
        let what = if new { "new" } else { "regressed" };
        let payload = json!({
            "alert": { "id": alert.id, "name": alert.name, "kind": "new_issue" },
            "project_id": alert.project_id,
            "status": what,
            "issue": { "id": issue.id, "name": issue.name, "description": issue.description },
            "at": params::format_ns(now_ms.saturating_mul(1_000_000)),
            "link": format!("{}/project/{}/errors/{}", alert.link_base, alert.project_id, issue.id),
            "text": format!("{}: {what} issue {}: {}", alert.name, issue.name, issue.description),
        });
        events.push(NewAlertEvent {
            kind: AlertEventKind::Fired,
            at_ms: now_ms,
            value: issue.id,
            payload: payload.to_string(),
        });
    }
    let from = (alert.last_issue_id, alert.checked_until_ms);
    let recorded = state
        .alerts()
        .advance_issue_marks(alert.project_id, alert.id, from, (last_id, settled), events)
        .await?;
    Ok(recorded.unwrap_or_default())
}

async fn deliver(state: AppState, mut rx: mpsc::Receiver<Notification>, config: AlertConfig) {
    let client = match reqwest::Client::builder().timeout(config.timeout).build() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client; alerts will not be delivered");
            return;
        }
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_DELIVERIES));
    while let Some(n) = rx.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let (state, client) = (state.clone(), client.clone());
        tokio::spawn(async move {
            let (delivery, attempts, error) = send_with_retries(&client, &n, config).await;
            if let Err(e) = state.alerts().record_delivery(n.event_id, delivery, attempts, error).await {
                tracing::warn!(error = %e, event = n.event_id, "cannot record an alert delivery");
            }
            drop(slot);
        });
    }
}

async fn send_with_retries(
    client: &reqwest::Client,
    n: &Notification,
    config: AlertConfig,
) -> (Delivery, u32, Option<String>) {
    let mut backoff = config.first_backoff;
    let mut last_error = None;
    for attempt in 1..=config.attempts.max(1) {
        let sent = client
            .post(&n.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, "tether-alerts")
            .body(n.payload.clone())
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => return (Delivery::Delivered, attempt, None),
            Ok(resp) => last_error = Some(format!("HTTP {}", resp.status().as_u16())),
            Err(e) if e.is_timeout() => last_error = Some(format!("timed out after {:?}", config.timeout)),
            Err(e) => last_error = Some(format!("cannot reach the webhook: {e}")),
        }
        if attempt < config.attempts {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    (Delivery::Failed, config.attempts.max(1), last_error)
}
