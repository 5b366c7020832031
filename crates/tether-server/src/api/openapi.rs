//! The OpenAPI document of `/api`, made from the handlers' annotations and the answer types
//! (utoipa), served at `/api/openapi.json`. The UI's TypeScript types are generated from the
//! same document (`web/src/generated/`, see `scripts/generate-api-types`), and a test fails
//! when the committed copy is not what the server describes.

use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error answer of the API: one line saying what was wrong.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    error: String,
}

/// The two ways to call the API: a personal API key (`Authorization: Bearer phx_…`) or the
/// UI's login cookie.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))),
        );
    }
}

/// What the document says besides its routes (which `super::router` adds, route by route).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tether API",
        description = "Logs, errors, session replays and people of a Tether server. Errors are \
            answered with a 4xx or 5xx status and `{\"error\": \"<one line>\"}`."
    ),
    modifiers(&Security),
    security(("api_key" = []), ("session" = [])),
    components(schemas(ErrorBody))
)]
pub(crate) struct ApiDoc;

/// Names each operation `{tag}_{handler}` (`logs_list`, `alerts_list`): utoipa names it
/// after the handler alone, and handlers of different modules share names, which client
/// generators refuse.
pub(crate) fn unique_operation_ids(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for item in doc.paths.paths.values_mut() {
        for op in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch]
            .into_iter()
            .flatten()
        {
            let tag =
                op.tags.as_ref().and_then(|t| t.first()).map(|t| t.replace(' ', "_")).unwrap_or_default();
            let name = op.operation_id.take().unwrap_or_default();
            op.operation_id = Some(format!("{tag}_{name}"));
        }
    }
    doc
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "the OpenAPI 3.1 document of this API", content_type = "application/json")))]
pub(super) async fn openapi_json(
    axum::Extension(doc): axum::Extension<std::sync::Arc<utoipa::openapi::OpenApi>>,
) -> Json<utoipa::openapi::OpenApi> {
    Json(doc.as_ref().clone())
}

#[cfg(test)]
mod tests {
    /// Where the UI's copy of the document is committed; its TypeScript types are generated
    /// from it.
    const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/src/generated/openapi.json");

    /// The committed document is what the server describes: a change of an answer type
    /// fails here until `scripts/generate-api-types` has been run (which also regenerates
    /// the TypeScript the UI imports).
    #[test]
    fn the_committed_api_document_is_current() {
        let (_, doc) = super::super::documented_routes();
        let current = doc.to_pretty_json().expect("the document serializes") + "\n";
        if std::env::var_os("TETHER_WRITE_API_DOCUMENT").is_some() {
            std::fs::write(COMMITTED, &current).expect("write the API document");
        }
        let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
        assert!(
            committed == current,
            "web/src/generated/openapi.json is not what the server describes: run scripts/generate-api-types"
        );
    }
}
