//! Metadata in SQL through sqlx: projects, API keys, node numbers, issues, persons, UI
//! users and their sessions. One implementation runs on SQLite (the embedded default, a
//! file in the data directory) and on PostgreSQL (several Tether processes sharing one
//! database): the queries are written once in the SQL both accept (`$1` placeholders,
//! `RETURNING`, `ON CONFLICT`), and what differs — the schema's id columns and how a
//! read-then-write transaction is isolated — is in [`Dialect`] and the migration folders.
//!
//! Owns: the metadata SQL and its migrations. Must not contain: HTTP, decoding, or policy.

mod alerts;
mod people;
mod symbols;
mod users;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use tether_model::ProjectId;
use tether_store::{
    ApiKey, ErrorKind, KeyScope, MetadataStore, NewApiKey, Project, ProjectSettings, Role, StoreError,
    StoreResult,
};

/// Which database a [`SqlMeta`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Metadata in SQLite or PostgreSQL.
pub struct SqlMeta {
    pub(crate) pool: AnyPool,
    pub(crate) dialect: Dialect,
}

/// Maps a sqlx error to a store error: a database that cannot be reached, is starting or
/// shutting down (PostgreSQL's SQLSTATE classes 08 and 57) is `Unavailable` (503 and
/// retry), everything else `Internal`.
pub(crate) fn internal(context: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| {
        let unreachable = match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_) => true,
            sqlx::Error::Database(db) => {
                db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57"))
            }
            _ => false,
        };
        if unreachable { StoreError::unavailable(context, e) } else { StoreError::internal(context, e) }
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// How long a request waits for a database connection before it is answered 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl SqlMeta {
    /// Opens the SQLite file at `path`, creating it and applying migrations as needed.
    pub async fn open_sqlite(path: &Path) -> StoreResult<SqlMeta> {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        SqlMeta::connect(&url, 4).await
    }

    /// Connects to `url` (`sqlite://…` or `postgres://user:pass@host:port/db`) and applies
    /// migrations. PostgreSQL serializes concurrent migrations with an advisory lock, so
    /// several processes may start against one empty database at once.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<SqlMeta> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else {
            return Err(StoreError::new(
                ErrorKind::InvalidInput,
                "metadata URL must start with postgres:// or sqlite://",
            ));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // WAL for concurrent readers; FULL: a committed key or project
                        // survives power loss, not just a crash.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(|e| StoreError::unavailable("cannot connect to the metadata database", e))?;
        let migrator = match dialect {
            Dialect::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Dialect::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator.run(&pool).await.map_err(|e| StoreError::internal("metadata migration failed", e))?;
        Ok(SqlMeta { pool, dialect })
    }

    /// The statement that opens a transaction which reads and then writes. SQLite takes
    /// the write lock up front (a deferred one fails when another connection wrote in
    /// between); PostgreSQL runs it serializable, and [`SqlMeta::retrying`] repeats it when
    /// a concurrent one won.
    pub(crate) fn begin_read_write(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN ISOLATION LEVEL SERIALIZABLE",
        }
    }
}

/// Whether a failed transaction lost a race with a concurrent one and may simply be run
/// again: a serialization failure or deadlock (PostgreSQL), or a unique key taken by
/// another process between our read and our insert.
pub(crate) fn lost_race(e: &StoreError) -> bool {
    match e.backend_error().and_then(|s| s.downcast_ref::<sqlx::Error>()) {
        Some(sqlx::Error::Database(db)) => matches!(db.code().as_deref(), Some("40001" | "40P01" | "23505")),
        _ => false,
    }
}

impl SqlMeta {
    /// Runs `attempt` until it does not lose a race with a concurrent transaction (at most
    /// a few times, with a short pause between tries).
    pub(crate) async fn retrying<T, F, Fut>(&self, mut attempt: F) -> StoreResult<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = StoreResult<T>>,
    {
        let mut tries = 0u32;
        loop {
            match attempt().await {
                Err(e) if tries < 20 && lost_race(&e) => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(2 * u64::from(tries))).await;
                }
                other => return other,
            }
        }
    }
}

fn project(row: &AnyRow) -> Project {
    Project {
        id: row.get("id"),
        name: row.get("name"),
        token: row.get("token"),
        created_at_ms: row.get("created_at_ms"),
        // Settings written by this code always parse; anything else falls back to defaults.
        settings: serde_json::from_str(row.get::<&str, _>("settings")).unwrap_or_default(),
    }
}

fn api_key(row: &AnyRow) -> ApiKey {
    let project_id: Option<i64> = row.get("project_id");
    ApiKey {
        id: row.get("id"),
        name: row.get("name"),
        scope: project_id.map_or(KeyScope::AllProjects, KeyScope::Project),
        user_id: row.get("user_id"),
        prefix: row.get("prefix"),
        created_at_ms: row.get("created_at_ms"),
        last_used_at_ms: row.get("last_used_at_ms"),
        expires_at_ms: row.get("expires_at_ms"),
        // Only this code writes roles; an unknown one (a newer version's) reads as the least.
        role: row.get::<Option<&str>, _>("role").map(|r| Role::parse(r).unwrap_or(Role::Viewer)),
    }
}

const PROJECT_COLUMNS: &str = "SELECT id, name, token, created_at_ms, settings FROM projects";
const PROJECT_RETURNING: &str = "RETURNING id, name, token, created_at_ms, settings";
const KEY_FIELDS: &str =
    "id, name, project_id, user_id, prefix, created_at_ms, last_used_at_ms, expires_at_ms, role";

fn unique_as(message: &'static str, context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::new(ErrorKind::InvalidInput, message)
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::new(ErrorKind::NotFound, "project not found")
        }
        _ => internal(context)(e),
    }
}

async fn insert_project<'e, E: Executor<'e, Database = sqlx::Any>>(
    executor: E,
    name: &str,
    token: &str,
) -> StoreResult<Project> {
    let row = sqlx::query(&format!(
        "INSERT INTO projects (name, token, created_at_ms, settings) VALUES ($1, $2, $3, '{{}}') {PROJECT_RETURNING}"
    ))
    .bind(name)
    .bind(token)
    .bind(now_ms())
    .fetch_one(executor)
    .await
    .map_err(unique_as("project token already in use", "cannot create project"))?;
    Ok(project(&row))
}

async fn insert_key<'e, E: Executor<'e, Database = sqlx::Any>>(
    executor: E,
    key: &NewApiKey,
) -> StoreResult<ApiKey> {
    let project_id = match key.scope {
        KeyScope::AllProjects => None,
        KeyScope::Project(id) => Some(id),
    };
    let row = sqlx::query(&format!(
        "INSERT INTO api_keys (name, project_id, user_id, secret_hash, prefix, created_at_ms, expires_at_ms, role) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {KEY_FIELDS}"
    ))
    .bind(&key.name)
    .bind(project_id)
    .bind(key.user_id)
    .bind(&key.secret_hash)
    .bind(&key.prefix)
    .bind(now_ms())
    .bind(key.expires_at_ms)
    .bind(key.role.map(Role::as_str))
    .fetch_one(executor)
    .await
    .map_err(unique_as("API key already exists", "cannot create API key"))?;
    Ok(api_key(&row))
}

#[async_trait]
impl MetadataStore for SqlMeta {
    async fn create_project(&self, name: &str, token: &str) -> StoreResult<Project> {
        insert_project(&self.pool, name, token).await
    }

    async fn create_first_project(
        &self,
        name: &str,
        token: &str,
        key: NewApiKey,
    ) -> StoreResult<Option<(Project, ApiKey)>> {
        let mut tx = self.pool.begin().await.map_err(internal("cannot begin first start"))?;
        // The first statement claims the first start: a concurrent claim waits on the key
        // until this transaction ends, then finds it taken.
        let claimed = sqlx::query(
            "INSERT INTO bootstrap (id, created_at_ms) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        )
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(internal("cannot claim first start"))?
        .rows_affected();
        if claimed == 0 {
            return Ok(None);
        }
        let project = insert_project(&mut *tx, name, token).await?;
        let key = insert_key(&mut *tx, &key).await?;
        tx.commit().await.map_err(internal("cannot commit first start"))?;
        Ok(Some((project, key)))
    }

    async fn projects(&self) -> StoreResult<Vec<Project>> {
        let rows = sqlx::query(&format!("{PROJECT_COLUMNS} ORDER BY id"))
            .fetch_all(&self.pool)
            .await
            .map_err(internal("cannot list projects"))?;
        Ok(rows.iter().map(project).collect())
    }

    async fn project(&self, id: ProjectId) -> StoreResult<Option<Project>> {
        let row = sqlx::query(&format!("{PROJECT_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(internal("cannot read project"))?;
        Ok(row.as_ref().map(project))
    }

    async fn project_by_token(&self, token: &str) -> StoreResult<Option<Project>> {
        let row = sqlx::query(&format!("{PROJECT_COLUMNS} WHERE token = $1"))
            .bind(token)
            .fetch_optional(&self.pool)
            .await
            .map_err(internal("cannot read project"))?;
        Ok(row.as_ref().map(project))
    }

    async fn rename_project(&self, id: ProjectId, name: &str) -> StoreResult<Project> {
        let row = sqlx::query(&format!("UPDATE projects SET name = $1 WHERE id = $2 {PROJECT_RETURNING}"))
            .bind(name)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(internal("cannot rename project"))?;
        row.as_ref()
            .map(project)
            .ok_or_else(|| StoreError::new(ErrorKind::NotFound, format!("project {id} not found")))
    }

    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        insert_key(&self.pool, &key).await
    }

    async fn api_key_by_hash(&self, secret_hash: &str) -> StoreResult<Option<ApiKey>> {
        let row = sqlx::query(&format!(
            "SELECT {KEY_FIELDS} FROM api_keys WHERE secret_hash = $1 AND revoked_at_ms IS NULL"
        ))
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(internal("cannot read API key"))?;
        Ok(row.as_ref().map(api_key))
    }

    async fn api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        let rows = sqlx::query(&format!(
            "SELECT {KEY_FIELDS} FROM api_keys WHERE revoked_at_ms IS NULL ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(internal("cannot list API keys"))?;
        Ok(rows.iter().map(api_key).collect())
    }

    async fn touch_api_key(&self, id: i64, at_ms: i64) -> StoreResult<()> {
        sqlx::query("UPDATE api_keys SET last_used_at_ms = $1 WHERE id = $2")
            .bind(at_ms)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(internal("cannot record API key use"))?;
        Ok(())
    }

    async fn revoke_api_key(&self, id: i64) -> StoreResult<()> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL")
                .bind(now_ms())
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(internal("cannot revoke API key"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::new(ErrorKind::NotFound, "API key not found"));
        }
        Ok(())
    }

    async fn set_project_settings(&self, id: ProjectId, settings: ProjectSettings) -> StoreResult<Project> {
        let json = serde_json::to_string(&settings)
            .map_err(|e| StoreError::internal("cannot encode settings", e))?;
        let row =
            sqlx::query(&format!("UPDATE projects SET settings = $1 WHERE id = $2 {PROJECT_RETURNING}"))
                .bind(json)
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(internal("cannot update project settings"))?;
        row.as_ref()
            .map(project)
            .ok_or_else(|| StoreError::new(ErrorKind::NotFound, format!("project {id} not found")))
    }

    async fn claim_node_number(&self) -> StoreResult<i64> {
        let row = sqlx::query("INSERT INTO nodes (started_at_ms) VALUES ($1) RETURNING id")
            .bind(now_ms())
            .fetch_one(&self.pool)
            .await
            .map_err(internal("cannot claim a node number"))?;
        Ok(row.get(0))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(internal("metadata store unreachable"))?;
        Ok(())
    }
}

/// Creates an empty PostgreSQL database `name` through `admin_url` (a role allowed to
/// create databases) and returns the URL of the new database: how the test suites give
/// each case a database of its own.
pub async fn create_database(admin_url: &str, name: &str) -> StoreResult<String> {
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(StoreError::new(ErrorKind::InvalidInput, format!("invalid database name {name:?}")));
    }
    let mut url = url::Url::parse(admin_url)
        .map_err(|e| StoreError::new(ErrorKind::InvalidInput, format!("invalid PostgreSQL URL: {e}")))?;
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(admin_url)
        .await
        .map_err(|e| StoreError::unavailable("cannot connect to PostgreSQL", e))?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&pool)
        .await
        .map_err(internal("cannot create database"))?;
    pool.close().await;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}
