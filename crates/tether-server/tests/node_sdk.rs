//! The Node stamping recipe (examples/node: Express + AsyncLocalStorage + the OpenTelemetry
//! logs SDK) against an in-process Tether: request logs carry the caller's session and person.
//! Needs `npm ci` in examples/node (scripts/test runs it).

mod common;

use std::path::Path;

use common::TestServer;

#[tokio::test]
async fn node_express_recipe_stamps_request_logs() {
    let installed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/node/node_modules").exists();
    if !tether_store::conformance::prerequisite(installed, "`npm ci` in examples/node") {
        return;
    }
    let s = TestServer::start().await;
    let hint = "did `npm ci` run in examples/node?";
    let args = [s.base.as_str(), s.token.as_str(), common::CALLER_TRACE];
    common::run_sdk_script(Path::new("node"), "tests/sdk/node/recipe.mjs", &args, hint).await;
    common::assert_recipe_stamped(
        &s,
        "express",
        &["checkout started", "payment declined by the card processor"],
    )
    .await;
}
