//! A filter of the keys of each large segment of the id index, held in memory, so that a
//! lookup by id skips the segments that cannot hold it without reading their term
//! dictionaries. A request id's or trace's logs are in one segment of ~200 at 100 M logs,
//! and finding out which took a term dictionary (FST) lookup in each: ~40 % of the
//! lookup's CPU there (`Fst::get`, its cache misses), 2.6 ms against 0.9 at 10 M logs with
//! ~40 segments. A binary fuse filter (the `xorf` crate; 8-bit fingerprints, ~9 bits per
//! key, 0.4 % false positives) answers with three reads of one small array per segment.
//!
//! Like a Bloom filter beside each block in Loki's chunks and ClickHouse's skip indexes,
//! but built from what the segment holds once it is written (its term dictionary streamed),
//! so nothing is stored: an index opened again builds its filters anew. Only segments of
//! [`FINAL_DOCS`] logs or more have one: smaller ones are merged within seconds, and there
//! are a few tens of them at any size of the index, so a lookup reads their dictionaries.
//! At 100 M logs the filters hold ~45 M keys, ~50 MB.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tantivy::index::SegmentId;
use tantivy::schema::Field;
use tantivy::{Searcher, SegmentReader};
use xorf::{BinaryFuse8, Filter};

use super::merges::FINAL_DOCS;

type Result<T> = tantivy::Result<T>;

/// The filters of the segments seen so far (a segment's keys never change once written).
#[derive(Default)]
pub(super) struct KeyFilters(Mutex<HashMap<SegmentId, Arc<BinaryFuse8>>>);

impl KeyFilters {
    /// Builds the filters of `searcher`'s large segments that have none yet (outside the
    /// lock: ~65 ms per segment of 500,000 logs) for about `budget`, and forgets those
    /// merged away; whether some are left to build.
    pub(super) fn learn(&self, searcher: &Searcher, key: Field, budget: Duration) -> Result<bool> {
        let until = Instant::now() + budget;
        let readers = searcher.segment_readers();
        let missing: Vec<&SegmentReader> = {
            let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            known.retain(|id, _| readers.iter().any(|r| r.segment_id() == *id));
            let large = readers.iter().filter(|r| r.max_doc() >= FINAL_DOCS);
            large.filter(|r| !known.contains_key(&r.segment_id())).collect()
        };
        let left = missing.len();
        for (built, reader) in missing.into_iter().enumerate() {
            if Instant::now() >= until {
                return Ok(built < left);
            }
            let Some(filter) = filter_of(reader, key)? else { continue };
            let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            known.insert(reader.segment_id(), Arc::new(filter));
        }
        Ok(false)
    }

    /// How many segments have a filter.
    #[cfg(test)]
    pub(super) fn built(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// The segments of `segments` that may hold a log with a key of every group: those
    /// without a filter, and those whose filter has a key of each.
    pub(super) fn keep_possible<T>(
        &self,
        segments: &mut Vec<T>,
        id: impl Fn(&T) -> SegmentId,
        groups: &[Vec<u64>],
    ) {
        if groups.is_empty() {
            return;
        }
        let known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        segments.retain(|s| {
            known.get(&id(s)).is_none_or(|f| groups.iter().all(|g| g.iter().any(|k| f.contains(k))))
        });
    }
}

/// The filter of a segment's keys; `None` when it has none or construction fails (rare:
/// the lookup then reads its dictionary).
fn filter_of(reader: &SegmentReader, key: Field) -> Result<Option<BinaryFuse8>> {
    let index = reader.inverted_index(key)?;
    let mut keys = Vec::with_capacity(index.terms().num_terms());
    let mut stream = index.terms().stream()?;
    while stream.advance() {
        // A u64 term is its value's 8 bytes, big-endian.
        let bytes: [u8; 8] = stream
            .key()
            .try_into()
            .map_err(|_| tantivy::TantivyError::InternalError("a key term is not 8 bytes".to_owned()))?;
        keys.push(u64::from_be_bytes(bytes));
    }
    Ok(BinaryFuse8::try_from(&keys).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::{NumericOptions, Schema};
    use tantivy::{Index, IndexWriter, TantivyDocument};

    const SECOND: u64 = 1 << 40;

    #[test]
    fn a_lookup_skips_the_large_segments_without_its_keys() {
        // Two large segments, of keys from 0 and from `SECOND`, and a small one of key 7.
        let mut schema = Schema::builder();
        let key = schema.add_u64_field("key", NumericOptions::default().set_indexed());
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 50 << 20).unwrap();
        for keys in [0..u64::from(FINAL_DOCS), SECOND..SECOND + u64::from(FINAL_DOCS), 7..8] {
            for k in keys {
                let mut doc = TantivyDocument::new();
                doc.add_u64(key, k);
                writer.add_document(doc).unwrap();
            }
            writer.commit().unwrap();
        }
        let searcher = index.reader().unwrap().searcher();
        let filters = KeyFilters::default();
        let possible = |groups: &[Vec<u64>]| {
            let mut segments: Vec<&SegmentReader> = searcher.segment_readers().iter().collect();
            filters.keep_possible(&mut segments, |r| r.segment_id(), groups);
            let mut sizes: Vec<u32> = segments.iter().map(|r| r.max_doc()).collect();
            sizes.sort_unstable();
            sizes
        };
        let (large, small) = (FINAL_DOCS, 1);
        assert_eq!(possible(&[vec![7]]), [small, large, large], "no filter is built yet");
        assert!(!filters.learn(&searcher, key, Duration::from_secs(60)).unwrap(), "all built");
        assert_eq!(possible(&[vec![7]]), [small, large], "key 7: the small segment and the first");
        assert_eq!(possible(&[vec![SECOND + 3]]), [small, large]);
        assert_eq!(possible(&[vec![7, SECOND + 3]]), [small, large, large], "a group finds either");
        assert_eq!(possible(&[vec![7], vec![SECOND + 3]]), [small], "no large segment has both");
        assert_eq!(possible(&[]), [small, large, large], "a lookup without keys skips nothing");
        // Keys of neither: false positives are rare (0.4 % per segment).
        let kept = (0..1_000).filter(|k| possible(&[vec![(1 << 50) + k]]).len() > 1).count();
        assert!(kept < 30, "{kept} of 1,000 absent keys kept a large segment");
    }
}
