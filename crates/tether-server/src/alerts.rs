//! Alerts: a background task runs the alert decisions (`tether_app::alerts`) now and then,
//! and a delivery task POSTs each notification to its webhook.
//!
//! Delivery runs beside ingest, never in its path: notifications wait in a bounded queue
//! (a full queue records the notification as failed rather than wait), each attempt has a
//! timeout, failures are retried with doubling backoff, and the outcome is recorded on the
//! alert's history.

use std::time::Duration;

use std::sync::Arc;

use tether_store::{Delivery, StoreResult};
use tokio::sync::mpsc;

use crate::AppState;

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

/// Records the decisions of `tether_app::App::evaluate_alerts` and queues their
/// notifications for delivery.
async fn evaluate_all(state: &AppState, tx: &mpsc::Sender<Notification>) -> StoreResult<()> {
    for (alert, events) in state.app().evaluate_alerts().await? {
        for event in events {
            let notification =
                Notification { event_id: event.id, url: alert.webhook_url.clone(), payload: event.payload };
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

async fn deliver(state: AppState, mut rx: mpsc::Receiver<Notification>, config: AlertConfig) {
    let networks = state.webhook_networks().clone();
    let client = match networks.client(config.timeout) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client; alerts will not be delivered");
            return;
        }
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_DELIVERIES));
    while let Some(n) = rx.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let (state, client, networks) = (state.clone(), client.clone(), networks.clone());
        tokio::spawn(async move {
            // The resolver checks names; an address in the URL is not resolved, so it is
            // checked here (the rules may have changed since the alert was saved).
            let (delivery, attempts, error) = match networks.check(&n.url).await {
                Ok(()) => send_with_retries(&client, &n, config).await,
                Err(why) => (Delivery::Failed, 0, Some(why)),
            };
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
