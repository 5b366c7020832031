//! UI users, their roles, login sessions and invitations.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;
use tether_model::ProjectId;
use tether_store::{
    ErrorKind, Invite, LoginSession, Membership, Role, StoreError, StoreResult, User, UserStore,
};

use crate::{SqlMeta, internal, now_ms};

const USER_COLUMNS: &str = "id, username, role, created_at_ms";
const INVITE_COLUMNS: &str = "id, role, projects, created_by, created_at_ms, expires_at_ms";
/// How many hex characters of a session's token hash name it in lists.
const SESSION_ID_LEN: usize = 16;

fn role(row: &AnyRow, column: &str) -> Role {
    // Only this code writes roles; an unknown one (a newer version's) reads as the least.
    Role::parse(row.get::<&str, _>(column)).unwrap_or(Role::Viewer)
}

fn user(row: &AnyRow) -> User {
    User {
        id: row.get("id"),
        username: row.get("username"),
        role: role(row, "role"),
        created_at_ms: row.get("created_at_ms"),
    }
}

fn invite(row: &AnyRow) -> Invite {
    Invite {
        id: row.get("id"),
        role: role(row, "role"),
        projects: invite_projects(row),
        created_by: row.get("created_by"),
        created_at_ms: row.get("created_at_ms"),
        expires_at_ms: row.get("expires_at_ms"),
    }
}

/// An invitation's projects (JSON written by [`UserStore::create_invite`]).
fn invite_projects(row: &AnyRow) -> Option<Vec<Membership>> {
    let text: Option<String> = row.get("projects");
    // Only this code writes the column; unreadable JSON (a newer version's) grants nothing.
    text.map(|t| serde_json::from_str(&t).unwrap_or_default())
}

/// Makes `user` a member of the projects `grant` names (of those that exist), or with
/// `None` of every project, with `role`.
async fn grant(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user: i64,
    role: Role,
    grant: Option<&[Membership]>,
) -> StoreResult<()> {
    // One statement per project named (PostgreSQL refuses a bind its statement does not use).
    let all = [None];
    let named: Vec<Option<&Membership>> =
        grant.map_or_else(|| all.to_vec(), |list| list.iter().map(Some).collect());
    for m in named {
        let (source, role) = match m {
            None => ("SELECT id FROM projects", role),
            Some(m) => ("SELECT id FROM projects WHERE id = $3", m.role),
        };
        let sql = format!(
            "INSERT INTO project_members (user_id, project_id, role) SELECT $1, id, $2 FROM ({source}) p WHERE true \
             ON CONFLICT (user_id, project_id) DO UPDATE SET role = excluded.role"
        );
        let mut query = sqlx::query(&sql).bind(user).bind(role.as_str());
        if let Some(m) = m {
            query = query.bind(m.project_id);
        }
        query.execute(&mut **tx).await.map_err(internal("cannot grant project access"))?;
    }
    Ok(())
}

fn taken(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::new(ErrorKind::InvalidInput, "username already taken")
        }
        _ => internal("cannot create user")(e),
    }
}

async fn insert_user<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    username: &str,
    password_hash: &str,
    role: Role,
) -> StoreResult<User> {
    let row = sqlx::query(&format!(
        "INSERT INTO users (username, password_hash, role, created_at_ms) VALUES ($1, $2, $3, $4) \
         RETURNING {USER_COLUMNS}"
    ))
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now_ms())
    .fetch_one(executor)
    .await
    .map_err(taken)?;
    Ok(user(&row))
}

fn not_found(what: &str) -> StoreError {
    StoreError::new(ErrorKind::NotFound, format!("{what} not found"))
}

fn last_admin() -> StoreError {
    StoreError::new(ErrorKind::InvalidInput, "this is the last admin: make another user admin first")
}

impl SqlMeta {
    /// Runs `change` on user `id` in a read-write transaction after checking that, when
    /// the user is an admin and `demotes` says the change takes that away, another admin
    /// remains (the check and the change are one step: see [`SqlMeta::begin_read_write`]).
    /// `change` gets the time and gives the statements (each with its `i64` binds); the
    /// last one's row is returned.
    async fn change_user<F>(&self, id: i64, demotes: bool, change: F) -> StoreResult<Option<AnyRow>>
    where
        F: Fn(i64) -> Vec<(String, Vec<i64>)> + Sync,
    {
        self.retrying(|| async {
            let mut tx = self
                .pool
                .begin_with(self.begin_read_write())
                .await
                .map_err(internal("cannot begin user change"))?;
            let found = sqlx::query("SELECT role FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(internal("cannot read user"))?;
            let Some(found) = found else { return Err(not_found("user")) };
            if demotes && role(&found, "role") == Role::Admin {
                let admins: i64 = sqlx::query("SELECT count(*) FROM users WHERE role = 'admin'")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(internal("cannot count admins"))?
                    .get(0);
                if admins <= 1 {
                    return Err(last_admin());
                }
            }
            let mut last = None;
            for (sql, binds) in change(now_ms()) {
                let mut query = sqlx::query(&sql);
                for b in binds {
                    query = query.bind(b);
                }
                last = query.fetch_optional(&mut *tx).await.map_err(internal("cannot change user"))?;
            }
            tx.commit().await.map_err(internal("cannot commit user change"))?;
            Ok(last)
        })
        .await
    }
}

#[async_trait]
impl UserStore for SqlMeta {
    async fn create_user(&self, username: &str, password_hash: &str, role: Role) -> StoreResult<User> {
        insert_user(&self.pool, username, password_hash, role).await
    }

    async fn create_first_user(&self, username: &str, password_hash: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(&format!(
            "INSERT INTO users (username, password_hash, role, created_at_ms) \
             SELECT $1, $2, 'admin', $3 WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING {USER_COLUMNS}"
        ))
        .bind(username)
        .bind(password_hash)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await;
        match row {
            Ok(row) => Ok(row.as_ref().map(user)),
            // Another process created the same first user between our check and insert.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(None),
            Err(e) => Err(internal("cannot create user")(e)),
        }
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        let row =
            sqlx::query(&format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1"))
                .bind(username)
                .fetch_optional(&self.pool)
                .await
                .map_err(internal("cannot read user"))?;
        Ok(row.map(|r| (user(&r), r.get("password_hash"))))
    }

    async fn user(&self, id: i64) -> StoreResult<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(internal("cannot read user"))?;
        Ok(row.as_ref().map(user))
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
            .fetch_all(&self.pool)
            .await
            .map_err(internal("cannot list users"))?;
        Ok(rows.iter().map(user).collect())
    }

    async fn user_count(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query("SELECT count(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(internal("cannot count users"))?
            .get(0);
        Ok(n as u64)
    }

    async fn set_role(&self, id: i64, new_role: Role) -> StoreResult<User> {
        let role = new_role.as_str();
        // Before the update, while the old role is still there to see.
        let keep_projects = format!(
            "INSERT INTO project_members (user_id, project_id, role) SELECT $1, p.id, '{role}' FROM projects p \
             WHERE (SELECT role FROM users WHERE id = $1) = 'admin' AND '{role}' <> 'admin' \
             ON CONFLICT (user_id, project_id) DO NOTHING"
        );
        let sql = format!("UPDATE users SET role = '{role}' WHERE id = $1 RETURNING {USER_COLUMNS}");
        let row = self
            .change_user(id, new_role != Role::Admin, |_| {
                vec![(keep_projects.clone(), vec![id]), (sql.clone(), vec![id])]
            })
            .await?;
        row.as_ref().map(user).ok_or_else(|| not_found("user"))
    }

    async fn delete_user(&self, id: i64) -> StoreResult<()> {
        self.change_user(id, true, |now| {
            vec![
                ("DELETE FROM user_sessions WHERE user_id = $1".into(), vec![id]),
                (
                    "UPDATE api_keys SET revoked_at_ms = $1 WHERE user_id = $2 AND revoked_at_ms IS NULL"
                        .into(),
                    vec![now, id],
                ),
                ("DELETE FROM project_members WHERE user_id = $1".into(), vec![id]),
                ("DELETE FROM users WHERE id = $1".into(), vec![id]),
            ]
        })
        .await?;
        Ok(())
    }

    async fn memberships(&self, user_id: i64) -> StoreResult<Vec<Membership>> {
        let rows = sqlx::query(
            "SELECT project_id, role FROM project_members WHERE user_id = $1 ORDER BY project_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(internal("cannot read memberships"))?;
        Ok(rows
            .iter()
            .map(|r| Membership { project_id: r.get("project_id"), role: role(r, "role") })
            .collect())
    }

    async fn set_membership(
        &self,
        user_id: i64,
        project_id: ProjectId,
        new: Option<Role>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(internal("cannot begin membership change"))?;
        let found = sqlx::query(
            "SELECT (SELECT count(*) FROM users WHERE id = $1), (SELECT count(*) FROM projects WHERE id = $2)",
        )
        .bind(user_id)
        .bind(project_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(internal("cannot read membership"))?;
        if found.get::<i64, _>(0) == 0 {
            return Err(not_found("user"));
        }
        if found.get::<i64, _>(1) == 0 {
            return Err(not_found("project"));
        }
        match new {
            Some(role) => grant(&mut tx, user_id, role, Some(&[Membership { project_id, role }])).await?,
            None => {
                sqlx::query("DELETE FROM project_members WHERE user_id = $1 AND project_id = $2")
                    .bind(user_id)
                    .bind(project_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(internal("cannot remove membership"))?;
            }
        }
        tx.commit().await.map_err(internal("cannot commit membership change"))
    }

    async fn set_password(&self, username: &str, password_hash: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(internal("cannot begin password change"))?;
        let user = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2 RETURNING id")
            .bind(password_hash)
            .bind(username)
            .fetch_optional(&mut *tx)
            .await
            .map_err(internal("cannot change password"))?;
        let Some(user) = user else { return Ok(false) };
        sqlx::query("DELETE FROM user_sessions WHERE user_id = $1")
            .bind(user.get::<i64, _>(0))
            .execute(&mut *tx)
            .await
            .map_err(internal("cannot end sessions"))?;
        tx.commit().await.map_err(internal("cannot commit password change"))?;
        Ok(true)
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        user_agent: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO user_sessions (token_hash, user_id, user_agent, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(user_agent)
        .bind(now_ms())
        .bind(expires_at_ms)
        .execute(&self.pool)
        .await
        .map_err(internal("cannot create session"))?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now: i64) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.role, u.created_at_ms FROM user_sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at_ms > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(internal("cannot read session"))?;
        Ok(row.as_ref().map(user))
    }

    async fn sessions(&self, user_id: i64, now: i64) -> StoreResult<Vec<LoginSession>> {
        let rows = sqlx::query(
            "SELECT token_hash, user_agent, created_at_ms, expires_at_ms FROM user_sessions \
             WHERE user_id = $1 AND expires_at_ms > $2 ORDER BY created_at_ms DESC",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(internal("cannot list sessions"))?;
        Ok(rows
            .iter()
            .map(|r| LoginSession {
                id: r.get::<&str, _>("token_hash").chars().take(SESSION_ID_LEN).collect(),
                user_agent: r.get("user_agent"),
                created_at_ms: r.get("created_at_ms"),
                expires_at_ms: r.get("expires_at_ms"),
            })
            .collect())
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM user_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(internal("cannot delete session"))?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM user_sessions WHERE expires_at_ms <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(internal("cannot delete expired sessions"))?;
        Ok(done.rows_affected())
    }

    async fn delete_session_by_id(&self, user_id: i64, id: &str) -> StoreResult<()> {
        // Only a full-length hex id names one session (a shorter prefix could name several).
        if id.len() != SESSION_ID_LEN || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found("session"));
        }
        let done =
            sqlx::query("DELETE FROM user_sessions WHERE user_id = $1 AND substr(token_hash, 1, 16) = $2")
                .bind(user_id)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(internal("cannot delete session"))?;
        if done.rows_affected() == 0 {
            return Err(not_found("session"));
        }
        Ok(())
    }

    async fn create_invite(
        &self,
        token_hash: &str,
        role: Role,
        projects: Option<&[Membership]>,
        created_by: i64,
        expires_at_ms: i64,
    ) -> StoreResult<Invite> {
        let projects = projects.map(|p| serde_json::to_string(p).unwrap_or_default());
        let row = sqlx::query(&format!(
            "INSERT INTO invites (token_hash, role, projects, created_by, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {INVITE_COLUMNS}"
        ))
        .bind(token_hash)
        .bind(role.as_str())
        .bind(projects)
        .bind(created_by)
        .bind(now_ms())
        .bind(expires_at_ms)
        .fetch_one(&self.pool)
        .await
        .map_err(internal("cannot create invitation"))?;
        Ok(invite(&row))
    }

    async fn invites(&self, now: i64) -> StoreResult<Vec<Invite>> {
        let rows = sqlx::query(&format!(
            "SELECT {INVITE_COLUMNS} FROM invites WHERE used_at_ms IS NULL AND revoked_at_ms IS NULL \
             AND expires_at_ms > $1 ORDER BY id DESC"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(internal("cannot list invitations"))?;
        Ok(rows.iter().map(invite).collect())
    }

    async fn invite_by_hash(&self, token_hash: &str, now: i64) -> StoreResult<Option<Invite>> {
        let row = sqlx::query(&format!(
            "SELECT {INVITE_COLUMNS} FROM invites WHERE token_hash = $1 AND used_at_ms IS NULL \
             AND revoked_at_ms IS NULL AND expires_at_ms > $2"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(internal("cannot read invitation"))?;
        Ok(row.as_ref().map(invite))
    }

    async fn accept_invite(
        &self,
        token_hash: &str,
        now: i64,
        username: &str,
        password_hash: &str,
    ) -> StoreResult<User> {
        let mut tx = self.pool.begin().await.map_err(internal("cannot begin accepting invitation"))?;
        // The UPDATE consumes the invitation; a concurrent acceptance waits on its row and
        // then finds it used.
        let used = sqlx::query(
            "UPDATE invites SET used_at_ms = $1 WHERE token_hash = $2 AND used_at_ms IS NULL \
             AND revoked_at_ms IS NULL AND expires_at_ms > $3 RETURNING role, projects",
        )
        .bind(now_ms())
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(internal("cannot use invitation"))?;
        let Some(used) = used else {
            return Err(StoreError::new(ErrorKind::NotFound, "invitation not found, used or expired"));
        };
        // On a taken username the transaction is dropped: rolled back, the invitation unused.
        let user = insert_user(&mut *tx, username, password_hash, role(&used, "role")).await?;
        if user.role != Role::Admin {
            grant(&mut tx, user.id, user.role, invite_projects(&used).as_deref()).await?;
        }
        tx.commit().await.map_err(internal("cannot commit accepting invitation"))?;
        Ok(user)
    }

    async fn revoke_invite(&self, id: i64) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE invites SET revoked_at_ms = $1 WHERE id = $2 AND used_at_ms IS NULL AND revoked_at_ms IS NULL",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(internal("cannot revoke invitation"))?;
        if done.rows_affected() == 0 {
            return Err(not_found("invitation"));
        }
        Ok(())
    }
}
