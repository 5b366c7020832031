//! The UI's TypeScript types of API answers (`web/src/api.ts`, the logs page's
//! `web/src/pages/logs/query.ts`) against what the server
//! really sends, on real data (captured posthog-js traffic and an OTLP log): every field a
//! type requires is sent, and every field sent is declared — so the UI's types cannot drift
//! from the server's answers unnoticed.

mod common;

use std::collections::BTreeMap;

use common::{FIXTURE_SESSION, FIXTURE_TOKEN, TestServer, otlp_json, send_fixtures};
use serde_json::Value;

/// The interfaces of a TypeScript file: name → fields (name, optional).
fn interfaces(source: &str) -> BTreeMap<String, Vec<(String, bool)>> {
    let mut found = BTreeMap::new();
    let mut current: Option<(String, Vec<(String, bool)>)> = None;
    for line in source.lines() {
        if let Some(rest) = line.strip_prefix("export interface ") {
            let name = rest.split([' ', '{']).next().unwrap().to_owned();
            current = Some((name, Vec::new()));
        } else if line == "}" {
            if let Some((name, fields)) = current.take() {
                found.insert(name, fields);
            }
        } else if let Some((_, fields)) = current.as_mut() {
            let member = line.trim();
            if member.starts_with("/*") || member.starts_with('*') || member.starts_with("//") {
                continue;
            }
            if let Some((name, _)) = member.split_once(':') {
                let optional = name.ends_with('?');
                fields.push((name.trim_end_matches('?').to_owned(), optional));
            }
        }
    }
    found
}

/// What is wrong between the TypeScript type `name` and an answer `value` of the server.
fn mismatches(types: &BTreeMap<String, Vec<(String, bool)>>, name: &str, value: &Value) -> Vec<String> {
    let fields = types.get(name).unwrap_or_else(|| panic!("the UI has no interface {name}"));
    let object = value.as_object().unwrap_or_else(|| panic!("{name}: not an object: {value}"));
    let mut wrong = Vec::new();
    for (field, optional) in fields {
        if !optional && !object.contains_key(field) {
            wrong.push(format!("{name}.{field} is required by the UI but not sent"));
        }
    }
    for key in object.keys() {
        if !fields.iter().any(|(f, _)| f == key) {
            wrong.push(format!("{name}.{key} is sent but not declared in the UI"));
        }
    }
    wrong
}

#[tokio::test]
async fn the_uis_types_match_the_servers_answers() {
    let s = TestServer::start_with_token(FIXTURE_TOKEN).await;
    send_fixtures(&s).await;
    let now_ns = common::now_ns();
    let log = otlp_json("shop-api", now_ns, &[("payment declined", &[("sessionId", FIXTURE_SESSION)])]);
    assert_eq!(s.send_json(&log).await.0, 200);
    let mut types = BTreeMap::new();
    for file in ["api.ts", "pages/logs/query.ts"] {
        let path = format!("{}/../../web/src/{file}", env!("CARGO_MANIFEST_DIR"));
        types.extend(interfaces(&std::fs::read_to_string(path).unwrap()));
    }

    let (_, page) = s.api("logs?from=-30d").await;
    let (_, one) = s.api(&format!("logs/{}", page["results"][0]["id"].as_str().unwrap())).await;
    let (_, histogram) = s.api("logs/histogram?from=-30d").await;
    let (_, facets) = s.api("logs/facets?from=-30d").await;
    let (_, summary) = s.api("logs/summary?from=-30d").await;
    let (_, issues) = s.api("error_tracking/issues").await;
    let (_, recordings) = s.api("recordings").await;
    let (_, recording) = s.api(&format!("recordings/{FIXTURE_SESSION}")).await;
    let login = s.login(&s.admin_password).await;
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let get = async |path: &str| {
        let resp = s.client.get(format!("{}{path}", s.base)).header("cookie", &cookie).send().await.unwrap();
        resp.json::<Value>().await.unwrap()
    };
    let me = get("/api/me").await;
    let projects = get("/api/projects").await;

    let mut wrong = Vec::new();
    let mut check = |name: &str, value: &Value| wrong.extend(mismatches(&types, name, value));
    check("LogPage", &page);
    check("Log", &page["results"][0]);
    check("Log", &one);
    check("Histogram", &histogram);
    check("Facets", &facets);
    check("Summary", &summary);
    check("Issue", &issues["results"][0]);
    check("Recording", &recordings["results"][0]);
    check("Recording", &recording);
    check("User", &me["user"]);
    check("Project", &projects["results"][0]);
    assert!(wrong.is_empty(), "the UI's types and the server disagree:\n{}", wrong.join("\n"));
}
