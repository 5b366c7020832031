//! The source map upload protocol of posthog-cli, step by step with its hostile cases, and
//! frames resolved through an uploaded map. The real CLI and a real bundler run in
//! `tests/browser/sourcemaps.test.mjs`; the symbol sets here are made with the same
//! libraries the CLI uses (`sourcemap`, `posthog-symbol-data`).

mod common;

use common::TestServer;
use posthog_symbol_data::{SourceAndMap, write_symbol_data};
use serde_json::{Value, json};
use sourcemap::SourceMapBuilder;

const ORIGINAL: &str =
    "// checkout\nfunction explodeCheckout(card) {\n  throw new Error('card declined');\n}\n";

/// A "minified" build of [`ORIGINAL`] after `prefix` (a rebuild moves everything), its
/// symbol set, and the 1-based column of the `throw` in the build.
fn build(prefix: &str) -> (Vec<u8>, u32) {
    let minified = format!("{prefix}function a(b){{throw new Error('card declined')}}");
    let at = prefix.len() as u32;
    let mut map = SourceMapBuilder::new(Some("bundle.js"));
    let src = map.add_source("../src/checkout.js");
    map.set_source_contents(src, Some(ORIGINAL));
    map.add(0, at, 1, 0, Some("../src/checkout.js"), None, false);
    map.add(0, at + 9, 1, 9, Some("../src/checkout.js"), Some("explodeCheckout"), false);
    map.add(0, at + 14, 2, 2, Some("../src/checkout.js"), None, false);
    let mut json = Vec::new();
    map.into_sourcemap().to_writer(&mut json).unwrap();
    let data = SourceAndMap { minified_source: minified, sourcemap: String::from_utf8(json).unwrap() };
    (write_symbol_data(data).unwrap(), at + 15)
}

impl TestServer {
    async fn cli(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/api/projects/{}/error_tracking/{path}", self.base, self.project_id);
        let mut request = self.client.request(method, url).bearer_auth(&self.api_key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let resp = request.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    /// Uploads one chunk the way the CLI does; returns the symbol set id.
    async fn upload(&self, chunk_id: &str, bytes: &[u8]) -> String {
        let entry = json!([{"chunk_id": chunk_id, "release_id": null, "content_hash": "h", "content_length": bytes.len()}]);
        let (status, started) = self
            .cli(reqwest::Method::POST, "symbol_sets/bulk_start_upload", Some(json!({"symbol_sets": entry})))
            .await;
        assert_eq!(status, 200, "{started}");
        let slot = &started["id_map"][chunk_id];
        let put =
            self.client.put(slot["presigned_put_url"].as_str().unwrap()).body(bytes.to_vec()).send().await;
        assert_eq!(put.unwrap().status(), 200);
        let id = slot["symbol_set_id"].as_str().unwrap().to_owned();
        let finish = json!({"content_hashes": {&id: "h"}, "upload_attempt_id": "x", "upload_run_id": "y"});
        let (status, _) =
            self.cli(reqwest::Method::POST, "symbol_sets/bulk_finish_upload", Some(finish)).await;
        assert_eq!(status, 200);
        id
    }

    /// An uncaught exception thrown at column `colno` of the chunk; returns the ids of every
    /// issue there is afterwards.
    async fn throw_in(&self, chunk_id: &str, colno: u32, uuid: &str) -> Vec<i64> {
        let frame = json!({"platform": "web:javascript", "filename": "https://shop.example/bundle.js",
            "function": "a", "lineno": 1, "colno": colno, "in_app": true, "chunk_id": chunk_id});
        let event = json!({"event": "$exception", "uuid": uuid, "distinct_id": "u1",
            "properties": {"$session_id": "s1", "$exception_list": [{"type": "Error", "value": "card declined",
                "mechanism": {"handled": false}, "stacktrace": {"type": "raw", "frames": [frame]}}]}});
        let resp = self
            .client
            .post(format!("{}/batch/", self.base))
            .json(&json!({"api_key": self.token, "batch": [event]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let (_, issues) = self.api("error_tracking/issues").await;
        let mut ids: Vec<i64> =
            issues["results"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
        ids.sort();
        ids
    }
}

#[tokio::test]
async fn releases_are_registered_once_and_found_by_hash() {
    let s = TestServer::start().await;
    let release = json!({"hash_id": "abc", "version": "1f3e9c2", "project": "shop-web",
        "metadata": {"git": {"branch": "main"}}});
    let (status, made) = s.cli(reqwest::Method::POST, "releases", Some(release.clone())).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!((made["hash_id"].as_str(), made["project"].as_str()), (Some("abc"), Some("shop-web")));
    assert_eq!(made["id"].as_str().unwrap().len(), 36);
    let (status, again) = s.cli(reqwest::Method::POST, "releases", Some(release)).await;
    assert_eq!(status, 400);
    assert_eq!(again["code"], "release_hash_in_use");
    let (status, found) = s.cli(reqwest::Method::GET, "releases/hash/abc", None).await;
    assert_eq!((status, &found["id"]), (200, &made["id"]));
    assert_eq!(s.cli(reqwest::Method::GET, "releases/hash/nope", None).await.0, 404);
    let (status, bad) = s
        .cli(reqwest::Method::POST, "releases", Some(json!({"hash_id": "", "version": "1", "project": "p"})))
        .await;
    assert_eq!(status, 400, "{bad}");
    // A release id from nowhere is refused with the code the CLI retries on.
    let entry = json!([{"chunk_id": "c", "release_id": "00000000-0000-0000-0000-000000000000",
        "content_hash": "h", "content_length": 10}]);
    let (status, refused) = s
        .cli(reqwest::Method::POST, "symbol_sets/bulk_start_upload", Some(json!({"symbol_sets": entry})))
        .await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("release_id_mismatch")));
}

#[tokio::test]
async fn uploads_need_their_url_secret_the_declared_length_and_a_real_symbol_set() {
    let s = TestServer::start().await;
    let (bytes, _) = build("");
    let entry = json!([{"chunk_id": "chunk-1", "release_id": null, "content_hash": "h", "content_length": bytes.len()}]);
    let (status, check) = s
        .cli(
            reqwest::Method::POST,
            "symbol_sets/bulk_check_upload",
            Some(json!({"symbol_sets": entry, "force": false})),
        )
        .await;
    assert_eq!((status, check["chunk_ids_to_upload"].clone()), (200, json!(["chunk-1"])));
    let (_, started) = s
        .cli(reqwest::Method::POST, "symbol_sets/bulk_start_upload", Some(json!({"symbol_sets": entry})))
        .await;
    let slot = &started["id_map"]["chunk-1"];
    let url = slot["presigned_put_url"].as_str().unwrap();
    assert_eq!(slot["presigned_url"]["url"], url);
    let id = slot["symbol_set_id"].as_str().unwrap();

    let finish = json!({"content_hashes": {id: "h"}});
    let (status, early) =
        s.cli(reqwest::Method::POST, "symbol_sets/bulk_finish_upload", Some(finish.clone())).await;
    assert_eq!(status, 400);
    assert!(early["error"].as_str().unwrap().contains("was not uploaded"), "{early}");

    let put = |url: String, body: Vec<u8>| s.client.put(url).body(body).send();
    let forged = url.rsplit_once("secret=").unwrap().0.to_owned() + "secret=00";
    assert_eq!(put(forged, bytes.clone()).await.unwrap().status(), 403);
    let short = put(url.to_owned(), bytes[..10].to_vec()).await.unwrap();
    assert_eq!(short.status(), 400);
    assert!(short.text().await.unwrap().contains("as declared"));
    let garbage = put(url.to_owned(), vec![b'x'; bytes.len()]).await.unwrap();
    assert_eq!(garbage.status(), 400);
    assert!(garbage.text().await.unwrap().contains("not a posthog-cli symbol set"));

    assert_eq!(put(url.to_owned(), bytes.clone()).await.unwrap().status(), 200);
    assert_eq!(s.cli(reqwest::Method::POST, "symbol_sets/bulk_finish_upload", Some(finish)).await.0, 200);
    // The URL worked once: a copy of it cannot replace the uploaded map.
    let again = put(url.to_owned(), bytes.clone()).await.unwrap();
    assert_eq!(again.status(), 409);
    let again: Value = again.json().await.unwrap();
    assert!(again["error"].as_str().unwrap().contains("an upload URL works once"), "{again}");
    let (_, check) = s
        .cli(
            reqwest::Method::POST,
            "symbol_sets/bulk_check_upload",
            Some(json!({"symbol_sets": entry, "force": false})),
        )
        .await;
    assert_eq!(check["chunk_ids_to_upload"], json!([]), "the same content is not asked for again");
    // Without a key, nothing but the PUT is open.
    let anonymous = s
        .client
        .post(format!(
            "{}/api/projects/{}/error_tracking/symbol_sets/bulk_check_upload",
            s.base, s.project_id
        ))
        .json(&json!({"symbol_sets": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn frames_resolve_through_the_uploaded_map_and_a_rebuild_keeps_the_issue() {
    let s = TestServer::start().await;
    // Before any map: the frame stays as sent.
    let (_, colno) = build("");
    let before = s.throw_in("chunk-v1", colno, "0194d8a4-0000-7000-8000-000000000001").await;
    let [issue] = before[..] else { panic!("one issue: {before:?}") };
    let (_, detail) = s.api(&format!("error_tracking/issues/{issue}")).await;
    assert_eq!(detail["latest_exception"][0]["stacktrace"]["frames"][0]["function"], "a");

    // A map uploaded later applies to what came before, at read time.
    let (bytes, _) = build("");
    s.upload("chunk-v1", &bytes).await;
    let (_, detail) = s.api(&format!("error_tracking/issues/{issue}")).await;
    let frame = &detail["latest_exception"][0]["stacktrace"]["frames"][0];
    assert_eq!(frame["function"], "explodeCheckout", "{frame}");
    assert_eq!(frame["filename"], "../src/checkout.js");
    assert_eq!(frame["lineno"], 3);
    assert_eq!(frame["context_line"], "  throw new Error('card declined');");
    assert_eq!(frame["pre_context"], json!(["// checkout", "function explodeCheckout(card) {"]));
    assert_eq!(frame["post_context"], json!(["}"]));
    assert_eq!(frame["raw"]["function"], "a");
    assert_eq!(frame["raw"]["colno"], colno);
    let (_, events) = s.api("sessions/s1/events").await;
    assert_eq!(events["results"][0]["exception"]["stacktrace"]["frames"][0]["function"], "explodeCheckout");

    // From now on the same error groups by its original frames (the one that came before
    // its map was grouped by the minified frames it had then)...
    let with_map = s.throw_in("chunk-v1", colno, "0194d8a4-0000-7000-8000-000000000002").await;
    assert_eq!(with_map.len(), 2, "{with_map:?}");
    // ...and a rebuild (new chunk, every position and name moved) with its map uploaded
    // joins that issue instead of opening another.
    let (bytes, colno) = build("var z=1;var y=2;");
    s.upload("chunk-v2", &bytes).await;
    let rebuilt = s.throw_in("chunk-v2", colno, "0194d8a4-0000-7000-8000-000000000003").await;
    assert_eq!(rebuilt, with_map, "a rebuild does not split the issue");
}
