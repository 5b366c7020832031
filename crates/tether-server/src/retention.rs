//! Retention: a background task that deletes each project's logs, events (with exceptions)
//! and recordings older than the project's settings keep ([`tether_store::Retention`]).
//!
//! It runs beside ingest, never in its path: the stores delete in short steps (see their
//! `delete_*` contracts), and a failed run is logged, counted and retried at the next one.
//! Several Tether processes sharing storage may all run it; deletes are idempotent.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tether_store::{Project, StoreResult};

use crate::AppState;

const DAY_MS: i64 = 86_400_000;

/// What one run deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Deleted {
    pub logs: u64,
    /// Events and exception occurrences.
    pub events: u64,
    /// Recorded sessions (their index and bytes).
    pub recordings: u64,
}

/// Runs [`run_once`] now and then every `every`, for as long as the process lives.
pub fn spawn(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now_ms = state.app().now_ms();
            match run_once(&state, now_ms).await {
                Ok(d) if d == Deleted::default() => tracing::debug!("retention: nothing to delete"),
                Ok(d) => tracing::info!(
                    logs = d.logs,
                    events = d.events,
                    recordings = d.recordings,
                    "retention run"
                ),
                Err(e) => {
                    state.metrics().retention_failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "retention run failed; retrying at the next run");
                }
            }
        }
    })
}

/// Deletes, for every project, what is older than its retention at `now_ms`.
pub async fn run_once(state: &AppState, now_ms: i64) -> StoreResult<Deleted> {
    let mut total = Deleted::default();
    for project in state.meta().projects().await? {
        let deleted = expire_project(state, &project, now_ms).await?;
        let counters = &state.metrics().retention_deleted;
        for (counter, n) in counters.iter().zip([deleted.logs, deleted.events, deleted.recordings]) {
            counter.fetch_add(n, Ordering::Relaxed);
        }
        total.logs += deleted.logs;
        total.events += deleted.events;
        total.recordings += deleted.recordings;
    }
    Ok(total)
}

async fn expire_project(state: &AppState, project: &Project, now_ms: i64) -> StoreResult<Deleted> {
    let keep = project.settings.retention;
    let cutoff_ms = |days: u32| now_ms - i64::from(days) * DAY_MS;
    Ok(Deleted {
        logs: state
            .log_writer()
            .delete_logs_before(project.id, cutoff_ms(keep.logs_days) * 1_000_000)
            .await?,
        events: state.events().delete_events_before(project.id, cutoff_ms(keep.events_days)).await?,
        recordings: state
            .recordings()
            .delete_ended_before(project.id, cutoff_ms(keep.recordings_days))
            .await?,
    })
}
