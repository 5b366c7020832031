//! The users suite: accounts, roles, login sessions and invitations.

use super::MetaStores;
use crate::{ErrorKind, KeyScope, Membership, NewApiKey, Role};

pub async fn users_and_sessions_expire(s: MetaStores) {
    assert_eq!(s.users.user_count().await.unwrap(), 0);
    let admin = s.users.create_user("admin", "hash-1", Role::Admin).await.unwrap();
    assert_eq!(admin.role, Role::Admin);
    let taken = s.users.create_user("admin", "hash-2", Role::Viewer).await.unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::InvalidInput);
    assert_eq!(s.users.user_by_name("admin").await.unwrap(), Some((admin.clone(), "hash-1".to_owned())));
    assert_eq!(s.users.user_by_name("nobody").await.unwrap(), None);
    assert_eq!(s.users.user(admin.id).await.unwrap(), Some(admin.clone()));
    s.users.create_session("t1", admin.id, "Firefox", 2000).await.unwrap();
    assert_eq!(s.users.session_user("t1", 1000).await.unwrap(), Some(admin.clone()));
    assert_eq!(s.users.session_user("t1", 2000).await.unwrap(), None, "expired");
    assert_eq!(s.users.session_user("nope", 1000).await.unwrap(), None);
    s.users.delete_session("t1").await.unwrap();
    assert_eq!(s.users.session_user("t1", 1000).await.unwrap(), None);
    // Expired sessions are purged; live ones stay.
    s.users.create_session("old", admin.id, "", 1500).await.unwrap();
    s.users.create_session("new", admin.id, "", 3000).await.unwrap();
    assert_eq!(s.users.delete_expired_sessions(2000).await.unwrap(), 1);
    assert_eq!(
        s.users.sessions(admin.id, 0).await.unwrap().len(),
        1,
        "only the live one is left, even unfiltered"
    );
    assert_eq!(s.users.session_user("new", 2000).await.unwrap(), Some(admin.clone()));
    assert_eq!(s.users.user_count().await.unwrap(), 1);
}

pub async fn a_new_password_ends_every_session(s: MetaStores) {
    let admin = s.users.create_user("admin", "hash-1", Role::Admin).await.unwrap();
    let other = s.users.create_user("grace", "hash-g", Role::Member).await.unwrap();
    for (token, user) in [("a1", admin.id), ("a2", admin.id), ("g1", other.id)] {
        s.users.create_session(token, user, "", 10_000).await.unwrap();
    }
    assert_eq!(s.users.session_user("a1", 1000).await.unwrap(), Some(admin.clone()), "cached, if cached");
    assert!(s.users.set_password("admin", "hash-2").await.unwrap());
    assert_eq!(s.users.user_by_name("admin").await.unwrap(), Some((admin, "hash-2".to_owned())));
    assert_eq!(s.users.session_user("a1", 1000).await.unwrap(), None, "the session ends at once");
    assert_eq!(s.users.session_user("a2", 1000).await.unwrap(), None);
    assert_eq!(s.users.session_user("g1", 1000).await.unwrap(), Some(other), "others keep theirs");
    assert!(!s.users.set_password("nobody", "hash").await.unwrap());
}

/// Roles change at once, also for a session already looked up; the last admin can be
/// neither demoted nor removed.
pub async fn roles_change_and_one_admin_always_remains(s: MetaStores) {
    let first = s.users.create_first_user("admin", "h").await.unwrap().unwrap();
    assert_eq!(first.role, Role::Admin);
    let grace = s.users.create_user("grace", "h", Role::Viewer).await.unwrap();
    s.users.create_session("g", grace.id, "", 10_000).await.unwrap();
    assert_eq!(s.users.session_user("g", 1000).await.unwrap().unwrap().role, Role::Viewer);
    assert_eq!(s.users.user(grace.id).await.unwrap().unwrap().role, Role::Viewer, "cached, if cached");
    assert_eq!(s.users.set_role(grace.id, Role::Member).await.unwrap().role, Role::Member);
    assert_eq!(s.users.session_user("g", 1000).await.unwrap().unwrap().role, Role::Member);
    assert_eq!(s.users.user(grace.id).await.unwrap().unwrap().role, Role::Member);
    let last = s.users.set_role(first.id, Role::Member).await.unwrap_err();
    assert_eq!(last.kind(), ErrorKind::InvalidInput, "the only admin");
    assert_eq!(s.users.delete_user(first.id).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    s.users.set_role(grace.id, Role::Admin).await.unwrap();
    assert_eq!(s.users.set_role(first.id, Role::Viewer).await.unwrap().role, Role::Viewer, "another admin");
    assert_eq!(s.users.set_role(999, Role::Admin).await.unwrap_err().kind(), ErrorKind::NotFound);
    let names: Vec<_> = s.users.users().await.unwrap().into_iter().map(|u| (u.username, u.role)).collect();
    assert_eq!(names, [("admin".to_owned(), Role::Viewer), ("grace".to_owned(), Role::Admin)]);
}

/// Two admins demoting each other at once: one succeeds, one admin remains.
pub async fn concurrent_demotions_leave_an_admin(s: MetaStores) {
    let a = s.users.create_user("a", "h", Role::Admin).await.unwrap();
    let b = s.users.create_user("b", "h", Role::Admin).await.unwrap();
    let (ra, rb) = tokio::join!(s.users.set_role(a.id, Role::Member), s.users.set_role(b.id, Role::Member));
    assert!(ra.is_ok() != rb.is_ok(), "exactly one demotion: {ra:?} {rb:?}");
    let admins = s.users.users().await.unwrap().into_iter().filter(|u| u.role == Role::Admin).count();
    assert_eq!(admins, 1);
}

/// A removed user's sessions and keys stop working at once; others' stay.
pub async fn removing_a_user_ends_their_sessions_and_keys(s: MetaStores) {
    let admin = s.users.create_user("admin", "h", Role::Admin).await.unwrap();
    let grace = s.users.create_user("grace", "h", Role::Member).await.unwrap();
    s.users.create_session("g", grace.id, "", 10_000).await.unwrap();
    s.users.create_session("a", admin.id, "", 10_000).await.unwrap();
    let key = |user_id, hash: &str| NewApiKey {
        name: "k".into(),
        scope: KeyScope::AllProjects,
        user_id: Some(user_id),
        secret_hash: hash.into(),
        prefix: "phx_".into(),
        expires_at_ms: None,
        role: None,
    };
    s.meta.create_api_key(key(grace.id, "kg")).await.unwrap();
    s.meta.create_api_key(key(admin.id, "ka")).await.unwrap();
    assert!(s.meta.api_key_by_hash("kg").await.unwrap().is_some(), "cached, if cached");
    assert!(s.users.session_user("g", 1000).await.unwrap().is_some(), "cached, if cached");
    s.users.delete_user(grace.id).await.unwrap();
    assert_eq!(s.users.session_user("g", 1000).await.unwrap(), None);
    assert_eq!(s.meta.api_key_by_hash("kg").await.unwrap(), None);
    assert_eq!(s.users.user(grace.id).await.unwrap(), None);
    assert!(s.users.session_user("a", 1000).await.unwrap().is_some());
    assert!(s.meta.api_key_by_hash("ka").await.unwrap().is_some());
    assert_eq!(s.users.delete_user(grace.id).await.unwrap_err().kind(), ErrorKind::NotFound);
    // The name is free again.
    s.users.create_user("grace", "h", Role::Viewer).await.unwrap();
}

pub async fn sessions_are_listed_and_ended_one_by_one(s: MetaStores) {
    let u = s.users.create_user("u", "h", Role::Viewer).await.unwrap();
    let other = s.users.create_user("o", "h", Role::Viewer).await.unwrap();
    let (laptop, phone) = ("aa".repeat(32), "bb".repeat(32));
    s.users.create_session(&laptop, u.id, "Firefox on Linux", 10_000).await.unwrap();
    s.users.create_session(&phone, u.id, "Safari on iOS", 10_000).await.unwrap();
    s.users.create_session(&"cc".repeat(32), u.id, "old", 500).await.unwrap();
    s.users.create_session(&"dd".repeat(32), other.id, "other", 10_000).await.unwrap();
    let listed = s.users.sessions(u.id, 1000).await.unwrap();
    let mut agents: Vec<_> = listed.iter().map(|l| l.user_agent.as_str()).collect();
    agents.sort();
    assert_eq!(agents, ["Firefox on Linux", "Safari on iOS"], "expired and others' are not listed");
    let id = listed.iter().find(|l| l.user_agent == "Safari on iOS").unwrap().id.clone();
    assert!(phone.starts_with(&id) && id.len() < phone.len(), "a prefix of the hash, not all of it");
    let err = s.users.delete_session_by_id(other.id, &id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "not someone else's session");
    assert!(s.users.session_user(&phone, 1000).await.unwrap().is_some(), "cached, if cached");
    s.users.delete_session_by_id(u.id, &id).await.unwrap();
    assert_eq!(s.users.session_user(&phone, 1000).await.unwrap(), None);
    assert!(s.users.session_user(&laptop, 1000).await.unwrap().is_some());
    assert_eq!(s.users.delete_session_by_id(u.id, "b").await.unwrap_err().kind(), ErrorKind::NotFound);
}

pub async fn invitations_are_used_once_and_expire(s: MetaStores) {
    let admin = s.users.create_user("admin", "h", Role::Admin).await.unwrap();
    s.users.create_user("taken", "h", Role::Viewer).await.unwrap();
    let inv = s.users.create_invite("i1", Role::Member, None, admin.id, 10_000).await.unwrap();
    assert_eq!((inv.role, inv.created_by, inv.expires_at_ms), (Role::Member, admin.id, 10_000));
    s.users.create_invite("i2", Role::Viewer, None, admin.id, 2_000).await.unwrap();
    assert_eq!(s.users.invites(1_000).await.unwrap().len(), 2);
    assert_eq!(
        s.users.invites(5_000).await.unwrap(),
        std::slice::from_ref(&inv),
        "the expired one is not listed"
    );
    assert_eq!(s.users.invite_by_hash("i1", 1_000).await.unwrap(), Some(inv.clone()));
    assert_eq!(s.users.invite_by_hash("i2", 5_000).await.unwrap(), None, "expired");
    let expired = s.users.accept_invite("i2", 5_000, "late", "h").await.unwrap_err();
    assert_eq!(expired.kind(), ErrorKind::NotFound);
    let dup = s.users.accept_invite("i1", 1_000, "taken", "h").await.unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::InvalidInput, "a taken name");
    assert!(s.users.invite_by_hash("i1", 1_000).await.unwrap().is_some(), "still usable after a taken name");
    let (a, b) = tokio::join!(
        s.users.accept_invite("i1", 1_000, "grace", "pw"),
        s.users.accept_invite("i1", 1_000, "mallory", "pw")
    );
    assert!(a.is_ok() != b.is_ok(), "one link, one account: {a:?} {b:?}");
    let user = a.or(b).unwrap();
    assert_eq!(user.role, Role::Member);
    assert_eq!(s.users.user_by_name(&user.username).await.unwrap().unwrap().1, "pw");
    assert_eq!(s.users.invite_by_hash("i1", 1_000).await.unwrap(), None, "used");
    assert_eq!(
        s.users.accept_invite("i1", 1_000, "again", "h").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let i3 = s.users.create_invite("i3", Role::Admin, None, admin.id, 10_000).await.unwrap();
    s.users.revoke_invite(i3.id).await.unwrap();
    assert_eq!(s.users.accept_invite("i3", 1_000, "x", "h").await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(s.users.revoke_invite(i3.id).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(s.users.user_count().await.unwrap(), 3);
}

/// Members see the projects they were granted, with a role each: an invitation names them
/// (or, naming none, grants every project there is), an admin changes them one by one, and
/// they go with the user. A demoted admin keeps seeing every project.
pub async fn memberships_are_granted_changed_and_removed(s: MetaStores) {
    let admin = s.users.create_user("admin", "h", Role::Admin).await.unwrap();
    let prod = s.meta.create_project("Production", "phc_prod").await.unwrap();
    let staging = s.meta.create_project("Staging", "phc_staging").await.unwrap();
    let member = |project: &crate::Project, role| Membership { project_id: project.id, role };
    let only_staging = [member(&staging, Role::Member), Membership { project_id: 9_999, role: Role::Admin }];
    let inv = s.users.create_invite("c", Role::Viewer, Some(&only_staging), admin.id, 10_000).await.unwrap();
    assert_eq!(inv.projects.as_deref(), Some(&only_staging[..]));
    assert_eq!(s.users.invites(1_000).await.unwrap(), [inv]);
    let contractor = s.users.accept_invite("c", 1_000, "contractor", "h").await.unwrap();
    assert_eq!(
        s.users.memberships(contractor.id).await.unwrap(),
        [member(&staging, Role::Member)],
        "the invited project only; one that does not exist grants nothing"
    );
    s.users.create_invite("e", Role::Member, None, admin.id, 10_000).await.unwrap();
    let everyone = s.users.accept_invite("e", 1_000, "everyone", "h").await.unwrap();
    assert_eq!(
        s.users.memberships(everyone.id).await.unwrap(),
        [member(&prod, Role::Member), member(&staging, Role::Member)]
    );

    s.users.set_membership(contractor.id, prod.id, Some(Role::Viewer)).await.unwrap();
    s.users.set_membership(contractor.id, staging.id, Some(Role::Admin)).await.unwrap();
    assert_eq!(
        s.users.memberships(contractor.id).await.unwrap(),
        [member(&prod, Role::Viewer), member(&staging, Role::Admin)],
        "seen at once, also where cached"
    );
    s.users.set_membership(contractor.id, prod.id, None).await.unwrap();
    assert_eq!(s.users.memberships(contractor.id).await.unwrap(), [member(&staging, Role::Admin)]);
    let unknown = s.users.set_membership(contractor.id, 9_999, Some(Role::Viewer)).await.unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    let nobody = s.users.set_membership(9_999, prod.id, Some(Role::Viewer)).await.unwrap_err();
    assert_eq!(nobody.kind(), ErrorKind::NotFound);

    // A changed instance role leaves a member's projects as they were.
    s.users.set_role(contractor.id, Role::Member).await.unwrap();
    assert_eq!(s.users.memberships(contractor.id).await.unwrap(), [member(&staging, Role::Admin)]);
    // A demoted admin becomes a member of every project, with the new role.
    let second = s.users.create_user("second", "h", Role::Admin).await.unwrap();
    assert_eq!(s.users.memberships(second.id).await.unwrap(), []);
    s.users.set_role(second.id, Role::Viewer).await.unwrap();
    assert_eq!(
        s.users.memberships(second.id).await.unwrap(),
        [member(&prod, Role::Viewer), member(&staging, Role::Viewer)]
    );

    s.users.delete_user(contractor.id).await.unwrap();
    assert_eq!(s.users.memberships(contractor.id).await.unwrap(), []);
    // A new account under the same id space starts with nothing.
    let fresh = s.users.create_user("contractor", "h", Role::Viewer).await.unwrap();
    assert_eq!(s.users.memberships(fresh.id).await.unwrap(), []);
}
