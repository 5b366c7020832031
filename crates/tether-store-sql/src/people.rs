//! Issues and persons.

use async_trait::async_trait;
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tether_model::{PersonUpdate, ProjectId};
use tether_store::{
    ErrorKind, Issue, IssueQuery, IssueStatus, IssueStore, Person, PersonStore, StoreError, StoreResult,
};

use crate::{SqlMeta, internal, now_ms};

const ISSUE_COLUMNS: &str = "SELECT id, fingerprint, name, description, status, first_seen_ms, last_seen_ms, reopened_at_ms FROM issues";

fn issue(row: &AnyRow) -> Issue {
    Issue {
        id: row.get("id"),
        fingerprint: row.get("fingerprint"),
        name: row.get("name"),
        description: row.get("description"),
        status: IssueStatus::parse(row.get("status")).unwrap_or(IssueStatus::Active),
        first_seen_ms: row.get("first_seen_ms"),
        last_seen_ms: row.get("last_seen_ms"),
        reopened_at_ms: row.get("reopened_at_ms"),
    }
}

/// Issue ids bound in one statement at most.
const IDS_PER_STATEMENT: usize = 1000;

impl SqlMeta {
    /// The newest issues matching `query`, among `ids` when given (instead of `query.ids`).
    async fn issues_among(&self, query: &IssueQuery, ids: Option<&[i64]>) -> StoreResult<Vec<Issue>> {
        if ids.is_some_and(<[i64]>::is_empty) {
            return Ok(Vec::new());
        }
        // Placeholders are numbered as the clauses are added; binds follow in that order.
        let mut sql = format!("{ISSUE_COLUMNS} WHERE project_id = $1");
        let mut n = 1;
        let mut mark = || {
            n += 1;
            format!("${n}")
        };
        if query.status.is_some() {
            sql += &format!(" AND status = {}", mark());
        }
        if query.text.is_some() {
            let m = mark();
            sql += &format!(
                " AND (lower(name) LIKE {m} ESCAPE '\\' OR lower(description) LIKE {m} ESCAPE '\\')"
            );
        }
        if let Some(ids) = ids {
            let marks: Vec<String> = ids.iter().map(|_| mark()).collect();
            sql += &format!(" AND id IN ({})", marks.join(", "));
        }
        sql += &format!(" ORDER BY last_seen_ms DESC, id DESC LIMIT {}", query.limit);
        let mut q = sqlx::query(&sql).bind(query.project_id);
        if let Some(status) = query.status {
            q = q.bind(status.as_str());
        }
        if let Some(text) = &query.text {
            q = q.bind(like_pattern(&text.to_lowercase()));
        }
        for id in ids.into_iter().flatten() {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(internal("cannot list issues"))?;
        Ok(rows.iter().map(issue).collect())
    }
}

#[async_trait]
impl IssueStore for SqlMeta {
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
             VALUES ($1, $2, $3, $4, 'active', $5, $6) \
             ON CONFLICT (project_id, fingerprint) DO UPDATE SET \
               first_seen_ms = CASE WHEN excluded.first_seen_ms < issues.first_seen_ms \
                 THEN excluded.first_seen_ms ELSE issues.first_seen_ms END, \
               last_seen_ms = CASE WHEN excluded.last_seen_ms > issues.last_seen_ms \
                 THEN excluded.last_seen_ms ELSE issues.last_seen_ms END, \
               reopened_at_ms = CASE WHEN issues.status = 'resolved' THEN $7 \
                 ELSE issues.reopened_at_ms END, \
               status = CASE WHEN issues.status = 'resolved' THEN 'active' ELSE issues.status END \
             RETURNING id",
        )
        .bind(project_id)
        .bind(fingerprint)
        .bind(name)
        .bind(description)
        .bind(seen_ms)
        .bind(seen_ms)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(internal("cannot record issue occurrence"))?;
        Ok(row.get(0))
    }

    async fn issues(&self, query: IssueQuery) -> StoreResult<Vec<Issue>> {
        let Some(ids) = &query.ids else { return self.issues_among(&query, None).await };
        // The ids come from exceptions a public token sends, so there may be more than a
        // statement may bind (SQLite 32,766, PostgreSQL 65,535): a statement per slice,
        // the newest of all kept.
        let mut found = Vec::new();
        for slice in ids.chunks(IDS_PER_STATEMENT) {
            found.extend(self.issues_among(&query, Some(slice)).await?);
        }
        found.sort_by_key(|i| std::cmp::Reverse((i.last_seen_ms, i.id)));
        found.truncate(query.limit);
        Ok(found)
    }

    async fn issue(&self, project_id: ProjectId, id: i64) -> StoreResult<Option<Issue>> {
        let row = sqlx::query(&format!("{ISSUE_COLUMNS} WHERE project_id = $1 AND id = $2"))
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
            "UPDATE issues SET status = $1 WHERE project_id = $2 AND id = $3 \
             RETURNING id, fingerprint, name, description, status, first_seen_ms, last_seen_ms, reopened_at_ms",
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
    tx: &mut Transaction<'_, Any>,
    project: ProjectId,
    distinct_id: &str,
) -> StoreResult<Option<i64>> {
    let row =
        sqlx::query("SELECT person_id FROM person_distinct_ids WHERE project_id = $1 AND distinct_id = $2")
            .bind(project)
            .bind(distinct_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(internal("cannot look up person"))?;
    Ok(row.map(|r| r.get(0)))
}

/// A person by its row id: properties, creation time and every distinct id.
async fn person_by_id(tx: &mut Transaction<'_, Any>, id: i64) -> StoreResult<Person> {
    let properties = properties(tx, id).await?;
    let created_at_ms: i64 = sqlx::query("SELECT created_at_ms FROM persons WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await
        .map_err(internal("cannot read person"))?
        .get(0);
    let distinct_ids =
        sqlx::query("SELECT distinct_id FROM person_distinct_ids WHERE person_id = $1 ORDER BY distinct_id")
            .bind(id)
            .fetch_all(&mut **tx)
            .await
            .map_err(internal("cannot read distinct ids"))?
            .iter()
            .map(|r| r.get(0))
            .collect();
    Ok(Person { id, distinct_ids, properties, created_at_ms })
}

/// `text` as a LIKE pattern matching it anywhere, its wildcards escaped with `\`.
fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

async fn properties(tx: &mut Transaction<'_, Any>, person: i64) -> StoreResult<Map<String, Value>> {
    let text: String = sqlx::query("SELECT properties FROM persons WHERE id = $1")
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
async fn apply_in(tx: &mut Transaction<'_, Any>, u: PersonUpdate) -> StoreResult<()> {
    let p = u.project_id;
    let person = match person_of(tx, p, &u.distinct_id).await? {
        Some(id) => id,
        None => {
            let id: i64 =
                sqlx::query("INSERT INTO persons (project_id, created_at_ms) VALUES ($1, $2) RETURNING id")
                    .bind(p)
                    .bind(u.timestamp_ms.min(now_ms()))
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(internal("cannot create person"))?
                    .get(0);
            sqlx::query(
                "INSERT INTO person_distinct_ids (project_id, distinct_id, person_id) VALUES ($1, $2, $3)",
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
                sqlx::query("UPDATE person_distinct_ids SET person_id = $1 WHERE person_id = $2")
                    .bind(person)
                    .bind(old)
                    .execute(&mut **tx)
                    .await
                    .map_err(internal("cannot merge persons"))?;
                sqlx::query("DELETE FROM persons WHERE id = $1")
                    .bind(old)
                    .execute(&mut **tx)
                    .await
                    .map_err(internal("cannot merge persons"))?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO person_distinct_ids (project_id, distinct_id, person_id) VALUES ($1, $2, $3)",
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
    sqlx::query("UPDATE persons SET properties = $1 WHERE id = $2")
        .bind(Value::Object(props).to_string())
        .bind(person)
        .execute(&mut **tx)
        .await
        .map_err(internal("cannot update person"))?;
    Ok(())
}

#[async_trait]
impl PersonStore for SqlMeta {
    async fn apply_person_updates(&self, updates: Vec<PersonUpdate>) -> StoreResult<()> {
        self.retrying(|| async {
            let mut tx = self
                .pool
                .begin_with(self.begin_read_write())
                .await
                .map_err(internal("cannot begin person update"))?;
            for update in updates.iter().cloned() {
                apply_in(&mut tx, update).await?;
            }
            tx.commit().await.map_err(internal("cannot commit person update"))
        })
        .await
    }

    async fn person(&self, project_id: ProjectId, distinct_id: &str) -> StoreResult<Option<Person>> {
        let mut tx = self.pool.begin().await.map_err(internal("cannot read person"))?;
        let Some(id) = person_of(&mut tx, project_id, distinct_id).await? else { return Ok(None) };
        person_by_id(&mut tx, id).await.map(Some)
    }

    async fn persons(
        &self,
        project_id: ProjectId,
        search: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Person>> {
        let mut tx = self.pool.begin().await.map_err(internal("cannot read persons"))?;
        let pattern = search.filter(|s| !s.is_empty()).map(|s| like_pattern(&s.to_lowercase()));
        let ids: Vec<i64> = sqlx::query(
            "SELECT p.id FROM persons p WHERE p.project_id = $1 AND ($2 = '' OR lower(p.properties) LIKE $2 ESCAPE '\\' \
             OR EXISTS (SELECT 1 FROM person_distinct_ids d WHERE d.person_id = p.id \
                        AND lower(d.distinct_id) LIKE $2 ESCAPE '\\')) \
             ORDER BY p.id DESC LIMIT $3",
        )
        .bind(project_id)
        .bind(pattern.unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .map_err(internal("cannot list persons"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
        let mut persons = Vec::with_capacity(ids.len());
        for id in ids {
            persons.push(person_by_id(&mut tx, id).await?);
        }
        Ok(persons)
    }
}
