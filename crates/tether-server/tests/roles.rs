//! Roles, checked by the server: every mutating endpoint × every kind of caller (viewer,
//! member and admin sessions, a member's API key, an admin's project-scoped key), and the
//! people flows around them (invitations, removal, password change, sessions).

mod common;

use common::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Clone)]
enum Auth {
    Cookie(String),
    Key(String),
}

struct Caller {
    name: &'static str,
    auth: Auth,
    /// The person behind the caller (themselves, or a key's owner): they make its keys.
    owner: Auth,
    /// 0 viewer, 1 member, 2 admin.
    rank: u8,
    instance_wide: bool,
}

impl Caller {
    fn is_person(&self) -> bool {
        matches!(self.auth, Auth::Cookie(_))
    }
}

async fn call(s: &TestServer, method: Method, path: &str, auth: &Auth, body: Option<Value>) -> (u16, Value) {
    let mut req = s.client.request(method, format!("{}{path}", s.base));
    req = match auth {
        Auth::Cookie(c) => req.header("cookie", c),
        Auth::Key(k) => req.bearer_auth(k),
    };
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn cookie_of(resp: &reqwest::Response) -> String {
    resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned()
}

struct Team<'a> {
    s: &'a TestServer,
    admin: Auth,
    n: std::cell::Cell<u32>,
}

impl Team<'_> {
    fn operator(&self) -> Auth {
        Auth::Key(self.s.api_key.clone())
    }

    /// A new person with `role` through an invitation: their id and session cookie.
    async fn person(&self, role: &str) -> (i64, String) {
        let (status, invite) =
            call(self.s, Method::POST, "/api/invites", &self.admin, Some(json!({ "role": role }))).await;
        assert_eq!(status, 201, "{invite}");
        let token = invite["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
        self.n.set(self.n.get() + 1);
        let username = format!("{role}{}", self.n.get());
        let resp = self
            .s
            .client
            .post(format!("{}/api/invite/{token}/accept", self.s.base))
            .json(&json!({ "username": username, "password": "a long password" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let cookie = cookie_of(&resp);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["user"]["role"], role);
        (body["user"]["id"].as_i64().unwrap(), cookie)
    }

    async fn invite_id(&self) -> i64 {
        let (_, v) =
            call(self.s, Method::POST, "/api/invites", &self.admin, Some(json!({"role": "viewer"}))).await;
        v["invite"]["id"].as_i64().unwrap()
    }

    async fn alert_id(&self) -> i64 {
        let alert =
            json!({"name": "a", "webhook_url": "http://127.0.0.1:9/hook", "rule": {"kind": "new_issue"}});
        let path = format!("/api/projects/{}/alerts", self.s.project_id);
        let (status, v) = call(self.s, Method::POST, &path, &self.admin, Some(alert)).await;
        assert_eq!(status, 201, "{v}");
        v["id"].as_i64().unwrap()
    }

    /// A key of `auth`'s own (for a project-scoped key: in its project).
    async fn key_of(&self, auth: &Auth) -> i64 {
        let path = format!("/api/projects/{}/api_keys", self.s.project_id);
        let (status, v) = call(self.s, Method::POST, &path, auth, Some(json!({"name": "k"}))).await;
        assert_eq!(status, 201, "{v}");
        v["key"]["id"].as_i64().unwrap()
    }
}

/// One mutating endpoint: its route as written in the router, how to call it, the least
/// role it needs, whether it needs an instance-wide caller or a person (not a key), and
/// the status of an allowed call.
struct Row {
    method: Method,
    route: &'static str,
    rank: u8,
    instance: bool,
    person: bool,
    ok: u16,
}

fn row(method: Method, route: &'static str, rank: u8, ok: u16) -> Row {
    Row { method, route, rank, instance: false, person: false, ok }
}

/// Mutating routes with no role to check, and why.
const NOT_ROLE_CHECKED: &[(&str, &str)] = &[
    ("POST /api/login", "anyone may try to log in (throttled)"),
    ("POST /api/logout", "ends the caller's own cookie, if any"),
    ("POST /api/invite/{token}/accept", "the invitation's secret is the authorization"),
    (
        "PUT /api/projects/{project_id}/error_tracking/symbol_sets/{set_id}/upload",
        "the one-time upload secret from bulk_start (a member's) is the authorization",
    ),
];

fn matrix() -> Vec<Row> {
    let (v, m, a) = (0, 1, 2);
    vec![
        Row { instance: false, person: true, ..row(Method::POST, "/api/me/password", v, 400) },
        Row { person: true, ..row(Method::DELETE, "/api/me/sessions/{session_id}", v, 404) },
        Row { instance: true, ..row(Method::PATCH, "/api/users/{user_id}", a, 200) },
        Row { instance: true, ..row(Method::DELETE, "/api/users/{user_id}", a, 204) },
        Row { instance: true, ..row(Method::PUT, "/api/users/{user_id}/projects/{project_id}", a, 204) },
        Row { instance: true, ..row(Method::POST, "/api/invites", a, 201) },
        Row { instance: true, ..row(Method::DELETE, "/api/invites/{invite_id}", a, 204) },
        Row { instance: true, ..row(Method::POST, "/api/projects", a, 201) },
        row(Method::PATCH, "/api/projects/{project_id}", a, 200),
        Row { person: true, ..row(Method::POST, "/api/projects/{project_id}/api_keys", v, 201) },
        Row { instance: true, person: true, ..row(Method::POST, "/api/api_keys", v, 201) },
        // Revoking one's own key (another's is checked after the matrix).
        row(Method::DELETE, "/api/api_keys/{key_id}", v, 204),
        row(Method::PATCH, "/api/projects/{project_id}/settings", a, 200),
        row(Method::PATCH, "/api/projects/{project_id}/error_tracking/issues/{issue_id}", m, 200),
        row(Method::POST, "/api/projects/{project_id}/error_tracking/releases", m, 400),
        row(Method::POST, "/api/projects/{project_id}/error_tracking/symbol_sets/bulk_check_upload", m, 400),
        row(Method::POST, "/api/projects/{project_id}/error_tracking/symbol_sets/bulk_start_upload", m, 400),
        row(Method::POST, "/api/projects/{project_id}/error_tracking/symbol_sets/bulk_finish_upload", m, 400),
        row(Method::POST, "/api/projects/{project_id}/alerts", a, 201),
        row(Method::PUT, "/api/projects/{project_id}/alerts/{alert_id}", a, 200),
        row(Method::DELETE, "/api/projects/{project_id}/alerts/{alert_id}", a, 204),
    ]
}

/// The mutating routes of the API, read from the OpenAPI document it serves (which the
/// router is built from, route by route): a new one that is neither in the matrix nor in
/// [`NOT_ROLE_CHECKED`] fails the test.
async fn mutating_routes(s: &TestServer) -> Vec<String> {
    let doc: Value =
        s.client.get(format!("{}/api/openapi.json", s.base)).send().await.unwrap().json().await.unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("the document lists paths") {
        for method in ["post", "patch", "put", "delete"] {
            if item.get(method).is_some() {
                routes.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(routes.len() > 20, "the document names too few mutating routes: {routes:?}");
    routes
}

async fn an_issue(s: &TestServer) -> i64 {
    let event = json!({"api_key": s.token, "batch": [{"event": "$exception",
        "uuid": "0194d8a4-0000-7000-8000-0000000000aa", "distinct_id": "u1",
        "properties": {"$exception_list": [{"type": "TypeError", "value": "x is undefined"}]}}]});
    let resp = s.client.post(format!("{}/batch/", s.base)).json(&event).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    for _ in 0..100 {
        let (_, issues) = s.api("error_tracking/issues").await;
        if let Some(id) = issues["results"][0]["id"].as_i64() {
            return id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no issue was made");
}

#[tokio::test]
async fn every_mutating_endpoint_checks_the_callers_role() {
    let s = TestServer::start().await;
    let admin = Auth::Cookie(s.admin_cookie().await);
    let team = Team { s: &s, admin: admin.clone(), n: Default::default() };
    let (_, viewer) = team.person("viewer").await;
    let (_, member) = team.person("member").await;
    let member_key = {
        let (status, v) = call(
            &s,
            Method::POST,
            "/api/api_keys",
            &Auth::Cookie(member.clone()),
            Some(json!({"name": "ci"})),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["key"]["project_id"], Value::Null);
        Auth::Key(v["secret"].as_str().unwrap().to_owned())
    };
    let scoped_admin_key = {
        let path = format!("/api/projects/{}/api_keys", s.project_id);
        let (_, v) = call(&s, Method::POST, &path, &admin, Some(json!({"name": "one project"}))).await;
        Auth::Key(v["secret"].as_str().unwrap().to_owned())
    };
    let issue = an_issue(&s).await;
    let (viewer, member) = (Auth::Cookie(viewer), Auth::Cookie(member));
    let person = |name, auth: &Auth, rank| Caller {
        name,
        auth: auth.clone(),
        owner: auth.clone(),
        rank,
        instance_wide: true,
    };
    let callers = [
        person("viewer", &viewer, 0),
        person("member", &member, 1),
        person("admin", &admin, 2),
        Caller {
            name: "member's key",
            auth: member_key,
            owner: member.clone(),
            rank: 1,
            instance_wide: true,
        },
        Caller {
            name: "admin's project key",
            auth: scoped_admin_key,
            owner: admin.clone(),
            rank: 2,
            instance_wide: false,
        },
    ];

    let rows = matrix();
    let mut covered: Vec<String> = rows.iter().map(|r| format!("{} {}", r.method, r.route)).collect();
    covered.extend(NOT_ROLE_CHECKED.iter().map(|(r, _)| r.to_string()));
    for route in mutating_routes(&s).await {
        assert!(covered.contains(&route), "{route} is in neither the role matrix nor NOT_ROLE_CHECKED");
    }

    let mut checked = 0;
    for row in &rows {
        for caller in &callers {
            let mut path = row.route.replace("{project_id}", &s.project_id.to_string());
            path = path.replace("{session_id}", "0000000000000000").replace("{issue_id}", &issue.to_string());
            if path.contains("{user_id}") {
                path = path.replace("{user_id}", &team.person("viewer").await.0.to_string());
            }
            if path.contains("{invite_id}") {
                path = path.replace("{invite_id}", &team.invite_id().await.to_string());
            }
            if path.contains("{alert_id}") {
                path = path.replace("{alert_id}", &team.alert_id().await.to_string());
            }
            if path.contains("{key_id}") {
                path = path.replace("{key_id}", &team.key_of(&caller.owner).await.to_string());
            }
            let body = match row.route {
                "/api/me/password" => json!({"current_password": "not it", "new_password": "whatever long"}),
                "/api/users/{user_id}" | "/api/users/{user_id}/projects/{project_id}" => {
                    json!({"role": "member"})
                }
                "/api/invites" => json!({"role": "viewer"}),
                "/api/projects" | "/api/projects/{project_id}" => {
                    json!({"name": format!("by {}", caller.name)})
                }
                "/api/projects/{project_id}/api_keys" | "/api/api_keys" => json!({"name": "k"}),
                "/api/projects/{project_id}/settings" => json!({"retention": {"logs_days": 20}}),
                "/api/projects/{project_id}/error_tracking/issues/{issue_id}" => {
                    json!({"status": "resolved"})
                }
                r if r.ends_with("/alerts") || r.ends_with("{alert_id}") => {
                    json!({"name": "b", "webhook_url": "http://127.0.0.1:9/hook", "rule": {"kind": "new_issue"}})
                }
                _ => json!({}),
            };
            let allowed = caller.rank >= row.rank
                && (!row.instance || caller.instance_wide)
                && (!row.person || caller.is_person());
            let (status, answer) = call(&s, row.method.clone(), &path, &caller.auth, Some(body)).await;
            let expected = if allowed { row.ok } else { 403 };
            assert_eq!(status, expected, "{} {path} as {}: {answer}", row.method, caller.name);
            if !allowed {
                assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "a reason: {answer}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, rows.len() * callers.len());

    // Another's key: only an instance-wide admin may revoke it.
    let someone = Auth::Cookie(team.person("viewer").await.1);
    for caller in &callers {
        let other = team.key_of(&someone).await;
        let (status, _) =
            call(&s, Method::DELETE, &format!("/api/api_keys/{other}"), &caller.auth, None).await;
        let allowed = caller.rank == 2 && caller.instance_wide;
        assert_eq!(status, if allowed { 204 } else { 403 }, "revoking another's key as {}", caller.name);
    }
}

#[tokio::test]
async fn people_are_invited_change_roles_and_removed_at_once() {
    let s = TestServer::start().await;
    let admin = Auth::Cookie(s.admin_cookie().await);
    let team = Team { s: &s, admin: admin.clone(), n: Default::default() };

    // An invitation link works once, and says what it offers before that.
    let (_, invite) = call(&s, Method::POST, "/api/invites", &admin, Some(json!({"role": "member"}))).await;
    let url = invite["url"].as_str().unwrap();
    assert!(url.starts_with(&s.base) && url.contains("/invite/tin_"), "{url}");
    let token = url.rsplit('/').next().unwrap();
    let shown: Value =
        s.client.get(format!("{}/api/invite/{token}", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!((shown["role"].as_str(), shown["invited_by"].as_str()), (Some("member"), Some("admin")));
    let accept = |username: &str, password: &str| {
        s.client
            .post(format!("{}/api/invite/{token}/accept", s.base))
            .json(&json!({"username": username, "password": password}))
            .send()
    };
    assert_eq!(accept("grace", "short").await.unwrap().status(), 400, "a too short password");
    assert_eq!(accept("admin", "a long password").await.unwrap().status(), 400, "a taken name");
    assert_eq!(accept("bad name!", "a long password").await.unwrap().status(), 400);
    let ok = accept("grace", "a long password").await.unwrap();
    assert_eq!(ok.status(), 200, "the link still works after refused attempts");
    let grace = Auth::Cookie(cookie_of(&ok));
    let again = accept("mallory", "a long password").await.unwrap();
    assert_eq!(again.status(), 404, "used");
    let (_, me) = call(&s, Method::GET, "/api/me", &grace, None).await;
    assert_eq!(
        (me["user"]["username"].as_str(), me["user"]["role"].as_str()),
        (Some("grace"), Some("member"))
    );
    let grace_id = me["user"]["id"].as_i64().unwrap();

    // A member reads but may not manage people.
    let (status, _) =
        call(&s, Method::GET, &format!("/api/projects/{}/logs", s.project_id), &grace, None).await;
    assert_eq!(status, 200);
    let (status, refused) = call(&s, Method::GET, "/api/users", &grace, None).await;
    assert_eq!(status, 403);
    assert_eq!(refused["error"], "managing people needs the admin role; you are a member");

    // Made admin: at once.
    let (status, _) =
        call(&s, Method::PATCH, &format!("/api/users/{grace_id}"), &admin, Some(json!({"role": "admin"})))
            .await;
    assert_eq!(status, 200);
    let (status, users) = call(&s, Method::GET, "/api/users", &grace, None).await;
    assert_eq!(status, 200);
    assert_eq!(users["results"].as_array().unwrap().len(), 2);
    let (status, bad) =
        call(&s, Method::PATCH, &format!("/api/users/{grace_id}"), &admin, Some(json!({"role": "owner"})))
            .await;
    assert_eq!(
        (status, bad["error"].as_str()),
        (400, Some("invalid role \"owner\": expected admin, member or viewer"))
    );

    // Removed: their session and their key stop working at their next request.
    let (_, key) = call(&s, Method::POST, "/api/api_keys", &grace, Some(json!({"name": "laptop"}))).await;
    let grace_key = Auth::Key(key["secret"].as_str().unwrap().to_owned());
    assert_eq!(call(&s, Method::GET, "/api/me", &grace_key, None).await.0, 200);
    let (_, keys) = call(&s, Method::GET, "/api/api_keys", &admin, None).await;
    let listed = keys["results"].as_array().unwrap().iter().find(|k| k["name"] == "laptop").unwrap().clone();
    assert_eq!(listed["username"], "grace");
    assert!(listed["last_used_at_ms"].as_i64().is_some(), "used once: {listed}");
    let (status, _) = call(&s, Method::DELETE, &format!("/api/users/{grace_id}"), &admin, None).await;
    assert_eq!(status, 204);
    let (status, gone) = call(&s, Method::GET, "/api/me", &grace, None).await;
    assert_eq!((status, gone["error"].as_str()), (401, Some("Session expired: log in again")));
    assert_eq!(call(&s, Method::GET, "/api/me", &grace_key, None).await.0, 401);

    // The last admin stays.
    let (_, me) = call(&s, Method::GET, "/api/me", &admin, None).await;
    let admin_id = me["user"]["id"].as_i64().unwrap();
    let (status, last) =
        call(&s, Method::PATCH, &format!("/api/users/{admin_id}"), &admin, Some(json!({"role": "viewer"})))
            .await;
    assert_eq!(status, 400, "{last}");
    let (status, _) = call(&s, Method::DELETE, &format!("/api/users/{admin_id}"), &admin, None).await;
    assert_eq!(status, 400, "not oneself");
    let _ = team.person("viewer").await;
}

#[tokio::test]
async fn a_person_changes_their_password_and_ends_their_other_sessions() {
    let s = TestServer::start().await;
    let first = s.admin_cookie().await;
    let second = Auth::Cookie(s.admin_cookie().await);
    let first = Auth::Cookie(first);
    let (_, sessions) = call(&s, Method::GET, "/api/me/sessions", &first, None).await;
    let sessions = sessions["results"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let other = sessions.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(call(&s, Method::DELETE, &format!("/api/me/sessions/{other}"), &first, None).await.0, 204);
    assert_eq!(call(&s, Method::GET, "/api/me", &second, None).await.0, 401, "ended from the other one");

    let third = Auth::Cookie(s.admin_cookie().await);
    let change = |current: &str| json!({"current_password": current, "new_password": "a brand new password"});
    let (status, wrong) = call(&s, Method::POST, "/api/me/password", &first, Some(change("not it"))).await;
    assert_eq!((status, wrong["error"].as_str()), (400, Some("the current password is wrong")));
    let resp = s
        .client
        .post(format!("{}/api/me/password", s.base))
        .header(
            "cookie",
            match &first {
                Auth::Cookie(c) => c.as_str(),
                Auth::Key(_) => unreachable!(),
            },
        )
        .json(&change(&s.admin_password))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let renewed = Auth::Cookie(cookie_of(&resp));
    assert_eq!(call(&s, Method::GET, "/api/me", &renewed, None).await.0, 200, "this browser goes on");
    assert_eq!(call(&s, Method::GET, "/api/me", &third, None).await.0, 401, "others end");
    assert_eq!(call(&s, Method::GET, "/api/me", &first, None).await.0, 401, "the old cookie too");
    assert_eq!(s.login(&s.admin_password).await.status(), 401);
    assert_eq!(s.login("a brand new password").await.status(), 200);
}

/// A stolen session cannot guess the password faster than the login page allows.
#[tokio::test]
async fn guessing_the_current_password_is_throttled_like_logins() {
    let s = TestServer::start().await;
    let me = Auth::Cookie(s.admin_cookie().await);
    let guess = json!({"current_password": "a guess", "new_password": "a brand new password"});
    for _ in 0..5 {
        assert_eq!(call(&s, Method::POST, "/api/me/password", &me, Some(guess.clone())).await.0, 400);
    }
    let (status, refused) = call(&s, Method::POST, "/api/me/password", &me, Some(guess)).await;
    assert_eq!(status, 429);
    assert!(refused["error"].as_str().unwrap().starts_with("too many failed logins"), "{refused}");
}

/// Every route of the API that names a project, read from the OpenAPI document: each
/// method with its path.
async fn project_routes(s: &TestServer) -> Vec<(Method, String)> {
    let doc: Value =
        s.client.get(format!("{}/api/openapi.json", s.base)).send().await.unwrap().json().await.unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("the document lists paths") {
        if !path.starts_with("/api/projects/{project_id}") {
            continue;
        }
        for method in ["get", "post", "patch", "put", "delete"] {
            if item.get(method).is_some() {
                routes.push((Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), path.clone()));
            }
        }
    }
    assert!(routes.len() > 25, "the document names too few project routes: {routes:?}");
    routes
}

/// A contractor invited to Staging only: Production does not exist for them (404 on every
/// route that names it, also through their key), their role is per project, and access
/// granted or taken away works at their next request.
#[tokio::test]
async fn a_member_of_one_project_cannot_see_another() {
    let s = TestServer::start().await;
    let admin = Auth::Cookie(s.admin_cookie().await);
    let production = s.project_id;
    let (status, staging) =
        call(&s, Method::POST, "/api/projects", &admin, Some(json!({"name": "Staging"}))).await;
    assert_eq!(status, 201, "{staging}");
    let staging = staging["id"].as_i64().unwrap();

    let only_staging = json!({"role": "viewer", "projects": [{"project_id": staging, "role": "viewer"}]});
    let (status, invite) = call(&s, Method::POST, "/api/invites", &admin, Some(only_staging)).await;
    assert_eq!(status, 201, "{invite}");
    assert_eq!(invite["invite"]["projects"], json!([{"project_id": staging, "role": "viewer"}]));
    let token = invite["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let resp = s
        .client
        .post(format!("{}/api/invite/{token}/accept", s.base))
        .json(&json!({"username": "contractor", "password": "a long password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let contractor = Auth::Cookie(cookie_of(&resp));
    let id = resp.json::<Value>().await.unwrap()["user"]["id"].as_i64().unwrap();
    let (_, key) = call(&s, Method::POST, "/api/api_keys", &contractor, Some(json!({"name": "ci"}))).await;
    let key = Auth::Key(key["secret"].as_str().unwrap().to_owned());

    let (_, listed) = call(&s, Method::GET, "/api/projects", &contractor, None).await;
    let listed: Vec<_> =
        listed["results"].as_array().unwrap().iter().map(|p| (p["id"].clone(), p["role"].clone())).collect();
    assert_eq!(listed, [(json!(staging), json!("viewer"))], "Production is not listed");

    let routes = project_routes(&s).await;
    for caller in [&contractor, &key] {
        for (method, route) in &routes {
            // Every other parameter is 1: a number where one is expected, a text elsewhere.
            // The upload URL's one-time secret is its authorization: a wrong one is refused
            // alike for every project.
            let expected = if route.ends_with("/upload") { 403 } else { 404 };
            let path_of = |project: i64| {
                let mut path = route.replace("{project_id}", &project.to_string());
                while let (Some(open), Some(close)) = (path.find('{'), path.find('}')) {
                    path.replace_range(open..=close, "1");
                }
                if expected == 403 {
                    path.push_str("?secret=a-guess");
                }
                path
            };
            let (path, missing) = (path_of(production), path_of(999_999));
            let (status, answer) = call(&s, method.clone(), &path, caller, Some(json!({}))).await;
            assert_eq!(status, expected, "{method} {path}: {answer}");
            let (status, other) = call(&s, method.clone(), &missing, caller, Some(json!({}))).await;
            assert_eq!(status, expected, "{method} {missing}");
            let (answer, other) = (answer.to_string(), other.to_string());
            assert_eq!(
                answer.replace(&production.to_string(), "N"),
                other.replace("999999", "N"),
                "the same answer"
            );
        }
    }
    assert_eq!(call(&s, Method::GET, &format!("/api/projects/{staging}/logs"), &key, None).await.0, 200);

    // A webhook URL is a secret (Slack's, Discord's): only its origin is shown to non-admins.
    let alert = json!({"name": "a", "webhook_url": "http://127.0.0.1:9/hooks/T000/B000/secret", "rule": {"kind": "new_issue"}});
    let alerts = format!("/api/projects/{staging}/alerts");
    assert_eq!(call(&s, Method::POST, &alerts, &admin, Some(alert)).await.0, 201);
    let (_, seen) = call(&s, Method::GET, &alerts, &contractor, None).await;
    assert_eq!(seen["results"][0]["webhook_url"], "http://127.0.0.1:9/…");
    let (_, seen) = call(&s, Method::GET, &alerts, &admin, None).await;
    assert_eq!(seen["results"][0]["webhook_url"], "http://127.0.0.1:9/hooks/T000/B000/secret");

    // Roles are per project: an admin of Production, still a viewer of Staging.
    let (s, admin) = (&s, &admin);
    let grant = |project: i64, role: Value| async move {
        let path = format!("/api/users/{id}/projects/{project}");
        call(s, Method::PUT, &path, admin, Some(json!({"role": role}))).await
    };
    assert_eq!(grant(production, json!("admin")).await.0, 204);
    let settings = json!({"retention": {"logs_days": 9}});
    for (project, expected) in [(production, 200), (staging, 403)] {
        let path = format!("/api/projects/{project}/settings");
        let (status, answer) = call(s, Method::PATCH, &path, &contractor, Some(settings.clone())).await;
        assert_eq!(status, expected, "{path}: {answer}");
    }
    let (_, users) = call(s, Method::GET, "/api/users", admin, None).await;
    let shown = users["results"].as_array().unwrap().iter().find(|u| u["id"] == id).unwrap().clone();
    assert_eq!(
        shown["projects"],
        json!([{"project_id": production, "role": "admin"}, {"project_id": staging, "role": "viewer"}])
    );
    assert_eq!(grant(production, Value::Null).await.0, 204);
    assert_eq!(
        call(s, Method::GET, &format!("/api/projects/{production}/logs"), &key, None).await.0,
        404,
        "at once"
    );
    let (status, bad) = grant(staging, json!("owner")).await;
    assert_eq!(
        (status, bad["error"].as_str()),
        (400, Some("invalid role \"owner\": expected admin, member or viewer"))
    );
    assert_eq!(grant(999_999, json!("viewer")).await.0, 404);

    // A key may be capped below its owner's role, and made to expire.
    let capped = json!({"name": "dashboard", "role": "viewer", "expires_in_days": 30});
    let (status, made) = call(s, Method::POST, "/api/api_keys", admin, Some(capped)).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["key"]["role"], "viewer");
    let expires =
        made["key"]["expires_at_ms"].as_i64().unwrap() - made["key"]["created_at_ms"].as_i64().unwrap();
    assert!((expires - 30 * 86_400_000).abs() < 60_000, "in 30 days: {made}");
    let dashboard = Auth::Key(made["secret"].as_str().unwrap().to_owned());
    let path = format!("/api/projects/{production}/settings");
    let (status, refused) =
        call(s, Method::PATCH, &path, &dashboard, Some(json!({"retention": {"logs_days": 8}}))).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (403, Some("changing project settings needs the admin role; you are a viewer"))
    );
    assert_eq!(
        call(s, Method::GET, &format!("/api/projects/{production}/logs"), &dashboard, None).await.0,
        200
    );
    for bad in [json!({"name": "k", "expires_in_days": 0}), json!({"name": "k", "role": "owner"})] {
        assert_eq!(call(s, Method::POST, "/api/api_keys", admin, Some(bad)).await.0, 400);
    }

    // Keys do not make keys, not even the operator's.
    for caller in [&key, &Team { s, admin: admin.clone(), n: Default::default() }.operator()] {
        let (status, answer) =
            call(s, Method::POST, "/api/api_keys", caller, Some(json!({"name": "child"}))).await;
        assert_eq!(status, 403, "{answer}");
        let path = format!("/api/projects/{staging}/api_keys");
        assert_eq!(call(s, Method::POST, &path, caller, Some(json!({"name": "child"}))).await.0, 403);
    }
}
