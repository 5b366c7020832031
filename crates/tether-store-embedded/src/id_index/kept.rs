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
//!
//! What those segments counted *together* is kept too, by the list of the segments: joining
//! one count per segment grows with their number (at 100 M logs, ~200 segments' bitmaps of
//! sessions and people: a summary asked again took 2.9 ms, 0.6 at 10 M), and the list
//! changes only when a segment is written or merged.

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

/// The bytes an entry holds, and what entries of several segments make together.
pub(super) trait Weigh: Sized {
    fn bytes(&self) -> usize;

    /// What `parts` counted together.
    fn join(parts: &[Arc<Self>]) -> Self;
}

#[derive(PartialEq, Eq, Hash)]
struct Key {
    segment: SegmentId,
    /// The opstamp of the segment's last deletes (retention deletes from old segments).
    deletes: Option<u64>,
    /// The filter and what the collector reports (see [`super::Exact`]).
    what: Arc<str>,
}

/// Segments (each with the opstamp of its last deletes) and a filter.
#[derive(PartialEq, Eq, Hash)]
struct JoinedKey {
    segments: Vec<(SegmentId, Option<u64>)>,
    what: Arc<str>,
}

/// Counts of segments by filter, one by one and together (see the module's doc).
pub(super) struct Kept<T> {
    each: Cache<Key, Arc<T>>,
    joined: Cache<JoinedKey, Arc<T>>,
}

impl<T: Weigh + Send + Sync + 'static> Default for Kept<T> {
    fn default() -> Self {
        let weigh =
            |what: &str, counted: &T| u32::try_from(what.len() + counted.bytes() + 64).unwrap_or(u32::MAX);
        Kept {
            each: Cache::builder()
                .max_capacity(BUDGET_BYTES)
                .weigher(move |k: &Key, c: &Arc<T>| weigh(&k.what, c))
                .build(),
            joined: Cache::builder()
                .max_capacity(BUDGET_BYTES)
                .weigher(move |k: &JoinedKey, c: &Arc<T>| {
                    weigh(&k.what, c).saturating_add(24 * k.segments.len() as u32)
                })
                .build(),
        }
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
        if let Some(counted) = self.each.get(&key) {
            return Ok(Ok(counted));
        }
        let counted = count()?;
        if let Ok(counted) = &counted {
            self.each.insert(key, counted.clone());
        }
        Ok(counted)
    }

    /// What `segments` counted of `what` together, from before or joined from what
    /// `count` counts of each now (kept unless one failed).
    pub(super) fn joined_or(
        &self,
        segments: &[&SegmentReader],
        what: &Arc<str>,
        count: impl FnOnce() -> Result<Vec<Counted<T>>>,
    ) -> Result<Counted<T>> {
        let segments = segments.iter().map(|s| (s.segment_id(), s.delete_opstamp())).collect();
        let key = JoinedKey { segments, what: what.clone() };
        if let Some(joined) = self.joined.get(&key) {
            return Ok(Ok(joined));
        }
        let parts: std::result::Result<Vec<Arc<T>>, _> = count()?.into_iter().collect();
        let joined = parts.map(|parts| Arc::new(T::join(&parts)));
        if let Ok(joined) = &joined {
            self.joined.insert(key, joined.clone());
        }
        Ok(joined)
    }
}
