//! Blocks of logs, and the immutable segment files that hold them once sealed.
//!
//! A block is [`BLOCK_LOGS`] logs in append order, compressed on its own with zstd and the
//! project's trained dictionary, so one log is read by decompressing ~32 (a trace's 8 logs
//! in ~0.15 ms, a session's 1,000 in ~10, measured by `tether-bench logs --row-blocks`).
//! A segment file is [`SEGMENT_BLOCKS`] blocks back to back and a footer of each block's
//! id and time bounds; readers keep the footer in memory (packed, see [`super::metas`])
//! and read blocks by offset.
//!
//! File: `TSEG0001`, the blocks, the footer (varints: first position, dictionary number,
//! block count, then per block its bounds, severities, smallest sample remainder and
//! length, then the logs per
//! minute, severity and service), the footer's length (u64) and CRC (u32), `TSEGEND1`.

use std::cell::RefCell;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use moka::sync::Cache;
use tether_model::ProjectId;
use tether_store::{ErrorKind, SAMPLE_MODULUS, StoreError, StoreResult, StoredLog};
use zstd::dict::{DecoderDictionary, EncoderDictionary};
use zstd::zstd_safe::{CCtx, DCtx};

use super::codec::{self, Peek};
use super::counts::Counts;
use super::files::{io_err, replace_file};
use super::metas::Metas;
use super::varint::{Reader, corrupt, put_signed, put_unsigned};

/// Logs per block: small blocks make a lookup decompress little; the trained dictionary
/// keeps them compressing like large ones (32: 49.3 bytes/log; 128: 46.3 but a person's
/// newest 100 took 3.2 instead of 1.05 ms).
pub(crate) const BLOCK_LOGS: usize = 32;

/// A zstd level a writer of ~80,000 logs/s on one of two cores can afford.
const ZSTD_LEVEL: i32 = 3;

/// The largest block a reader decompresses (a block of 32 logs with bodies at their
/// limit stays far below).
const MAX_BLOCK_BYTES: usize = 256 << 20;

const MAGIC: &[u8; 8] = b"TSEG0001";
const END: &[u8; 8] = b"TSEGEND1";

/// What a reader knows of a block without reading it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockMeta {
    pub(crate) min_id: i64,
    pub(crate) max_id: i64,
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
    pub(crate) logs: u32,
    /// Bit `code` set when a log of that severity is in the block.
    pub(crate) severities: u8,
    /// The smallest remainder of its ids by [`SAMPLE_MODULUS`]: a sample keeping the
    /// remainders below `keep` (`LogReader::sample`) reads only the blocks where this is
    /// below it (~3 % of them for a day's patterns at 10 M logs, where it read them all).
    pub(crate) min_residue: u16,
}

impl BlockMeta {
    /// The bounds of nothing: every bound test fails.
    const EMPTY: BlockMeta = BlockMeta {
        min_id: i64::MAX,
        max_id: i64::MIN,
        min_ts: i64::MAX,
        max_ts: i64::MIN,
        logs: 0,
        severities: 0,
        min_residue: u16::MAX,
    };

    pub(crate) fn of(logs: &[StoredLog]) -> BlockMeta {
        let mut meta = BlockMeta { logs: logs.len() as u32, ..BlockMeta::EMPTY };
        for log in logs {
            meta.min_id = meta.min_id.min(log.id.0);
            meta.max_id = meta.max_id.max(log.id.0);
            meta.min_ts = meta.min_ts.min(log.record.timestamp_ns);
            meta.max_ts = meta.max_ts.max(log.record.timestamp_ns);
            meta.severities |= 1 << log.record.severity.code();
            meta.min_residue = meta.min_residue.min(residue(log.id.0));
        }
        meta
    }

    /// Whether a log of the block may be in `[from, to)`.
    pub(crate) fn overlaps(&self, from_ns: i64, to_ns: i64) -> bool {
        self.max_ts >= from_ns && self.min_ts < to_ns
    }
}

/// A project's zstd dictionary, trained on its first segment's blocks.
pub(crate) struct Dictionary {
    pub(crate) number: u32,
    encoder: EncoderDictionary<'static>,
    decoder: DecoderDictionary<'static>,
}

/// Bytes of a dictionary: ~3.5 bytes per log of a 32,768-log sample.
const DICTIONARY_BYTES: usize = 112 << 10;

impl Dictionary {
    /// Trains a dictionary on `samples` (uncompressed blocks); `None` when zstd cannot
    /// (too few or too small samples: the blocks are then compressed without one).
    pub(crate) fn train(number: u32, samples: &[&[u8]]) -> Option<Vec<u8>> {
        let bytes: usize = samples.iter().map(|s| s.len()).sum();
        let dictionary = zstd::dict::from_samples(samples, DICTIONARY_BYTES.min(bytes / 10)).ok()?;
        tracing::info!(number, samples = samples.len(), bytes = dictionary.len(), "trained a log dictionary");
        Some(dictionary)
    }

    pub(crate) fn new(number: u32, bytes: &[u8]) -> Dictionary {
        Dictionary {
            number,
            encoder: EncoderDictionary::copy(bytes, ZSTD_LEVEL),
            decoder: DecoderDictionary::copy(bytes),
        }
    }

    pub(crate) fn path(dir: &Path, number: u32) -> PathBuf {
        dir.join(format!("dictionary-{number}.zstd"))
    }
}

/// Compresses an encoded block, with the dictionary when there is one.
pub(crate) fn compress(raw: &[u8], dictionary: Option<&Dictionary>) -> StoreResult<Vec<u8>> {
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(raw.len()));
    COMPRESSOR
        .with_borrow_mut(|cctx| match dictionary {
            Some(d) => cctx.compress_using_cdict(&mut out, raw, d.encoder.as_cdict()),
            None => cctx.compress(&mut out, raw, ZSTD_LEVEL),
        })
        .map_err(|code| {
            let reason = zstd::zstd_safe::get_error_name(code);
            StoreError::new(ErrorKind::Internal, format!("cannot compress a log block: {reason}"))
        })?;
    Ok(out)
}

thread_local! {
    /// A compression context per thread, as for decompression below (one per block was
    /// ~1 % of ingest's CPU).
    static COMPRESSOR: RefCell<CCtx<'static>> = RefCell::new(CCtx::create());
    /// A decompression context per thread: creating one per block was a third of a
    /// search's CPU (each allocates and sets up ~100 KB of tables).
    static DECOMPRESSOR: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
    /// Where a block is read from its file, reused.
    static READ: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn decompress(bytes: &[u8], dictionary: Option<&Dictionary>) -> StoreResult<Vec<u8>> {
    // The frame says its size (the buffer is allocated at once, so not the maximum).
    let size = zstd::zstd_safe::get_frame_content_size(bytes).ok().flatten().ok_or_else(corrupt)?;
    let size = usize::try_from(size).ok().filter(|&s| s <= MAX_BLOCK_BYTES).ok_or_else(corrupt)?;
    let mut raw = Vec::with_capacity(size);
    DECOMPRESSOR
        .with_borrow_mut(|dctx| match dictionary {
            Some(d) => dctx.decompress_using_ddict(&mut raw, bytes, d.decoder.as_ddict()),
            None => dctx.decompress(&mut raw, bytes),
        })
        .map_err(|_| corrupt())?;
    if raw.len() != size {
        return Err(corrupt());
    }
    Ok(raw)
}

/// Where a block's bytes are.
#[derive(Clone)]
pub(crate) enum Bytes {
    /// Encoded, not compressed: the open segment's blocks until the dictionary is trained.
    Raw(Arc<[u8]>),
    /// Compressed, in memory: the open segment's blocks.
    Compressed(Arc<[u8]>),
}

#[derive(Clone)]
pub(crate) struct Block {
    pub(crate) meta: BlockMeta,
    pub(crate) bytes: Bytes,
}

/// The decompressed blocks of sealed segments that lookups and pages read lately, for the
/// next that reads them (paging a session, a search asked again as its page reloads), as
/// tantivy's document store keeps its last blocks and ClickHouse its uncompressed cache.
/// Reading and decompressing a block of 32 logs to keep one was ~15 % of the CPU of a rare
/// term's newest 100 (~100 blocks), and half of a needle's (the text index's candidate
/// blocks, read for a page). Scans that fold every block (histograms, counts, patterns)
/// do not go through it: they would push everything out, for blocks read once.
pub(crate) struct Recent(Cache<(u64, u32), Arc<[u8]>>);

/// What the blocks in [`Recent`] may weigh together: a session's 1,000 logs are in up to
/// ~1,000 blocks of ~10 kB.
const RECENT_BYTES: u64 = 32 << 20;

impl Default for Recent {
    fn default() -> Self {
        let weigh = |_: &(u64, u32), raw: &Arc<[u8]>| u32::try_from(raw.len() + 64).unwrap_or(u32::MAX);
        Recent(Cache::builder().max_capacity(RECENT_BYTES).weigher(weigh).build())
    }
}

/// Numbers segments for [`Recent`], rather than their files' names, which a later segment
/// can take (a project emptied by retention and written again).
static SEGMENTS: AtomicU64 = AtomicU64::new(0);

/// A sealed segment: its file and its blocks' metadata.
pub(crate) struct Segment {
    /// Its number in this process (see [`Recent`], `counts::Joined`).
    pub(crate) number: u64,
    pub(crate) path: PathBuf,
    file: File,
    pub(crate) first_seq: u64,
    pub(crate) dictionary: Option<Arc<Dictionary>>,
    /// What is known of each block without reading it, packed (see [`Metas`]). With
    /// `ends`, 28 bytes per block in memory: 3 M blocks at 100 M logs.
    pub(crate) metas: Metas,
    /// Where each block ends in the file; it starts where the one before ends.
    ends: Vec<u64>,
    /// Its logs per minute, severity and service.
    pub(crate) counts: Counts,
    /// The bounds of all its blocks together.
    pub(crate) bounds: BlockMeta,
}

impl Segment {
    pub(crate) fn path(dir: &Path, first_seq: u64) -> PathBuf {
        dir.join(format!("segment-{first_seq:016}.logs"))
    }

    /// Writes `blocks` (compressed with `dictionary`) as a segment file.
    pub(crate) fn write(
        dir: &Path,
        first_seq: u64,
        blocks: &[Block],
        dictionary: Option<Arc<Dictionary>>,
        counts: Counts,
    ) -> StoreResult<Segment> {
        let mut bytes = MAGIC.to_vec();
        let mut footer = Vec::new();
        put_unsigned(&mut footer, first_seq);
        put_unsigned(&mut footer, dictionary.as_ref().map_or(0, |d| u64::from(d.number)));
        put_unsigned(&mut footer, blocks.len() as u64);
        let mut ends = Vec::with_capacity(blocks.len());
        for block in blocks {
            let data = match &block.bytes {
                Bytes::Compressed(data) => data.to_vec(),
                Bytes::Raw(raw) => compress(raw, dictionary.as_deref())?,
            };
            bytes.extend_from_slice(&data);
            ends.push(bytes.len() as u64);
            put_meta(&mut footer, &block.meta, data.len());
        }
        counts.write(&mut footer);
        let footer_len = footer.len() as u64;
        bytes.extend_from_slice(&footer);
        bytes.extend_from_slice(&footer_len.to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(&footer).to_le_bytes());
        bytes.extend_from_slice(END);
        let path = Segment::path(dir, first_seq);
        replace_file(&path, &bytes)?;
        let file = File::open(&path).map_err(io_err("cannot open a log segment"))?;
        let metas: Vec<BlockMeta> = blocks.iter().map(|b| b.meta).collect();
        let (bounds, metas) = (bounds(&metas), Metas::of(&metas));
        let number = SEGMENTS.fetch_add(1, Ordering::Relaxed);
        Ok(Segment { number, path, file, first_seq, dictionary, metas, ends, counts, bounds })
    }

    /// Opens a segment file, reading its footer; `dictionaries` by number.
    pub(crate) fn open(
        path: &Path,
        dictionary: impl Fn(u32) -> Option<Arc<Dictionary>>,
    ) -> StoreResult<Segment> {
        let file = File::open(path).map_err(io_err("cannot open a log segment"))?;
        let len = file.metadata().map_err(io_err("cannot read a log segment"))?.len();
        let damaged =
            || StoreError::new(ErrorKind::Internal, format!("log segment {} is damaged", path.display()));
        let mut tail = [0u8; 20];
        if len < 28 {
            return Err(damaged());
        }
        file.read_exact_at(&mut tail, len - 20).map_err(io_err("cannot read a log segment"))?;
        let footer_len = u64::from_le_bytes(tail[..8].try_into().expect("8 bytes"));
        if &tail[12..] != END || footer_len > len - 28 {
            return Err(damaged());
        }
        let mut footer = vec![0u8; footer_len as usize];
        file.read_exact_at(&mut footer, len - 20 - footer_len)
            .map_err(io_err("cannot read a log segment"))?;
        if crc32fast::hash(&footer).to_le_bytes() != tail[8..12] {
            return Err(damaged());
        }
        let mut r = Reader::new(&footer);
        let first_seq = r.unsigned()?;
        let number = r.unsigned()? as u32;
        let dictionary = match number {
            0 => None,
            n => Some(dictionary(n).ok_or_else(damaged)?),
        };
        let count = r.unsigned()? as usize;
        let mut end = MAGIC.len() as u64;
        let (mut metas, mut ends) =
            (Vec::with_capacity(count.min(1 << 20)), Vec::with_capacity(count.min(1 << 20)));
        for _ in 0..count {
            let (meta, data_len) = read_meta(&mut r)?;
            end += u64::from(data_len);
            metas.push(meta);
            ends.push(end);
        }
        let counts = Counts::read(&mut r)?;
        let (bounds, metas) = (bounds(&metas), Metas::of(&metas));
        let (number, path) = (SEGMENTS.fetch_add(1, Ordering::Relaxed), path.to_owned());
        Ok(Segment { number, path, file, first_seq, dictionary, metas, ends, counts, bounds })
    }

    /// The logs of its `b`th block that `keep` keeps; the block is looked for in and kept
    /// in `recent` when given.
    pub(crate) fn read(
        &self,
        b: usize,
        project_id: ProjectId,
        recent: Option<&Recent>,
        keep: impl FnMut(&Peek) -> bool,
    ) -> StoreResult<Vec<StoredLog>> {
        let Some(Recent(cache)) = recent else {
            return codec::decode_where(&self.decompressed(b)?, project_id, keep);
        };
        let key = (self.number, u32::try_from(b).map_err(|_| corrupt())?);
        let raw = match cache.get(&key) {
            Some(raw) => raw,
            None => {
                let raw: Arc<[u8]> = self.decompressed(b)?.into();
                cache.insert(key, raw.clone());
                raw
            }
        };
        codec::decode_where(&raw, project_id, keep)
    }

    /// Its `b`th block's bytes, read and decompressed.
    fn decompressed(&self, b: usize) -> StoreResult<Vec<u8>> {
        let offset = b.checked_sub(1).map_or(MAGIC.len() as u64, |before| self.ends[before]);
        let len = self.ends.get(b).ok_or_else(corrupt)?.checked_sub(offset).ok_or_else(corrupt)?;
        READ.with_borrow_mut(|data| {
            // Reused: a zeroed buffer per block was a tenth of a session's page.
            data.resize(len as usize, 0);
            self.file.read_exact_at(data, offset).map_err(io_err("cannot read a log segment"))?;
            decompress(data, self.dictionary.as_deref())
        })
    }
}

/// The logs `keep` keeps of a block in memory (compressed with `dictionary`, or raw).
pub(crate) fn read_open(
    block: &Block,
    dictionary: Option<&Dictionary>,
    project_id: ProjectId,
    keep: impl FnMut(&Peek) -> bool,
) -> StoreResult<Vec<StoredLog>> {
    match &block.bytes {
        Bytes::Raw(raw) => codec::decode_where(raw, project_id, keep),
        Bytes::Compressed(data) => codec::decode_where(&decompress(data, dictionary)?, project_id, keep),
    }
}

/// An id's remainder by [`SAMPLE_MODULUS`] (what `LogReader::sample` keeps by).
pub(crate) fn residue(id: i64) -> u16 {
    id.rem_euclid(i64::from(SAMPLE_MODULUS)) as u16
}

/// The bounds of blocks together (ids, times, severities, remainders; logs summed).
pub(crate) fn bounds<'m>(metas: impl IntoIterator<Item = &'m BlockMeta>) -> BlockMeta {
    let mut all = BlockMeta::EMPTY;
    for m in metas {
        all.min_id = all.min_id.min(m.min_id);
        all.max_id = all.max_id.max(m.max_id);
        all.min_ts = all.min_ts.min(m.min_ts);
        all.max_ts = all.max_ts.max(m.max_ts);
        all.logs += m.logs;
        all.severities |= m.severities;
        all.min_residue = all.min_residue.min(m.min_residue);
    }
    all
}

fn put_meta(out: &mut Vec<u8>, meta: &BlockMeta, len: usize) {
    for v in [meta.min_id, meta.max_id, meta.min_ts, meta.max_ts] {
        put_signed(out, v);
    }
    put_unsigned(out, u64::from(meta.logs));
    out.push(meta.severities);
    put_unsigned(out, u64::from(meta.min_residue));
    put_unsigned(out, len as u64);
}

fn read_meta(r: &mut Reader) -> StoreResult<(BlockMeta, u32)> {
    let (min_id, max_id, min_ts, max_ts) = (r.signed()?, r.signed()?, r.signed()?, r.signed()?);
    let logs = r.unsigned()? as u32;
    let severities = r.byte()?;
    let min_residue = u16::try_from(r.unsigned()?).map_err(|_| corrupt())?;
    let len = u32::try_from(r.unsigned()?).map_err(|_| corrupt())?;
    Ok((BlockMeta { min_id, max_id, min_ts, max_ts, logs, severities, min_residue }, len))
}
