//! `GET /api/projects/{id}/logs/patterns`: the log patterns of a search
//! (`tether_app::App::patterns`), and `…/patterns/compare`: what changed against a
//! baseline (`tether_app::patterns::compare`).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde::Serialize;
use tether_app::patterns::compare::Change;
use tether_app::search;
use tether_model::ProjectId;
use utoipa::ToSchema;

use tether_model::Severity;

use super::authorize_project;
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
    /// Logs read and mined, spread over the range. Counts are exact when it equals
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

/// What a comparison sets against the search, besides the search's own parameters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read by the OpenAPI derive only.
pub(crate) struct CompareParams {
    /// `previous` (default): the search's range against the one as long just before it, or
    /// `base_from`/`base_to` when given; `sessions`: the logs of sessions that hit an error
    /// in the range (of `issue` when given) against those of the other sessions.
    against: Option<String>,
    /// Start of the baseline range (as `from`).
    base_from: Option<String>,
    /// End of the baseline range (as `to`).
    base_to: Option<String>,
    /// An issue id: with `against=sessions`, the sessions that hit this issue.
    issue: Option<i64>,
}

/// A pattern in both sets of a comparison.
#[derive(Serialize, ToSchema)]
#[schema(as = ComparedPattern)]
pub(crate) struct ComparedJson {
    #[serde(flatten)]
    pattern: PatternRef,
    /// Logs of the pattern in the search (estimated when sampled), and in the baseline.
    current: u64,
    baseline: u64,
    current_share: f64,
    baseline_share: f64,
    /// `new`, `gone`, `up`, `down` or `same` (within chance).
    #[schema(value_type = String)]
    change: &'static str,
    /// How unlikely the two counts are under one rate, in bits; the list's order.
    surprise: f64,
}

/// Two sets of logs' patterns side by side, most surprising change first.
#[derive(Serialize, ToSchema)]
#[schema(as = PatternComparison)]
pub(crate) struct ComparisonJson {
    /// What each side is: the two ranges, or the two groups of sessions.
    current_label: String,
    baseline_label: String,
    current_total: u64,
    baseline_total: u64,
    results: Vec<ComparedJson>,
}

/// What changed: the search's patterns against a baseline (the range before, any range, or
/// the sessions without an error), ranked by how surprising each change is.
#[utoipa::path(get, path = "/api/projects/{project_id}/logs/patterns/compare", tag = "logs",
    params(super::ProjectPath, LogSearch, CompareParams), responses((status = 200, body = ComparisonJson)))]
pub(super) async fn compare(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ComparisonJson>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    // The comparison's own parameters, and the search's (which the search parser checks).
    let mut own = std::collections::HashMap::new();
    let search_query = {
        let mut rest = form_urlencoded::Serializer::new(String::new());
        for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            if ["against", "base_from", "base_to", "issue"].contains(&key.as_ref()) {
                own.insert(key.into_owned(), value.into_owned());
            } else {
                rest.append_pair(&key, &value);
            }
        }
        rest.finish()
    };
    let now_ns = state.app().now_ms().saturating_mul(1_000_000);
    let filter = search::parse(Some(&search_query), project_id, now_ns)?.filter;
    let (from, to) = (filter.from_ns, filter.to_ns);
    let time = |name: &str, default: i64| match own.get(name) {
        Some(v) => search::parse_time(v, now_ns).ok_or_else(|| {
            ApiError::bad_request(format!("invalid {name}: expected RFC 3339 or relative time like -1h"))
        }),
        None => Ok(default),
    };
    let (found, current_label, baseline_label) = match own.get("against").map_or("previous", String::as_str) {
        "previous" => {
            let (base_from, base_to) = (time("base_from", 2 * from - to)?, time("base_to", from)?);
            if base_from >= base_to {
                return Err(ApiError::bad_request(
                    "invalid base_from: the baseline must start before it ends",
                ));
            }
            let label = |a, b| format!("{} – {}", format_ns(a), format_ns(b));
            let found = state.app().compare_ranges(filter, base_from, base_to).await?;
            (found, label(from, to), label(base_from, base_to))
        }
        "sessions" => {
            let issue = own
                .get("issue")
                .map(|v| {
                    v.parse::<i64>().map_err(|_| ApiError::bad_request("invalid issue: expected an issue id"))
                })
                .transpose()?;
            let erred = match issue {
                Some(id) => format!("sessions that hit issue {id}"),
                None => "sessions with an error".to_owned(),
            };
            (state.app().compare_sessions(filter, issue).await?, erred, "other sessions".to_owned())
        }
        other => {
            return Err(ApiError::bad_request(format!("invalid against: {other:?} (previous or sessions)")));
        }
    };
    let results = found
        .patterns
        .into_iter()
        .map(|p| ComparedJson {
            pattern: PatternRef { id: p.id, template: p.template },
            current: p.current,
            baseline: p.baseline,
            current_share: p.current_share,
            baseline_share: p.baseline_share,
            change: match p.change {
                Change::New => "new",
                Change::Gone => "gone",
                Change::Up => "up",
                Change::Down => "down",
                Change::Same => "same",
            },
            surprise: p.surprise,
        })
        .collect();
    Ok(Json(ComparisonJson {
        current_label,
        baseline_label,
        current_total: found.current_total,
        baseline_total: found.baseline_total,
        results,
    }))
}
