//! The text index's segment files. A file holds up to [`MERGED_BLOCKS`] blocks' filters
//! bit-sliced: for each filter bit, one `u64` per 64 blocks, holding that bit of each, so a
//! lookup reads a few words per gram per file. A sealed segment (64 blocks, one word per
//! bit) is written once; [`MERGED_SEGMENTS`] sealed segments in a row are then merged into
//! one file (16 words per bit), so a lookup at 100 M logs reads ~50 files, not ~760 (one
//! file open and a read per gram each: 6 of a needle's 8 ms at 100 M logs).
//!
//! A file is written to a temporary name, synced and renamed; a merge syncs the folder
//! before removing the files it replaces, so a crash leaves either those or the merged
//! file, or both (the merged one is kept at open: see [`drop_covered`]).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tether_model::ProjectId;

use super::{BLOCK_BITS, BlockSpan, MAGIC, SEGMENT_BLOCKS};

/// Sealed segments merged into one file.
pub(super) const MERGED_SEGMENTS: usize = 16;
/// The most blocks a file holds.
const MERGED_BLOCKS: usize = SEGMENT_BLOCKS * MERGED_SEGMENTS;

/// A segment file: its blocks' spans in memory, its words in the file, which stays open so
/// a lookup neither opens it nor loses it to a merge or retention removing it meanwhile.
pub(super) struct Segment {
    file: File,
    path: PathBuf,
    pub(super) spans: Vec<BlockSpan>,
    words_at: u64,
}

impl Segment {
    /// Words per filter bit: one per 64 blocks.
    fn width(&self) -> usize {
        self.spans.len().div_ceil(64)
    }

    /// Whether it is a sealed segment not merged yet.
    pub(super) fn is_sealed_only(&self) -> bool {
        self.spans.len() == SEGMENT_BLOCKS
    }

    pub(super) fn first_id(&self) -> i64 {
        self.spans[0].first_id
    }

    fn last_id(&self) -> i64 {
        self.spans.last().map_or(i64::MIN, |s| s.last_id)
    }

    /// Its blocks overlapping `[from_ts, to_ts)` whose filters have every one of `bits`.
    pub(super) fn probe(&self, bits: &[usize], from_ts: i64, to_ts: i64) -> std::io::Result<Vec<BlockSpan>> {
        let width = self.width();
        let mut live = vec![0u64; width];
        for (i, _) in self.spans.iter().enumerate().filter(|(_, s)| s.overlaps(from_ts, to_ts)) {
            live[i / 64] |= 1 << (i % 64);
        }
        let mut bytes = vec![0u8; width * 8];
        for &bit in bits {
            if live.iter().all(|&w| w == 0) {
                break;
            }
            self.file.read_exact_at(&mut bytes, self.words_at + (bit * width * 8) as u64)?;
            for (w, b) in live.iter_mut().zip(bytes.chunks_exact(8)) {
                *w &= u64::from_le_bytes(b.try_into().unwrap_or_default());
            }
        }
        let kept = |i: &usize| live[i / 64] & (1 << (i % 64)) != 0;
        Ok((0..self.spans.len()).filter(kept).map(|i| self.spans[i]).collect())
    }

    /// Removes its file (readers holding it keep reading it).
    pub(super) fn remove(&self) -> std::io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

/// Writes blocks' spans and their bit-sliced words (`BLOCK_BITS` × one word per 64 blocks)
/// as one file.
pub(super) fn write(
    dir: &Path,
    project_id: ProjectId,
    spans: Vec<BlockSpan>,
    words: &[u64],
) -> std::io::Result<Segment> {
    let mut body = Vec::with_capacity(24 + spans.len() * 32 + words.len() * 8);
    body.extend_from_slice(MAGIC);
    body.extend_from_slice(&project_id.to_le_bytes());
    body.extend_from_slice(&(spans.len() as u64).to_le_bytes());
    for s in &spans {
        for v in [s.first_id, s.last_id, s.min_ts, s.max_ts] {
            body.extend_from_slice(&v.to_le_bytes());
        }
    }
    let words_at = body.len() as u64;
    for w in words {
        body.extend_from_slice(&w.to_le_bytes());
    }
    // Named by the first log and the block count: a merge's file and the first file it
    // replaces start at the same log.
    let path = dir.join(format!("{project_id}-{:020}-{:04}.seg", spans[0].first_id, spans.len()));
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(&body)?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(Segment { file: File::open(&path)?, path, spans, words_at })
}

/// Merges sealed segments (in id order, each of [`SEGMENT_BLOCKS`]) into one file and
/// syncs the folder, so their files can be removed.
pub(super) fn merge(dir: &Path, project_id: ProjectId, run: &[Arc<Segment>]) -> std::io::Result<Segment> {
    let width = run.len();
    let mut words = vec![0u64; BLOCK_BITS * width];
    let mut bytes = vec![0u8; BLOCK_BITS * 8];
    for (k, segment) in run.iter().enumerate() {
        segment.file.read_exact_at(&mut bytes, segment.words_at)?;
        for (bit, b) in bytes.chunks_exact(8).enumerate() {
            words[bit * width + k] = u64::from_le_bytes(b.try_into().unwrap_or_default());
        }
    }
    let spans = run.iter().flat_map(|s| s.spans.iter().copied()).collect();
    let merged = write(dir, project_id, spans, &words)?;
    File::open(dir)?.sync_all()?;
    Ok(merged)
}

/// A segment file's project and spans (its words stay in the file).
pub(super) fn read(path: &Path) -> std::io::Result<(ProjectId, Segment)> {
    let invalid = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned());
    let file = File::open(path)?;
    let mut head = [0u8; 24];
    file.read_exact_at(&mut head, 0)?;
    if &head[..8] != MAGIC {
        return Err(invalid("not a text index segment"));
    }
    let int = |bytes: &[u8]| i64::from_le_bytes(bytes.try_into().unwrap_or_default());
    let project_id = int(&head[8..16]);
    let n = int(&head[16..24]) as usize;
    if n == 0 || n > MERGED_BLOCKS {
        return Err(invalid("bad block count"));
    }
    let mut spans_bytes = vec![0u8; n * 32];
    file.read_exact_at(&mut spans_bytes, 24)?;
    let spans: Vec<BlockSpan> = spans_bytes
        .chunks_exact(32)
        .map(|c| BlockSpan {
            first_id: int(&c[..8]),
            last_id: int(&c[8..16]),
            min_ts: int(&c[16..24]),
            max_ts: int(&c[24..32]),
        })
        .collect();
    let words_at = 24 + n as u64 * 32;
    if file.metadata()?.len() != words_at + (BLOCK_BITS * n.div_ceil(64) * 8) as u64 {
        return Err(invalid("truncated"));
    }
    Ok((project_id, Segment { file, path: path.to_owned(), spans, words_at }))
}

/// Sorts a project's segments by their first log and removes those another covers: what
/// a crash between a merge and the removal of the files it replaced leaves.
pub(super) fn drop_covered(segments: &mut Vec<Arc<Segment>>) -> std::io::Result<()> {
    segments.sort_by_key(|s| (s.first_id(), std::cmp::Reverse(s.spans.len())));
    let mut kept: Vec<Arc<Segment>> = Vec::with_capacity(segments.len());
    for segment in segments.drain(..) {
        if kept.last().is_some_and(|k| segment.first_id() <= k.last_id()) {
            segment.remove()?;
        } else {
            kept.push(segment);
        }
    }
    *segments = kept;
    Ok(())
}
