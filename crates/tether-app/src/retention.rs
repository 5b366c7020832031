//! Retention: each project's logs, events (with exceptions) and recordings older than its
//! settings keep ([`tether_model::Retention`]) are deleted. The stores delete in short
//! steps (see their `delete_*` contracts) and deletes are idempotent, so processes sharing
//! storage may all run it and an interrupted run is finished by the next.

use tether_model::ProjectId;
use tether_store::{Project, StoreResult};

use crate::App;

const DAY_MS: i64 = 86_400_000;

/// What one run deleted of a project.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub logs: u64,
    /// Events and exception occurrences.
    pub events: u64,
    /// Recorded sessions (their index and bytes).
    pub recordings: u64,
}

impl App {
    /// Deletes, for every project, what is older than its retention at the clock's now;
    /// what each project lost.
    pub async fn expire(&self) -> StoreResult<Vec<(ProjectId, Deleted)>> {
        let now_ms = self.now_ms();
        let mut deleted = Vec::new();
        for project in self.stores.meta.projects().await? {
            deleted.push((project.id, self.expire_project(&project, now_ms).await?));
        }
        Ok(deleted)
    }

    async fn expire_project(&self, project: &Project, now_ms: i64) -> StoreResult<Deleted> {
        let keep = project.settings.retention;
        let cutoff_ms = |days: u32| now_ms - i64::from(days) * DAY_MS;
        let logs_ns = cutoff_ms(keep.logs_days) * 1_000_000;
        Ok(Deleted {
            logs: self.stores.log_writer.delete_logs_before(project.id, logs_ns).await?,
            events: self.stores.events.delete_events_before(project.id, cutoff_ms(keep.events_days)).await?,
            recordings: self
                .stores
                .recordings
                .delete_ended_before(project.id, cutoff_ms(keep.recordings_days), now_ms)
                .await?,
        })
    }
}
