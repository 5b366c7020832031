//! The metadata suite: projects, API keys, node numbers and issues.

use super::MetaStores;
use crate::{
    ErrorKind, IssueQuery, IssueStatus, KeyScope, NewApiKey, Privacy, ProjectSettings, Retention, Role,
};

pub async fn metadata_projects_and_tokens(s: MetaStores) {
    assert!(s.meta.projects().await.unwrap().is_empty());
    let p = s.meta.create_project("Default", "phc_one").await.unwrap();
    let q = s.meta.create_project("Shop", "phc_two").await.unwrap();
    assert_ne!(p.id, q.id);
    let dup = s.meta.create_project("Dup", "phc_one").await.unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::InvalidInput);
    assert_eq!(s.meta.project_by_token("phc_two").await.unwrap(), Some(q.clone()));
    assert_eq!(s.meta.project_by_token("phc_nope").await.unwrap(), None);
    assert_eq!(s.meta.project(p.id).await.unwrap(), Some(p.clone()));
    assert_eq!(s.meta.projects().await.unwrap(), [p.clone(), q]);
    assert_eq!(p.settings, ProjectSettings::default());
    let retention = Retention { logs_days: 7, events_days: 365, recordings_days: 14 };
    let privacy = Privacy {
        mask_all_inputs: false,
        mask_text_selector: ".secret, [data-private]".into(),
        block_selector: "#card-form".into(),
    };
    let off = ProjectSettings { session_recording: false, retention, privacy, ..ProjectSettings::default() };
    assert_eq!(s.meta.set_project_settings(p.id, off.clone()).await.unwrap().settings, off);
    assert_eq!(s.meta.project(p.id).await.unwrap().unwrap().settings, off);
    assert_eq!(s.meta.set_project_settings(999, off).await.unwrap_err().kind(), ErrorKind::NotFound);
    let renamed = s.meta.rename_project(p.id, "Production").await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.token.as_str()), ("Production", p.token.as_str()));
    assert_eq!(s.meta.project_by_token(&p.token).await.unwrap().unwrap().name, "Production");
    assert_eq!(s.meta.rename_project(999, "x").await.unwrap_err().kind(), ErrorKind::NotFound);
    s.meta.ping().await.unwrap();
}

pub async fn metadata_api_keys_by_hash_and_revocation(s: MetaStores) {
    let p = s.meta.create_project("Default", "phc_x").await.unwrap();
    let admin = s
        .meta
        .create_api_key(NewApiKey {
            name: "admin".into(),
            scope: KeyScope::AllProjects,
            user_id: None,
            secret_hash: "h1".into(),
            prefix: "phx_ab".into(),
            expires_at_ms: None,
            role: None,
        })
        .await
        .unwrap();
    let scoped = s
        .meta
        .create_api_key(NewApiKey {
            name: "ci".into(),
            scope: KeyScope::Project(p.id),
            user_id: Some(7),
            secret_hash: "h2".into(),
            prefix: "phx_cd".into(),
            expires_at_ms: Some(9_000),
            role: Some(Role::Viewer),
        })
        .await
        .unwrap();
    assert_eq!(s.meta.api_key_by_hash("h1").await.unwrap(), Some(admin.clone()));
    let found = s.meta.api_key_by_hash("h2").await.unwrap().unwrap();
    assert_eq!((found.scope, found.user_id, found.last_used_at_ms), (KeyScope::Project(p.id), Some(7), None));
    assert_eq!(
        (found.expires_at_ms, found.role),
        (Some(9_000), Some(Role::Viewer)),
        "its expiry and role cap"
    );
    assert_eq!((admin.expires_at_ms, admin.role), (None, None));
    s.meta.touch_api_key(scoped.id, 5_000).await.unwrap();
    let listed = s.meta.api_keys().await.unwrap();
    assert_eq!(listed.iter().find(|k| k.id == scoped.id).unwrap().last_used_at_ms, Some(5_000));
    assert_eq!(s.meta.api_keys().await.unwrap().len(), 2);
    s.meta.revoke_api_key(scoped.id).await.unwrap();
    assert_eq!(s.meta.api_key_by_hash("h2").await.unwrap(), None);
    assert_eq!(s.meta.api_keys().await.unwrap(), [admin]);
    assert_eq!(s.meta.revoke_api_key(scoped.id).await.unwrap_err().kind(), ErrorKind::NotFound);
}

pub async fn issues_reopen_when_seen_again(s: MetaStores) {
    let p = s.meta.create_project("P", "phc_issues").await.unwrap();
    let id = s.issues.record_occurrence(p.id, "fp1", "TypeError", "x is undefined", 1000).await.unwrap();
    assert_eq!(s.issues.record_occurrence(p.id, "fp1", "TypeError", "x", 500).await.unwrap(), id);
    let other = s.issues.record_occurrence(p.id, "fp2", "RangeError", "y", 2000).await.unwrap();
    assert_ne!(id, other);
    let issue = s.issues.issue(p.id, id).await.unwrap().unwrap();
    assert_eq!((issue.first_seen_ms, issue.last_seen_ms, issue.status), (500, 1000, IssueStatus::Active));
    assert_eq!(
        s.issues.set_issue_status(p.id, id, IssueStatus::Resolved).await.unwrap().status,
        IssueStatus::Resolved
    );
    let before =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    s.issues.record_occurrence(p.id, "fp1", "TypeError", "x", 3000).await.unwrap();
    let reopened = s.issues.issue(p.id, id).await.unwrap().unwrap();
    assert_eq!(reopened.status, IssueStatus::Active, "reopened");
    assert!(
        reopened.reopened_at_ms.is_some_and(|at| at >= before - 1000),
        "by the store's clock: {reopened:?}"
    );
    assert_eq!(s.issues.issue(p.id, other).await.unwrap().unwrap().reopened_at_ms, None);
    s.issues.set_issue_status(p.id, other, IssueStatus::Suppressed).await.unwrap();
    s.issues.record_occurrence(p.id, "fp2", "RangeError", "y", 4000).await.unwrap();
    assert_eq!(s.issues.issue(p.id, other).await.unwrap().unwrap().status, IssueStatus::Suppressed);
    let list = |q: IssueQuery| {
        let issues = s.issues.clone();
        async move { issues.issues(q).await.unwrap().iter().map(|i| i.id).collect::<Vec<_>>() }
    };
    let all = IssueQuery { project_id: p.id, limit: 100, ..Default::default() };
    assert_eq!(list(all.clone()).await, [other, id], "most recently seen first");
    assert_eq!(list(IssueQuery { limit: 1, ..all.clone() }).await, [other]);
    assert_eq!(list(IssueQuery { status: Some(IssueStatus::Active), ..all.clone() }).await, [id]);
    assert_eq!(
        list(IssueQuery { text: Some("RANGE".into()), ..all.clone() }).await,
        [other],
        "name, any case"
    );
    assert_eq!(list(IssueQuery { text: Some("undefined".into()), ..all.clone() }).await, [id], "description");
    assert!(list(IssueQuery { text: Some("x_is".into()), ..all.clone() }).await.is_empty(), "_ is literal");
    assert_eq!(list(IssueQuery { ids: Some(vec![id, 9999]), ..all.clone() }).await, [id]);
    assert!(list(IssueQuery { ids: Some(vec![]), ..all.clone() }).await.is_empty());
    // More ids than one statement may bind (every session with an error can name one).
    let mut many: Vec<i64> = (0..100_000).map(|i| 1_000_000 + i).collect();
    many.insert(50_000, id);
    many.push(other);
    assert_eq!(list(IssueQuery { ids: Some(many.clone()), ..all.clone() }).await, [other, id]);
    assert_eq!(list(IssueQuery { ids: Some(many), limit: 1, ..all.clone() }).await, [other]);
    assert!(list(IssueQuery { project_id: p.id + 1, ..all }).await.is_empty(), "other project");
    let missing = s.issues.set_issue_status(p.id, 9999, IssueStatus::Resolved).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

pub async fn node_numbers_are_never_reused(s: MetaStores) {
    let claims = (0..8).map(|_| {
        let meta = s.meta.clone();
        async move { meta.claim_node_number().await.unwrap() }
    });
    let mut got = futures::future::join_all(claims).await;
    got.push(s.meta.claim_node_number().await.unwrap());
    let n = got.len();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), n, "{got:?}");
}

pub async fn concurrent_occurrences_of_a_new_fingerprint_share_one_issue(s: MetaStores) {
    let p = s.meta.create_project("P", "phc_race").await.unwrap();
    let calls = (0..8).map(|i| {
        let issues = s.issues.clone();
        async move { issues.record_occurrence(p.id, "fp-race", "TypeError", "boom", 1000 + i).await.unwrap() }
    });
    let mut ids = futures::future::join_all(calls).await;
    ids.dedup();
    assert_eq!(ids.len(), 1);
    let issue = s.issues.issue(p.id, ids[0]).await.unwrap().unwrap();
    assert_eq!((issue.first_seen_ms, issue.last_seen_ms), (1000, 1007));
}

/// Two processes starting against one empty database at once: one default project, one
/// admin user.
pub async fn first_start_happens_once(s: MetaStores) {
    let starts = (0..4).map(|i| {
        let (meta, users) = (s.meta.clone(), s.users.clone());
        async move {
            let key = NewApiKey {
                name: "admin".into(),
                scope: KeyScope::AllProjects,
                user_id: None,
                secret_hash: format!("hash-{i}"),
                prefix: "phx_".into(),
                expires_at_ms: None,
                role: None,
            };
            let project = meta.create_first_project("Default", &format!("phc_start{i}"), key).await.unwrap();
            let user = users.create_first_user("admin", &format!("pw-{i}")).await.unwrap();
            (project.is_some(), user.is_some())
        }
    });
    let outcomes = futures::future::join_all(starts).await;
    assert_eq!(outcomes.iter().filter(|(p, _)| *p).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|(_, u)| *u).count(), 1, "{outcomes:?}");
    assert_eq!(s.meta.projects().await.unwrap().len(), 1);
    assert_eq!(s.meta.api_keys().await.unwrap().len(), 1);
    assert_eq!(s.users.user_count().await.unwrap(), 1);
}
