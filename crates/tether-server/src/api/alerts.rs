//! Alerts of a project: create, list, change, delete, and each alert's history.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tether_model::ProjectId;
use tether_store::{Alert, AlertEvent, AlertEventKind, AlertRule, AlertSpec, Delivery, Role};
use utoipa::ToSchema;

use super::{authorize_project, authorize_project_as};
use crate::{ApiError, AppState};

/// History entries one request shows.
const HISTORY: usize = 200;

/// What an alert is made of.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertBody {
    name: String,
    rule: AlertRule,
    webhook_url: String,
    /// True when absent.
    #[serde(default = "enabled")]
    enabled: bool,
}

/// A saved alert.
#[derive(Serialize, ToSchema)]
#[schema(as = Alert)]
pub(crate) struct AlertJson {
    id: i64,
    #[schema(value_type = i64)]
    project_id: ProjectId,
    name: String,
    rule: AlertRule,
    /// Where notifications are POSTed (JSON). Only its origin for non-admins: the rest of
    /// a Slack or Discord URL is the secret that lets anyone post to the channel.
    webhook_url: String,
    /// The origin of Tether's UI for the links in notifications.
    link_base: String,
    enabled: bool,
    /// A threshold alert over its threshold since it last fired.
    firing: bool,
    created_at_ms: i64,
}

impl From<Alert> for AlertJson {
    fn from(a: Alert) -> Self {
        AlertJson {
            id: a.id,
            project_id: a.project_id,
            name: a.name,
            rule: a.rule,
            webhook_url: a.webhook_url,
            link_base: a.link_base,
            enabled: a.enabled,
            firing: a.firing,
            created_at_ms: a.created_at_ms,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AlertList {
    results: Vec<AlertJson>,
}

/// Something an alert did, with the notification it sent and how its delivery went.
#[derive(Serialize, ToSchema)]
#[schema(as = AlertEvent)]
pub(crate) struct AlertEventJson {
    id: i64,
    #[schema(value_type = String, example = "fired")]
    kind: AlertEventKind,
    at_ms: i64,
    /// The count that crossed (threshold alerts) or the issue id (issue alerts).
    value: i64,
    /// The notification's JSON body.
    #[schema(value_type = Option<tether_app::alerts::Notification>)]
    payload: Value,
    #[schema(value_type = String, example = "delivered")]
    delivery: Delivery,
    attempts: u32,
    last_error: Option<String>,
}

impl From<AlertEvent> for AlertEventJson {
    fn from(e: AlertEvent) -> Self {
        AlertEventJson {
            payload: serde_json::from_str(&e.payload).unwrap_or(Value::Null),
            id: e.id,
            kind: e.kind,
            at_ms: e.at_ms,
            value: e.value,
            delivery: e.delivery,
            attempts: e.attempts,
            last_error: e.last_error,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AlertHistory {
    results: Vec<AlertEventJson>,
}

fn enabled() -> bool {
    true
}

/// The alert as asked for, checked: a name, an http(s) webhook to an address webhooks may
/// reach (see `crate::webhooks`), a query that parses and a window of 1 s to a day.
async fn spec(state: &AppState, headers: &HeaderMap, body: AlertBody) -> Result<AlertSpec, ApiError> {
    let name = tether_model::valid_name(&body.name).map_err(ApiError::bad_request)?;
    let url = tether_model::webhook_url(&body.webhook_url).map_err(ApiError::bad_request)?;
    body.rule.validate().map_err(ApiError::bad_request)?;
    if let AlertRule::LogThreshold { query, .. } = &body.rule {
        tether_app::search::check_saved_search(query)?;
    }
    // Last: it may resolve the host's name.
    state.webhook_networks().check(&url).await.map_err(ApiError::bad_request)?;
    Ok(AlertSpec {
        name: name.to_owned(),
        rule: body.rule,
        webhook_url: url,
        link_base: super::public_base(state, headers),
        enabled: body.enabled,
    })
}

fn body_of(
    body: Result<Json<AlertBody>, axum::extract::rejection::JsonRejection>,
) -> Result<AlertBody, ApiError> {
    body.map(|Json(b)| b).map_err(|e| ApiError::bad_request(e.body_text()))
}

/// The project's alerts, oldest first.
#[utoipa::path(get, path = "/api/projects/{project_id}/alerts", tag = "alerts", params(super::ProjectPath),
    responses((status = 200, body = AlertList)))]
pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
) -> Result<Json<AlertList>, ApiError> {
    let (_, caller) = authorize_project_as(&state, &headers, project_id, Role::Viewer, "reading").await?;
    let admin = caller.access(state.users()).await?.role_in(project_id) == Some(Role::Admin);
    let alerts = state.alerts().alerts(project_id).await?;
    let results = alerts
        .into_iter()
        .map(|a| {
            let url = if admin { a.webhook_url.clone() } else { masked(&a.webhook_url) };
            AlertJson { webhook_url: url, ..a.into() }
        })
        .collect();
    Ok(Json(AlertList { results }))
}

/// A webhook URL's origin and `/…`: where it goes, without its secret.
fn masked(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!("{}/…", u.origin().ascii_serialization()),
        Err(_) => "…".to_owned(),
    }
}

/// A new alert (admins).
#[utoipa::path(post, path = "/api/projects/{project_id}/alerts", tag = "alerts", params(super::ProjectPath),
    request_body = AlertBody, responses((status = 201, body = AlertJson)))]
pub(super) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    body: Result<Json<AlertBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<AlertJson>), ApiError> {
    authorize_project_as(&state, &headers, project_id, Role::Admin, "managing alerts").await?;
    let spec = spec(&state, &headers, body_of(body)?).await?;
    let alert = state.alerts().create_alert(project_id, spec, crate::clock::now_ms()).await?;
    Ok((StatusCode::CREATED, Json(alert.into())))
}

/// Replaces what an alert is made of (admins); its state stays.
#[utoipa::path(put, path = "/api/projects/{project_id}/alerts/{alert_id}", tag = "alerts",
    params(super::ProjectPath, ("alert_id" = i64, Path)), request_body = AlertBody,
    responses((status = 200, body = AlertJson)))]
pub(super) async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, alert_id)): Path<(ProjectId, i64)>,
    body: Result<Json<AlertBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<AlertJson>, ApiError> {
    authorize_project_as(&state, &headers, project_id, Role::Admin, "managing alerts").await?;
    let spec = spec(&state, &headers, body_of(body)?).await?;
    let alert = state.alerts().update_alert(project_id, alert_id, spec).await?;
    alert.map(|a| Json(a.into())).ok_or_else(|| ApiError::not_found(format!("alert {alert_id} not found")))
}

/// Deletes an alert and its history (admins).
#[utoipa::path(delete, path = "/api/projects/{project_id}/alerts/{alert_id}", tag = "alerts",
    params(super::ProjectPath, ("alert_id" = i64, Path)), responses((status = 204, description = "deleted")))]
pub(super) async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, alert_id)): Path<(ProjectId, i64)>,
) -> Result<StatusCode, ApiError> {
    authorize_project_as(&state, &headers, project_id, Role::Admin, "managing alerts").await?;
    if !state.alerts().delete_alert(project_id, alert_id).await? {
        return Err(ApiError::not_found(format!("alert {alert_id} not found")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The alert's firing history, newest first, each with its notification's delivery.
#[utoipa::path(get, path = "/api/projects/{project_id}/alerts/{alert_id}/history", tag = "alerts",
    params(super::ProjectPath, ("alert_id" = i64, Path)), responses((status = 200, body = AlertHistory)))]
pub(super) async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, alert_id)): Path<(ProjectId, i64)>,
) -> Result<Json<AlertHistory>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    state
        .alerts()
        .alert(project_id, alert_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("alert {alert_id} not found")))?;
    let events = state.alerts().alert_events(project_id, alert_id, HISTORY).await?;
    Ok(Json(AlertHistory { results: events.into_iter().map(AlertEventJson::from).collect() }))
}
