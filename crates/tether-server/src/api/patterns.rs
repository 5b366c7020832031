//! `GET /api/projects/{id}/logs/patterns`: the log patterns of a search
//! (`tether_app::App::patterns`).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use tether_model::Severity;

use super::logs::{LogRequest, PatternRef};
use super::params::{LogSearch, format_ns};
use crate::{ApiError, AppState};

/// A log pattern of a search with its figures.
#[derive(Serialize, ToSchema)]
#[schema(as = LogPattern)]
pub(crate) struct PatternJson {
    #[serde(flatten)]
    pattern: PatternRef,
    /// Logs of the search in the pattern (estimated when the list is `sampled`).
    count: u64,
    /// `count` over the search's total, 0 to 1.
    share: f64,
    /// Of `count`, logs of severity error or fatal.
    errors: u64,
    services: Vec<String>,
    first_seen: String,
    last_seen: String,
    /// Logs per bucket of the list's `buckets`.
    sparkline: Vec<u64>,
    /// The newest logs of the pattern, up to 3 different bodies.
    examples: Vec<PatternExample>,
    /// Distinct sessions and people among the pattern's logs (of the sample when sampled).
    sessions: u64,
    people: u64,
}

/// A log of a pattern, as the patterns list shows it (the log's page has the rest).
#[derive(Serialize, ToSchema)]
pub(crate) struct PatternExample {
    id: String,
    timestamp: String,
    severity: Severity,
    service: String,
    body: String,
    session_id: Option<String>,
}

/// The patterns of a search, most frequent first.
#[derive(Serialize, ToSchema)]
#[schema(as = LogPatterns)]
pub(crate) struct PatternsJson {
    results: Vec<PatternJson>,
    /// Logs the search matches.
    total: u64,
    /// Logs read and mined: the newest of each bucket. Counts are exact when it equals
    /// `total`, else scaled from the sample bucket by bucket.
    sampled: u64,
    /// Start of each sparkline bucket, and their width.
    buckets: Vec<String>,
    bucket_seconds: i64,
}

/// The log patterns of the search: templates with typed placeholders (`<num>`, `<ip>`,
/// `<id>`, `<*>` …), their counts, share, errors, services, first and last log, a
/// sparkline, examples, and the sessions and people they hit.
#[utoipa::path(get, path = "/api/projects/{project_id}/logs/patterns", tag = "logs",
    params(super::ProjectPath, LogSearch), responses((status = 200, body = PatternsJson)))]
pub(super) async fn patterns(
    State(state): State<AppState>,
    LogRequest(p): LogRequest,
) -> Result<Json<PatternsJson>, ApiError> {
    let found = state.app().patterns(p.filter).await?;
    let results = found
        .patterns
        .into_iter()
        .map(|pattern| PatternJson {
            examples: pattern
                .examples
                .into_iter()
                .map(|log| PatternExample {
                    id: log.id.0.to_string(),
                    timestamp: format_ns(log.timestamp_ns),
                    severity: log.severity,
                    service: log.service,
                    body: log.body,
                    session_id: log.session_id,
                })
                .collect(),
            pattern: PatternRef { id: pattern.id, template: pattern.template },
            count: pattern.count,
            share: pattern.share,
            errors: pattern.errors,
            services: pattern.services,
            first_seen: format_ns(pattern.first_ns),
            last_seen: format_ns(pattern.last_ns),
            sparkline: pattern.sparkline,
            sessions: pattern.sessions,
            people: pattern.people,
        })
        .collect();
    Ok(Json(PatternsJson {
        results,
        total: found.total,
        sampled: found.sampled,
        buckets: found.buckets.into_iter().map(format_ns).collect(),
        bucket_seconds: found.bucket_ns / 1_000_000_000,
    }))
}
