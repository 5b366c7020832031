//! The persons suite: identify merges and property operations.

use serde_json::json;
use tether_model::PersonUpdate;

use super::MetaStores;

pub async fn persons_merge_on_identify_and_keep_set_once(s: MetaStores) {
    let p = s.meta.create_project("P", "phc_persons").await.unwrap();
    let update =
        |distinct: &str, merge: &[&str], set: serde_json::Value, set_once: serde_json::Value| PersonUpdate {
            project_id: p.id,
            distinct_id: distinct.into(),
            merge_from: merge.iter().map(|m| (*m).to_owned()).collect(),
            set: set.as_object().cloned().unwrap_or_default(),
            set_once: set_once.as_object().cloned().unwrap_or_default(),
            unset: Vec::new(),
            timestamp_ms: 1000,
        };
    s.persons
        .apply_person_update(update("anon-1", &[], json!({"browser": "Chrome"}), json!({"first_url": "/a"})))
        .await
        .unwrap();
    s.persons
        .apply_person_update(update(
            "user@example.com",
            &["anon-1"],
            json!({"email": "user@example.com"}),
            json!({"first_url": "/b"}),
        ))
        .await
        .unwrap();
    let person = s.persons.person(p.id, "anon-1").await.unwrap().expect("merged person");
    assert_eq!(person.distinct_ids, ["anon-1", "user@example.com"]);
    assert_eq!(person.properties["email"], "user@example.com");
    assert_eq!(person.properties["browser"], "Chrome");
    assert_eq!(person.properties["first_url"], "/a", "set_once keeps the first value");
    let mut unset = update("user@example.com", &[], json!({}), json!({}));
    unset.unset = vec!["browser".into()];
    s.persons.apply_person_update(unset).await.unwrap();
    let person = s.persons.person(p.id, "user@example.com").await.unwrap().unwrap();
    assert!(!person.properties.contains_key("browser"));
    assert!(s.persons.person(p.id, "nobody").await.unwrap().is_none());
}

/// Two requests carrying the first event of one new visitor, handled at once (by two
/// processes, say): one person, with both requests' properties.
pub async fn concurrent_updates_of_a_new_person_make_one_person(s: MetaStores) {
    let p = s.meta.create_project("P", "phc_person_race").await.unwrap();
    let calls = (0..6).map(|i| {
        let persons = s.persons.clone();
        let mut set = serde_json::Map::new();
        set.insert(format!("k{i}"), json!(i));
        let update = PersonUpdate {
            project_id: p.id,
            distinct_id: "new-visitor".into(),
            merge_from: if i % 2 == 0 { vec![format!("anon-{i}")] } else { Vec::new() },
            set,
            timestamp_ms: 1000,
            ..Default::default()
        };
        async move { persons.apply_person_update(update).await.unwrap() }
    });
    futures::future::join_all(calls).await;
    let person = s.persons.person(p.id, "new-visitor").await.unwrap().expect("person");
    assert_eq!(person.distinct_ids, ["anon-0", "anon-2", "anon-4", "new-visitor"]);
    for i in 0..6 {
        assert_eq!(person.properties[&format!("k{i}")], i);
    }
    assert_eq!(s.persons.person(p.id, "anon-2").await.unwrap().map(|q| q.id), Some(person.id));
}

/// The persons list: newest first, searched by any distinct id or property (any case, `%`
/// and `_` literal), one project's only.
pub async fn persons_list_newest_first_and_search_ids_and_properties(s: MetaStores) {
    let p = s.meta.create_project("P", "phc_person_list").await.unwrap();
    let other = s.meta.create_project("Q", "phc_person_list_q").await.unwrap();
    let person = |project: i64, distinct: &str, merge: &[&str], set: serde_json::Value| PersonUpdate {
        project_id: project,
        distinct_id: distinct.into(),
        merge_from: merge.iter().map(|m| (*m).to_owned()).collect(),
        set: set.as_object().cloned().unwrap_or_default(),
        set_once: Default::default(),
        unset: Vec::new(),
        timestamp_ms: 1000,
    };
    let updates = vec![
        person(p.id, "anon-1", &[], json!({"plan": "free"})),
        person(p.id, "ada@example.com", &["anon-1"], json!({"name": "Ada Lovelace"})),
        person(p.id, "bob", &[], json!({"plan": "pro_100%"})),
        person(other.id, "ada@example.com", &[], json!({})),
    ];
    s.persons.apply_person_updates(updates).await.unwrap();
    let ids = |persons: Vec<crate::Person>| persons.into_iter().map(|p| p.distinct_ids).collect::<Vec<_>>();
    let all = s.persons.persons(p.id, None, 10).await.unwrap();
    assert_eq!(ids(all), [vec!["bob"], vec!["ada@example.com", "anon-1"]], "newest first, with every id");
    for (search, want) in [("ANON", "anon-1"), ("lovelace", "anon-1"), ("100%", "bob"), ("pro_", "bob")] {
        let found = ids(s.persons.persons(p.id, Some(search), 10).await.unwrap());
        assert_eq!(found.len(), 1, "{search}: {found:?}");
        assert!(found[0].contains(&want.to_owned()), "{search}: {found:?}");
    }
    assert!(s.persons.persons(p.id, Some("o_o"), 10).await.unwrap().is_empty(), "_ is literal");
    assert_eq!(s.persons.persons(p.id, None, 1).await.unwrap().len(), 1, "at most the limit");
    assert_eq!(s.persons.persons(other.id, None, 10).await.unwrap().len(), 1);
}
