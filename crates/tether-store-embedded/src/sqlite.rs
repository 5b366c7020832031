//! Metadata in SQLite through sqlx; the same queries are meant to run on PostgreSQL later.

use std::path::Path;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, sqlite::SqliteRow};
use tether_model::ProjectId;
use tether_store::{
    ApiKey, ErrorKind, KeyScope, MetadataStore, NewApiKey, Project, ProjectSettings, StoreError, StoreResult,
};

/// Projects and API keys in a SQLite file.
pub struct SqliteMeta {
    pub(crate) pool: SqlitePool,
}

pub(crate) fn internal(context: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| StoreError::internal(context, e)
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl SqliteMeta {
    /// Opens the database file, creating it and applying migrations as needed.
    pub async fn open(path: &Path) -> StoreResult<SqliteMeta> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(internal("invalid sqlite path"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed key or project survives power loss, not just a crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(internal("cannot open metadata database"))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::internal("metadata migration failed", e))?;
        Ok(SqliteMeta { pool })
    }
}

fn project(row: &SqliteRow) -> Project {
    Project {
        id: row.get("id"),
        name: row.get("name"),
        token: row.get("token"),
        created_at_ms: row.get("created_at_ms"),
        // Settings written by this code always parse; anything else falls back to defaults.
        settings: serde_json::from_str(row.get::<&str, _>("settings")).unwrap_or_default(),
    }
}

fn api_key(row: &SqliteRow) -> ApiKey {
    let project_id: Option<i64> = row.get("project_id");
    ApiKey {
        id: row.get("id"),
        name: row.get("name"),
        scope: project_id.map_or(KeyScope::AllProjects, KeyScope::Project),
        prefix: row.get("prefix"),
        created_at_ms: row.get("created_at_ms"),
    }
}

const PROJECT_COLUMNS: &str = "SELECT id, name, token, created_at_ms, settings FROM projects";
const KEY_COLUMNS: &str = "SELECT id, name, project_id, prefix, created_at_ms FROM api_keys";

#[async_trait]
impl MetadataStore for SqliteMeta {
    async fn create_project(&self, name: &str, token: &str) -> StoreResult<Project> {
        let row = sqlx::query(
            "INSERT INTO projects (name, token, created_at_ms) VALUES (?, ?, ?) \
             RETURNING id, name, token, created_at_ms, settings",
        )
        .bind(name)
        .bind(token)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::new(ErrorKind::InvalidInput, "project token already in use")
            }
            _ => StoreError::internal("cannot create project", e),
        })?;
        Ok(project(&row))
    }

    async fn projects(&self) -> StoreResult<Vec<Project>> {
        let rows = sqlx::query(&format!("{PROJECT_COLUMNS} ORDER BY id"))
            .fetch_all(&self.pool)
            .await
            .map_err(internal("cannot list projects"))?;
        Ok(rows.iter().map(project).collect())
    }

    async fn project(&self, id: ProjectId) -> StoreResult<Option<Project>> {
        let row = sqlx::query(&format!("{PROJECT_COLUMNS} WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(internal("cannot read project"))?;
        Ok(row.as_ref().map(project))
    }

    async fn project_by_token(&self, token: &str) -> StoreResult<Option<Project>> {
        let row = sqlx::query(&format!("{PROJECT_COLUMNS} WHERE token = ?"))
            .bind(token)
            .fetch_optional(&self.pool)
            .await
            .map_err(internal("cannot read project"))?;
        Ok(row.as_ref().map(project))
    }

    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        let project_id = match key.scope {
            KeyScope::AllProjects => None,
            KeyScope::Project(id) => Some(id),
        };
        let row = sqlx::query(
            "INSERT INTO api_keys (name, project_id, secret_hash, prefix, created_at_ms) \
             VALUES (?, ?, ?, ?, ?) RETURNING id, name, project_id, prefix, created_at_ms",
        )
        .bind(&key.name)
        .bind(project_id)
        .bind(&key.secret_hash)
        .bind(&key.prefix)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::new(ErrorKind::InvalidInput, "API key already exists")
            }
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::new(ErrorKind::NotFound, "project not found")
            }
            _ => StoreError::internal("cannot create API key", e),
        })?;
        Ok(api_key(&row))
    }

    async fn api_key_by_hash(&self, secret_hash: &str) -> StoreResult<Option<ApiKey>> {
        let row = sqlx::query(&format!("{KEY_COLUMNS} WHERE secret_hash = ? AND revoked_at_ms IS NULL"))
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(internal("cannot read API key"))?;
        Ok(row.as_ref().map(api_key))
    }

    async fn api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        let rows = sqlx::query(&format!("{KEY_COLUMNS} WHERE revoked_at_ms IS NULL ORDER BY id"))
            .fetch_all(&self.pool)
            .await
            .map_err(internal("cannot list API keys"))?;
        Ok(rows.iter().map(api_key).collect())
    }

    async fn revoke_api_key(&self, id: i64) -> StoreResult<()> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL")
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
        let row = sqlx::query(
            "UPDATE projects SET settings = ? WHERE id = ? RETURNING id, name, token, created_at_ms, settings",
        )
        .bind(json)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(internal("cannot update project settings"))?;
        row.as_ref()
            .map(project)
            .ok_or_else(|| StoreError::new(ErrorKind::NotFound, format!("project {id} not found")))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(internal("metadata store unreachable"))?;
        Ok(())
    }
}
