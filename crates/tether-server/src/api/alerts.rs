//! Alerts of a project: create, list, change, delete, and each alert's history.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tether_model::ProjectId;
use tether_store::{AlertRule, AlertSpec, Role};

use super::{authorize_project, authorize_project_as};
use crate::alerts::check_query;
use crate::{ApiError, AppState};

/// History entries one request shows.
const HISTORY: usize = 200;
/// Longest window a threshold alert may count over (a day).
const MAX_WINDOW_SECS: u32 = 86_400;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertBody {
    name: String,
    rule: AlertRule,
    webhook_url: String,
    #[serde(default = "enabled")]
    enabled: bool,
}

fn enabled() -> bool {
    true
}

/// The alert as asked for, checked: a name, an http(s) webhook, a query that parses and a
/// window of 1 s to a day.
fn spec(state: &AppState, headers: &HeaderMap, body: AlertBody) -> Result<AlertSpec, ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::bad_request("invalid name: expected 1 to 200 characters"));
    }
    let url = url_ok(&body.webhook_url)
        .ok_or_else(|| ApiError::bad_request("invalid webhook_url: expected an http:// or https:// URL"))?;
    if let AlertRule::LogThreshold { query, window_secs, .. } = &body.rule {
        check_query(query)?;
        if !(1..=MAX_WINDOW_SECS).contains(window_secs) {
            return Err(ApiError::bad_request(format!(
                "invalid window_secs: expected 1 to {MAX_WINDOW_SECS}"
            )));
        }
    }
    Ok(AlertSpec {
        name: name.to_owned(),
        rule: body.rule,
        webhook_url: url,
        link_base: super::public_base(state, headers),
        enabled: body.enabled,
    })
}

fn url_ok(raw: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(raw.trim()).ok()?;
    (matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() && raw.len() <= 2048)
        .then(|| parsed.to_string())
}

fn body_of(
    body: Result<Json<AlertBody>, axum::extract::rejection::JsonRejection>,
) -> Result<AlertBody, ApiError> {
    body.map(|Json(b)| b).map_err(|e| ApiError::bad_request(e.body_text()))
}

pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
) -> Result<Json<Value>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    Ok(Json(json!({ "results": state.alerts().alerts(project_id).await? })))
}

pub(super) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    body: Result<Json<AlertBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    authorize_project_as(&state, &headers, project_id, Role::Admin, "managing alerts").await?;
    let spec = spec(&state, &headers, body_of(body)?)?;
    let alert = state.alerts().create_alert(project_id, spec, crate::clock::now_ms()).await?;
    Ok((StatusCode::CREATED, Json(json!(alert))))
}

pub(super) async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, alert_id)): Path<(ProjectId, i64)>,
    body: Result<Json<AlertBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    authorize_project_as(&state, &headers, project_id, Role::Admin, "managing alerts").await?;
    let spec = spec(&state, &headers, body_of(body)?)?;
    let alert = state.alerts().update_alert(project_id, alert_id, spec).await?;
    alert.map(|a| Json(json!(a))).ok_or_else(|| ApiError::not_found(format!("alert {alert_id} not found")))
}

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
pub(super) async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, alert_id)): Path<(ProjectId, i64)>,
) -> Result<Json<Value>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    state
        .alerts()
        .alert(project_id, alert_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("alert {alert_id} not found")))?;
    let events = state.alerts().alert_events(project_id, alert_id, HISTORY).await?;
    let results: Vec<Value> = events
        .iter()
        .map(|e| {
            let mut v = json!(e);
            v["payload"] = serde_json::from_str(&e.payload).unwrap_or(Value::Null);
            v
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}
