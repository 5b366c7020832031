//! Filters the id index answers exactly, and what is counted from it alone: the histogram
//! of a search and its logs · sessions · users. Reading 130,000 matching logs back from
//! the store to count them took seconds at 10 M logs; their times, severities, services,
//! sessions and people are columns of the index (tantivy's fast fields), read in
//! milliseconds.
//!
//! Exact means: every log the query finds matches the filter and every match is found
//! (keys are hashes; the chance that another value shares a looked-up one's is in
//! `keys.rs`). A filter with a part the index cannot answer exactly (an
//! attribute, a text that is not words, see [`super::words`]) is counted from the logs.

use std::collections::HashMap;
use std::sync::Arc;

use roaring::{MultiOps, RoaringBitmap};
use rustc_hash::FxHashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Cardinality, Column, StrColumn};
use tantivy::query::{AllQuery, BooleanQuery, EmptyQuery, Occur, Query};
use tantivy::schema::Field;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader, Term};
use tether_store::{Condition, Field as LogField, LogExpr, LogFilter};

use super::kept::{Counted, Kept, Weigh};
use super::keys::{person_key, session_key, trace_key};
use super::numbers::{Numbering, Numbers};
use super::{all_of, any_of, term};

type Result<T> = tantivy::Result<T>;

/// The fields of an index that holds words (see [`super::IdIndex::open`]).
#[derive(Clone, Copy)]
pub(super) struct WordFields {
    pub(super) words: Field,
    /// Columns only: see [`Within`].
    pub(super) service: Field,
    pub(super) severity: Field,
    pub(super) session: Field,
    pub(super) person: Field,
}

/// What builds queries: the key and project fields and how a search text is looked up
/// by words (`None`: it is not).
pub(super) struct QueryFields<'a> {
    pub(super) key: Field,
    pub(super) project: Field,
    pub(super) text: &'a dyn Fn(&str) -> Option<Box<dyn Query>>,
}

impl QueryFields<'_> {
    fn key(&self, key: u64) -> Box<dyn Query> {
        term(Term::from_field_u64(self.key, key))
    }

    /// The query of the logs of `filter` but for its time range, severities and services
    /// (the collectors test those from columns, see [`Within`]), or `None` when a part of
    /// it is not answered exactly.
    pub(super) fn exact(&self, filter: &LogFilter) -> Option<Box<dyn Query>> {
        let project = filter.project_id;
        let mut parts = vec![term(Term::from_field_i64(self.project, project))];
        if let Some(session) = &filter.session_id {
            parts.push(self.key(session_key(project, session)));
        }
        if !filter.distinct_ids.is_empty() {
            parts
                .push(any_of(filter.distinct_ids.iter().map(|p| self.key(person_key(project, p))).collect()));
        }
        if let Some(trace) = &filter.trace_id {
            parts.push(self.trace(project, trace));
        }
        if let Some(query) = &filter.query {
            parts.push(self.expr(project, query)?);
        }
        Some(all_of(parts))
    }

    /// Text that is no trace id matches nothing.
    fn trace(&self, project: i64, trace: &str) -> Box<dyn Query> {
        trace_key(project, trace).map_or_else(|| Box::new(EmptyQuery) as Box<dyn Query>, |k| self.key(k))
    }

    fn expr(&self, project: i64, expr: &LogExpr) -> Option<Box<dyn Query>> {
        let parts =
            |parts: &[LogExpr]| parts.iter().map(|p| self.expr(project, p)).collect::<Option<Vec<_>>>();
        Some(match expr {
            LogExpr::And(p) => all_of(parts(p)?),
            LogExpr::Or(p) => any_of(parts(p)?),
            LogExpr::Not(inner) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery)),
                (Occur::MustNot, self.expr(project, inner)?),
            ])),
            LogExpr::Match(condition) => match condition {
                Condition::Body(text) => (self.text)(text)?,
                Condition::Equals(LogField::Session, s) => self.key(session_key(project, s)),
                Condition::Equals(LogField::Person, p) => self.key(person_key(project, p)),
                Condition::Equals(LogField::Trace, t) => self.trace(project, t),
                _ => return None,
            },
        })
    }
}

/// What the collectors test of each match from the columns: its time, severity and
/// service (postings of 16 services and 6 severities cost 1.8 bytes per log, the
/// columns are read anyway).
#[derive(Clone)]
pub(crate) struct Within {
    pub(crate) from_ns: i64,
    pub(crate) to_ns: i64,
    /// Any of these severity codes (all when empty).
    pub(crate) severities: Vec<u8>,
    /// Any of these services (all when empty).
    pub(crate) services: Vec<String>,
}

impl Within {
    pub(crate) fn of(filter: &LogFilter) -> Within {
        Within {
            from_ns: filter.from_ns,
            to_ns: filter.to_ns,
            severities: filter.severities.iter().map(|s| s.code()).collect(),
            services: filter.services.clone(),
        }
    }
}

/// Which of a match's severity and service a collector reports: each column is read only
/// when reported or tested (reading one was a tenth of a search's histogram at 10 M logs;
/// a summary reports neither).
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Report {
    pub(crate) severity: bool,
    pub(crate) service: bool,
}

/// [`Within`] in one segment. Matches come in blocks (tantivy hands a collector up to 64
/// documents at once) and the columns are read a block at a time: per document, their
/// reads were a fifth of a search's histogram at 100 M logs.
pub(super) struct InSegment {
    from_ns: i64,
    to_ns: i64,
    ts: Column<i64>,
    /// The time every log of the segment is taken at when all are within and the collector
    /// treats their times alike (see [`InSegment::open`]): the column is not read then.
    at: Option<i64>,
    /// Read when reported or tested, as the service column.
    severity: Option<Column<u64>>,
    service: Option<StrColumn>,
    severities: Vec<u8>,
    /// The ordinals of the services wanted (`None`: any).
    services: Option<Vec<u64>>,
    /// A block's columns, reused.
    read: BlockRead,
}

/// A block's times, severities and service ordinals.
#[derive(Default)]
struct BlockRead {
    ts: Vec<Option<i64>>,
    codes: Vec<Option<u64>>,
    services: Vec<Option<u64>>,
}

impl InSegment {
    /// `alike(first, last)`: whether the collector counts logs at the segment's first and
    /// last times (and so every log of it) alike. At 100 M logs a segment spans minutes, a
    /// histogram's bucket half an hour: reading each match's time was a fifth of it.
    fn open(
        within: &Within,
        report: Report,
        segment: &SegmentReader,
        alike: impl Fn(i64, i64) -> bool,
    ) -> Result<InSegment> {
        let fast = segment.fast_fields();
        let ts: Column<i64> = fast.i64("ts")?;
        let (first, last) = (ts.min_value(), ts.max_value());
        let every_log = ts.get_cardinality() == Cardinality::Full;
        let inside = every_log && within.from_ns <= first && last < within.to_ns;
        let at = (inside && alike(first, last)).then_some(first);
        let severity = match report.severity || !within.severities.is_empty() {
            true => Some(fast.u64("severity")?),
            false => None,
        };
        let service = match report.service || !within.services.is_empty() {
            true => fast.str("service")?,
            false => None,
        };
        let services = match (&service, within.services.is_empty()) {
            (_, true) => None,
            (None, false) => Some(Vec::new()),
            (Some(column), false) => {
                let mut ords = Vec::new();
                for name in &within.services {
                    ords.extend(column.dictionary().term_ord(name)?);
                }
                Some(ords)
            }
        };
        Ok(InSegment {
            from_ns: within.from_ns,
            to_ns: within.to_ns,
            ts,
            at,
            severity,
            service,
            severities: within.severities.clone(),
            services,
            read: Default::default(),
        })
    }

    /// Calls `f` with the index in `docs`, time, severity code and service ordinal
    /// (`u64::MAX`: none) of each log of `docs` within (code 0 and no service when not
    /// [`Report`]ed).
    fn each(&mut self, docs: &[DocId], mut f: impl FnMut(usize, i64, u8, u64)) {
        let BlockRead { ts, codes, services } = &mut self.read;
        fn empty<T>(column: &mut Vec<Option<T>>, len: usize) {
            column.clear();
            column.resize_with(len, || None);
        }
        empty(ts, docs.len());
        empty(codes, docs.len());
        empty(services, docs.len());
        match self.at {
            Some(at) => ts.fill(Some(at)),
            None => self.ts.first_vals(docs, ts),
        }
        if let Some(column) = &self.severity {
            column.first_vals(docs, codes);
        }
        if let Some(column) = &self.service {
            column.ords().first_vals(docs, services);
        }
        for i in 0..docs.len() {
            let Some(ts) = ts[i].filter(|ts| (self.from_ns..self.to_ns).contains(ts)) else { continue };
            let code = codes[i].unwrap_or(0) as u8;
            if !self.severities.is_empty() && !self.severities.contains(&code) {
                continue;
            }
            let service = services[i].unwrap_or(u64::MAX);
            if self.services.as_ref().is_some_and(|wanted| !wanted.contains(&service)) {
                continue;
            }
            f(i, ts, code, service);
        }
    }
}

/// What segments counted, kept (see [`super::kept`]).
#[derive(Default)]
pub(super) struct KeptCounts {
    pub(super) buckets: Kept<SegmentBuckets>,
    pub(super) seen: Kept<SegmentSeen>,
    /// What the sessions and people of `seen` are numbered by.
    pub(super) numbering: Numbering,
}

/// Counts per (bucket start, severity code, service) of the matches within.
pub(super) struct Buckets {
    pub(super) within: Within,
    pub(super) report: Report,
    pub(super) bucket_ns: i64,
}

pub(super) type BucketCounts = HashMap<(i64, u8, String), u64>;

/// A segment's counts: (bucket start, severity code, service, logs).
pub(super) struct SegmentBuckets(Vec<(i64, u8, String, u64)>);

impl Weigh for SegmentBuckets {
    fn bytes(&self) -> usize {
        self.0.iter().map(|(.., service, _)| 40 + service.len()).sum()
    }

    fn join(parts: &[Arc<Self>]) -> Self {
        let mut all = BucketCounts::new();
        for (start, code, service, n) in parts.iter().flat_map(|p| &p.0) {
            *all.entry((*start, *code, service.clone())).or_default() += n;
        }
        SegmentBuckets(all.into_iter().map(|((start, code, service), n)| (start, code, service, n)).collect())
    }
}

pub(super) struct BucketsInSegment {
    within: InSegment,
    bucket_ns: i64,
    /// By (bucket, code, service ordinal); hashed with Fx, not SipHash (a tenth of the
    /// histogram's time, once per match).
    counts: FxHashMap<(i64, u8, u64), u64>,
}

impl Collector for Buckets {
    type Fruit = BucketCounts;
    type Child = BucketsInSegment;

    fn for_segment(&self, _: SegmentOrdinal, segment: &SegmentReader) -> Result<BucketsInSegment> {
        let bucket = |ts: i64| ts.div_euclid(self.bucket_ns);
        let within = InSegment::open(&self.within, self.report, segment, |a, b| bucket(a) == bucket(b))?;
        Ok(BucketsInSegment { within, bucket_ns: self.bucket_ns, counts: FxHashMap::default() })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counted<SegmentBuckets>>) -> Result<BucketCounts> {
        let joined = SegmentBuckets::join(&fruits.into_iter().collect::<Result<Vec<_>>>()?);
        Ok(joined.0.into_iter().map(|(start, code, service, n)| ((start, code, service), n)).collect())
    }
}

impl SegmentCollector for BucketsInSegment {
    type Fruit = Counted<SegmentBuckets>;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.collect_block(&[doc]);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        let (width, counts) = (self.bucket_ns, &mut self.counts);
        self.within.each(docs, |_, ts, code, service| {
            *counts.entry((ts.div_euclid(width) * width, code, service)).or_default() += 1;
        });
    }

    /// Services named here, in the thread that counted (and so kept by name).
    fn harvest(self) -> Counted<SegmentBuckets> {
        let mut ords: Vec<u64> = self.counts.keys().map(|k| k.2).filter(|&o| o != u64::MAX).collect();
        ords.sort_unstable();
        ords.dedup();
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let names: FxHashMap<u64, String> =
            ords.iter().copied().zip(resolve(self.within.service.as_ref(), &ords, text)?).collect();
        let counts = self
            .counts
            .into_iter()
            .map(|((start, code, ord), n)| (start, code, names.get(&ord).cloned().unwrap_or_default(), n));
        Ok(Arc::new(SegmentBuckets(counts.collect())))
    }
}

/// What `of` makes of the texts of a string column's sorted ordinals, in their order.
fn resolve<T>(column: Option<&StrColumn>, ords: &[u64], of: impl Fn(&[u8]) -> T) -> Result<Vec<T>> {
    let mut texts = Vec::with_capacity(ords.len());
    if let Some(column) = column {
        column.dictionary().sorted_ords_to_term_cb(ords, |bytes| texts.push(of(bytes)))?;
    }
    Ok(texts)
}

/// The number of matches within, and their distinct sessions and people, numbered by
/// `numbers` (see [`super::numbers`]).
pub(super) struct Distinct {
    pub(super) within: Within,
    pub(super) numbers: Arc<Numbers>,
}

/// What a session or person is counted by: 64 bits of a hash of its id. Two ids sharing
/// one count once: among a million distinct ids, a chance of ~3 × 10^-8. Hashes, not the
/// ids: each segment's ids are named in the thread that read its matches (one
/// allocation-free pass over its dictionary), and only `u64`s are gathered; gathering
/// strings in one thread was 540 ms of a common word's summary at 100 M logs.
pub(crate) fn seen_key(id: &[u8]) -> u64 {
    twox_hash::XxHash3_128::oneshot(id) as u64
}

/// Logs, and the numbers of their distinct sessions and people.
pub(crate) struct Distincts {
    logs: u64,
    sets: [RoaringBitmap; 2],
    numbers: Arc<Numbers>,
}

impl Distincts {
    /// Counts logs read from the store, by their [session, person] ids.
    pub(crate) fn add<'a>(&mut self, logs: impl IntoIterator<Item = [Option<&'a str>; 2]>) {
        let mut keys: [Vec<u64>; 2] = Default::default();
        for ids in logs {
            self.logs += 1;
            for (keys, id) in keys.iter_mut().zip(ids) {
                keys.extend(id.map(|id| seen_key(id.as_bytes())));
            }
        }
        for (set, keys) in self.sets.iter_mut().zip(keys) {
            *set |= self.numbers.of(keys);
        }
    }

    /// Logs, distinct sessions, distinct people.
    pub(crate) fn counts(&self) -> (u64, u64, u64) {
        (self.logs, self.sets[0].len(), self.sets[1].len())
    }
}

pub(super) struct DistinctInSegment {
    within: InSegment,
    columns: [Option<StrColumn>; 2],
    numbers: Arc<Numbers>,
    logs: u64,
    /// Which ordinals of the session and person columns matches have.
    seen: [Vec<bool>; 2],
    /// A block's matches within, their rows in a column and those rows' ordinals (reused).
    kept: Vec<DocId>,
    read: (Vec<DocId>, Vec<u32>, Vec<u64>),
}

/// A segment's logs, and the numbers of its sessions and people seen.
pub(super) struct SegmentSeen {
    logs: u64,
    sets: [RoaringBitmap; 2],
}

impl Weigh for SegmentSeen {
    fn bytes(&self) -> usize {
        self.sets.iter().map(RoaringBitmap::serialized_size).sum()
    }

    fn join(parts: &[Arc<Self>]) -> Self {
        let union = |i: usize| parts.iter().map(|p| &p.sets[i]).union();
        SegmentSeen { logs: parts.iter().map(|p| p.logs).sum(), sets: [union(0), union(1)] }
    }
}

impl Collector for Distinct {
    type Fruit = Distincts;
    type Child = DistinctInSegment;

    fn for_segment(&self, _: SegmentOrdinal, segment: &SegmentReader) -> Result<DistinctInSegment> {
        let fast = segment.fast_fields();
        let columns = [fast.str("session")?, fast.str("person")?];
        let seen = columns.each_ref().map(|c| vec![false; c.as_ref().map_or(0, |c| c.num_terms())]);
        let within = InSegment::open(&self.within, Report::default(), segment, |_, _| true)?;
        let (numbers, read) = (self.numbers.clone(), Default::default());
        Ok(DistinctInSegment { within, columns, numbers, logs: 0, seen, kept: Vec::new(), read })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counted<SegmentSeen>>) -> Result<Distincts> {
        let SegmentSeen { logs, sets } = SegmentSeen::join(&fruits.into_iter().collect::<Result<Vec<_>>>()?);
        Ok(Distincts { logs, sets, numbers: self.numbers.clone() })
    }
}

impl SegmentCollector for DistinctInSegment {
    type Fruit = Counted<SegmentSeen>;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.collect_block(&[doc]);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        let kept = &mut self.kept;
        kept.clear();
        self.within.each(docs, |i, _, _, _| kept.push(docs[i]));
        self.logs += kept.len() as u64;
        // Rows, then values, a block at a time: `first_vals` of a column not every log has
        // reads one value at a time through its `dyn` values (a fifth of a common phrase's
        // summary at 100 M logs). A session or person is one value per log at most.
        let (docs, rows, ords) = &mut self.read;
        for (column, seen) in self.columns.iter().zip(self.seen.iter_mut()) {
            let Some(column) = column else { continue };
            docs.clear();
            rows.clear();
            column.ords().row_ids_for_docs(kept, docs, rows);
            ords.clear();
            ords.resize(rows.len(), 0);
            column.ords().values.get_vals(rows, ords);
            ords.iter().for_each(|&ord| seen[ord as usize] = true);
        }
    }

    /// Keys named and numbered here, in the thread that counted.
    fn harvest(self) -> Counted<SegmentSeen> {
        let numbers = |i: usize| {
            let ords: Vec<u64> =
                (0..self.seen[i].len() as u64).filter(|&o| self.seen[i][o as usize]).collect();
            Ok::<_, tantivy::TantivyError>(self.numbers.of(resolve(
                self.columns[i].as_ref(),
                &ords,
                seen_key,
            )?))
        };
        Ok(Arc::new(SegmentSeen { logs: self.logs, sets: [numbers(0)?, numbers(1)?] }))
    }
}
