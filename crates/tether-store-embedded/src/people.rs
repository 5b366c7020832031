//! Issues and persons in SQLite.

use async_trait::async_trait;
use serde_json::{Map, Value};
use sqlx::{Row, Sqlite, Transaction};
use tether_model::{PersonUpdate, ProjectId};
use tether_store::{ErrorKind, Issue, IssueStatus, IssueStore, Person, PersonStore, StoreError, StoreResult};

use crate::sqlite::{SqliteMeta, internal, now_ms};

const ISSUE_COLUMNS: &str =
    "SELECT id, fingerprint, name, description, status, first_seen_ms, last_seen_ms FROM issues";

fn issue(row: &sqlx::sqlite::SqliteRow) -> Issue {
    Issue {
        id: row.get("id"),
        fingerprint: row.get("fingerprint"),
        name: row.get("name"),
        description: row.get("description"),
        status: IssueStatus::parse(row.get("status")).unwrap_or(IssueStatus::Active),
        first_seen_ms: row.get("first_seen_ms"),
        last_seen_ms: row.get("last_seen_ms"),
    }
}

#[async_trait]
impl IssueStore for SqliteMeta {
    async fn record_occurrence(
        &self,
        project_id: ProjectId,
        fingerprint: &str,
        name: &str,
        description: &str,
        seen_ms: i64,
    ) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO issues (project_id, fingerprint, name, description, status, first_seen_ms, last_seen_ms) \
             VALUES (?, ?, ?, ?, 'active', ?, ?) \
             ON CONFLICT (project_id, fingerprint) DO UPDATE SET \
               first_seen_ms = min(first_seen_ms, excluded.first_seen_ms), \
               last_seen_ms = max(last_seen_ms, excluded.last_seen_ms), \
               status = CASE WHEN status = 'resolved' THEN 'active' ELSE status END \
             RETURNING id",
        )
        .bind(project_id)
        .bind(fingerprint)
        .bind(name)
        .bind(description)
        .bind(seen_ms)
        .bind(seen_ms)
        .fetch_one(&self.pool)
        .await
        .map_err(internal("cannot record issue occurrence"))?;
        Ok(row.get(0))
    }

    async fn issues(&self, project_id: ProjectId) -> StoreResult<Vec<Issue>> {
        let rows = sqlx::query(&format!("{ISSUE_COLUMNS} WHERE project_id = ? ORDER BY last_seen_ms DESC"))
            .bind(project_id)
            .fetch_all(&self.pool)
            .await
            .map_err(internal("cannot list issues"))?;
        Ok(rows.iter().map(issue).collect())
    }

    async fn issue(&self, project_id: ProjectId, id: i64) -> StoreResult<Option<Issue>> {
        let row = sqlx::query(&format!("{ISSUE_COLUMNS} WHERE project_id = ? AND id = ?"))
            .bind(project_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(internal("cannot read issue"))?;
        Ok(row.as_ref().map(issue))
    }

    async fn set_issue_status(
        &self,
        project_id: ProjectId,
        id: i64,
        status: IssueStatus,
    ) -> StoreResult<Issue> {
        let row = sqlx::query(
            "UPDATE issues SET status = ? WHERE project_id = ? AND id = ? \
             RETURNING id, fingerprint, name, description, status, first_seen_ms, last_seen_ms",
        )
        .bind(status.as_str())
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(internal("cannot update issue"))?;
        row.as_ref()
            .map(issue)
            .ok_or_else(|| StoreError::new(ErrorKind::NotFound, format!("issue {id} not found")))
    }
}

async fn person_of(
    tx: &mut Transaction<'_, Sqlite>,
    project: ProjectId,
    distinct_id: &str,
) -> StoreResult<Option<i64>> {
    let row =
        sqlx::query("SELECT person_id FROM person_distinct_ids WHERE project_id = ? AND distinct_id = ?")
            .bind(project)
            .bind(distinct_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(internal("cannot look up person"))?;
    Ok(row.map(|r| r.get(0)))
}

async fn properties(tx: &mut Transaction<'_, Sqlite>, person: i64) -> StoreResult<Map<String, Value>> {
    let text: String = sqlx::query("SELECT properties FROM persons WHERE id = ?")
        .bind(person)
        .fetch_one(&mut **tx)
        .await
        .map_err(internal("cannot read person"))?
        .get(0);
    Ok(match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    })
}

/// One person update inside `tx`.
async fn apply_in(tx: &mut Transaction<'_, Sqlite>, u: PersonUpdate) -> StoreResult<()> {
    let p = u.project_id;
    let person = match person_of(tx, p, &u.distinct_id).await? {
        Some(id) => id,
        None => {
            let id: i64 =
                sqlx::query("INSERT INTO persons (project_id, created_at_ms) VALUES (?, ?) RETURNING id")
                    .bind(p)
                    .bind(u.timestamp_ms.min(now_ms()))
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(internal("cannot create person"))?
                    .get(0);
            sqlx::query(
                "INSERT INTO person_distinct_ids (project_id, distinct_id, person_id) VALUES (?, ?, ?)",
            )
            .bind(p)
            .bind(&u.distinct_id)
            .bind(id)
            .execute(&mut **tx)
            .await
            .map_err(internal("cannot link distinct id"))?;
            id
        }
    };
    let mut props = properties(tx, person).await?;
    for other in u.merge_from.iter().filter(|d| **d != u.distinct_id) {
        match person_of(tx, p, other).await? {
            Some(old) if old == person => {}
            Some(old) => {
                // The merged person's properties fill in what the kept person lacks.
                for (k, v) in properties(tx, old).await? {
                    props.entry(k).or_insert(v);
                }
                sqlx::query("UPDATE person_distinct_ids SET person_id = ? WHERE person_id = ?")
                    .bind(person)
                    .bind(old)
                    .execute(&mut **tx)
                    .await
                    .map_err(internal("cannot merge persons"))?;
                sqlx::query("DELETE FROM persons WHERE id = ?")
                    .bind(old)
                    .execute(&mut **tx)
                    .await
                    .map_err(internal("cannot merge persons"))?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO person_distinct_ids (project_id, distinct_id, person_id) VALUES (?, ?, ?)",
                )
                .bind(p)
                .bind(other)
                .bind(person)
                .execute(&mut **tx)
                .await
                .map_err(internal("cannot link distinct id"))?;
            }
        }
    }
    for (k, v) in u.set_once {
        props.entry(k).or_insert(v);
    }
    props.extend(u.set);
    for k in &u.unset {
        props.remove(k);
    }
    sqlx::query("UPDATE persons SET properties = ? WHERE id = ?")
        .bind(Value::Object(props).to_string())
        .bind(person)
        .execute(&mut **tx)
        .await
        .map_err(internal("cannot update person"))?;
    Ok(())
}

#[async_trait]
impl PersonStore for SqliteMeta {
    async fn apply_person_updates(&self, updates: Vec<PersonUpdate>) -> StoreResult<()> {
        // IMMEDIATE: take the write lock up front. A deferred transaction that reads and then
        // writes fails ("database is locked") when another connection wrote in between.
        let mut tx =
            self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(internal("cannot begin person update"))?;
        for update in updates {
            apply_in(&mut tx, update).await?;
        }
        tx.commit().await.map_err(internal("cannot commit person update"))
    }

    async fn person(&self, project_id: ProjectId, distinct_id: &str) -> StoreResult<Option<Person>> {
        let mut tx = self.pool.begin().await.map_err(internal("cannot read person"))?;
        let Some(id) = person_of(&mut tx, project_id, distinct_id).await? else { return Ok(None) };
        let properties = properties(&mut tx, id).await?;
        let created_at_ms: i64 = sqlx::query("SELECT created_at_ms FROM persons WHERE id = ?")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(internal("cannot read person"))?
            .get(0);
        let distinct_ids = sqlx::query(
            "SELECT distinct_id FROM person_distinct_ids WHERE person_id = ? ORDER BY distinct_id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(internal("cannot read distinct ids"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
        Ok(Some(Person { id, distinct_ids, properties, created_at_ms }))
    }
}
