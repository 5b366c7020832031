//! A person: properties, distinct ids, and counts of their sessions, logs and errors.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use tether_model::ProjectId;
use tether_store::{ExceptionScope, LogFilter, RecordingQuery};

use super::authorize_project;
use super::params::format_ns;
use crate::clock::now_ns;
use crate::{ApiError, AppState};

/// Logs are counted over this many recent days.
const LOG_COUNT_DAYS: i64 = 30;

pub(super) async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, distinct_id)): Path<(ProjectId, String)>,
) -> Result<Json<Value>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let person = state.persons().person(project_id, &distinct_id).await?;
    let ids = person.as_ref().map_or_else(|| vec![distinct_id.clone()], |p| p.distinct_ids.clone());
    let sessions = state
        .recordings()
        .index
        .recordings(RecordingQuery {
            project_id,
            distinct_ids: ids.clone(),
            limit: 10_000,
            ..Default::default()
        })
        .await?
        .len();
    let errors: u64 = state
        .events()
        .issue_stats(ExceptionScope { project_id, distinct_ids: ids.clone(), ..Default::default() })
        .await?
        .iter()
        .map(|s| s.occurrences)
        .sum();
    let now = now_ns();
    let day = 86_400 * 1_000_000_000;
    let mut filter = LogFilter::new(project_id, now - LOG_COUNT_DAYS * day, now + day);
    filter.distinct_ids = ids.clone();
    let logs = state.logs().summary(filter).await?.logs;
    if person.is_none() && sessions == 0 && errors == 0 && logs == 0 {
        return Err(ApiError::not_found(format!("no person with distinct id {distinct_id}")));
    }
    Ok(Json(json!({
        "id": person.as_ref().map(|p| p.id),
        "distinct_ids": ids,
        "properties": person.as_ref().map_or_else(|| json!({}), |p| Value::Object(p.properties.clone())),
        "created_at": person.as_ref().map(|p| format_ns(p.created_at_ms.saturating_mul(1_000_000))),
        "counts": { "sessions": sessions, "logs_30d": logs, "errors": errors },
    })))
}
