//! How the id index's segments are merged: those under [`FINAL_DOCS`] logs, [`MERGED`] at
//! a time, so each log is merged about once (like tantivy's `LogMergePolicy` capped at
//! 150,000 logs a segment, which this replaces) into segments ~3 times larger: at 100 M
//! logs 205 segments instead of ~630, and a lookup reads each one's term dictionary
//! (looking up keys in ~630 was most of a request id's 3.7 ms there; 1.9 ms in 205).
//!
//! Measured at 100 M logs, the alternatives: `LogMergePolicy` with a higher cap merges
//! every segment of a size level at once (its first merge of an index of ~630 such
//! segments took 1.8 GB of memory and growing); a second tier of merges (eight segments of
//! ~0.5 M logs into one) left ~40 segments (a request id 1.4 ms) but merged each log
//! twice: ingest 89,664 → 78,756 logs/s, below the 80,000 the store must take.

use tantivy::index::SegmentMeta;
use tantivy::indexer::{MergeCandidate, MergePolicy};

/// Segments merged at once.
const MERGED: usize = 32;
/// Segments of this many logs or more are not merged again. A second's segments (up to
/// ~17,000 logs each while ingesting fast) merge into ~0.5 M; slower ingest makes smaller
/// segments, merged again until they reach it.
pub(super) const FINAL_DOCS: u32 = 160_000;

#[derive(Debug)]
pub(super) struct Merges;

impl MergePolicy for Merges {
    /// Every [`MERGED`] segments under [`FINAL_DOCS`] (tantivy leaves out those being
    /// merged). While logs arrive there are rarely more than [`MERGED`]; those there are
    /// the latest, so a merged segment's logs are close in time.
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let small: Vec<_> =
            segments.iter().filter(|s| s.num_docs() < FINAL_DOCS).map(SegmentMeta::id).collect();
        small.chunks_exact(MERGED).map(|ids| MergeCandidate(ids.to_vec())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::Index;
    use tantivy::index::SegmentId;
    use tantivy::schema::Schema;

    #[test]
    fn small_segments_merge_by_thirty_two_and_large_ones_stay() {
        let index = &Index::create_in_ram(Schema::builder().build());
        let segments = |sizes: &[(u32, usize)]| -> Vec<SegmentMeta> {
            let each = |&(docs, n): &(u32, usize)| {
                (0..n).map(move |_| index.new_segment_meta(SegmentId::generate_random(), docs))
            };
            sizes.iter().flat_map(each).collect()
        };
        let merges = |segments: &[SegmentMeta]| -> Vec<Vec<u32>> {
            let docs = |id| segments.iter().find(|s| s.id() == id).map(SegmentMeta::num_docs);
            let candidates = Merges.compute_merge_candidates(segments);
            candidates.into_iter().map(|c| c.0.into_iter().filter_map(docs).collect()).collect()
        };
        // Thirty-one small segments wait; the thirty-second makes a merge of all of them.
        assert!(merges(&segments(&[(30_000, 31), (900_000, 40)])).is_empty());
        assert_eq!(merges(&segments(&[(30_000, 32), (900_000, 40)])), [vec![30_000; 32]]);
        // Sixty-five: two merges, one left for later.
        assert_eq!(merges(&segments(&[(5_000, 65)])), [vec![5_000; 32], vec![5_000; 32]]);
        // Final segments are never merged, however many.
        assert!(merges(&segments(&[(160_000, 40), (6_000_000, 9)])).is_empty());
    }
}
