//! The users suite: accounts and login sessions.

use super::MetaStores;
use crate::ErrorKind;

pub async fn users_and_sessions_expire(s: MetaStores) {
    assert_eq!(s.users.user_count().await.unwrap(), 0);
    let admin = s.users.create_user("admin", "hash-1").await.unwrap();
    assert_eq!(s.users.create_user("admin", "hash-2").await.unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(s.users.user_by_name("admin").await.unwrap(), Some((admin.clone(), "hash-1".to_owned())));
    assert_eq!(s.users.user_by_name("nobody").await.unwrap(), None);
    s.users.create_session("t1", admin.id, 2000).await.unwrap();
    assert_eq!(s.users.session_user("t1", 1000).await.unwrap(), Some(admin.clone()));
    assert_eq!(s.users.session_user("t1", 2000).await.unwrap(), None, "expired");
    assert_eq!(s.users.session_user("nope", 1000).await.unwrap(), None);
    s.users.delete_session("t1").await.unwrap();
    assert_eq!(s.users.session_user("t1", 1000).await.unwrap(), None);
    assert_eq!(s.users.user_count().await.unwrap(), 1);
}

pub async fn a_new_password_ends_every_session(s: MetaStores) {
    let admin = s.users.create_user("admin", "hash-1").await.unwrap();
    let other = s.users.create_user("grace", "hash-g").await.unwrap();
    for (token, user) in [("a1", admin.id), ("a2", admin.id), ("g1", other.id)] {
        s.users.create_session(token, user, 10_000).await.unwrap();
    }
    assert_eq!(s.users.session_user("a1", 1000).await.unwrap(), Some(admin.clone()), "cached, if cached");
    assert!(s.users.set_password("admin", "hash-2").await.unwrap());
    assert_eq!(s.users.user_by_name("admin").await.unwrap(), Some((admin, "hash-2".to_owned())));
    assert_eq!(s.users.session_user("a1", 1000).await.unwrap(), None, "the session ends at once");
    assert_eq!(s.users.session_user("a2", 1000).await.unwrap(), None);
    assert_eq!(s.users.session_user("g1", 1000).await.unwrap(), Some(other), "others keep theirs");
    assert!(!s.users.set_password("nobody", "hash").await.unwrap());
}
