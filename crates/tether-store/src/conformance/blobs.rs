//! The blob suite: durable bytes by key.

use bytes::Bytes;

use super::BlobStores;
use crate::ErrorKind;

pub async fn blobs_round_trip_and_replace_whole(s: BlobStores) {
    let big: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    s.blobs.put("recordings/1/a/b/c.json.gz", Bytes::from_static(b"first")).await.unwrap();
    s.blobs.put("recordings/1/a/b/big.bin", Bytes::from(big.clone())).await.unwrap();
    assert_eq!(s.blobs.get("recordings/1/a/b/c.json.gz").await.unwrap(), &b"first"[..]);
    assert_eq!(s.blobs.get("recordings/1/a/b/big.bin").await.unwrap(), big);
    s.blobs.put("recordings/1/a/b/c.json.gz", Bytes::from_static(b"second, longer")).await.unwrap();
    assert_eq!(s.blobs.get("recordings/1/a/b/c.json.gz").await.unwrap(), &b"second, longer"[..]);
    s.blobs.put("empty", Bytes::new()).await.unwrap();
    assert!(s.blobs.get("empty").await.unwrap().is_empty());
    s.blobs.ping().await.unwrap();
}

pub async fn missing_blobs_are_not_found(s: BlobStores) {
    assert_eq!(s.blobs.get("recordings/none.json.gz").await.unwrap_err().kind(), ErrorKind::NotFound);
}

pub async fn unsafe_keys_are_refused(s: BlobStores) {
    for key in ["", "../escape", "a//b", "a/./b", "/abs", "sp ace", "a/b/"] {
        let put = s.blobs.put(key, Bytes::from_static(b"x")).await;
        assert_eq!(put.map_err(|e| e.kind()), Err(ErrorKind::InvalidInput), "put {key:?}");
        let get = s.blobs.get(key).await;
        assert_eq!(get.map_err(|e| e.kind()), Err(ErrorKind::InvalidInput), "get {key:?}");
    }
}

pub async fn concurrent_puts_all_land(s: BlobStores) {
    let puts = (0..32).map(|i| {
        let blobs = s.blobs.clone();
        // Some keys written twice at once (an SDK retry racing its original).
        async move { blobs.put(&format!("c/{}", i % 24), Bytes::from(format!("chunk {}", i % 24))).await }
    });
    for r in futures::future::join_all(puts).await {
        r.unwrap();
    }
    for i in 0..24 {
        assert_eq!(s.blobs.get(&format!("c/{i}")).await.unwrap(), format!("chunk {i}").into_bytes());
    }
}

pub async fn deleting_a_folder_removes_only_its_blobs(s: BlobStores) {
    for key in ["r/1/s1/w1/a", "r/1/s1/w2/b", "r/1/s1/c", "r/1/s10/a", "r/1/s2/a", "r/2/s1/a"] {
        s.blobs.put(key, Bytes::from(key.to_owned())).await.unwrap();
    }
    assert_eq!(s.blobs.delete_folder("r/1/s1").await.unwrap(), 3);
    for gone in ["r/1/s1/w1/a", "r/1/s1/w2/b", "r/1/s1/c"] {
        assert_eq!(s.blobs.get(gone).await.unwrap_err().kind(), ErrorKind::NotFound, "{gone}");
    }
    // A folder is a whole path segment: `s10` is not inside `s1`.
    for kept in ["r/1/s10/a", "r/1/s2/a", "r/2/s1/a"] {
        assert_eq!(s.blobs.get(kept).await.unwrap(), kept.as_bytes(), "{kept}");
    }
    assert_eq!(s.blobs.delete_folder("r/1/s1").await.unwrap(), 0);
    assert_eq!(s.blobs.delete_folder("never/written").await.unwrap(), 0);
    assert_eq!(s.blobs.delete_folder("../up").await.unwrap_err().kind(), ErrorKind::InvalidInput);
    s.blobs.put("r/1/s1/again", Bytes::from_static(b"x")).await.unwrap();
    assert_eq!(s.blobs.get("r/1/s1/again").await.unwrap(), &b"x"[..]);
}

pub async fn ranges_lists_and_deletes(s: BlobStores) {
    let segment: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    s.blobs.put("r/2/2026-12-05/seg-a.seg", Bytes::from(segment.clone())).await.unwrap();
    s.blobs.put("r/2/2026-12-05/seg-b.seg", Bytes::from_static(b"b")).await.unwrap();
    s.blobs.put("r/2/2026-12-06/seg-c.seg", Bytes::from_static(b"c")).await.unwrap();
    s.blobs.put("r/2/top.bin", Bytes::from_static(b"t")).await.unwrap();
    let part = s.blobs.get_range("r/2/2026-12-05/seg-a.seg", 70_000, 1_234).await.unwrap();
    assert_eq!(part, &segment[70_000..71_234]);
    assert_eq!(s.blobs.get_range("r/2/2026-12-05/seg-a.seg", 0, 1).await.unwrap(), &segment[..1]);
    let past_end = s.blobs.get_range("r/2/2026-12-05/seg-a.seg", 99_990, 20).await;
    assert!(past_end.is_err(), "a range past the end must not answer short bytes");
    assert_eq!(s.blobs.get_range("r/2/none.seg", 0, 1).await.unwrap_err().kind(), ErrorKind::NotFound);

    let root = s.blobs.list("r/2").await.unwrap();
    assert_eq!(root.folders, ["r/2/2026-12-05", "r/2/2026-12-06"]);
    assert_eq!(root.keys, ["r/2/top.bin"]);
    let day = s.blobs.list("r/2/2026-12-05").await.unwrap();
    assert!(day.folders.is_empty());
    assert_eq!(day.keys, ["r/2/2026-12-05/seg-a.seg", "r/2/2026-12-05/seg-b.seg"]);
    assert_eq!(s.blobs.list("r/9").await.unwrap(), crate::Listing::default());

    let gone = ["r/2/2026-12-05/seg-a.seg", "r/2/2026-12-05/never.seg", "r/2/2026-12-05/seg-b.seg"];
    s.blobs.delete(gone.iter().map(|k| k.to_string()).collect()).await.unwrap();
    for key in gone {
        assert_eq!(s.blobs.get(key).await.unwrap_err().kind(), ErrorKind::NotFound, "{key}");
    }
    assert_eq!(s.blobs.list("r/2").await.unwrap().folders, ["r/2/2026-12-06"], "an emptied folder is gone");
    assert_eq!(s.blobs.get("r/2/2026-12-06/seg-c.seg").await.unwrap(), &b"c"[..]);
    assert_eq!(s.blobs.delete(vec!["../x".into()]).await.unwrap_err().kind(), ErrorKind::InvalidInput);
}
