//! The row store's reads. A filter on an indexed id (a session, person, trace or
//! attribute value) reads the id index's candidates by position; any other filter reads
//! the blocks whose time (and severities) it overlaps, narrowed to the text index's
//! candidates when it searches bodies, newest blocks first; every log read is tested with
//! the whole filter ([`Matcher`]), so the indexes only have to find a superset.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use rayon::prelude::*;
use rustc_hash::FxHashSet;

use tether_model::{LogId, Severity};
use tether_store::{
    Breakdown, Facets, Histogram, HistogramBucket, LogExpr, LogFilter, LogPage, LogSample, LogSummary,
    PageCursor, SAMPLE_MODULUS, SDK_LANGUAGE_ATTRIBUTE, ServiceLinking, SessionHit, StoreError, StoreResult,
    StoredLog,
};

use super::codec::Peek;
use super::counts::MINUTE_NS;
use super::filter::{Matcher, attribute_text};
use super::segment::{BlockMeta, residue};
use super::{Part, Place, Rows, View};
use crate::facet_tally::{FACET_SAMPLE, Tally};
use crate::id_index::{IdIndex, Report, Within, filter_keys, seen_key};

/// The logs of a piece a sampled scan reads or skips whole (64 blocks).
const PIECE_LOGS: u64 = 2048;

/// A worker of [`on_cores`] takes at least this many blocks (fewer are not worth a
/// thread).
const MIN_BLOCKS_PER_WORKER: usize = 64;

/// Index candidates beyond this many are not read one by one: the blocks are scanned.
const MAX_INDEX_CANDIDATES: usize = 16_384;

/// Id ranges sorted by start, and the running maximum of their ends.
type Spans = (Vec<(i64, i64)>, Vec<i64>);

/// What a filter reads: its view, its test, and where its matches can be.
pub(crate) struct Reading<'a> {
    view: &'a View,
    matcher: Matcher,
    filter: &'a LogFilter,
    /// The text index's candidates, as sorted id ranges with the running maximum of their
    /// ends (a block overlaps one when the first range starting after it is preceded by an
    /// end at or above its first id). Looked up when blocks are first read: a search the
    /// id index answers reads none.
    spans: OnceLock<Option<Spans>>,
    rows: &'a Rows,
    ids: &'a IdIndex,
    /// See [`super::Settings::exact_scan_logs`].
    exact_scan_logs: u64,
}

impl<'a> Reading<'a> {
    /// A reading of `filter` in `view`, a view of `rows`.
    pub(crate) fn new(rows: &'a Rows, view: &'a View, filter: &'a LogFilter) -> StoreResult<Reading<'a>> {
        let (ids, exact_scan_logs) = (&rows.ids, rows.settings.exact_scan_logs);
        let matcher = Matcher::new(filter)?;
        Ok(Reading { view, matcher, filter, spans: OnceLock::new(), rows, ids, exact_scan_logs })
    }

    /// The text index's candidates (see [`Reading::spans`]); none (every block) when it
    /// cannot be read, which costs time, not matches.
    fn spans(&self) -> Option<&Spans> {
        let spans = self.spans.get_or_init(|| {
            let spans = crate::text_index::candidates(&self.rows.text, self.filter)
                .inspect_err(|e| tracing::warn!(error = %e, "cannot read the text index"))
                .ok()
                .flatten()?;
            let mut ranges: Vec<(i64, i64)> = spans.iter().map(|s| (s.first_id, s.last_id)).collect();
            ranges.sort_unstable();
            let ends = ranges.iter().scan(i64::MIN, |max, r| {
                *max = (*max).max(r.1);
                Some(*max)
            });
            let ends = ends.collect();
            Some((ranges, ends))
        });
        spans.as_ref()
    }

    /// The blocks a match can be in, oldest first.
    fn blocks(&self) -> impl DoubleEndedIterator<Item = (Place, BlockMeta, u64)> + '_ {
        self.blocks_skipping(|_| false)
    }

    /// [`Reading::blocks`] but for the parts (segments, the open segment) `skip` says hold
    /// no log wanted. A part is passed whole when its bounds rule out a match, as a block
    /// is (a needle's one candidate text block is in one segment of ~150 at 10 M logs).
    fn blocks_skipping(
        &self,
        skip: impl Fn(Part) -> bool + Copy + 'a,
    ) -> impl DoubleEndedIterator<Item = (Place, BlockMeta, u64)> + '_ {
        let parts = move |p: Part| self.may_hold(&p.bounds) && !skip(p);
        self.view
            .blocks_where(parts)
            .filter(move |(_, m, seq)| self.may_hold(m) && !self.view.all_cut(m, *seq))
    }

    /// Whether logs within these bounds may match: their times overlap the filter's, a
    /// severity it asks for is among theirs, their ids overlap a text index candidate.
    fn may_hold(&self, m: &BlockMeta) -> bool {
        m.overlaps(self.filter.from_ns, self.filter.to_ns)
            && self.matcher.may_hold_severities(m.severities)
            && self.spans().is_none_or(|(ranges, ends)| {
                let i = ranges.partition_point(|r| r.0 <= m.max_id);
                i > 0 && ends[i - 1] >= m.min_id
            })
    }

    /// The matches among the id index's newest `limit` candidates, newest first, and
    /// whether it has more candidates; `None` when the filter names no indexed id.
    fn indexed(
        &self,
        after: Option<PageCursor>,
        limit: usize,
    ) -> StoreResult<Option<(Vec<StoredLog>, bool)>> {
        let Some(lookup) = self.ids.lookup(self.filter) else { return Ok(None) };
        let found =
            self.ids.snapshot(&lookup).newest(&lookup, self.filter, after, limit).map_err(index_error)?;
        let mut logs = self.read_keys(&found.keys)?;
        newest_first(&mut logs);
        Ok(Some((logs, found.more)))
    }

    /// The matches among the logs of these (time, id) keys, in no order.
    fn read_keys(&self, keys: &[(i64, i64)]) -> StoreResult<Vec<StoredLog>> {
        let mut places: BTreeMap<Place, (u64, HashSet<i64>)> = BTreeMap::new();
        for &(ts, id) in keys {
            for (place, seq) in self.view.places_of(id, Some(ts)) {
                places.entry(place).or_insert_with(|| (seq, HashSet::new())).1.insert(id);
            }
        }
        let places: Vec<(Place, u64, HashSet<i64>)> =
            places.into_iter().map(|(p, (seq, ids))| (p, seq, ids)).collect();
        // A session's 1,000 logs are in ~1,000 blocks: read on every core.
        let logs = on_cores(&places, |share| {
            let mut logs = Vec::new();
            for (place, seq, wanted) in share {
                let recent = Some(&self.rows.recent);
                let read = self.view.read_through(*place, *seq, recent, |p| wanted.contains(&p.id))?;
                logs.extend(read.into_iter().filter(|l| self.matcher.holds(l)));
            }
            Ok(logs)
        })?;
        // Moved, not `concat`: that cloned every log (a tenth of a session's 1,000).
        Ok(logs.into_iter().flatten().collect())
    }

    /// The logs of a block whose body may match (the rest of a log is read only then).
    fn read(&self, place: Place, seq: u64) -> StoreResult<Vec<StoredLog>> {
        self.view.read_where(place, seq, |p| self.matcher.body_may_match(p.body))
    }

    /// Folds every match into `A` (of the blocks `block(metadata, position)` keeps, and
    /// the logs `peek` keeps before they are built): each worker (one per core) folds its
    /// share of the blocks into its own `init()` with `add`, and their results are joined
    /// with `merge`. A scan decodes every candidate block, so two cores take it in about
    /// half the time.
    fn fold<A: Send>(
        &self,
        block: impl Fn(&BlockMeta, u64) -> bool,
        peek: impl Fn(&Peek) -> bool + Sync,
        init: impl Fn() -> A + Sync,
        add: impl Fn(&mut A, &StoredLog) + Sync,
        merge: impl Fn(&mut A, A),
    ) -> StoreResult<A> {
        let mut folded = init();
        if let Some((logs, false)) = self.indexed(None, MAX_INDEX_CANDIDATES)? {
            logs.iter().filter(|l| peek(&Peek::of(0, l))).for_each(|l| add(&mut folded, l));
            return Ok(folded);
        }
        let blocks: Vec<(Place, u64)> =
            self.blocks().filter(|(_, meta, seq)| block(meta, *seq)).map(|(p, _, seq)| (p, seq)).collect();
        let parts = on_cores(&blocks, |share| {
            let mut folded = init();
            for &(place, seq) in share {
                let wanted = |p: &Peek| peek(p) && self.matcher.body_may_match(p.body);
                for log in self.view.read_where(place, seq, wanted)? {
                    if self.matcher.holds(&log) {
                        add(&mut folded, &log);
                    }
                }
            }
            Ok(folded)
        })?;
        for part in parts {
            merge(&mut folded, part);
        }
        Ok(folded)
    }

    /// How many pieces of [`PIECE_LOGS`] an aggregate reads one of: 1 (all) unless the
    /// filter tests bodies or attributes (a scan that decodes what it reads) over more
    /// than [`super::Settings::exact_scan_logs`] candidate logs, as on DuckDB (see `duck::read`). Pieces
    /// are cut by position, so every time range is sampled evenly (logs are stored in
    /// about the order they arrive) and an estimate scaled by `step` is unbiased.
    fn step(&self) -> u64 {
        let costly = self.filter.query.as_ref().is_some_and(LogExpr::reads_bodies_or_attributes);
        if !costly || filter_keys(self.filter).is_some() {
            return 1;
        }
        let logs: u64 = self.blocks().map(|(_, m, _)| u64::from(m.logs)).sum();
        logs.div_ceil(self.exact_scan_logs.max(1)).max(1).next_power_of_two()
    }

    /// The newest `limit` matches strictly after `after`.
    fn newest(&self, limit: usize, after: Option<PageCursor>) -> StoreResult<Vec<StoredLog>> {
        match self.newest_indexed(limit, after)? {
            Some(logs) => Ok(logs),
            None => self.scan_newest(limit, after, Order::Time),
        }
    }

    /// A sample of `limit` recent matches, for facets: the newest by time when the id
    /// index finds them, else the last written (see [`Order::Written`]).
    fn recent(&self, limit: usize) -> StoreResult<Vec<StoredLog>> {
        match self.newest_indexed(limit, None)? {
            Some(logs) => Ok(logs),
            None => self.scan_newest(limit, None, Order::Written),
        }
    }

    /// [`Reading::newest`] from the id index's candidates, asking for more while false
    /// ones leave the page short; `None` when the index cannot answer.
    fn newest_indexed(&self, limit: usize, after: Option<PageCursor>) -> StoreResult<Option<Vec<StoredLog>>> {
        let mut wanted = limit.max(1);
        while wanted <= MAX_INDEX_CANDIDATES {
            match self.indexed(after, wanted)? {
                None => break,
                Some((mut logs, more)) => {
                    if logs.len() >= limit || !more {
                        logs.truncate(limit);
                        return Ok(Some(logs));
                    }
                }
            }
            wanted = wanted.saturating_mul(4);
        }
        Ok(None)
    }

    /// The `limit` matches strictly after `after` that are newest by `order`, reading the
    /// newest placed blocks first.
    fn scan_newest(
        &self,
        limit: usize,
        after: Option<PageCursor>,
        order: Order,
    ) -> StoreResult<Vec<StoredLog>> {
        let upper = after.map(|c| (c.timestamp_ns, c.id.0));
        let mut kept: Vec<StoredLog> = Vec::new();
        // The oldest time a page still takes once it is full: blocks, and whole segments
        // (skipped without looking at their blocks), whose newest log is older are passed.
        let lowest: Cell<Option<i64>> = Cell::new(None);
        let passed = |p: Part| lowest.get().is_some_and(|ts| p.bounds.max_ts < ts);
        let newer = |meta: &BlockMeta| {
            upper.is_none_or(|(ts, _)| meta.min_ts <= ts) && lowest.get().is_none_or(|ts| meta.max_ts >= ts)
        };
        let mut blocks = self.blocks_skipping(&passed).rev().filter(|(_, meta, _)| newer(meta)).peekable();
        // Read in batches of as many blocks as the page still needs at the density of
        // matches seen so far, on every core: facets' 5,000 recent logs are ~160 blocks,
        // decoded in turn on one core before.
        let (mut read, mut matched) = (0usize, 0usize);
        while blocks.peek().is_some() && (order == Order::Time || kept.len() < limit) {
            let needed = limit.saturating_sub(kept.len()).max(1);
            let batch_logs = match matched {
                0 => needed.max(read),
                _ => needed.saturating_mul(read) / matched,
            };
            let (mut batch, mut logs) = (Vec::new(), 0);
            while logs < batch_logs {
                let Some((place, meta, seq)) = blocks.next() else { break };
                logs += meta.logs as usize;
                batch.push((place, seq));
            }
            read += logs;
            let floor = lowest.get();
            let wanted = |p: &Peek| {
                upper.is_none_or(|u| (p.timestamp_ns, p.id) < u)
                    && floor.is_none_or(|ts| p.timestamp_ns >= ts)
                    && self.matcher.body_may_match(p.body)
            };
            let found = on_cores(&batch, |share| {
                let mut logs = Vec::new();
                for &(place, seq) in share {
                    // A page's blocks, newest first: kept for the next page or reload.
                    let read = self.view.read_through(place, seq, Some(&self.rows.recent), wanted)?;
                    logs.extend(read.into_iter().filter(|l| self.matcher.holds(l)));
                }
                Ok(logs)
            })?;
            let before = kept.len();
            kept.extend(found.into_iter().flatten());
            matched += kept.len() - before;
            // Cut back to the newest `limit` when first full, then now and then: not at
            // every batch (a page of 5,000 was sorted again for every block read).
            let time = order == Order::Time;
            if time && kept.len() >= limit && (lowest.get().is_none() || kept.len() >= 2 * limit.max(64)) {
                keep_newest(&mut kept, limit);
                lowest.set(kept.iter().map(|l| l.record.timestamp_ns).min());
            }
        }
        match order {
            Order::Time => {
                keep_newest(&mut kept, limit);
                newest_first(&mut kept);
            }
            // Blocks were read newest placed first: the last batch's oldest placed go.
            Order::Written => kept.truncate(limit),
        }
        Ok(kept)
    }

    pub(crate) fn search(&self, limit: usize, after: Option<PageCursor>) -> StoreResult<LogPage> {
        let logs = self.newest(limit, after)?;
        let next = (logs.len() == limit && limit > 0)
            .then(|| logs.last().map(|l| PageCursor { timestamp_ns: l.record.timestamp_ns, id: l.id }))
            .flatten();
        Ok(LogPage { logs, next })
    }

    pub(crate) fn get(&self, id: LogId) -> StoreResult<Option<StoredLog>> {
        for (place, seq) in self.view.places_of(id.0, None) {
            // Usually a log of a page just read (its block kept).
            let recent = Some(&self.rows.recent);
            if let Some(log) = self.view.read_through(place, seq, recent, |p| p.id == id.0)?.pop() {
                return Ok(Some(log));
            }
        }
        Ok(None)
    }

    /// Calls `add(bucket start, severity code, service, logs)` for every match: from the
    /// per-minute counts where they answer the filter (time, severity and service alone,
    /// whole minutes, buckets of whole minutes), from the logs elsewhere.
    /// Counted from the id index, what `report` leaves out is code 0 and service "".
    /// Returns the step of the sample counted, each count scaled by it (1: exact, see
    /// [`Reading::step`]).
    fn count(
        &self,
        bucket_ns: i64,
        report: Report,
        mut add: impl FnMut(i64, u8, &str, u64),
    ) -> StoreResult<u64> {
        let bucket = |ts: i64| ts.div_euclid(bucket_ns) * bucket_ns;
        let f = self.filter;
        let exact = if f.narrower_than_counts() { self.ids.exact(f).map_err(index_error)? } else { None };
        if let Some(exact) = exact {
            let counts = exact.buckets(Within::of(f), report, bucket_ns).map_err(index_error)?;
            counts.into_iter().for_each(|((start, code, service), n)| add(start, code, &service, n));
            for log in self.read_keys(&exact.pending)? {
                add(bucket(log.record.timestamp_ns), log.record.severity.code(), &log.record.service, 1);
            }
            return Ok(1);
        }
        if f.narrower_than_counts() || bucket_ns % MINUTE_NS != 0 {
            let step = self.step();
            type Keys = HashMap<(i64, u8, String), u64>;
            let counts = self.fold(
                |_, seq| in_sample(seq, step),
                |_| true,
                Keys::new,
                |counts, log| {
                    let r = &log.record;
                    let key = (bucket(r.timestamp_ns), r.severity.code(), r.service.clone());
                    *counts.entry(key).or_default() += step;
                },
                |all, part| part.into_iter().for_each(|(k, n)| *all.entry(k).or_default() += n),
            )?;
            counts.into_iter().for_each(|((start, code, service), n)| add(start, code, &service, n));
            return Ok(step);
        }
        let first_minute = f.from_ns.div_euclid(MINUTE_NS) * MINUTE_NS;
        let whole_from =
            if first_minute == f.from_ns { first_minute } else { first_minute.saturating_add(MINUTE_NS) };
        let whole_to = f.to_ns.div_euclid(MINUTE_NS) * MINUTE_NS;
        let wanted = |code: u8, service: &str| {
            (f.severities.is_empty() || f.severities.iter().any(|s| s.code() == code))
                && (f.services.is_empty() || f.services.iter().any(|s| s == service))
        };
        for counts in self.view.counted(&self.rows.joined) {
            for (minute, code, service, n) in counts.between(whole_from, whole_to) {
                if wanted(code, service) {
                    add(bucket(minute), code, service, n);
                }
            }
        }
        let in_counts = move |ts: i64| whole_from <= ts && ts < whole_to;
        let counted_whole =
            move |p: Part| p.counted && in_counts(p.bounds.min_ts) && in_counts(p.bounds.max_ts);
        for (place, meta, seq) in self.blocks_skipping(counted_whole) {
            let counted = self.view.counts_of(place).is_some();
            if counted && in_counts(meta.min_ts) && in_counts(meta.max_ts) {
                continue;
            }
            for log in self.read(place, seq)? {
                let ts = log.record.timestamp_ns;
                if !(counted && in_counts(ts)) && self.matcher.holds(&log) {
                    add(bucket(ts), log.record.severity.code(), &log.record.service, 1);
                }
            }
        }
        Ok(1)
    }

    pub(crate) fn histogram(&self, bucket_ns: i64, breakdown: Breakdown) -> StoreResult<Histogram> {
        // Keyed by bucket, then severity code (0 by service), then name: the order of buckets.
        let mut counts: BTreeMap<(i64, u8, Cow<'_, str>), u64> = BTreeMap::new();
        let report =
            Report { severity: breakdown == Breakdown::Severity, service: breakdown == Breakdown::Service };
        let step = self.count(bucket_ns, report, |start, code, service, n| {
            let key = match breakdown {
                Breakdown::Severity => (code, Cow::Borrowed(severity_name(code))),
                Breakdown::Service => (0, Cow::Owned(service.to_owned())),
            };
            *counts.entry((start, key.0, key.1)).or_default() += n;
        })?;
        let buckets = counts
            .into_iter()
            .map(|((start_ns, _, key), count)| HistogramBucket { start_ns, key: key.into_owned(), count })
            .collect();
        Ok(Histogram { buckets, approximate: step > 1 })
    }

    /// Attributes counted over [`FACET_SAMPLE`] recent matches; services and
    /// severities over every match when the per-minute counts answer the filter, else over
    /// the same sample (`sampled` when it is full), as on DuckDB.
    pub(crate) fn facets(&self, max_keys: usize, max_values: usize) -> StoreResult<Facets> {
        let exact = !self.filter.narrower_than_counts();
        // The sample and the counts at once.
        let (sample, counted) =
            rayon::join(|| self.tally_sample(!exact), || exact.then(|| self.tally_counts()).transpose());
        let (mut tally, sampled) = sample?;
        if let Some(counted) = counted? {
            tally = tally.merged(counted);
        }
        let mut facets = tally.facets(max_keys, max_values);
        facets.sampled = !exact && sampled >= FACET_SAMPLE;
        Ok(crate::facet_tally::ordered(facets))
    }

    /// The attributes (and with `services`, the services and severities) of a sample of
    /// [`FACET_SAMPLE`] recent matches ([`Reading::recent`]), and how many there were.
    /// Tallied and dropped on every core: hashing 5,000 logs' attributes and freeing them
    /// in one thread was half of the facets of 10 M logs.
    fn tally_sample(&self, services: bool) -> StoreResult<(Tally, usize)> {
        let sample = self.recent(FACET_SAMPLE)?;
        let n = sample.len();
        let tally = sample
            .into_par_iter()
            .fold(Tally::default, |mut tally, log| {
                let r = &log.record;
                for (key, value) in &r.attributes.0 {
                    tally.count(key, attribute_text(value).as_deref());
                }
                if services {
                    tally.add_service(&r.service, 1);
                    tally.add_severity(r.severity.code(), 1);
                }
                tally
            })
            .reduce(Tally::default, Tally::merged);
        Ok((tally, n))
    }

    /// Every match's service and severity, from the per-minute counts (which answer the
    /// filter: see [`LogFilter::narrower_than_counts`]).
    fn tally_counts(&self) -> StoreResult<Tally> {
        let mut tally = Tally::default();
        // One bucket wider than the range, of whole minutes, so the counts answer.
        let minutes = (self.filter.to_ns.saturating_sub(self.filter.from_ns) / MINUTE_NS).saturating_add(2);
        let both = Report { severity: true, service: true };
        self.count(minutes.saturating_mul(MINUTE_NS), both, |_, code, service, n| {
            tally.add_service(service, n);
            tally.add_severity(code, n);
        })?;
        Ok(tally)
    }

    pub(crate) fn summary(&self) -> StoreResult<LogSummary> {
        let f = self.filter;
        let (logs, sessions, users) = match self.ids.exact(f).map_err(index_error)? {
            Some(exact) => {
                let mut distinct = exact.distinct(Within::of(f)).map_err(index_error)?;
                let pending = self.read_keys(&exact.pending)?;
                distinct.add(
                    pending
                        .iter()
                        .map(|l| [&l.record.session_id, &l.record.distinct_id].map(|id| id.as_deref())),
                );
                distinct.counts()
            }
            None => {
                // Logs, and the keys of their distinct sessions and people.
                type Seen = (u64, FxHashSet<u64>, FxHashSet<u64>);
                let add = |(logs, sessions, users): &mut Seen, log: &StoredLog| {
                    *logs += 1;
                    for (seen, id) in [(sessions, &log.record.session_id), (users, &log.record.distinct_id)] {
                        if let Some(id) = id {
                            seen.insert(seen_key(id.as_bytes()));
                        }
                    }
                };
                let merge = |all: &mut Seen, part: Seen| {
                    all.0 += part.0;
                    all.1.extend(part.1);
                    all.2.extend(part.2);
                };
                let (logs, sessions, users) = self.fold(|_, _| true, |_| true, Seen::default, add, merge)?;
                (logs, sessions.len() as u64, users.len() as u64)
            }
        };
        Ok(LogSummary { logs, sessions, users, approximate: false })
    }

    pub(crate) fn sessions(&self, limit: usize) -> StoreResult<Vec<SessionHit>> {
        let add = |hits: &mut HashMap<String, SessionHit>, hit: SessionHit| {
            upsert(hits, &hit.session_id.clone(), hit, |seen, hit| {
                seen.first_ns = seen.first_ns.min(hit.first_ns);
                seen.last_ns = seen.last_ns.max(hit.last_ns);
                seen.logs += hit.logs;
                seen.distinct_id = seen.distinct_id.take().max(hit.distinct_id);
            })
        };
        let hits = self.fold(
            |_, _| true,
            |_| true,
            HashMap::new,
            |hits, log| {
                let r = &log.record;
                let Some(session) = &r.session_id else { return };
                let (first_ns, last_ns) = (r.timestamp_ns, r.timestamp_ns);
                let distinct_id = r.distinct_id.clone();
                add(
                    hits,
                    SessionHit { session_id: session.clone(), distinct_id, first_ns, last_ns, logs: 1 },
                );
            },
            |all, part| part.into_values().for_each(|hit| add(all, hit)),
        )?;
        let mut hits: Vec<SessionHit> = hits.into_values().collect();
        hits.sort_by(|a, b| b.last_ns.cmp(&a.last_ns).then_with(|| a.session_id.cmp(&b.session_id)));
        hits.truncate(limit);
        Ok(hits)
    }

    pub(crate) fn linking(&self) -> StoreResult<Vec<ServiceLinking>> {
        let add = |all: &mut HashMap<String, ServiceLinking>, s: ServiceLinking| {
            upsert(all, &s.service.clone(), s, |seen, s| {
                seen.logs += s.logs;
                seen.with_session += s.with_session;
                seen.with_distinct_id += s.with_distinct_id;
                seen.with_trace += s.with_trace;
                seen.language = seen.language.take().or(s.language);
            })
        };
        let present = |id: &Option<String>| u64::from(id.as_ref().is_some_and(|v| !v.is_empty()));
        let services = self.fold(
            |_, _| true,
            |_| true,
            HashMap::new,
            |all, log| {
                let r = &log.record;
                let language = match r.resource_attributes.get(SDK_LANGUAGE_ATTRIBUTE) {
                    Some(tether_model::AttrValue::String(language)) => Some(language.clone()),
                    _ => None,
                };
                let linking = ServiceLinking {
                    service: r.service.clone(),
                    logs: 1,
                    with_session: present(&r.session_id),
                    with_distinct_id: present(&r.distinct_id),
                    with_trace: u64::from(!r.trace_id.is_empty()),
                    language,
                };
                add(all, linking);
            },
            |all, part| part.into_values().for_each(|s| add(all, s)),
        )?;
        let mut services: Vec<ServiceLinking> = services.into_values().collect();
        services.sort_by(|a, b| b.logs.cmp(&a.logs).then_with(|| a.service.cmp(&b.service)));
        Ok(services)
    }

    pub(crate) fn sample(&self, keep: u32, limit: usize) -> StoreResult<Vec<LogSample>> {
        // Over many logs a costly filter reads one piece in `step` and keeps `step` times
        // as many remainders, as the trait allows.
        let step = self.step();
        let keep = u64::from(keep).saturating_mul(step).min(u64::from(SAMPLE_MODULUS)) as u16;
        let block = |meta: &BlockMeta, seq: u64| meta.min_residue < keep && in_sample(seq, step);
        // Folded (on every core) rather than read newest first: a sample is spread over
        // the whole range, so every block holding a remainder kept is read either way.
        let prune = |logs: &mut Vec<StoredLog>| {
            if logs.len() >= 2 * limit.max(64) {
                keep_newest(logs, limit);
            }
        };
        let mut logs = self.fold(
            block,
            |p| residue(p.id) < keep,
            Vec::new,
            |logs, log| {
                logs.push(log.clone());
                prune(logs);
            },
            |logs, more| {
                logs.extend(more);
                prune(logs);
            },
        )?;
        keep_newest(&mut logs, limit);
        newest_first(&mut logs);
        Ok(logs
            .into_iter()
            .map(|l| LogSample {
                id: l.id,
                timestamp_ns: l.record.timestamp_ns,
                severity: l.record.severity,
                service: l.record.service,
                body: l.record.body,
                session_id: l.record.session_id,
                distinct_id: l.record.distinct_id,
            })
            .collect())
    }

    pub(crate) fn tail(&self, after: LogId, limit: usize) -> StoreResult<Vec<StoredLog>> {
        let mut logs = Vec::new();
        for (place, meta, seq) in self.blocks() {
            if meta.max_id > after.0 {
                let read = self
                    .view
                    .read_where(place, seq, |p| p.id > after.0 && self.matcher.body_may_match(p.body))?;
                logs.extend(read.into_iter().filter(|l| self.matcher.holds(l)));
            }
        }
        logs.sort_by_key(|l| l.id);
        logs.truncate(limit);
        Ok(logs)
    }
}

fn index_error(e: tantivy::TantivyError) -> StoreError {
    StoreError::internal("cannot read the id index", e)
}

fn severity_name(code: u8) -> &'static str {
    Severity::from_code(code).map_or("", Severity::as_str)
}

/// `work` on shares of `items`, one per core (at most one per
/// [`MIN_BLOCKS_PER_WORKER`] items), on rayon's threads, which keep their zstd context and
/// read buffer between reads (threads started per read allocated them every time); the
/// results in the order of the shares.
fn on_cores<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&[T]) -> StoreResult<R> + Sync,
) -> StoreResult<Vec<R>> {
    let workers = rayon::current_num_threads().min(items.len().div_ceil(MIN_BLOCKS_PER_WORKER)).max(1);
    if workers == 1 {
        return Ok(vec![work(items)?]);
    }
    items.par_chunks(items.len().div_ceil(workers)).map(&work).collect()
}

/// Adds `value` under `key`: joined by `combine` to the value there, else inserted.
fn upsert<V>(map: &mut HashMap<String, V>, key: &str, value: V, combine: impl FnOnce(&mut V, V)) {
    match map.get_mut(key) {
        Some(seen) => combine(seen, value),
        None => {
            map.insert(key.to_owned(), value);
        }
    }
}

/// Whether a sampled scan reading one piece in `step` reads the block at `seq`.
fn in_sample(seq: u64, step: u64) -> bool {
    (seq / PIECE_LOGS).is_multiple_of(step)
}

/// Keeps the newest `limit` logs by (time, id), in no order.
fn keep_newest(logs: &mut Vec<StoredLog>, limit: usize) {
    if logs.len() > limit && limit > 0 {
        logs.select_nth_unstable_by_key(limit - 1, |l| std::cmp::Reverse((l.record.timestamp_ns, l.id.0)));
    }
    logs.truncate(limit);
}

/// Which of the matches [`Reading::scan_newest`] keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    /// The newest by (time, id): a page. Blocks written side by side overlap in time, so
    /// a block older by place may still hold newer logs and is read too.
    Time,
    /// The last written: a sample of what just arrived, read from the newest placed
    /// blocks and not sorted. For facets' 5,000 at 10 M logs, ordering by time read
    /// ~8,000 logs and sorted them.
    Written,
}

/// Sorts by (time, id), newest first: the order of pages.
fn newest_first(logs: &mut [StoredLog]) {
    logs.sort_unstable_by_key(|l| std::cmp::Reverse((l.record.timestamp_ns, l.id.0)));
}
