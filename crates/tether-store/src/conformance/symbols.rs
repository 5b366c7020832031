//! The symbols suite: releases found by hash, symbol set uploads started, replaced and
//! finished, each project on its own.

use super::MetaStores;
use crate::{ErrorKind, NewRelease, NewSymbolSet};

fn release(hash: &str) -> NewRelease {
    NewRelease {
        hash_id: hash.into(),
        name: "shop-web".into(),
        version: "1f3e9c2".into(),
        metadata: r#"{"git":{"branch":"main"}}"#.into(),
    }
}

fn set(chunk: &str, hash: &str, release_id: Option<&str>) -> NewSymbolSet {
    NewSymbolSet {
        chunk_id: chunk.into(),
        release_id: release_id.map(Into::into),
        content_hash: hash.into(),
        content_length: 1234,
        upload_secret_hash: format!("secret-of-{hash}"),
    }
}

pub async fn releases_are_found_by_hash_once_per_project(s: MetaStores) {
    let p = s.meta.create_project("Default", "phc_rel1").await.unwrap();
    let q = s.meta.create_project("Other", "phc_rel2").await.unwrap();
    let r = s.symbols.create_release(p.id, release("h1")).await.unwrap();
    assert_eq!((r.name.as_str(), r.version.as_str(), r.project_id), ("shop-web", "1f3e9c2", p.id));
    assert_eq!(r.metadata, r#"{"git":{"branch":"main"}}"#);
    assert_eq!(r.id.len(), 36, "a UUID: {}", r.id);
    assert_eq!(s.symbols.release_by_hash(p.id, "h1").await.unwrap(), Some(r.clone()));
    assert_eq!(s.symbols.release(p.id, &r.id).await.unwrap(), Some(r.clone()));
    let again = s.symbols.create_release(p.id, release("h1")).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::InvalidInput);
    // Another project sees none of it, and may use the same hash.
    assert_eq!(s.symbols.release_by_hash(q.id, "h1").await.unwrap(), None);
    assert_eq!(s.symbols.release(q.id, &r.id).await.unwrap(), None);
    let theirs = s.symbols.create_release(q.id, release("h1")).await.unwrap();
    assert_ne!(theirs.id, r.id);
}

pub async fn symbol_sets_are_replaced_per_chunk_and_finish_once(s: MetaStores) {
    let p = s.meta.create_project("Default", "phc_sym1").await.unwrap();
    let q = s.meta.create_project("Other", "phc_sym2").await.unwrap();
    let r = s.symbols.create_release(p.id, release("h1")).await.unwrap();
    let first = s.symbols.start_symbol_set(p.id, set("chunk-a", "c1", Some(&r.id))).await.unwrap();
    assert_eq!(first.finished_at_ms, None);
    assert_eq!(first.release_id.as_deref(), Some(r.id.as_str()));
    assert_eq!((first.content_length, first.upload_secret_hash.as_str()), (1234, "secret-of-c1"));
    let b = s.symbols.start_symbol_set(p.id, set("chunk-b", "c2", None)).await.unwrap();
    assert_eq!(s.symbols.symbol_set(p.id, &first.id).await.unwrap(), Some(first.clone()));

    assert!(s.symbols.finish_symbol_set(p.id, &first.id, 5_000).await.unwrap());
    let finished = s.symbols.symbol_set(p.id, &first.id).await.unwrap().unwrap();
    assert_eq!(finished.finished_at_ms, Some(5_000));

    // A new upload of chunk-a replaces the finished one; the old id cannot be finished again.
    let second = s.symbols.start_symbol_set(p.id, set("chunk-a", "c3", None)).await.unwrap();
    assert_ne!(second.id, first.id);
    assert!(!s.symbols.finish_symbol_set(p.id, &first.id, 6_000).await.unwrap());
    let chunks = ["chunk-a".to_owned(), "chunk-b".to_owned(), "chunk-c".to_owned()];
    let mut current = s.symbols.symbol_sets_of_chunks(p.id, &chunks).await.unwrap();
    current.sort_by(|x, y| x.chunk_id.cmp(&y.chunk_id));
    assert_eq!(current, [second.clone(), b]);
    assert_eq!(s.symbols.symbol_sets_of_chunks(p.id, &[]).await.unwrap(), []);

    // Another project sees none of them and cannot finish them.
    assert_eq!(s.symbols.symbol_sets_of_chunks(q.id, &chunks).await.unwrap(), []);
    assert_eq!(s.symbols.symbol_set(q.id, &second.id).await.unwrap(), None);
    assert!(!s.symbols.finish_symbol_set(q.id, &second.id, 7_000).await.unwrap());
    assert_eq!(s.symbols.symbol_set(p.id, &second.id).await.unwrap().unwrap().finished_at_ms, None);
}
