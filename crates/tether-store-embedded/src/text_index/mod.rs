//! The text index of the embedded log store: which blocks of logs can contain a substring.
//!
//! Logs of a project are cut, in append order, into blocks of [`BLOCK_LOGS`]; each block
//! has a Bloom filter of the 5-byte n-grams of its lowercased bodies (one hash per gram,
//! [`BLOCK_BITS`] bits). A substring query of at least 5 bytes needs every one of its
//! grams in a block, so it reads only the blocks whose filter has them all and DuckDB
//! confirms each candidate by scanning just that block's id range. Grams, not words, so
//! that any substring (half an id, `art:424`) narrows like a whole token does. 5-byte
//! grams because ids are hex: a block of 2,048 logs holds about a third of all 65,536 hex
//! 4-grams, so a 12-digit part of an id still matched ~1% of blocks on the benchmark (too
//! many to read one by one at 10 M logs), against ~2.5% of the million 5-grams.
//!
//! Blocks are grouped in segments of [`SEGMENT_BLOCKS`]. A full segment is written once to
//! a file, bit-sliced (for each filter bit, one `u64` holding it for all 64 blocks), so a
//! query reads one word per gram per segment instead of whole filters; sealed segments are
//! then merged 16 to a file ([`files`]), so the files a query reads grow 16 times slower
//! than the logs. The open segment lives in memory. Everything here is derived from the
//! logs: at open, the store feeds back whatever logs the files do not cover (after a
//! crash, the open segment), and a missing or damaged file is rebuilt the same way.
//!
//! Hand-written rather than a library: tantivy indexes words, so a substring inside a token
//! (half an id) would need a scan of its whole term dictionary, and the Bloom filter crates
//! keep one filter per set, not the bit-sliced layout that makes a query read a few words.

mod files;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use tether_model::ProjectId;
use tether_store::{LogExpr, LogFilter, StoreError, StoreResult, StoredLog};

use files::{MERGED_SEGMENTS, Segment};

/// Logs per block: the unit DuckDB re-scans to confirm a candidate. Larger blocks make a
/// smaller index with fuller filters, so more false candidates for a term of few rare
/// grams, each costing more to confirm; measured on 2 M logs against 2,048 (8 bytes of
/// index per log, filters a quarter full): 3,072 (5.3 bytes) took a rare term 70 → 112 ms
/// and a needle 11 → 17 ms, 4,096 (4 bytes) a rare term 50 → 350 ms.
pub(crate) const BLOCK_LOGS: u32 = 2048;
/// Filter bits per block (a power of two). 2,048 logs with ~17 new grams each (ids,
/// numbers, emails) set about a quarter of them.
pub(crate) const BLOCK_BITS: usize = 1 << 17;
const BLOCK_WORDS: usize = BLOCK_BITS / 64;
/// Blocks per segment file: one bit of each word per block.
pub(crate) const SEGMENT_BLOCKS: usize = 64;
/// Queries shorter than a gram cannot be narrowed.
pub(crate) const GRAM: usize = 5;
/// Names the file format, gram size included: files of another format are rebuilt. (A
/// file of up to 64 blocks is the same as before merged files, which older builds drop.)
const MAGIC: &[u8; 8] = b"TTXIDX05";

/// Where a block's logs are: DuckDB scans `first_id..=last_id` to confirm a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockSpan {
    pub first_id: i64,
    pub last_id: i64,
    pub min_ts: i64,
    pub max_ts: i64,
}

impl BlockSpan {
    /// The span of all of `spans` (from the lowest first id to the highest last id);
    /// `None` for none.
    pub(crate) fn covering(spans: &[BlockSpan]) -> Option<BlockSpan> {
        let (first, rest) = spans.split_first()?;
        Some(rest.iter().fold(*first, |a, b| BlockSpan {
            first_id: a.first_id.min(b.first_id),
            last_id: a.last_id.max(b.last_id),
            min_ts: a.min_ts.min(b.min_ts),
            max_ts: a.max_ts.max(b.max_ts),
        }))
    }

    fn overlaps(&self, from_ts: i64, to_ts: i64) -> bool {
        self.min_ts < to_ts && self.max_ts >= from_ts
    }
}

struct OpenBlock {
    span: BlockSpan,
    logs: u32,
    bits: Box<[u64]>,
}

impl OpenBlock {
    fn new(id: i64, ts: i64) -> OpenBlock {
        OpenBlock {
            span: BlockSpan { first_id: id, last_id: id, min_ts: ts, max_ts: ts },
            logs: 0,
            bits: vec![0u64; BLOCK_WORDS].into_boxed_slice(),
        }
    }

    fn has(&self, bit: usize) -> bool {
        self.bits[bit / 64] & (1 << (bit % 64)) != 0
    }
}

#[derive(Default)]
struct ProjectIndex {
    segments: Vec<Arc<Segment>>,
    open: Vec<OpenBlock>,
}

impl ProjectIndex {
    fn last_id(&self) -> Option<i64> {
        let open = self.open.last().map(|b| b.span.last_id);
        open.or_else(|| self.segments.last().and_then(|s| s.spans.last()).map(|s| s.last_id))
    }
}

/// The index of every project's logs in one folder.
pub(crate) struct TextIndex {
    dir: PathBuf,
    projects: HashMap<ProjectId, ProjectIndex>,
    /// Whether a merge of segments is under way (see [`compact`]).
    merging: bool,
}

/// Sealed segments to merge into one file (see [`files`]).
struct Run {
    dir: PathBuf,
    project_id: ProjectId,
    segments: Vec<Arc<Segment>>,
}

/// Calls `f` with the filter bit of every 5-byte gram of `text`, ASCII letters folded to
/// lowercase. Only ASCII is folded: a query with other letters is not narrowed (see
/// [`TextIndex::candidates`]), so Unicode case rules never decide what is found. A gram is
/// the low 40 bits of a `u64`; Fibonacci hashing (multiply, keep the top bits) spreads grams over the filter
/// and, unlike std's hasher, never changes between builds, which the files rely on.
fn for_each_gram(text: &str, mut f: impl FnMut(usize)) {
    const SHIFT: u32 = 64 - BLOCK_BITS.trailing_zeros();
    const MASK: u64 = (1 << (8 * GRAM)) - 1;
    let mut gram: u64 = 0;
    for (i, b) in text.bytes().enumerate() {
        gram = ((gram << 8) | u64::from(b.to_ascii_lowercase())) & MASK;
        if i + 1 >= GRAM {
            f((gram.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> SHIFT) as usize);
        }
    }
}

impl TextIndex {
    /// Opens the folder (created if missing), reading every segment's spans. Files that
    /// cannot be read are removed: their logs come back through [`TextIndex::last_ids`].
    pub(crate) fn open(dir: &Path) -> std::io::Result<TextIndex> {
        std::fs::create_dir_all(dir)?;
        let mut projects: HashMap<ProjectId, ProjectIndex> = HashMap::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "seg") {
                // A write that did not reach its rename.
                std::fs::remove_file(&path)?;
                continue;
            }
            match files::read(&path) {
                Ok((project, segment)) => {
                    projects.entry(project).or_default().segments.push(Arc::new(segment))
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "text index: dropping an unreadable file");
                    std::fs::remove_file(&path)?;
                }
            }
        }
        for project in projects.values_mut() {
            files::drop_covered(&mut project.segments)?;
        }
        Ok(TextIndex { dir: dir.to_owned(), projects, merging: false })
    }

    /// The last log id indexed per project: the store feeds back every log after it.
    pub(crate) fn last_id(&self, project_id: ProjectId) -> Option<i64> {
        self.projects.get(&project_id).and_then(ProjectIndex::last_id)
    }

    /// Adds a log (in id order per project). Call before the log is committed, so a
    /// reader never sees a stored log the index does not know; a log whose commit then
    /// fails only costs a false candidate.
    pub(crate) fn add(&mut self, project_id: ProjectId, id: i64, ts: i64, body: &str) {
        let project = self.projects.entry(project_id).or_default();
        if project.open.last().is_none_or(|b| b.logs >= BLOCK_LOGS) {
            project.open.push(OpenBlock::new(id, ts));
        }
        let Some(block) = project.open.last_mut() else { return };
        block.logs += 1;
        block.span.last_id = block.span.last_id.max(id);
        block.span.min_ts = block.span.min_ts.min(ts);
        block.span.max_ts = block.span.max_ts.max(ts);
        for_each_gram(body, |bit| block.bits[bit / 64] |= 1 << (bit % 64));
    }

    /// Adds logs ([`TextIndex::add`] of each: in id order per project, before they are
    /// committed).
    pub(crate) fn add_logs<'a>(&mut self, logs: impl IntoIterator<Item = &'a StoredLog>) {
        for log in logs {
            self.add(log.record.project_id, log.id.0, log.record.timestamp_ns, &log.record.body);
        }
    }

    /// Writes every full segment to its file (after the logs it covers are committed).
    pub(crate) fn seal_full(&mut self) -> std::io::Result<()> {
        for (project_id, project) in &mut self.projects {
            // The last block may still fill: a segment is sealed once a block after it began.
            while project.open.len() > SEGMENT_BLOCKS {
                let blocks: Vec<OpenBlock> = project.open.drain(..SEGMENT_BLOCKS).collect();
                let mut words = vec![0u64; BLOCK_BITS];
                for (i, block) in blocks.iter().enumerate() {
                    for (w, &bits) in block.bits.iter().enumerate() {
                        let mut rest = bits;
                        while rest != 0 {
                            words[w * 64 + rest.trailing_zeros() as usize] |= 1 << i;
                            rest &= rest - 1;
                        }
                    }
                }
                let spans = blocks.iter().map(|b| b.span).collect();
                project.segments.push(Arc::new(files::write(&self.dir, *project_id, spans, &words)?));
            }
        }
        Ok(())
    }

    /// The blocks of the project overlapping `[from_ts, to_ts)` that may contain every one
    /// of `texts` (case-insensitively), newest first by their latest log; `None` when the
    /// index can narrow none of them (each shorter than a gram, or with letters beyond
    /// ASCII). Texts it cannot narrow are left to the scan.
    /// Probes the open blocks at once; the written segments are probed by
    /// [`Lookup::candidates`], which reads their files and needs no lock on the index.
    pub(crate) fn lookup(
        &self,
        project_id: ProjectId,
        from_ts: i64,
        to_ts: i64,
        texts: &[&str],
    ) -> Option<Lookup> {
        let narrowing =
            |text: &&&str| text.len() >= GRAM && !text.chars().any(|c| !c.is_ascii() && c.is_alphabetic());
        let mut bits = Vec::new();
        for text in texts.iter().filter(narrowing) {
            for_each_gram(text, |bit| bits.push(bit));
        }
        if bits.is_empty() {
            return None;
        }
        bits.sort_unstable();
        bits.dedup();
        let mut lookup = Lookup { bits, from_ts, to_ts, segments: Vec::new(), found: Vec::new() };
        let Some(project) = self.projects.get(&project_id) else { return Some(lookup) };
        lookup.segments = project.segments.clone();
        for block in &project.open {
            if block.span.overlaps(from_ts, to_ts) && lookup.bits.iter().all(|&b| block.has(b)) {
                lookup.found.push(block.span);
            }
        }
        Some(lookup)
    }
}

/// The blocks that can hold every text `filter`'s query requires (`None`: it requires
/// none the index can narrow). The lock covers the in-memory part only: segment files are
/// read after it, so appends never wait for a query's I/O.
pub(crate) fn candidates(
    index: &Mutex<TextIndex>,
    filter: &LogFilter,
) -> StoreResult<Option<Vec<BlockSpan>>> {
    let texts = filter.query.as_ref().map(LogExpr::required_texts).unwrap_or_default();
    if texts.is_empty() {
        return Ok(None);
    }
    let lookup = index.lock().unwrap_or_else(PoisonError::into_inner).lookup(
        filter.project_id,
        filter.from_ns,
        filter.to_ns,
        &texts,
    );
    lookup
        .map(Lookup::candidates)
        .transpose()
        .map_err(|e| StoreError::internal("cannot read the text index", e))
}

/// A text lookup begun under the index's lock, finished without it.
pub(crate) struct Lookup {
    bits: Vec<usize>,
    from_ts: i64,
    to_ts: i64,
    segments: Vec<Arc<Segment>>,
    found: Vec<BlockSpan>,
}

impl Lookup {
    /// The blocks that may contain the text, newest first by their latest log. A segment
    /// whose file a merge or retention removed meanwhile is still read (it stays open).
    pub(crate) fn candidates(self) -> std::io::Result<Vec<BlockSpan>> {
        let Lookup { bits, from_ts, to_ts, segments, mut found } = self;
        for segment in &segments {
            found.extend(segment.probe(&bits, from_ts, to_ts)?);
        }
        found.sort_by_key(|s| std::cmp::Reverse(s.max_ts));
        Ok(found)
    }
}

impl TextIndex {
    /// Drops the segments (and open blocks) whose logs are all older than `before_ts`.
    pub(crate) fn forget_before(&mut self, project_id: ProjectId, before_ts: i64) -> std::io::Result<()> {
        let Some(project) = self.projects.get_mut(&project_id) else { return Ok(()) };
        let (old, kept): (Vec<Arc<Segment>>, Vec<Arc<Segment>>) = std::mem::take(&mut project.segments)
            .into_iter()
            .partition(|s| s.spans.iter().all(|b| b.max_ts < before_ts));
        project.segments = kept;
        for segment in old {
            segment.remove()?;
        }
        // The newest open block stays, even if old: it is where the next log goes.
        let newest = project.open.pop();
        project.open.retain(|b| b.span.max_ts >= before_ts);
        project.open.extend(newest);
        Ok(())
    }

    /// The oldest [`MERGED_SEGMENTS`] sealed segments in a row of a project, unless a merge
    /// is under way.
    fn due(&mut self) -> Option<Run> {
        if self.merging {
            return None;
        }
        let (&project_id, run) = self.projects.iter().find_map(|(id, project)| {
            let run =
                project.segments.windows(MERGED_SEGMENTS).find(|w| w.iter().all(|s| s.is_sealed_only()))?;
            Some((id, run.to_vec()))
        })?;
        self.merging = true;
        Some(Run { dir: self.dir.clone(), project_id, segments: run })
    }

    /// Puts the merged file in place of the run's segments and removes theirs; or, when
    /// retention removed one of them meanwhile, removes the merged file.
    fn finish(&mut self, run: Run, merged: Segment) -> std::io::Result<()> {
        let Some(project) = self.projects.get_mut(&run.project_id) else { return merged.remove() };
        let n = run.segments.len();
        let same = |at: &usize| {
            let now = project.segments.get(*at..at + n);
            now.is_some_and(|now| now.iter().zip(&run.segments).all(|(a, b)| Arc::ptr_eq(a, b)))
        };
        let Some(at) = project.segments.iter().position(|s| Arc::ptr_eq(s, &run.segments[0])).filter(same)
        else {
            return merged.remove();
        };
        project.segments.splice(at..at + n, [Arc::new(merged)]);
        run.segments.iter().try_for_each(|s| s.remove())
    }
}

/// Merges every run of sealed segments due (see [`files`]): the files are read and
/// written without the index's lock, so appends and lookups go on meanwhile. A merge that
/// fails leaves the segments as they were (and is tried again at the next call).
pub(crate) fn compact(index: &Mutex<TextIndex>) {
    let lock = || index.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        // Its own statement: the lock is let go before the files are read.
        let due = lock().due();
        let Some(run) = due else { return };
        let merged = files::merge(&run.dir, run.project_id, &run.segments);
        let mut index = lock();
        index.merging = false;
        if let Err(e) = merged.and_then(|merged| index.finish(run, merged)) {
            tracing::warn!(error = %e, "cannot merge text index segments");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000_000_000;

    impl TextIndex {
        /// Both steps of a lookup at once.
        fn candidates(
            &self,
            p: ProjectId,
            from: i64,
            to: i64,
            text: &str,
        ) -> std::io::Result<Option<Vec<BlockSpan>>> {
            self.lookup(p, from, to, &[text]).map(Lookup::candidates).transpose()
        }
    }

    /// A request id that looks random, as real ones do.
    fn rid(i: i64) -> String {
        format!("{:016x}", (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D).rotate_left(17))
    }

    fn body(i: i64) -> String {
        format!("GET /api/cart completed in {i}ms for User{i}@Example.com (request_id={})", rid(i))
    }

    fn fill(index: &mut TextIndex, project: ProjectId, ids: std::ops::Range<i64>) {
        for i in ids {
            index.add(project, i, i * MIN, &body(i));
        }
    }

    fn ids_of(blocks: &[BlockSpan]) -> Vec<(i64, i64)> {
        blocks.iter().map(|b| (b.first_id, b.last_id)).collect()
    }

    #[test]
    fn a_substring_narrows_to_the_blocks_holding_it_sealed_or_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = TextIndex::open(dir.path()).unwrap();
        let logs = i64::from(BLOCK_LOGS) * (SEGMENT_BLOCKS as i64 + 3);
        fill(&mut index, 1, 0..logs);
        index.seal_full().unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "one full segment written");
        let block = i64::from(BLOCK_LOGS);
        for i in [5, block * 10 + 7, logs - 1] {
            let needle = rid(i);
            let found = index.candidates(1, i64::MIN, i64::MAX, &needle).unwrap().unwrap();
            let start = i / block * block;
            assert!(ids_of(&found).contains(&(start, start + block - 1)), "{i}: {found:?}");
            assert!(found.len() <= 2, "a 16-digit id picks about one block: {found:?}");
            // Case-insensitively, and for part of a token.
            let part = index.candidates(1, i64::MIN, i64::MAX, &format!("USER{i}@EXAMPLE")).unwrap().unwrap();
            assert!(ids_of(&part).contains(&(start, start + block - 1)), "{i}: {part:?}");
        }
        let none = index.candidates(1, i64::MIN, i64::MAX, "no such text anywhere").unwrap().unwrap();
        assert!(none.is_empty(), "{none:?}");
        let elsewhere = index.candidates(2, i64::MIN, i64::MAX, "completed").unwrap().unwrap();
        assert!(elsewhere.is_empty(), "another project has no blocks");
        // Time ranges prune blocks: only the first block holds minutes 0..10.
        let early = index.candidates(1, 0, 10 * MIN, "completed").unwrap().unwrap();
        assert_eq!(ids_of(&early), [(0, block - 1)]);
        // Too short, or letters whose case the index does not fold: not narrowed.
        assert_eq!(index.candidates(1, i64::MIN, i64::MAX, "cart").unwrap(), None);
        assert_eq!(index.candidates(1, i64::MIN, i64::MAX, "Ärger").unwrap(), None);
    }

    #[test]
    fn reopening_keeps_the_segments_and_says_what_to_feed_back() {
        let dir = tempfile::tempdir().unwrap();
        let logs = i64::from(BLOCK_LOGS) * (SEGMENT_BLOCKS as i64 + 1) + 10;
        {
            let mut index = TextIndex::open(dir.path()).unwrap();
            fill(&mut index, 1, 0..logs);
            index.seal_full().unwrap();
            assert_eq!(index.last_id(1), Some(logs - 1));
        }
        // What was only in memory is gone: the store feeds back every log after last_id.
        let mut index = TextIndex::open(dir.path()).unwrap();
        let sealed_last = i64::from(BLOCK_LOGS) * SEGMENT_BLOCKS as i64 - 1;
        assert_eq!(index.last_id(1), Some(sealed_last));
        assert_eq!(index.last_id(7), None);
        let needle = rid(100);
        assert_eq!(index.candidates(1, i64::MIN, i64::MAX, &needle).unwrap().unwrap().len(), 1);
        fill(&mut index, 1, sealed_last + 1..logs);
        let last = rid(logs - 1);
        assert_eq!(index.candidates(1, i64::MIN, i64::MAX, &last).unwrap().unwrap().len(), 1);

        // A damaged file is dropped at open; its logs are fed back from the store.
        let file = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
        std::fs::write(&file, b"TTXIDX05 garbage").unwrap();
        let index = TextIndex::open(dir.path()).unwrap();
        assert_eq!(index.last_id(1), None);
        assert!(!file.exists());
    }

    #[test]
    fn sealed_segments_are_merged_into_one_file_that_finds_the_same_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let files = || std::fs::read_dir(dir.path()).unwrap().count();
        let segment = i64::from(BLOCK_LOGS) * SEGMENT_BLOCKS as i64;
        let logs = segment * MERGED_SEGMENTS as i64 + 5000;
        let mut index = TextIndex::open(dir.path()).unwrap();
        fill(&mut index, 1, 0..logs);
        index.seal_full().unwrap();
        assert_eq!(files(), MERGED_SEGMENTS);
        let first = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).min().unwrap();
        let copy = std::fs::read(&first).unwrap();
        let probes = [5, segment * 7 + 3000, segment * 16 - 1, logs - 1];
        let found = |index: &TextIndex| -> Vec<Vec<(i64, i64)>> {
            let find = |i: i64| ids_of(&index.candidates(1, i64::MIN, i64::MAX, &rid(i)).unwrap().unwrap());
            probes.iter().map(|&i| find(i)).collect()
        };
        let before = found(&index);
        let index = Mutex::new(index);
        compact(&index);
        assert_eq!(files(), 1, "sixteen sealed segments, one file");
        let index = index.into_inner().unwrap();
        assert_eq!(found(&index), before, "the same blocks are found");
        for (&i, blocks) in probes.iter().zip(&before) {
            let start = i / i64::from(BLOCK_LOGS) * i64::from(BLOCK_LOGS);
            assert!(blocks.iter().any(|&(first, last)| first == start && last >= i), "{i}: {blocks:?}");
        }
        let late = index.candidates(1, (logs - 10) * MIN, i64::MAX, "completed").unwrap().unwrap();
        assert_eq!(late.len(), 1, "time ranges still prune blocks of a merged file: {late:?}");
        drop(index);

        // A crash after the merge, before the files it replaced were removed: the merged
        // file covers them, so they are removed at open.
        std::fs::write(&first, copy).unwrap();
        let index = TextIndex::open(dir.path()).unwrap();
        assert_eq!(files(), 1);
        assert_eq!(index.last_id(1), Some(segment * MERGED_SEGMENTS as i64 - 1));
        assert_eq!(found(&index)[..3], before[..3], "what was sealed is found in the merged file");
    }

    #[test]
    fn a_merge_retention_overtook_leaves_the_segments_as_retention_left_them() {
        let dir = tempfile::tempdir().unwrap();
        let segment = i64::from(BLOCK_LOGS) * SEGMENT_BLOCKS as i64;
        let mut index = TextIndex::open(dir.path()).unwrap();
        fill(&mut index, 1, 0..segment * MERGED_SEGMENTS as i64 + 1);
        index.seal_full().unwrap();
        let run = index.due().unwrap();
        assert!(index.due().is_none(), "one merge at a time");
        index.forget_before(1, segment * MIN).unwrap();
        let merged = files::merge(&run.dir, run.project_id, &run.segments).unwrap();
        index.finish(run, merged).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), MERGED_SEGMENTS - 1);
        let kept = index.candidates(1, i64::MIN, i64::MAX, "completed").unwrap().unwrap();
        assert_eq!(kept.iter().map(|b| b.first_id).min(), Some(segment), "the forgotten segment stays gone");
    }

    #[test]
    fn forgetting_old_logs_removes_whole_segments_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = TextIndex::open(dir.path()).unwrap();
        let segment = i64::from(BLOCK_LOGS) * SEGMENT_BLOCKS as i64;
        fill(&mut index, 1, 0..segment * 2 + 5);
        index.seal_full().unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        // Cut in the middle of the second segment: the first goes, the second stays.
        index.forget_before(1, (segment + 100) * MIN).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let kept = index.candidates(1, i64::MIN, i64::MAX, "completed").unwrap().unwrap();
        assert!(kept.iter().all(|b| b.first_id >= segment), "{kept:?}");
        assert!(kept.iter().any(|b| b.first_id == segment), "{kept:?}");
    }
}
