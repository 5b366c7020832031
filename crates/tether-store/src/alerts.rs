//! Alerts: saved rules evaluated in the background, and what each did (its firing history
//! and the delivery of each notification).

use async_trait::async_trait;
use tether_model::ProjectId;

use crate::StoreResult;

pub use tether_model::AlertRule;

/// A saved alert of a project.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Alert {
    pub id: i64,
    pub project_id: ProjectId,
    pub name: String,
    pub rule: AlertRule,
    /// Where notifications are POSTed (JSON).
    pub webhook_url: String,
    /// The origin of Tether's UI for the links in notifications.
    pub link_base: String,
    pub enabled: bool,
    /// A threshold alert over its threshold since it last fired.
    pub firing: bool,
    /// For issue alerts: issues with a larger id are new to it.
    pub last_issue_id: i64,
    /// For issue alerts: reopenings after this time (Unix ms) are new to it.
    pub checked_until_ms: i64,
    pub created_at_ms: i64,
}

/// What a new alert, or a change of one, is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSpec {
    pub name: String,
    pub rule: AlertRule,
    pub webhook_url: String,
    pub link_base: String,
    pub enabled: bool,
}

/// One thing an alert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertEventKind {
    Fired,
    Resolved,
}

/// How a notification's delivery went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Pending,
    Delivered,
    Failed,
}

/// An entry of an alert's history, with the notification it sent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AlertEvent {
    pub id: i64,
    pub alert_id: i64,
    pub project_id: ProjectId,
    pub kind: AlertEventKind,
    pub at_ms: i64,
    /// The count that crossed (threshold alerts) or the issue id (issue alerts).
    pub value: i64,
    /// The notification's JSON body.
    pub payload: String,
    pub delivery: Delivery,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// Alerts of each project; a project never sees another's. State changes are
/// compare-and-set, so processes sharing the store evaluating the same alert notify once.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Creates an alert, not firing, watching issues from `now_ms` on.
    async fn create_alert(&self, project_id: ProjectId, spec: AlertSpec, now_ms: i64) -> StoreResult<Alert>;
    /// The project's alerts, oldest first.
    async fn alerts(&self, project_id: ProjectId) -> StoreResult<Vec<Alert>>;
    /// Every project's enabled alerts (for the evaluator).
    async fn enabled_alerts(&self) -> StoreResult<Vec<Alert>>;
    async fn alert(&self, project_id: ProjectId, id: i64) -> StoreResult<Option<Alert>>;
    /// Replaces what the alert is made of (its state stays); `None` when there is none.
    async fn update_alert(
        &self,
        project_id: ProjectId,
        id: i64,
        spec: AlertSpec,
    ) -> StoreResult<Option<Alert>>;
    /// Deletes the alert and its history; false when there was none.
    async fn delete_alert(&self, project_id: ProjectId, id: i64) -> StoreResult<bool>;
    /// Sets a threshold alert's `firing` and records the event, only when it was not
    /// already so (`None` then: another evaluation did it, or nothing changed).
    async fn set_firing(
        &self,
        project_id: ProjectId,
        id: i64,
        firing: bool,
        event: NewAlertEvent,
    ) -> StoreResult<Option<AlertEvent>>;
    /// Moves an issue alert's marks from `from` to `to` (`(last_issue_id,
    /// checked_until_ms)`) and records `events`, only when the marks were still `from`:
    /// the evaluation that wins notifies, others get `None`.
    async fn advance_issue_marks(
        &self,
        project_id: ProjectId,
        id: i64,
        from: (i64, i64),
        to: (i64, i64),
        events: Vec<NewAlertEvent>,
    ) -> StoreResult<Option<Vec<AlertEvent>>>;
    /// Records how a notification's delivery went.
    async fn record_delivery(
        &self,
        event_id: i64,
        delivery: Delivery,
        attempts: u32,
        last_error: Option<String>,
    ) -> StoreResult<()>;
    /// The alert's newest events first.
    async fn alert_events(
        &self,
        project_id: ProjectId,
        alert_id: i64,
        limit: usize,
    ) -> StoreResult<Vec<AlertEvent>>;
}

/// An event about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlertEvent {
    pub kind: AlertEventKind,
    pub at_ms: i64,
    pub value: i64,
    pub payload: String,
}
