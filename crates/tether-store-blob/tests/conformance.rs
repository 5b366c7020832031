//! The blob suite on a local folder and on S3. The S3 cases need `TETHER_TEST_S3_URL`
//! (a bucket URL) and the `AWS_*` variables of the server: `scripts/test` starts an
//! S3-protocol server and sets them; point them at your own S3 to run the same cases there.
//! Each case gets its own prefix.

use std::sync::atomic::{AtomicU64, Ordering};

use tether_store::conformance::BlobStores;
use tether_store_blob::ObjectBlobs;

async fn local() -> BlobStores {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("file://{}", dir.path().join("blobs").display());
    BlobStores {
        blobs: std::sync::Arc::new(ObjectBlobs::from_url(&url, &[]).expect("open")),
        guard: Box::new(dir),
    }
}

mod local_folder {
    tether_store::blobs_suite!(super::local);
}

async fn s3() -> BlobStores {
    static CASE: AtomicU64 = AtomicU64::new(0);
    let base = std::env::var("TETHER_TEST_S3_URL")
        .expect("TETHER_TEST_S3_URL is not set: run scripts/test, or set it and AWS_* to an S3 bucket");
    let env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("AWS_")).collect();
    let url = format!(
        "{}/case-{}-{}",
        base.trim_end_matches('/'),
        std::process::id(),
        CASE.fetch_add(1, Ordering::Relaxed)
    );
    BlobStores {
        blobs: std::sync::Arc::new(ObjectBlobs::from_url(&url, &env).expect("open S3")),
        guard: Box::new(()),
    }
}

mod s3_server {
    tether_store::blobs_suite!(super::s3, requires = "TETHER_TEST_S3_URL");
}
