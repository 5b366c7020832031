//! Reading logs: the histogram's buckets (a standard width, every bucket present), live
//! tail's cursor, a session's logs around its recording, and the marks of a page's sessions.

use std::collections::{BTreeMap, HashMap, HashSet};

use tether_model::{LogId, ProjectId};
use tether_store::{Breakdown, ExceptionScope, LogFilter, LogQuery, SessionHit, StoreResult, StoredLog};

use crate::App;

/// Most logs one page, one tail poll or one session's panel returns.
pub const MAX_PAGE: usize = 1000;

/// Histogram bucket widths, in seconds, from which the one giving ~50 buckets is picked.
const BUCKET_WIDTHS: [i64; 15] =
    [1, 5, 10, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 21_600, 43_200, 86_400];

/// The smallest standard width that splits the range into at most ~50 buckets (1 day max).
pub fn bucket_width_ns(from_ns: i64, to_ns: i64) -> i64 {
    let target = (to_ns - from_ns) / 50;
    let secs = BUCKET_WIDTHS.into_iter().find(|w| w * 1_000_000_000 >= target).unwrap_or(86_400);
    secs * 1_000_000_000
}

/// A histogram with every bucket of its range, empty ones included, so charts need no gap
/// logic: (bucket start, count per breakdown key).
#[derive(Debug, Clone, PartialEq)]
pub struct FilledHistogram {
    pub width_ns: i64,
    pub buckets: Vec<(i64, BTreeMap<String, u64>)>,
    /// Counted from a sample and scaled (see `tether_store::Histogram`).
    pub approximate: bool,
}

/// How long after its id was minted a log may still become visible: the commit that
/// follows the minting takes milliseconds, seconds under load. Live tail re-reads this much
/// behind "now", so a log committed late — by this process or another one writing to the
/// same store — is still returned once it is visible.
pub const TAIL_OVERLAP_US: i64 = 10_000_000;

/// One poll of live tail: the logs since the cursor (oldest first) and the cursor to ask
/// with next.
#[derive(Debug, Clone, PartialEq)]
pub struct TailPoll {
    pub logs: Vec<StoredLog>,
    pub cursor: LogId,
}

/// Extra time around a recording in which the session's backend logs are shown: a request
/// logged just before the first snapshot or after the last still belongs to the visit.
pub const SESSION_LOG_MARGIN_NS: i64 = 5 * 60 * 1_000_000_000;

/// Whether a session was recorded and how many exceptions it hit (the ▶ and ⚠ of log rows).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionFlags {
    pub session_id: String,
    pub has_recording: bool,
    pub exceptions: u64,
}

/// A session behind a search: its matching logs and person, and whether it was recorded
/// and hit exceptions.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSession {
    pub hit: SessionHit,
    pub has_recording: bool,
    pub exceptions: u64,
}

/// Most sessions one flags call answers for.
pub const MAX_FLAGGED_SESSIONS: usize = 500;

impl App {
    /// The filter's histogram over its range in [`bucket_width_ns`] buckets, up to now (or
    /// a later bucket with logs).
    pub async fn histogram(&self, filter: LogFilter, breakdown: Breakdown) -> StoreResult<FilledHistogram> {
        let (from, to) = (filter.from_ns, filter.to_ns);
        let width = bucket_width_ns(from, to);
        let histogram = self.stores.logs.histogram(filter, width, breakdown).await?;
        let first = from.div_euclid(width) * width;
        let mut buckets: BTreeMap<i64, BTreeMap<String, u64>> =
            (0..).map(|i| first + i * width).take_while(|s| *s < to).map(|s| (s, BTreeMap::new())).collect();
        for row in histogram.buckets {
            *buckets.entry(row.start_ns).or_default().entry(row.key).or_default() += row.count;
        }
        // A range reaching past now (the default does, for senders whose clocks run fast)
        // ends at the bucket of now unless a later one has logs: a chart of empty future
        // buckets reads as if logging stopped.
        let now = self.now_ms().saturating_mul(1_000_000);
        while buckets.last_key_value().is_some_and(|(start, counts)| *start > now && counts.is_empty()) {
            buckets.pop_last();
        }
        Ok(FilledHistogram {
            width_ns: width,
            buckets: buckets.into_iter().collect(),
            approximate: histogram.approximate,
        })
    }

    /// Live tail. Without `after`, no logs and the cursor meaning "from now on"; with it,
    /// what arrived since. The cursor never moves past `now − TAIL_OVERLAP_US`, so
    /// consecutive polls may return a log twice: clients drop repeats by id.
    pub async fn tail(&self, filter: LogFilter, after: Option<LogId>, limit: usize) -> StoreResult<TailPoll> {
        let horizon = LogId::at_micros(self.now_ms().saturating_mul(1000) - TAIL_OVERLAP_US);
        let Some(after) = after else { return Ok(TailPoll { logs: Vec::new(), cursor: horizon }) };
        let logs = self.stores.logs.tail(filter, after, limit).await?;
        let newest = logs.last().map_or(after, |l| l.id);
        Ok(TailPoll { cursor: newest.min(horizon).max(after), logs })
    }

    /// The session's backend logs, oldest first (at most [`MAX_PAGE`]; `true` when there
    /// were more), within its recording's span plus [`SESSION_LOG_MARGIN_NS`] when it was
    /// recorded, else wherever the session's logs are.
    pub async fn session_logs(
        &self,
        project_id: ProjectId,
        session_id: &str,
    ) -> StoreResult<(Vec<StoredLog>, bool)> {
        let (from, to) = match self.stores.recordings.index.recording(project_id, session_id).await? {
            Some(r) => (
                r.start_ms.saturating_mul(1_000_000) - SESSION_LOG_MARGIN_NS,
                r.end_ms.saturating_mul(1_000_000) + SESSION_LOG_MARGIN_NS,
            ),
            // The session index narrows this to the session's own span.
            None => (0, i64::MAX),
        };
        let mut filter = LogFilter::new(project_id, from, to);
        filter.session_id = Some(session_id.to_owned());
        let page = self.stores.logs.search(LogQuery { filter, limit: MAX_PAGE, after: None }).await?;
        let mut logs = page.logs;
        logs.reverse();
        Ok((logs, page.next.is_some()))
    }

    /// The sessions of the logs matching `filter`, the one with the latest match first, at
    /// most `limit` (up to [`MAX_FLAGGED_SESSIONS`]).
    pub async fn sessions_of_search(
        &self,
        filter: LogFilter,
        limit: usize,
    ) -> StoreResult<Vec<SearchSession>> {
        let project_id = filter.project_id;
        let hits = self.stores.logs.sessions(filter, limit.min(MAX_FLAGGED_SESSIONS)).await?;
        let ids = hits.iter().map(|h| h.session_id.clone()).collect();
        let flags: HashMap<String, SessionFlags> = self
            .session_flags(project_id, ids)
            .await?
            .into_iter()
            .map(|f| (f.session_id.clone(), f))
            .collect();
        Ok(hits
            .into_iter()
            .map(|hit| {
                let flag = flags.get(&hit.session_id);
                SearchSession {
                    has_recording: flag.is_some_and(|f| f.has_recording),
                    exceptions: flag.map_or(0, |f| f.exceptions),
                    hit,
                }
            })
            .collect())
    }

    /// Which of `ids` (at most [`MAX_FLAGGED_SESSIONS`], repeats dropped, sorted) were
    /// recorded and hit exceptions: the recording index and the event store, joined here.
    pub async fn session_flags(
        &self,
        project_id: ProjectId,
        mut ids: Vec<String>,
    ) -> StoreResult<Vec<SessionFlags>> {
        ids.sort();
        ids.dedup();
        if ids.len() > MAX_FLAGGED_SESSIONS {
            return Err(tether_store::StoreError::new(
                tether_store::ErrorKind::InvalidInput,
                format!("invalid ids: at most {MAX_FLAGGED_SESSIONS} session ids"),
            ));
        }
        let recorded: HashSet<String> = self
            .stores
            .recordings
            .index
            .recorded_sessions(project_id, ids.clone())
            .await?
            .into_iter()
            .collect();
        let scope = ExceptionScope { project_id, ..Default::default() };
        let exceptions: HashMap<String, u64> =
            self.stores.events.session_exception_counts(scope, ids.clone()).await?.into_iter().collect();
        Ok(ids
            .into_iter()
            .map(|id| SessionFlags {
                has_recording: recorded.contains(&id),
                exceptions: exceptions.get(&id).copied().unwrap_or(0),
                session_id: id,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_snap_to_a_standard_width_of_about_fifty_per_range() {
        let s = 1_000_000_000;
        assert_eq!(bucket_width_ns(0, 3600 * s), 120 * s);
        assert_eq!(bucket_width_ns(0, 60 * s), 5 * s);
        assert_eq!(bucket_width_ns(0, 86_400 * s), 1800 * s);
        assert_eq!(bucket_width_ns(0, 365 * 86_400 * s), 86_400 * s);
    }
}
