//! The metadata, persons and users suites on SQLite (a temp file) and on PostgreSQL. The
//! PostgreSQL cases need `TETHER_TEST_POSTGRES_URL` (a role that may create databases):
//! `scripts/test` starts a throwaway PostgreSQL and sets it; point it at your own server to
//! run the same cases there. Each case gets a fresh database of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tether_store::conformance::MetaStores;
use tether_store_sql::SqlMeta;

fn stores(meta: SqlMeta, guard: Box<dyn std::any::Any + Send>) -> MetaStores {
    let meta = Arc::new(meta);
    MetaStores {
        meta: meta.clone(),
        issues: meta.clone(),
        persons: meta.clone(),
        users: meta.clone(),
        symbols: meta.clone(),
        alerts: meta,
        guard,
    }
}

async fn sqlite() -> MetaStores {
    let dir = tempfile::tempdir().expect("temp dir");
    let meta = SqlMeta::open_sqlite(&dir.path().join("metadata.sqlite")).await.expect("open sqlite");
    stores(meta, Box::new(dir))
}

async fn postgres() -> MetaStores {
    static CASE: AtomicU64 = AtomicU64::new(0);
    let admin = std::env::var("TETHER_TEST_POSTGRES_URL")
        .expect("TETHER_TEST_POSTGRES_URL is not set: run scripts/test, or set it to a PostgreSQL URL");
    let name = format!("conformance_{}_{}", std::process::id(), CASE.fetch_add(1, Ordering::Relaxed));
    let url = tether_store_sql::create_database(&admin, &name).await.expect("create test database");
    stores(SqlMeta::connect(&url, 8).await.expect("connect to postgres"), Box::new(()))
}

mod on_sqlite {
    tether_store::metadata_suite!(super::sqlite);
    tether_store::persons_suite!(super::sqlite);
    tether_store::users_suite!(super::sqlite);
    tether_store::symbols_suite!(super::sqlite);
    tether_store::alerts_suite!(super::sqlite);
}

mod on_postgres {
    tether_store::metadata_suite!(super::postgres, requires = "TETHER_TEST_POSTGRES_URL");
    tether_store::persons_suite!(super::postgres, requires = "TETHER_TEST_POSTGRES_URL");
    tether_store::users_suite!(super::postgres, requires = "TETHER_TEST_POSTGRES_URL");
    tether_store::symbols_suite!(super::postgres, requires = "TETHER_TEST_POSTGRES_URL");
    tether_store::alerts_suite!(super::postgres, requires = "TETHER_TEST_POSTGRES_URL");
}

/// The read cache must keep every promise of the store it wraps.
async fn cached_sqlite() -> MetaStores {
    let plain = sqlite().await;
    let ttl = tether_store::DEFAULT_METADATA_CACHE_TTL;
    let cached = Arc::new(tether_store::CachedMeta::new(plain.meta.clone(), plain.users.clone(), ttl));
    MetaStores { meta: cached.clone(), users: cached, ..plain }
}

mod cached_on_sqlite {
    tether_store::metadata_suite!(super::cached_sqlite);
    tether_store::persons_suite!(super::cached_sqlite);
    tether_store::users_suite!(super::cached_sqlite);
}
