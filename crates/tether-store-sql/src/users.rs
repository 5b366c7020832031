//! UI users and login sessions.

use async_trait::async_trait;
use sqlx::Row;
use tether_store::{ErrorKind, StoreError, StoreResult, User, UserStore};

use crate::{SqlMeta, internal, now_ms};

#[async_trait]
impl UserStore for SqlMeta {
    async fn create_user(&self, username: &str, password_hash: &str) -> StoreResult<User> {
        let row = sqlx::query(
            "INSERT INTO users (username, password_hash, created_at_ms) VALUES ($1, $2, $3) RETURNING id, username",
        )
        .bind(username)
        .bind(password_hash)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::new(ErrorKind::InvalidInput, "username already taken")
            }
            _ => StoreError::internal("cannot create user", e),
        })?;
        Ok(User { id: row.get(0), username: row.get(1) })
    }

    async fn create_first_user(&self, username: &str, password_hash: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "INSERT INTO users (username, password_hash, created_at_ms) \
             SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING id, username",
        )
        .bind(username)
        .bind(password_hash)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await;
        match row {
            Ok(row) => Ok(row.map(|r| User { id: r.get(0), username: r.get(1) })),
            // Another process created the same first user between our check and insert.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(None),
            Err(e) => Err(internal("cannot create user")(e)),
        }
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        let row = sqlx::query("SELECT id, username, password_hash FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(internal("cannot read user"))?;
        Ok(row.map(|r| (User { id: r.get(0), username: r.get(1) }, r.get(2))))
    }

    async fn user_count(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query("SELECT count(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(internal("cannot count users"))?
            .get(0);
        Ok(n as u64)
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

    async fn create_session(&self, token_hash: &str, user_id: i64, expires_at_ms: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO user_sessions (token_hash, user_id, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(now_ms())
            .bind(expires_at_ms)
            .execute(&self.pool)
            .await
            .map_err(internal("cannot create session"))?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now: i64) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT u.id, u.username FROM user_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at_ms > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(internal("cannot read session"))?;
        Ok(row.map(|r| User { id: r.get(0), username: r.get(1) }))
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM user_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(internal("cannot delete session"))?;
        Ok(())
    }
}
