//! Releases and symbol sets (`migrations/*/…releases_and_symbol_sets.sql`).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use tether_model::ProjectId;
use tether_store::{
    ErrorKind, NewRelease, NewSymbolSet, Release, StoreError, StoreResult, SymbolSet, SymbolStore,
};

use crate::{SqlMeta, internal, now_ms};

const RELEASE_COLUMNS: &str = "id, project_id, hash_id, name, version, metadata, created_at_ms";
const SET_COLUMNS: &str = "id, project_id, chunk_id, release_id, content_hash, content_length, \
                           upload_secret_hash, created_at_ms, finished_at_ms";

fn release_of(row: &AnyRow) -> Release {
    Release {
        id: row.get(0),
        project_id: row.get(1),
        hash_id: row.get(2),
        name: row.get(3),
        version: row.get(4),
        metadata: row.get(5),
        created_at_ms: row.get(6),
    }
}

fn set_of(row: &AnyRow) -> SymbolSet {
    SymbolSet {
        id: row.get(0),
        project_id: row.get(1),
        chunk_id: row.get(2),
        release_id: row.get(3),
        content_hash: row.get(4),
        content_length: row.get::<i64, _>(5) as u64,
        upload_secret_hash: row.get(6),
        created_at_ms: row.get(7),
        finished_at_ms: row.get(8),
    }
}

#[async_trait]
impl SymbolStore for SqlMeta {
    async fn create_release(&self, project_id: ProjectId, release: NewRelease) -> StoreResult<Release> {
        let row = sqlx::query(&format!(
            "INSERT INTO releases ({RELEASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {RELEASE_COLUMNS}"
        ))
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(project_id)
        .bind(&release.hash_id)
        .bind(&release.name)
        .bind(&release.version)
        .bind(&release.metadata)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::new(ErrorKind::InvalidInput, "a release with this hash_id exists")
            }
            _ => internal("cannot create release")(e),
        })?;
        Ok(release_of(&row))
    }

    async fn release_by_hash(&self, project_id: ProjectId, hash_id: &str) -> StoreResult<Option<Release>> {
        let row = sqlx::query(&format!(
            "SELECT {RELEASE_COLUMNS} FROM releases WHERE project_id = $1 AND hash_id = $2"
        ))
        .bind(project_id)
        .bind(hash_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(internal("cannot read release"))?;
        Ok(row.as_ref().map(release_of))
    }

    async fn release(&self, project_id: ProjectId, id: &str) -> StoreResult<Option<Release>> {
        let row =
            sqlx::query(&format!("SELECT {RELEASE_COLUMNS} FROM releases WHERE project_id = $1 AND id = $2"))
                .bind(project_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(internal("cannot read release"))?;
        Ok(row.as_ref().map(release_of))
    }

    async fn start_symbol_set(&self, project_id: ProjectId, set: NewSymbolSet) -> StoreResult<SymbolSet> {
        let row = sqlx::query(&format!(
            "INSERT INTO symbol_sets ({SET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) \
             ON CONFLICT (project_id, chunk_id) DO UPDATE SET id = excluded.id, \
             release_id = excluded.release_id, content_hash = excluded.content_hash, \
             content_length = excluded.content_length, upload_secret_hash = excluded.upload_secret_hash, \
             created_at_ms = excluded.created_at_ms, finished_at_ms = NULL \
             RETURNING {SET_COLUMNS}"
        ))
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(project_id)
        .bind(&set.chunk_id)
        .bind(set.release_id.as_deref())
        .bind(&set.content_hash)
        .bind(i64::try_from(set.content_length).unwrap_or(i64::MAX))
        .bind(&set.upload_secret_hash)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(internal("cannot start symbol set upload"))?;
        Ok(set_of(&row))
    }

    async fn symbol_set(&self, project_id: ProjectId, id: &str) -> StoreResult<Option<SymbolSet>> {
        let row =
            sqlx::query(&format!("SELECT {SET_COLUMNS} FROM symbol_sets WHERE project_id = $1 AND id = $2"))
                .bind(project_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(internal("cannot read symbol set"))?;
        Ok(row.as_ref().map(set_of))
    }

    async fn symbol_sets_of_chunks(
        &self,
        project_id: ProjectId,
        chunk_ids: &[String],
    ) -> StoreResult<Vec<SymbolSet>> {
        let mut out = Vec::new();
        // One statement per 100 ids keeps the bind count far below either database's limit.
        for ids in chunk_ids.chunks(100) {
            let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT {SET_COLUMNS} FROM symbol_sets WHERE project_id = $1 AND chunk_id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(project_id);
            for id in ids {
                query = query.bind(id);
            }
            let rows = query.fetch_all(&self.pool).await.map_err(internal("cannot read symbol sets"))?;
            out.extend(rows.iter().map(set_of));
        }
        Ok(out)
    }

    async fn finish_symbol_set(&self, project_id: ProjectId, id: &str, now_ms: i64) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE symbol_sets SET finished_at_ms = $1 WHERE project_id = $2 AND id = $3")
                .bind(now_ms)
                .bind(project_id)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(internal("cannot finish symbol set"))?;
        Ok(done.rows_affected() > 0)
    }
}
