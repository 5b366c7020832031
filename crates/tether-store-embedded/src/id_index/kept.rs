//! What a search's histogram and summary counted in each sealed segment, kept for the
//! next time they are asked. The logs page's live tail reloads both every 2 s while logs
//! arrive, and an alert counts its search every minute: each time, every match of the range
//! was counted again (at 100 M logs, a common phrase's 1.3 M matches: ~60 ms and ~115 ms of
//! both cores), though only the newest segment and the range's oldest could have changed.
//! A segment never changes once written but by deletes, so what it counted for a filter is
//! kept by (segment, its deletes, the filter), as Elasticsearch keeps aggregations per shard
//! (its shard request cache) and Quickwit its leaf results per split.
//!
//! Only segments whose logs all lie in the range are kept: their count does not depend on
//! where the range starts or ends. `moka`, the concurrent cache the server uses elsewhere,
//! evicts the least used when the entries' weight passes the budget.

use std::sync::Arc;

use moka::sync::Cache;
use tantivy::SegmentReader;
use tantivy::index::SegmentId;

type Result<T> = tantivy::Result<T>;

/// What a segment counted, as a collector hands it on.
pub(super) type Counted<T> = Result<Arc<T>>;

/// What the entries of one kind may weigh together. A common phrase's sessions and people
/// at 100 M logs are ~5 MB of keys; a histogram's counts are a few kB.
const BUDGET_BYTES: u64 = 24 << 20;

/// The bytes an entry holds.
pub(super) trait Weigh {
    fn bytes(&self) -> usize;
}

#[derive(PartialEq, Eq, Hash)]
struct Key {
    segment: SegmentId,
    /// The opstamp of the segment's last deletes (retention deletes from old segments).
    deletes: Option<u64>,
    /// The filter and what the collector reports (see [`super::Exact`]).
    what: Arc<str>,
}

/// Counts of segments by filter (see the module's doc).
pub(super) struct Kept<T>(Cache<Key, Arc<T>>);

impl<T: Weigh + Send + Sync + 'static> Default for Kept<T> {
    fn default() -> Self {
        let weigh = |key: &Key, counted: &Arc<T>| {
            u32::try_from(key.what.len() + counted.bytes() + 64).unwrap_or(u32::MAX)
        };
        Kept(Cache::builder().max_capacity(BUDGET_BYTES).weigher(weigh).build())
    }
}

impl<T: Weigh + Send + Sync + 'static> Kept<T> {
    /// What `segment` counted of `what`, from before or by `count` now (kept unless it
    /// failed).
    pub(super) fn get_or(
        &self,
        segment: &SegmentReader,
        what: &Arc<str>,
        count: impl FnOnce() -> Result<Counted<T>>,
    ) -> Result<Counted<T>> {
        let key =
            Key { segment: segment.segment_id(), deletes: segment.delete_opstamp(), what: what.clone() };
        if let Some(counted) = self.0.get(&key) {
            return Ok(Ok(counted));
        }
        let counted = count()?;
        if let Ok(counted) = &counted {
            self.0.insert(key, counted.clone());
        }
        Ok(counted)
    }
}
