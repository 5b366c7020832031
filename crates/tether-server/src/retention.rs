//! Retention's task: runs `tether_app::retention` now and then, beside ingest, never in its
//! path; a failed run is logged, counted and retried at the next one.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tether_app::retention::Deleted;
use tether_store::StoreResult;

use crate::AppState;

/// Runs [`run_once`] now and then every `every`, for as long as the process lives.
pub fn spawn(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let outcome = run_once(&state).await;
            if outcome.is_ok() {
                state.metrics().retention_runs.fetch_add(1, Ordering::Relaxed);
            }
            match outcome {
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

/// Runs the retention use case once, counting what it deleted in the metrics.
async fn run_once(state: &AppState) -> StoreResult<Deleted> {
    let mut total = Deleted::default();
    for (_, deleted) in state.app().expire().await? {
        let counters = &state.metrics().retention_deleted;
        for (counter, n) in counters.iter().zip([deleted.logs, deleted.events, deleted.recordings]) {
            counter.fetch_add(n, Ordering::Relaxed);
        }
        total.logs += deleted.logs;
        total.events += deleted.events;
        total.recordings += deleted.recordings;
    }
    // Login sessions that expired log no one in; their rows go with the data.
    let purged = state.users().delete_expired_sessions(crate::clock::now_ms()).await?;
    if purged > 0 {
        tracing::debug!(purged, "expired login sessions deleted");
    }
    Ok(total)
}
