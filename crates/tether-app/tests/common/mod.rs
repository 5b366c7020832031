//! The use cases over real stores (DuckDB and SQLite in a temp dir) with a clock the test
//! moves, shared by the rule tests.

use std::sync::Arc;

use tether_app::capture::Symbolicate;
use tether_app::{App, ManualClock, Stores};
use tether_store::MetadataStore;
use tether_store_blob::ObjectBlobs;
use tether_store_embedded::DuckAnalytics;
use tether_store_sql::SqlMeta;

pub(crate) const DAY_MS: i64 = 86_400_000;
/// Noon of some day, in ms.
pub(crate) const NOW_MS: i64 = 1_780_000_000_000 / DAY_MS * DAY_MS + DAY_MS / 2;

pub(crate) struct Fixture {
    pub(crate) app: App,
    /// Each test binary compiles this module and reads some of the fields.
    #[allow(dead_code)]
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) duck: Arc<DuckAnalytics>,
    #[allow(dead_code)]
    pub(crate) meta: Arc<SqlMeta>,
    #[allow(dead_code)]
    pub(crate) recordings: tether_store::Recordings,
    /// Holds the databases and, under `blobs/`, the blob folder.
    #[allow(dead_code)]
    pub(crate) dir: tempfile::TempDir,
}

/// Two projects, 1 and 2, and the clock at [`NOW_MS`].
pub(crate) async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let duck = Arc::new(DuckAnalytics::open(&dir.path().join("a.duckdb")).await.unwrap());
    let meta = Arc::new(SqlMeta::open_sqlite(&dir.path().join("m.sqlite")).await.unwrap());
    let blobs_url = format!("file://{}", dir.path().join("blobs").display());
    let blobs = ObjectBlobs::from_url(&blobs_url, &[]).unwrap();
    for (id, name) in [(1, "shop"), (2, "billing")] {
        let project = meta.create_project(name, &format!("phc_{name}")).await.unwrap();
        assert_eq!(project.id, id, "the fixtures name projects 1 and 2");
    }
    let clock = Arc::new(ManualClock::at(NOW_MS));
    let stores = Stores::new(duck.clone(), meta.clone(), Arc::new(blobs));
    let recordings = stores.recordings.clone();
    Fixture {
        app: App::new(stores, clock.clone(), Arc::new(NoSourceMaps)),
        clock,
        duck,
        meta,
        recordings,
        dir,
    }
}

/// A project without uploaded source maps: frames stay as sent.
struct NoSourceMaps;

#[async_trait::async_trait]
impl Symbolicate for NoSourceMaps {
    async fn symbolicate(
        &self,
        _: tether_model::ProjectId,
        exception_list: &serde_json::Value,
    ) -> serde_json::Value {
        exception_list.clone()
    }

    async fn check_symbol_set(&self, _: bytes::Bytes) -> Result<(), String> {
        Err("this project takes no source maps".into())
    }
}
