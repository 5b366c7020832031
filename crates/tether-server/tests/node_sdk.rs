//! The Node stamping recipe (examples/node: Express + AsyncLocalStorage + the OpenTelemetry
//! logs SDK) against an in-process Tether: request logs carry the caller's session and person.
//! Needs `npm ci` in examples/node (scripts/test runs it).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::TestServer;

#[tokio::test]
async fn node_express_recipe_stamps_request_logs() {
    let s = TestServer::start().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/sdk/node/recipe.mjs");
    let output = tokio::process::Command::new("node").arg(&script).args([&s.base, &s.token]).output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("node finished")
        .expect("node runs");
    assert!(
        output.status.success(),
        "recipe.mjs failed (did `npm ci` run in examples/node?):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    common::assert_recipe_stamped(
        &s,
        "express",
        &["checkout started", "payment declined by the card processor"],
    )
    .await;
}
