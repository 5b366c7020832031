//! Alerts and their history (`migrations/*/…alerts.sql`). State changes are a conditional
//! UPDATE and the event INSERT in one transaction: the process whose UPDATE matched records
//! and notifies, the others see no row changed.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tether_model::ProjectId;
use tether_store::{
    Alert, AlertEvent, AlertEventKind, AlertRule, AlertSpec, AlertStore, Delivery, NewAlertEvent, StoreError,
    StoreResult,
};

use crate::{SqlMeta, internal};

const ALERT_COLUMNS: &str = "id, project_id, name, rule, webhook_url, link_base, enabled, firing, \
                             last_issue_id, checked_until_ms, created_at_ms";
const EVENT_COLUMNS: &str =
    "id, alert_id, project_id, kind, at_ms, value, payload, delivery, attempts, last_error";

fn alert_of(row: &AnyRow) -> Alert {
    Alert {
        id: row.get(0),
        project_id: row.get(1),
        name: row.get(2),
        rule: serde_json::from_str(row.get(3)).unwrap_or(AlertRule::NewIssue),
        webhook_url: row.get(4),
        link_base: row.get(5),
        enabled: row.get::<i64, _>(6) != 0,
        firing: row.get::<i64, _>(7) != 0,
        last_issue_id: row.get(8),
        checked_until_ms: row.get(9),
        created_at_ms: row.get(10),
    }
}

fn event_of(row: &AnyRow) -> AlertEvent {
    AlertEvent {
        id: row.get(0),
        alert_id: row.get(1),
        project_id: row.get(2),
        kind: if row.get::<&str, _>(3) == "resolved" {
            AlertEventKind::Resolved
        } else {
            AlertEventKind::Fired
        },
        at_ms: row.get(4),
        value: row.get(5),
        payload: row.get(6),
        delivery: match row.get::<&str, _>(7) {
            "delivered" => Delivery::Delivered,
            "failed" => Delivery::Failed,
            _ => Delivery::Pending,
        },
        attempts: row.get::<i64, _>(8) as u32,
        last_error: row.get(9),
    }
}

fn kind_text(kind: AlertEventKind) -> &'static str {
    match kind {
        AlertEventKind::Fired => "fired",
        AlertEventKind::Resolved => "resolved",
    }
}

fn rule_json(rule: &AlertRule) -> StoreResult<String> {
    serde_json::to_string(rule).map_err(|e| StoreError::internal("cannot encode alert rule", e))
}

async fn insert_event(
    tx: &mut Transaction<'_, Any>,
    project_id: ProjectId,
    alert_id: i64,
    event: NewAlertEvent,
) -> StoreResult<AlertEvent> {
    let row = sqlx::query(&format!(
        "INSERT INTO alert_events (alert_id, project_id, kind, at_ms, value, payload) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {EVENT_COLUMNS}"
    ))
    .bind(alert_id)
    .bind(project_id)
    .bind(kind_text(event.kind))
    .bind(event.at_ms)
    .bind(event.value)
    .bind(&event.payload)
    .fetch_one(&mut **tx)
    .await
    .map_err(internal("cannot record alert event"))?;
    Ok(event_of(&row))
}

#[async_trait]
impl AlertStore for SqlMeta {
    async fn create_alert(&self, project_id: ProjectId, spec: AlertSpec, now_ms: i64) -> StoreResult<Alert> {
        // Issues that exist now are not new to it.
        let last_issue: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM issues WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&self.pool)
            .await
            .map_err(internal("cannot read issues"))?
            .get(0);
        let row = sqlx::query(&format!(
            "INSERT INTO alerts (project_id, name, rule, webhook_url, link_base, enabled, firing, last_issue_id, \
             checked_until_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $8) RETURNING {ALERT_COLUMNS}"
        ))
        .bind(project_id)
        .bind(&spec.name)
        .bind(rule_json(&spec.rule)?)
        .bind(&spec.webhook_url)
        .bind(&spec.link_base)
        .bind(i64::from(spec.enabled))
        .bind(last_issue)
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await
        .map_err(internal("cannot create alert"))?;
        Ok(alert_of(&row))
    }

    async fn alerts(&self, project_id: ProjectId) -> StoreResult<Vec<Alert>> {
        let rows =
            sqlx::query(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE project_id = $1 ORDER BY id"))
                .bind(project_id)
                .fetch_all(&self.pool)
                .await
                .map_err(internal("cannot list alerts"))?;
        Ok(rows.iter().map(alert_of).collect())
    }

    async fn enabled_alerts(&self) -> StoreResult<Vec<Alert>> {
        let rows = sqlx::query(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE enabled = 1 ORDER BY id"))
            .fetch_all(&self.pool)
            .await
            .map_err(internal("cannot list alerts"))?;
        Ok(rows.iter().map(alert_of).collect())
    }

    async fn alert(&self, project_id: ProjectId, id: i64) -> StoreResult<Option<Alert>> {
        let row =
            sqlx::query(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE project_id = $1 AND id = $2"))
                .bind(project_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(internal("cannot read alert"))?;
        Ok(row.as_ref().map(alert_of))
    }

    async fn update_alert(
        &self,
        project_id: ProjectId,
        id: i64,
        spec: AlertSpec,
    ) -> StoreResult<Option<Alert>> {
        let row = sqlx::query(&format!(
            "UPDATE alerts SET name = $1, rule = $2, webhook_url = $3, link_base = $4, enabled = $5 \
             WHERE project_id = $6 AND id = $7 RETURNING {ALERT_COLUMNS}"
        ))
        .bind(&spec.name)
        .bind(rule_json(&spec.rule)?)
        .bind(&spec.webhook_url)
        .bind(&spec.link_base)
        .bind(i64::from(spec.enabled))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(internal("cannot update alert"))?;
        Ok(row.as_ref().map(alert_of))
    }

    async fn delete_alert(&self, project_id: ProjectId, id: i64) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM alerts WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(internal("cannot delete alert"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_firing(
        &self,
        project_id: ProjectId,
        id: i64,
        firing: bool,
        event: NewAlertEvent,
    ) -> StoreResult<Option<AlertEvent>> {
        let mut tx = self.pool.begin().await.map_err(internal("cannot begin alert change"))?;
        let changed =
            sqlx::query("UPDATE alerts SET firing = $1 WHERE project_id = $2 AND id = $3 AND firing <> $1")
                .bind(i64::from(firing))
                .bind(project_id)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(internal("cannot change alert"))?;
        if changed.rows_affected() == 0 {
            return Ok(None);
        }
        let event = insert_event(&mut tx, project_id, id, event).await?;
        tx.commit().await.map_err(internal("cannot commit alert change"))?;
        Ok(Some(event))
    }

    async fn advance_issue_marks(
        &self,
        project_id: ProjectId,
        id: i64,
        from: (i64, i64),
        to: (i64, i64),
        events: Vec<NewAlertEvent>,
    ) -> StoreResult<Option<Vec<AlertEvent>>> {
        let mut tx = self.pool.begin().await.map_err(internal("cannot begin alert change"))?;
        let changed = sqlx::query(
            "UPDATE alerts SET last_issue_id = $1, checked_until_ms = $2 \
             WHERE project_id = $3 AND id = $4 AND last_issue_id = $5 AND checked_until_ms = $6",
        )
        .bind(to.0)
        .bind(to.1)
        .bind(project_id)
        .bind(id)
        .bind(from.0)
        .bind(from.1)
        .execute(&mut *tx)
        .await
        .map_err(internal("cannot change alert"))?;
        if changed.rows_affected() == 0 {
            return Ok(None);
        }
        let mut recorded = Vec::with_capacity(events.len());
        for event in events {
            recorded.push(insert_event(&mut tx, project_id, id, event).await?);
        }
        tx.commit().await.map_err(internal("cannot commit alert change"))?;
        Ok(Some(recorded))
    }

    async fn record_delivery(
        &self,
        event_id: i64,
        delivery: Delivery,
        attempts: u32,
        last_error: Option<String>,
    ) -> StoreResult<()> {
        let text = match delivery {
            Delivery::Pending => "pending",
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
        };
        sqlx::query("UPDATE alert_events SET delivery = $1, attempts = $2, last_error = $3 WHERE id = $4")
            .bind(text)
            .bind(i64::from(attempts))
            .bind(last_error)
            .bind(event_id)
            .execute(&self.pool)
            .await
            .map_err(internal("cannot record delivery"))?;
        Ok(())
    }

    async fn alert_events(
        &self,
        project_id: ProjectId,
        alert_id: i64,
        limit: usize,
    ) -> StoreResult<Vec<AlertEvent>> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM alert_events WHERE project_id = $1 AND alert_id = $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(project_id)
        .bind(alert_id)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(internal("cannot list alert events"))?;
        Ok(rows.iter().map(event_of).collect())
    }
}
