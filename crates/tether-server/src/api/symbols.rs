//! What `posthog-cli sourcemap inject` and `sourcemap upload` call, unmodified
//! (`../shared/reference/posthog-cli-sourcemaps.md` has every request): releases, and the
//! check / start / PUT / finish steps of a symbol set upload. Authorized by a personal API
//! key like the rest of `/api`, except the PUT of the bytes, which the CLI sends without
//! one: it is authorized by the one-time secret in the URL that the start step handed out
//! (only its SHA-256 is stored), valid for an hour (`tether_app::symbols`, which keeps the
//! symbol store and the blob store in step).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tether_app::symbols::{Refused, SetUpload, Started};
use tether_model::ProjectId;
use tether_store::{ErrorKind, NewRelease, Release, Role};
use utoipa::{IntoParams, ToSchema};

use super::{authorize_project, authorize_project_as};
use crate::body::read_limited;
use crate::{ApiError, AppState};

/// Largest uploaded symbol set (compressed, as sent).
pub(crate) const MAX_SYMBOL_SET_BYTES: usize = 64 * 1024 * 1024;
/// Largest symbol set once decompressed (minified source plus map).
pub(crate) const MAX_SYMBOL_SET_DECODED: usize = 256 * 1024 * 1024;
/// Most symbol sets one request may name (the CLI sends batches of 50).
const MAX_SETS_PER_REQUEST: usize = 500;
const MAX_FIELD_CHARS: usize = 512;

/// An error in PostHog's shape (`type`, `code`, `detail`, `attr`), which the CLI shows and
/// matches codes in, plus Tether's own `error`.
#[derive(Serialize, ToSchema)]
pub(crate) struct CliError {
    /// `validation_error` or `server_error`.
    r#type: &'static str,
    code: String,
    detail: String,
    attr: Option<String>,
    error: String,
}

fn cli_error(status: StatusCode, code: &str, detail: impl Into<String>) -> Response {
    let detail = detail.into();
    let r#type = if status.is_client_error() { "validation_error" } else { "server_error" };
    let body = CliError { r#type, code: code.to_owned(), error: detail.clone(), detail, attr: None };
    (status, Json(body)).into_response()
}

/// A release: a build of the app that symbol sets belong to.
#[derive(Serialize, ToSchema)]
#[schema(as = Release)]
pub(crate) struct ReleaseJson {
    id: String,
    hash_id: String,
    version: String,
    /// The app's name (posthog-cli's `project`).
    project: String,
    metadata: Value,
    created_at_ms: i64,
}

impl From<Release> for ReleaseJson {
    fn from(r: Release) -> Self {
        ReleaseJson {
            metadata: serde_json::from_str::<Value>(&r.metadata).unwrap_or(Value::Null),
            id: r.id,
            hash_id: r.hash_id,
            version: r.version,
            project: r.name,
            created_at_ms: r.created_at_ms,
        }
    }
}

/// A text field the CLI sends: present, not empty, not huge, no control characters.
fn field<'a>(name: &str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.is_empty() || value.len() > MAX_FIELD_CHARS || value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "invalid {name}: expected 1 to {MAX_FIELD_CHARS} characters without control characters"
        )));
    }
    Ok(value)
}

fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T, ApiError> {
    body.map(|Json(v)| v).map_err(|e| ApiError::bad_request(e.body_text()))
}

/// The release with a hash id (posthog-cli looks a build up before creating it).
#[utoipa::path(get, path = "/api/projects/{project_id}/error_tracking/releases/hash/{hash_id}", tag = "source maps",
    params(super::ProjectPath, ("hash_id" = String, Path)), responses((status = 200, body = ReleaseJson)))]
pub(super) async fn release_by_hash(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, hash_id)): Path<(ProjectId, String)>,
) -> Result<Json<ReleaseJson>, ApiError> {
    authorize_project(&state, &headers, project_id).await?;
    let release = state.symbols().release_by_hash(project_id, &hash_id).await?;
    release.map(|r| Json(r.into())).ok_or_else(|| ApiError::not_found("no release with this hash_id"))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct NewReleaseBody {
    hash_id: String,
    version: String,
    project: String,
    #[serde(default)]
    metadata: Option<Value>,
}

/// A new release (members and admins); 400 `release_hash_in_use` when the hash id is taken.
#[utoipa::path(post, path = "/api/projects/{project_id}/error_tracking/releases", tag = "source maps",
    params(super::ProjectPath), request_body = NewReleaseBody,
    responses((status = 201, body = ReleaseJson), (status = 400, body = CliError)))]
pub(super) async fn create_release(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    body: Result<Json<NewReleaseBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    authorize_project_as(&state, &headers, project_id, Role::Member, "uploading source maps").await?;
    let body = json_body(body)?;
    let metadata = match body.metadata {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(m @ Value::Object(_)) if m.to_string().len() <= 16 * 1024 => m.to_string(),
        Some(_) => {
            return Err(ApiError::bad_request("invalid metadata: expected a JSON object up to 16 KiB"));
        }
    };
    let release = NewRelease {
        hash_id: field("hash_id", &body.hash_id)?.to_owned(),
        name: field("project", &body.project)?.to_owned(),
        version: field("version", &body.version)?.to_owned(),
        metadata,
    };
    match state.symbols().create_release(project_id, release).await {
        Ok(r) => Ok((StatusCode::CREATED, Json(ReleaseJson::from(r))).into_response()),
        Err(e) if e.kind() == ErrorKind::InvalidInput => Ok(cli_error(
            StatusCode::BAD_REQUEST,
            "release_hash_in_use",
            "a release with this hash_id exists",
        )),
        Err(e) => Err(e.into()),
    }
}

/// A symbol set the CLI is about to send: one minified file's source map.
#[derive(Deserialize, ToSchema)]
pub(crate) struct SetEntry {
    chunk_id: String,
    release_id: Option<String>,
    content_hash: String,
    content_length: u64,
}

impl From<SetEntry> for SetUpload {
    fn from(e: SetEntry) -> Self {
        SetUpload {
            chunk_id: e.chunk_id,
            release_id: e.release_id,
            content_hash: e.content_hash,
            content_length: e.content_length,
        }
    }
}

/// The answer to uploaded bytes that were refused.
fn refused(why: Refused) -> ApiError {
    match why {
        Refused::NotThisUrl => ApiError::forbidden("this upload URL is not valid"),
        Refused::Expired => ApiError::forbidden("this upload URL has expired; run the upload again"),
        Refused::Length { declared, got } => {
            ApiError::bad_request(format!("expected {declared} bytes as declared, got {got}"))
        }
        Refused::Unreadable(why) => ApiError::bad_request(why),
        Refused::Replaced => {
            ApiError::new(StatusCode::CONFLICT, "this symbol set was replaced by a newer upload")
        }
        Refused::Finished => ApiError::new(
            StatusCode::CONFLICT,
            "this symbol set is uploaded already: an upload URL works once (start a new upload to replace it)",
        ),
    }
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct CheckBody {
    symbol_sets: Vec<SetEntry>,
    #[serde(default)]
    force: bool,
}

fn check_entries(entries: &[SetEntry]) -> Result<(), ApiError> {
    if entries.len() > MAX_SETS_PER_REQUEST {
        return Err(ApiError::bad_request(format!("at most {MAX_SETS_PER_REQUEST} symbol sets per request")));
    }
    for e in entries {
        field("chunk_id", &e.chunk_id)?;
        field("content_hash", &e.content_hash)?;
        if e.content_length as usize > MAX_SYMBOL_SET_BYTES {
            return Err(ApiError::bad_request(format!(
                "symbol set {} is {} bytes, more than the limit of {MAX_SYMBOL_SET_BYTES}",
                e.chunk_id, e.content_length
            )));
        }
    }
    Ok(())
}

/// Chunks whose bytes must be sent.
#[derive(Serialize, ToSchema)]
pub(crate) struct CheckAnswer {
    chunk_ids_to_upload: Vec<String>,
}

/// Which chunks need their bytes sent: all when forced, else those whose finished set has
/// another content hash (or that have none).
#[utoipa::path(post, path = "/api/projects/{project_id}/error_tracking/symbol_sets/bulk_check_upload",
    tag = "source maps", params(super::ProjectPath), request_body = CheckBody,
    responses((status = 200, body = CheckAnswer)))]
pub(super) async fn bulk_check(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    body: Result<Json<CheckBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<CheckAnswer>, ApiError> {
    authorize_project_as(&state, &headers, project_id, Role::Member, "uploading source maps").await?;
    let body = json_body(body)?;
    check_entries(&body.symbol_sets)?;
    let sets: Vec<SetUpload> = body.symbol_sets.into_iter().map(SetUpload::from).collect();
    let chunk_ids_to_upload = state.app().chunks_to_upload(project_id, &sets, body.force).await?;
    Ok(Json(CheckAnswer { chunk_ids_to_upload }))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct StartBody {
    symbol_sets: Vec<SetEntry>,
}

/// Where to send one chunk's bytes (in both of the shapes posthog-cli versions read).
#[derive(Serialize, ToSchema)]
pub(crate) struct UploadTarget {
    symbol_set_id: String,
    presigned_put_url: String,
    presigned_url: PresignedUrl,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct PresignedUrl {
    url: String,
    /// Always empty: the upload is a PUT of the bytes.
    fields: std::collections::BTreeMap<String, String>,
}

/// Upload targets by chunk id.
#[derive(Serialize, ToSchema)]
pub(crate) struct StartAnswer {
    id_map: std::collections::BTreeMap<String, UploadTarget>,
}

/// Starts an upload per chunk and answers where to PUT its bytes.
#[utoipa::path(post, path = "/api/projects/{project_id}/error_tracking/symbol_sets/bulk_start_upload",
    tag = "source maps", params(super::ProjectPath), request_body = StartBody,
    responses((status = 200, body = StartAnswer), (status = 400, body = CliError)))]
pub(super) async fn bulk_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    body: Result<Json<StartBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    authorize_project_as(&state, &headers, project_id, Role::Member, "uploading source maps").await?;
    state.check_disk()?;
    let body = json_body(body)?;
    check_entries(&body.symbol_sets)?;
    let sets = body.symbol_sets.into_iter().map(SetUpload::from).collect();
    let started = match state.app().start_uploads(project_id, sets).await? {
        Started::Sets(started) => started,
        Started::UnknownRelease(release_id) => {
            return Ok(cli_error(
                StatusCode::BAD_REQUEST,
                "release_id_mismatch",
                format!("release {release_id} is not a release of project {project_id}"),
            ));
        }
    };
    let base = super::public_base(&state, &headers);
    let mut id_map = std::collections::BTreeMap::new();
    for (set, secret) in started {
        let url = format!(
            "{base}/api/projects/{project_id}/error_tracking/symbol_sets/{}/upload?secret={secret}",
            set.id
        );
        let target = UploadTarget {
            symbol_set_id: set.id,
            presigned_url: PresignedUrl { url: url.clone(), fields: Default::default() },
            presigned_put_url: url,
        };
        id_map.insert(set.chunk_id, target);
    }
    Ok(Json(StartAnswer { id_map }).into_response())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct UploadQuery {
    /// The one-time secret the start step put in the URL.
    secret: String,
}

/// `PUT …/symbol_sets/{id}/upload?secret=…`: the bytes, checked to be a readable symbol
/// set of the declared length, stored, and the set marked complete (it resolves frames from
/// now on; the CLI's finish step then only confirms it).
#[utoipa::path(put, path = "/api/projects/{project_id}/error_tracking/symbol_sets/{set_id}/upload",
    tag = "source maps", params(super::ProjectPath, ("set_id" = String, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "stored")), security(()))]
pub(super) async fn upload(
    State(state): State<AppState>,
    Path((project_id, set_id)): Path<(ProjectId, String)>,
    query: Result<Query<UploadQuery>, axum::extract::rejection::QueryRejection>,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let set = state.app().upload_target(project_id, &set_id, &query.secret).await?.map_err(refused)?;
    state.check_disk()?;
    let memory = state.request_memory();
    // Source maps are large and come from build machines: ten times a capture body's time.
    let mut limits = state.body_limits(MAX_SYMBOL_SET_BYTES, &memory);
    limits.timeout *= 10;
    let bytes = read_limited(body, limits).await?;
    state.app().receive_symbol_set(&set, bytes).await?.map_err(refused)?;
    Ok(StatusCode::OK)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct FinishBody {
    /// Content hash by symbol set id.
    content_hashes: std::collections::BTreeMap<String, String>,
}

/// How many uploads were confirmed.
#[derive(Serialize, ToSchema)]
pub(crate) struct FinishAnswer {
    finished: usize,
}

/// Confirms uploads are complete; a set whose bytes were never PUT is refused, by name.
#[utoipa::path(post, path = "/api/projects/{project_id}/error_tracking/symbol_sets/bulk_finish_upload",
    tag = "source maps", params(super::ProjectPath), request_body = FinishBody,
    responses((status = 200, body = FinishAnswer)))]
pub(super) async fn bulk_finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<ProjectId>,
    body: Result<Json<FinishBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<FinishAnswer>, ApiError> {
    authorize_project_as(&state, &headers, project_id, Role::Member, "uploading source maps").await?;
    let body = json_body(body)?;
    if body.content_hashes.len() > MAX_SETS_PER_REQUEST {
        return Err(ApiError::bad_request(format!("at most {MAX_SETS_PER_REQUEST} symbol sets per request")));
    }
    let unfinished =
        state.app().unfinished_symbol_set(project_id, body.content_hashes.keys().map(String::as_str)).await?;
    if let Some(set_id) = unfinished {
        return Err(ApiError::bad_request(format!("symbol set {set_id} was not uploaded")));
    }
    Ok(Json(FinishAnswer { finished: body.content_hashes.len() }))
}
