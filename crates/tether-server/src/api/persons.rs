//! Persons: the list (searchable), and one person's properties, distinct ids, and counts of
//! their sessions, logs and errors.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::{Map, Value};
use tether_model::ProjectId;
use utoipa::{IntoParams, ToSchema};

use super::authorize_project;
use super::params::format_ns;
use crate::{ApiError, AppState};

#[derive(Serialize, ToSchema)]
#[schema(as = PersonCounts)]
pub(crate) struct Counts {
    sessions: u64,
    logs_30d: u64,
    errors: u64,
}

/// A person's page: `id` and `created_at` are null for an id no person was made for.
#[derive(Serialize, ToSchema)]
#[schema(as = Person)]
pub(crate) struct PersonJson {
    id: Option<i64>,
    distinct_ids: Vec<String>,
    #[schema(value_type = std::collections::HashMap<String, Value>)]
    properties: Map<String, Value>,
    created_at: Option<String>,
    counts: Counts,
}

/// A person by any of their distinct ids.
#[utoipa::path(get, path = "/api/projects/{project_id}/persons/{distinct_id}", tag = "people",
    params(super::ProjectPath, ("distinct_id" = String, Path)), responses((status = 200, body = PersonJson)))]
pub(super) async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, distinct_id)): Path<(ProjectId, String)>,
) -> Result<Json<PersonJson>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let s = state.app().person_summary(project_id, &distinct_id).await?;
    Ok(Json(PersonJson {
        id: s.person.as_ref().map(|p| p.id),
        created_at: s.person.as_ref().map(|p| format_ns(p.created_at_ms.saturating_mul(1_000_000))),
        properties: s.person.map(|p| p.properties).unwrap_or_default(),
        distinct_ids: s.distinct_ids,
        counts: Counts { sessions: s.sessions, logs_30d: s.logs_30d, errors: s.errors },
    }))
}

/// Filters of the persons list.
#[derive(serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Persons with a distinct id or property (name or value) containing this, any case.
    search: Option<String>,
    /// 1 to 500; 100 when absent.
    limit: Option<usize>,
}

/// A person in the list.
#[derive(Serialize, ToSchema)]
#[schema(as = ListedPerson)]
pub(crate) struct ListedPersonJson {
    id: i64,
    distinct_ids: Vec<String>,
    #[schema(value_type = std::collections::HashMap<String, Value>)]
    properties: Map<String, Value>,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct PersonList {
    /// Newest first.
    results: Vec<ListedPersonJson>,
}

/// The project's persons (the site's users), newest first.
#[utoipa::path(get, path = "/api/projects/{project_id}/persons", tag = "people", operation_id = "persons_list",
    params(super::ProjectPath, ListQuery), responses((status = 200, body = PersonList)))]
pub(super) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PersonList>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=tether_app::people::MAX_PERSONS).contains(&limit) {
        return Err(ApiError::bad_request("invalid limit: expected a number from 1 to 500"));
    }
    let persons = state.app().persons(project_id, q.search.as_deref().map(str::trim), limit).await?;
    let results = persons
        .into_iter()
        .map(|p| ListedPersonJson {
            id: p.id,
            created_at: format_ns(p.created_at_ms.saturating_mul(1_000_000)),
            distinct_ids: p.distinct_ids,
            properties: p.properties,
        })
        .collect();
    Ok(Json(PersonList { results }))
}
