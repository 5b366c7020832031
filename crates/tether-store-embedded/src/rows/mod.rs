//! The row store: logs without DuckDB, kept so that a log is read by position. Each
//! project's logs are cut, in append order, into blocks of 32 (`segment.rs`), compressed
//! with a zstd dictionary trained on the project's first segment; full segments of
//! [`Settings::segment_blocks`] blocks are immutable files, the open segment's blocks are
//! in memory and its logs in a write-ahead file (`wal.rs`) synced at each group commit.
//! The id index and the text index (shared with the DuckDB store) find candidates by id
//! and by n-gram; filters are evaluated in Rust with the SQL backends' semantics
//! (`filter.rs`). A log is visible when its append returns, durable before.
//!
//! Deleting old logs records a cut (positions before `upto_seq` with a time before
//! `before_ns` are gone) and removes the segment files the cuts empty: a late log older
//! than a cut, appended after it, stays visible (its position is after the cut).

mod api;
mod codec;
mod counts;
pub(crate) mod files;
mod filter;
mod metas;
mod read;
mod segment;
#[cfg(test)]
mod tests;
mod varint;
mod wal;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tether_model::ProjectId;
use tether_store::{StoreError, StoreResult, StoredLog};

use crate::id_index::IdIndex;
use crate::text_index::TextIndex;
use codec::Peek;
use counts::{Counts, Joined};
use files::{io_err, replace_file, sync_dir};
use segment::{BLOCK_LOGS, Block, BlockMeta, Bytes, Dictionary, Recent, Segment};
use varint::{Reader, put_signed, put_unsigned};
use wal::{Frame, Wal};

pub use api::RowStore;

/// How a row store cuts its logs.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Blocks of 32 logs per segment file (a segment is sealed, and the write-ahead file
    /// restarted, when the open segment holds this many).
    pub segment_blocks: usize,
    /// A histogram or pattern sample whose filter tests bodies or attributes reads a
    /// sample of pieces when it would read more logs than this (see `Reading::step`).
    pub exact_scan_logs: u64,
}

impl Default for Settings {
    /// 2,048 blocks: 65,536 logs, ~3 MB per file; 2 M logs read exactly, as on DuckDB.
    fn default() -> Settings {
        Settings { segment_blocks: 2048, exact_scan_logs: 2_000_000 }
    }
}

/// Logs at positions before `upto_seq` with a time before `before_ns` are deleted.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cut {
    upto_seq: u64,
    before_ns: i64,
}

/// A project's logs as a reader sees them: what was appended when it was taken.
pub(crate) struct View {
    project_id: ProjectId,
    segments: Vec<Arc<Segment>>,
    /// The open segment's full blocks, from position `open_seq`.
    open: Arc<Vec<Block>>,
    open_seq: u64,
    /// The logs after them (fewer than a block).
    tail: Arc<Vec<StoredLog>>,
    /// The open segment's full blocks' logs per minute, severity and service.
    open_counts: Arc<Counts>,
    /// The bounds of the open segment's full blocks together.
    open_bounds: BlockMeta,
    dictionary: Option<Arc<Dictionary>>,
    /// Increasing `upto_seq`, decreasing `before_ns` (a cut another covers is dropped).
    cuts: Arc<Vec<Cut>>,
    /// Every block's ids are above the previous block's (ids minted from the clock and
    /// appended in order), so a block is found by id with a binary search.
    sorted: bool,
}

/// A part of a view (a segment, the open segment) as [`View::blocks_where`] shows it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Part {
    /// The bounds of all its blocks together.
    pub(crate) bounds: BlockMeta,
    /// Its per-minute counts stand for its logs (see [`View::counts_of`]).
    pub(crate) counted: bool,
}

/// Where a block is, and the position of its first log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Place {
    Segment(usize, usize),
    Open(usize),
    Tail,
}

impl View {
    fn cut_before(&self, seq: u64) -> i64 {
        cut_before(&self.cuts, seq)
    }

    /// Every block, oldest first, with its place, metadata and first position. The tail
    /// comes last with metadata of its logs.
    pub(crate) fn blocks(&self) -> impl DoubleEndedIterator<Item = (Place, BlockMeta, u64)> + '_ {
        self.blocks_where(|_| true)
    }

    /// The blocks of the parts (each segment, the open segment's blocks, the tail) that
    /// `wanted` keeps, oldest first: a reader skips a segment by its times without looking
    /// at its blocks.
    pub(crate) fn blocks_where<'v>(
        &'v self,
        wanted: impl Fn(Part) -> bool + Copy + 'v,
    ) -> impl DoubleEndedIterator<Item = (Place, BlockMeta, u64)> + 'v {
        let sealed = self.segments.iter().enumerate().filter(move |(s, segment)| {
            wanted(Part { bounds: segment.bounds, counted: self.counts_of(Place::Segment(*s, 0)).is_some() })
        });
        let sealed = sealed.flat_map(|(s, segment)| {
            segment.metas.iter().enumerate().map(move |(b, meta)| {
                (Place::Segment(s, b), meta, segment.first_seq + (b * BLOCK_LOGS) as u64)
            })
        });
        let open_part = Part { bounds: self.open_bounds, counted: self.counts_of(Place::Open(0)).is_some() };
        let open = self.open.iter().enumerate().filter(move |_| wanted(open_part));
        let open =
            open.map(|(b, block)| (Place::Open(b), block.meta, self.open_seq + (b * BLOCK_LOGS) as u64));
        let tail = (!self.tail.is_empty()).then(|| {
            (Place::Tail, BlockMeta::of(&self.tail), self.open_seq + (self.open.len() * BLOCK_LOGS) as u64)
        });
        sealed.chain(open).chain(tail)
    }

    fn all_cut(&self, meta: &BlockMeta, first_seq: u64) -> bool {
        all_cut(&self.cuts, meta, first_seq)
    }

    /// The logs of a block that are not deleted, in append order.
    pub(crate) fn read(&self, place: Place, first_seq: u64) -> StoreResult<Vec<StoredLog>> {
        self.read_where(place, first_seq, |_| true)
    }

    /// The logs of a block that are not deleted and `keep` keeps, in append order.
    pub(crate) fn read_where(
        &self,
        place: Place,
        first_seq: u64,
        keep: impl FnMut(&Peek) -> bool,
    ) -> StoreResult<Vec<StoredLog>> {
        self.read_through(place, first_seq, None, keep)
    }

    /// [`View::read_where`] for a lookup or a page: a sealed block is looked for in and
    /// kept in `recent` when given.
    pub(crate) fn read_through(
        &self,
        place: Place,
        first_seq: u64,
        recent: Option<&Recent>,
        mut keep: impl FnMut(&Peek) -> bool,
    ) -> StoreResult<Vec<StoredLog>> {
        let cut = self.cuts.last().is_some_and(|c| c.upto_seq > first_seq);
        let keep =
            |p: &Peek| (!cut || p.timestamp_ns >= self.cut_before(first_seq + p.index as u64)) && keep(p);
        match place {
            Place::Segment(s, b) => self.segments[s].read(b, self.project_id, recent, keep),
            Place::Open(b) => {
                segment::read_open(&self.open[b], self.dictionary.as_deref(), self.project_id, keep)
            }
            Place::Tail => {
                let mut keep = keep;
                let kept = self.tail.iter().enumerate().filter(|(index, l)| keep(&Peek::of(*index, l)));
                Ok(kept.map(|(_, l)| l.clone()).collect())
            }
        }
    }

    /// The per-minute counts of the logs of a block, when they stand for them: not for
    /// the tail (counted when read), nor where a cut hides some logs the counts include.
    pub(crate) fn counts_of(&self, place: Place) -> Option<&Counts> {
        let (counts, first_seq, min_ts) = match place {
            Place::Segment(s, _) => {
                let segment = &self.segments[s];
                (&segment.counts, segment.first_seq, segment.bounds.min_ts)
            }
            Place::Open(_) => (&*self.open_counts, self.open_seq, self.open_bounds.min_ts),
            Place::Tail => return None,
        };
        (self.cut_before(first_seq) <= min_ts).then_some(counts)
    }

    /// Every set of counts that stands for its logs (see [`View::counts_of`]): the sealed
    /// segments' joined (kept in `joined`), then the open segment's.
    pub(crate) fn counted(&self, joined: &Joined) -> impl Iterator<Item = Arc<Counts>> {
        let sealed: Vec<(u64, &Counts)> = (0..self.segments.len())
            .filter_map(|s| Some((self.segments[s].number, self.counts_of(Place::Segment(s, 0))?)))
            .collect();
        let open = self.counts_of(Place::Open(0)).map(|_| self.open_counts.clone());
        [joined.of(self.project_id, &sealed)].into_iter().chain(open)
    }

    /// The blocks that may hold a log with this id (and time, when known).
    pub(crate) fn places_of(&self, id: i64, ts: Option<i64>) -> Vec<(Place, u64)> {
        let holds = |m: &BlockMeta| {
            m.min_id <= id && id <= m.max_id && ts.is_none_or(|ts| m.min_ts <= ts && ts <= m.max_ts)
        };
        if !self.sorted {
            return self.blocks().filter(|(_, m, _)| holds(m)).map(|(p, _, seq)| (p, seq)).collect();
        }
        let mut found = Vec::new();
        let s = self.segments.partition_point(|seg| seg.bounds.max_id < id);
        if let Some(segment) = self.segments.get(s) {
            // Packed bounds are rounded outward: the block after the first that may reach
            // the id may hold it too.
            let from = segment.metas.first_reaching(id);
            let metas = (from..segment.metas.len()).map(|b| (b, segment.metas.meta(b)));
            for (b, _) in metas.take_while(|(_, m)| m.min_id <= id).filter(|(_, m)| holds(m)) {
                found.push((Place::Segment(s, b), segment.first_seq + (b * BLOCK_LOGS) as u64));
            }
        }
        let b = self.open.partition_point(|b| b.meta.max_id < id);
        if self.open.get(b).is_some_and(|block| holds(&block.meta)) {
            found.push((Place::Open(b), self.open_seq + (b * BLOCK_LOGS) as u64));
        }
        if self.tail.iter().any(|l| l.id.0 == id) {
            found.push((Place::Tail, self.open_seq + (self.open.len() * BLOCK_LOGS) as u64));
        }
        found
    }
}

/// An append's logs encoded (see [`Writer::encode`]).
struct Encoded {
    /// The blocks they complete: bounds and bytes (not compressed).
    blocks: Vec<(BlockMeta, Vec<u8>)>,
    frame: Frame,
}

/// What the writer of a project holds.
struct Writer {
    dir: PathBuf,
    wal: Wal,
    segments: Vec<Arc<Segment>>,
    open: Vec<Block>,
    open_seq: u64,
    tail: Vec<StoredLog>,
    open_counts: Arc<Counts>,
    dictionary: Option<Arc<Dictionary>>,
    cuts: Vec<Cut>,
    /// Every block's ids are above those of the blocks before (see [`View::sorted`]).
    sorted: bool,
    max_id: i64,
}

struct Project {
    writer: Mutex<Writer>,
    view: RwLock<Arc<View>>,
}

/// The logs of one data directory (see [`RowStore`], which shares it).
pub(crate) struct Rows {
    dir: PathBuf,
    pub(crate) settings: Settings,
    projects: RwLock<HashMap<ProjectId, Arc<Project>>>,
    pub(crate) ids: IdIndex,
    pub(crate) text: Mutex<TextIndex>,
    /// Blocks lookups and pages read lately.
    pub(crate) recent: Recent,
    /// The sealed segments' per-minute counts joined, per project.
    pub(crate) joined: Joined,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Rows {
    /// Opens (or creates) the store in `dir`: every project's segments, its write-ahead
    /// file replayed, and the indexes brought up to date with what they lack.
    pub(crate) fn open(dir: &Path, settings: Settings) -> StoreResult<Rows> {
        std::fs::create_dir_all(dir).map_err(io_err("cannot create the log folder"))?;
        let ids = IdIndex::open(&dir.join("id-index"), true)
            .map_err(|e| StoreError::internal("cannot open the id index", e))?;
        let text = TextIndex::open(&dir.join("text-index"))
            .map_err(|e| StoreError::internal("cannot open the text index", e))?;
        let store = Rows {
            dir: dir.to_owned(),
            settings,
            projects: RwLock::default(),
            ids,
            text: Mutex::new(text),
            recent: Recent::default(),
            joined: Joined::default(),
        };
        let entries = std::fs::read_dir(dir).map_err(io_err("cannot list the log folder"))?;
        for entry in entries {
            let name = entry.map_err(io_err("cannot list the log folder"))?.file_name();
            let Some(project_id) =
                name.to_str().and_then(|n| n.strip_prefix('p')).and_then(|n| n.parse().ok())
            else {
                continue;
            };
            let project = store.open_project(project_id)?;
            store.catch_up(project_id, &project)?;
            store.projects.write().unwrap_or_else(PoisonError::into_inner).insert(project_id, project);
        }
        crate::text_index::compact(&store.text);
        Ok(store)
    }

    fn open_project(&self, project_id: ProjectId) -> StoreResult<Arc<Project>> {
        let dir = self.dir.join(format!("p{project_id}"));
        std::fs::create_dir_all(&dir).map_err(io_err("cannot create a project's log folder"))?;
        let mut dictionaries = HashMap::new();
        let mut segment_paths = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io_err("cannot list a project's logs"))? {
            let path = entry.map_err(io_err("cannot list a project's logs"))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            if name.ends_with(".tmp") {
                std::fs::remove_file(&path).map_err(io_err("cannot remove a partial log file"))?;
            } else if let Some(n) = name.strip_prefix("dictionary-").and_then(|n| n.strip_suffix(".zstd")) {
                let number: u32 = n.parse().map_err(|_| varint::corrupt())?;
                let bytes = std::fs::read(&path).map_err(io_err("cannot read a log dictionary"))?;
                dictionaries.insert(number, Arc::new(Dictionary::new(number, &bytes)));
            } else if name.starts_with("segment-") {
                segment_paths.push(path);
            }
        }
        segment_paths.sort();
        let segments = segment_paths
            .iter()
            .map(|path| Segment::open(path, |n| dictionaries.get(&n).cloned()).map(Arc::new))
            .collect::<StoreResult<Vec<_>>>()?;
        let dictionary = dictionaries.into_values().max_by_key(|d| d.number);
        let cuts = read_cuts(&dir.join("cuts"))?;
        let open_seq = segments.last().map_or(0, |s| s.first_seq + (s.metas.len() * BLOCK_LOGS) as u64);
        let replayed = Wal::open(&dir.join("wal"), project_id, open_seq)?;
        // A crash between a segment's rename and the restart of the file leaves the
        // segment's logs in both: they are skipped by position.
        let skip = usize::try_from(open_seq.saturating_sub(replayed.first_seq)).unwrap_or(usize::MAX);
        if replayed.first_seq > open_seq {
            return Err(varint::corrupt());
        }
        let logs: Vec<StoredLog> = replayed.logs.into_iter().skip(skip).collect();
        let bounds = || segments.iter().map(|s| s.bounds);
        let sorted = segments.iter().all(|s| s.metas.sorted) && is_sorted(bounds());
        let max_id = bounds().map(|m| m.max_id).max().unwrap_or(i64::MIN);
        let mut writer = Writer {
            dir,
            wal: replayed.wal,
            segments,
            open: Vec::new(),
            open_seq,
            tail: Vec::new(),
            open_counts: Arc::default(),
            dictionary,
            cuts,
            sorted,
            max_id,
        };
        if skip > 0 {
            writer.wal.restart(open_seq, &logs)?;
        }
        let replayed = writer.encode(&logs)?;
        writer.push(&logs, replayed.blocks, &self.settings)?;
        let view = RwLock::new(Arc::new(writer.view(project_id)));
        Ok(Arc::new(Project { writer: Mutex::new(writer), view }))
    }

    /// Adds to the indexes the project's logs they lack (after a crash, or a lost folder):
    /// those after the last id each holds, in append order.
    fn catch_up(&self, project_id: ProjectId, project: &Project) -> StoreResult<()> {
        let view = project.view.read().unwrap_or_else(PoisonError::into_inner).clone();
        let covered = self.ids.covered();
        let text_after = lock(&self.text).last_id(project_id).unwrap_or(i64::MIN);
        let after = covered.min(text_after);
        let mut missing: Vec<(Place, BlockMeta, u64)> =
            view.blocks().rev().take_while(|(_, m, _)| m.max_id > after).collect();
        missing.reverse();
        for (place, _, seq) in missing {
            let logs = view.read(place, seq)?;
            let new_ids: Vec<StoredLog> = logs.iter().filter(|l| l.id.0 > covered).cloned().collect();
            self.ids.add(new_ids).map_err(|e| StoreError::internal("cannot add to the id index", e))?;
            lock(&self.text).add_logs(logs.iter().filter(|l| l.id.0 > text_after));
        }
        Ok(())
    }

    fn project(&self, project_id: ProjectId) -> StoreResult<Arc<Project>> {
        if let Some(p) = self.projects.read().unwrap_or_else(PoisonError::into_inner).get(&project_id) {
            return Ok(p.clone());
        }
        let mut projects = self.projects.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = projects.get(&project_id) {
            return Ok(p.clone());
        }
        let project = self.open_project(project_id)?;
        sync_dir(&self.dir.join(format!("p{project_id}")))?;
        projects.insert(project_id, project.clone());
        Ok(project)
    }

    /// What a reader of the project sees now (`None`: it has no logs).
    pub(crate) fn view(&self, project_id: ProjectId) -> Option<Arc<View>> {
        let projects = self.projects.read().unwrap_or_else(PoisonError::into_inner);
        let project = projects.get(&project_id)?;
        let view = project.view.read().unwrap_or_else(PoisonError::into_inner).clone();
        Some(view)
    }

    /// Appends logs: the write-ahead file of each project they belong to is written and
    /// synced, then they are added to the indexes and made visible.
    pub(crate) fn append(&self, logs: Vec<StoredLog>) -> StoreResult<()> {
        let mut by_project: Vec<(ProjectId, Vec<StoredLog>)> = Vec::new();
        for log in logs {
            match by_project.iter_mut().find(|(p, _)| *p == log.record.project_id) {
                Some((_, group)) => group.push(log),
                None => by_project.push((log.record.project_id, vec![log])),
            }
        }
        // Encoded first, each project's writer held (in the order of their ids): a log the
        // store refuses (an id that is not hex) fails the call before anything is written.
        by_project.sort_unstable_by_key(|(p, _)| *p);
        let projects = by_project.iter().map(|(p, _)| self.project(*p)).collect::<StoreResult<Vec<_>>>()?;
        let mut writers = Vec::with_capacity(projects.len());
        for (project, (_, logs)) in projects.iter().zip(&by_project) {
            let writer = lock(&project.writer);
            let encoded = writer.encode(logs)?;
            writers.push((writer, encoded));
        }
        for ((project, (project_id, logs)), (mut writer, mut encoded)) in
            projects.iter().zip(by_project).zip(writers)
        {
            writer.wal.append(&mut encoded.frame)?;
            let mut text = lock(&self.text);
            text.add_logs(&logs);
            if let Err(e) = text.seal_full() {
                // The segment stays in memory and is written at the next append.
                tracing::warn!(error = %e, "cannot write a text index segment");
            }
            drop(text);
            writer.push(&logs, encoded.blocks, &self.settings)?;
            // Indexed before they are visible: a reader never finds a log the indexes lack.
            self.ids.add(logs).map_err(|e| StoreError::internal("cannot add to the id index", e))?;
            *project.view.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(writer.view(project_id));
        }
        // Once per ~2 M logs this append also merges text index files (~0.5 s, no lock
        // held): other appends and reads go on.
        crate::text_index::compact(&self.text);
        Ok(())
    }

    /// Deletes the project's logs older than `before_ns`; how many there were.
    pub(crate) fn delete_before(&self, project_id: ProjectId, before_ns: i64) -> StoreResult<u64> {
        let Some(project) =
            self.projects.read().unwrap_or_else(PoisonError::into_inner).get(&project_id).cloned()
        else {
            return Ok(0);
        };
        let mut writer = lock(&project.writer);
        let view = writer.view(project_id);
        let mut deleted = 0u64;
        for (place, meta, seq) in view.blocks() {
            if meta.min_ts < before_ns && !view.all_cut(&meta, seq) {
                deleted += view.read(place, seq)?.iter().filter(|l| l.record.timestamp_ns < before_ns).count()
                    as u64;
            }
        }
        let upto_seq = view.blocks().last().map_or(0, |(_, m, seq)| seq + u64::from(m.logs));
        writer.cut(Cut { upto_seq, before_ns })?;
        *project.view.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(writer.view(project_id));
        drop(writer);
        lock(&self.text)
            .forget_before(project_id, before_ns)
            .map_err(|e| StoreError::internal("cannot drop text index segments", e))?;
        self.ids
            .forget_before(project_id, before_ns)
            .map_err(|e| StoreError::internal("cannot forget old logs in the id index", e))?;
        Ok(deleted)
    }
}

/// Logs at `seq` with a time before this are deleted.
fn cut_before(cuts: &[Cut], seq: u64) -> i64 {
    let i = cuts.partition_point(|c| c.upto_seq <= seq);
    cuts.get(i).map_or(i64::MIN, |c| c.before_ns)
}

/// Whether every log of the block is deleted.
fn all_cut(cuts: &[Cut], meta: &BlockMeta, first_seq: u64) -> bool {
    meta.max_ts < cut_before(cuts, first_seq + u64::from(meta.logs).saturating_sub(1))
}

/// Whether each block's (or segment's) ids are all above the one before's.
fn is_sorted(metas: impl Iterator<Item = BlockMeta>) -> bool {
    let mut previous = None;
    for meta in metas {
        if previous.is_some_and(|max_id| meta.min_id <= max_id) {
            return false;
        }
        previous = Some(meta.max_id);
    }
    true
}

impl Writer {
    fn view(&self, project_id: ProjectId) -> View {
        View {
            project_id,
            segments: self.segments.clone(),
            open: Arc::new(self.open.clone()),
            open_seq: self.open_seq,
            tail: Arc::new(self.tail.clone()),
            open_counts: self.open_counts.clone(),
            open_bounds: segment::bounds(self.open.iter().map(|b| &b.meta)),
            dictionary: self.dictionary.clone(),
            cuts: Arc::new(self.cuts.clone()),
            sorted: self.sorted && self.tail.iter().all(|l| l.id.0 > self.max_id),
        }
    }

    /// Encodes an append's logs as the open segment will hold them: the blocks they
    /// complete (the first may begin with the logs of the open tail), and the write-ahead
    /// frame of the logs (those blocks' bytes, and the logs outside them encoded alone).
    fn encode(&self, logs: &[StoredLog]) -> StoreResult<Encoded> {
        let mut encoded = Encoded { blocks: Vec::new(), frame: Frame::new() };
        let fill = if self.tail.is_empty() { 0 } else { (BLOCK_LOGS - self.tail.len()).min(logs.len()) };
        let (head, rest) = logs.split_at(fill);
        if !head.is_empty() {
            encoded.frame.push(&codec::encode(head)?);
            if self.tail.len() + head.len() == BLOCK_LOGS {
                let block: Vec<StoredLog> = self.tail.iter().chain(head).cloned().collect();
                encoded.blocks.push((BlockMeta::of(&block), codec::encode(&block)?));
            }
        }
        let whole = rest.len() / BLOCK_LOGS * BLOCK_LOGS;
        for block in rest[..whole].chunks(BLOCK_LOGS) {
            let raw = codec::encode(block)?;
            encoded.frame.push(&raw);
            encoded.blocks.push((BlockMeta::of(block), raw));
        }
        if whole < rest.len() {
            encoded.frame.push(&codec::encode(&rest[whole..])?);
        }
        Ok(encoded)
    }

    /// Adds logs (already in the write-ahead file) to the open segment, with the blocks
    /// [`Writer::encode`] made of them: full blocks are compressed, a full segment is
    /// sealed.
    fn push(
        &mut self,
        logs: &[StoredLog],
        blocks: Vec<(BlockMeta, Vec<u8>)>,
        settings: &Settings,
    ) -> StoreResult<()> {
        // The logs before `at` are in the blocks pushed.
        let mut at = 0;
        for (meta, raw) in blocks {
            let taken = BLOCK_LOGS - self.tail.len();
            let counts = Arc::make_mut(&mut self.open_counts);
            counts.add(&self.tail);
            counts.add(&logs[at..at + taken]);
            self.tail.clear();
            at += taken;
            self.sorted &= meta.min_id > self.max_id;
            self.max_id = self.max_id.max(meta.max_id);
            let bytes = match &self.dictionary {
                Some(d) => Bytes::Compressed(segment::compress(&raw, Some(d))?.into()),
                None => Bytes::Raw(raw.into()),
            };
            self.open.push(Block { meta, bytes });
            if self.open.len() >= settings.segment_blocks {
                self.seal(&logs[at..])?;
            }
        }
        self.tail.extend_from_slice(&logs[at..]);
        Ok(())
    }

    /// Writes the open segment's blocks as a segment file (training the project's
    /// dictionary on them first if it has none) and restarts the write-ahead file with
    /// the logs after them, `after`.
    fn seal(&mut self, after: &[StoredLog]) -> StoreResult<()> {
        if self.dictionary.is_none() {
            let samples: Vec<&[u8]> = self
                .open
                .iter()
                .filter_map(|b| match &b.bytes {
                    Bytes::Raw(raw) => Some(&raw[..]),
                    _ => None,
                })
                .collect();
            if let Some(bytes) = Dictionary::train(1, &samples) {
                replace_file(&Dictionary::path(&self.dir, 1), &bytes)?;
                self.dictionary = Some(Arc::new(Dictionary::new(1, &bytes)));
            }
        }
        let counts = std::mem::take(Arc::make_mut(&mut self.open_counts));
        let segment = Segment::write(&self.dir, self.open_seq, &self.open, self.dictionary.clone(), counts)?;
        self.open_seq += (self.open.len() * BLOCK_LOGS) as u64;
        self.open.clear();
        self.segments.push(Arc::new(segment));
        self.wal.restart(self.open_seq, after)
    }

    /// Records a cut, and removes the segment files it empties.
    fn cut(&mut self, cut: Cut) -> StoreResult<()> {
        self.cuts.retain(|c| c.before_ns > cut.before_ns);
        self.cuts.push(cut);
        let mut bytes = Vec::new();
        for c in &self.cuts {
            put_unsigned(&mut bytes, c.upto_seq);
            put_signed(&mut bytes, c.before_ns);
        }
        replace_file(&self.dir.join("cuts"), &bytes)?;
        let cuts = &self.cuts;
        let emptied = |segment: &Segment| {
            let seq = |b: usize| segment.first_seq + (b * BLOCK_LOGS) as u64;
            segment.metas.iter().enumerate().all(|(b, meta)| all_cut(cuts, &meta, seq(b)))
        };
        let (gone, kept): (Vec<_>, Vec<_>) = self.segments.drain(..).partition(|s| emptied(s));
        self.segments = kept;
        for segment in &gone {
            std::fs::remove_file(&segment.path).map_err(io_err("cannot remove a log segment"))?;
        }
        if !gone.is_empty() {
            sync_dir(&self.dir.join("cuts"))?;
        }
        Ok(())
    }
}

fn read_cuts(path: &Path) -> StoreResult<Vec<Cut>> {
    let bytes = match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        bytes => bytes.map_err(io_err("cannot read the log cuts"))?,
    };
    let mut r = Reader::new(&bytes);
    let mut cuts = Vec::new();
    while !r.is_empty() {
        cuts.push(Cut { upto_seq: r.unsigned()?, before_ns: r.signed()? });
    }
    Ok(cuts)
}
