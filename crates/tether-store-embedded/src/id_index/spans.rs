//! The time span of each committed segment of the id index, so that a lookup reads the
//! newest segments first and passes those its page or time range rules out. A common
//! word's newest 100 logs are in the newest of tens of segments; without this, every
//! segment's matches (130,000 for a word in 1.3 % of 10 M logs) were read to find them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::index::SegmentId;
use tantivy::query::{EnableScoring, Query};
use tantivy::{Searcher, SegmentOrdinal, SegmentReader};

use super::kept::{Counted, Kept, Weigh};

type Result<T> = tantivy::Result<T>;

/// A segment to read: its ordinal, its reader and its logs' (oldest, newest) times.
pub(super) type Span<'s> = (SegmentOrdinal, &'s SegmentReader, (i64, i64));

/// The spans of the segments seen so far (a segment never changes once written).
#[derive(Default)]
pub(super) struct Spans(Mutex<HashMap<SegmentId, (i64, i64)>>);

impl Spans {
    /// The segments of `searcher` that hold logs in `[from_ns, to_ns)`, newest first.
    pub(super) fn within<'s>(
        &self,
        searcher: &'s Searcher,
        from_ns: i64,
        to_ns: i64,
    ) -> Result<Vec<Span<'s>>> {
        let readers = searcher.segment_readers();
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if known.len() > 2 * readers.len() + 64 {
            // Forget the segments merged away.
            let alive: Vec<SegmentId> = readers.iter().map(SegmentReader::segment_id).collect();
            known.retain(|id, _| alive.contains(id));
        }
        let mut spans = Vec::with_capacity(readers.len());
        for (ordinal, reader) in readers.iter().enumerate() {
            let span = match known.get(&reader.segment_id()) {
                Some(span) => *span,
                None => {
                    let ts = reader.fast_fields().i64("ts")?;
                    let span = (ts.min_value(), ts.max_value());
                    known.insert(reader.segment_id(), span);
                    span
                }
            };
            if reader.num_docs() > 0 && span.1 >= from_ns && span.0 < to_ns {
                spans.push((ordinal as SegmentOrdinal, reader, span));
            }
        }
        spans.sort_unstable_by_key(|&(_, _, (_, newest))| std::cmp::Reverse(newest));
        Ok(spans)
    }
}

/// What `collector` collects of `query` in the segments of `spans`, on two of rayon's
/// threads (a search's histogram reads every segment's matches). A segment whose logs all
/// lie in `[from_ns, to_ns)` counts the same whatever the range: what it counted of `what`
/// is kept, and what all such segments counted together (see [`Kept`]).
pub(super) fn collect<C, T>(
    searcher: &Searcher,
    query: &dyn Query,
    collector: &C,
    spans: &[Span<'_>],
    (kept, what): (&Kept<T>, &Arc<str>),
    (from_ns, to_ns): (i64, i64),
) -> Result<C::Fruit>
where
    C: Collector,
    C::Child: SegmentCollector<Fruit = Counted<T>>,
    T: Weigh + Send + Sync + 'static,
{
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let weight = weight.as_ref();
    let (whole, partly): (Vec<&Span<'_>>, Vec<&Span<'_>>) =
        spans.iter().partition(|(_, _, (oldest, newest))| from_ns <= *oldest && *newest < to_ns);
    let count = |&(ordinal, reader, _): &Span<'_>, in_range: bool| {
        let count = || collector.collect_segment(weight, ordinal, reader);
        if in_range { kept.get_or(reader, what, count) } else { count() }
    };
    let on_two = |spans: &[&Span<'_>], in_range: bool| -> Result<Vec<Counted<T>>> {
        let share = |nth: usize| -> Result<Vec<_>> {
            spans.iter().skip(nth).step_by(2).map(|span| count(span, in_range)).collect()
        };
        let (first, second) = rayon::join(|| share(0), || share(1));
        Ok(first?.into_iter().chain(second?).collect())
    };
    let mut fruits = on_two(&partly, false)?;
    if !whole.is_empty() {
        let readers: Vec<&SegmentReader> = whole.iter().map(|s| s.1).collect();
        fruits.push(kept.joined_or(&readers, what, || on_two(&whole, true))?);
    }
    collector.merge_fruits(fruits)
}
