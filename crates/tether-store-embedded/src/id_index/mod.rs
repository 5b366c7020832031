//! The id index: which logs carry a given session, person, trace or attribute value,
//! answered from postings (tantivy, the engine inside Quickwit) instead of a scan of the
//! time range. The store (DuckDB or the row store) keeps the logs; the index yields the
//! (time, id) of the newest candidates, and the logs are read from the store with the whole
//! filter applied again, so for pages the index only has to be a superset: a false
//! candidate is dropped by the read.
//!
//! **Words and counts (the row store's index).** Opened with words, it also holds each
//! body's words ([`words`]) and each log's time, severity, service, session and person as
//! columns, so a search of words is looked up here too, and a filter it answers exactly
//! ([`exact`]) is counted here alone: a search's histogram and logs · sessions · users.
//! The row store adds logs only after their write-ahead frame is synced, so nothing counted
//! here is missing from the store.
//!
//! **Visible when the append returns.** The index is committed about once a second (a
//! tantivy commit writes and syncs segment files, too much per group commit); what was
//! added since is also kept in memory, keys to (time, id), and a reader takes both at once
//! ([`IdIndex::snapshot`]), so a log is found as soon as its append returns, as the
//! `LogReader` contract says, without scanning DuckDB for what the index has not committed.
//!
//! **Derived data.** A commit's payload is the highest id it holds; at open, DuckDB's logs
//! above it are added again (after a crash, the last second; after losing the folder,
//! everything). That assumes appends come in id order, as the batcher makes them (it mints
//! a group's ids right before committing it, one group at a time). A log whose DuckDB
//! append failed after it was added stays a candidate that no read finds. Retention
//! deletes by time.

mod exact;
mod filters;
mod kept;
mod keys;
mod merges;
mod newest;
mod numbers;
mod spans;
mod vocabulary;
mod words;

use std::collections::HashSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use tantivy::collector::Collector;
use tantivy::directory::MmapDirectory;
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::{AllQuery, BooleanQuery, EnableScoring, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{
    Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};
use tether_model::ProjectId;
use tether_store::{LogFilter, PageCursor, StoredLog};

use exact::{BucketCounts, Buckets, Distinct, KeptCounts, QueryFields, WordFields};
pub(crate) use exact::{Distincts, Report, Within, seen_key};
use filters::KeyFilters;
pub(crate) use keys::filter_keys;
use keys::keys_of;
use merges::Merges;
use newest::Newest;
use spans::Spans;
use vocabulary::Vocabulary;
use words::{TOKENIZER, WordTokenizer, words_of, words_query};

/// How often added logs are committed (made searchable from the index).
const COMMIT_EVERY: Duration = Duration::from_secs(1);

/// Logs handed to the indexing thread at once: an append's logs go in batches this large,
/// each numbered on its own, so [`WORK_QUEUE`] bounds what waits by logs, not by appends.
const BATCH_LOGS: usize = 1024;

/// Batches the indexing thread may be behind by: 65,536 logs, a little under a second of
/// ingest at full speed (a tantivy commit holds the thread for 0.2–0.3 s under load).
/// Queued, a log holds its body and ids, and its keys wait in the pending list. Bounded
/// by appends (256 of up to 50,000 logs), the queue grew whenever the indexer fell
/// behind: 20 M logs beside a busy loop peaked at 320 MB of the server's own memory,
/// 287 MB with this bound (see DESIGN.md).
const WORK_QUEUE: usize = 64;

/// How long the indexing thread builds key filters before it looks for work again.
const LEARN_SLICE: Duration = Duration::from_millis(50);

/// The indexing memory of tantivy's writer (one thread, its minimum): a segment is
/// written when full.
const WRITER_MEMORY: usize = 15 << 20;

type Result<T> = tantivy::Result<T>;

struct Fields {
    /// One term per id of the log, a hash (see [`keys`]); doc ids only.
    key: Field,
    project: Field,
    id: Field,
    ts: Field,
    /// Present when the index holds words (see [`IdIndex::open`]).
    word: Option<WordFields>,
}

/// What a reader looks in: the searcher of the last commit and what was added since.
pub(crate) struct Snapshot {
    searcher: Searcher,
    spans: Arc<Spans>,
    filters: Arc<KeyFilters>,
    /// In an index of words, its field of words and its vocabulary.
    words: Option<(Field, Arc<Vocabulary>)>,
    key: Field,
    project: Field,
    /// The (time, id) of the logs added since that commit that may match the lookup.
    pending: Vec<(i64, i64)>,
}

/// What a lookup looks for: logs with a key of every group and, in an index of words,
/// the words of every text the filter requires (found exactly or as a superset, see
/// [`words`]); the store reads each candidate and tests the whole filter.
pub(crate) struct Lookup {
    project: ProjectId,
    groups: Vec<Vec<u64>>,
    /// The words of each text (see [`words_of`]).
    words: Vec<Vec<String>>,
}

/// A filter the index answers exactly (see [`exact`]): what its committed part counts,
/// and the logs added since, which the store reads and tests.
pub(crate) struct Exact {
    searcher: Searcher,
    spans: Arc<Spans>,
    query: Box<dyn Query>,
    /// What the query finds, as segments' counts are kept by (see [`kept`]): the filter it
    /// is built from, not the query (whose words grow with the vocabulary).
    what: Arc<str>,
    kept: Arc<KeptCounts>,
    /// The (time, id) of the project's logs added since that commit.
    pub(crate) pending: Vec<(i64, i64)>,
}

struct Added {
    /// The highest id added; at open, the highest the last commit holds.
    highest: i64,
    /// The logs added and not yet committed: (key, time, id, batch) for each key of each.
    /// A list, not a map: adding is on the ingest path; a lookup scans a second's worth.
    pending: Vec<(u64, i64, i64, u64)>,
    /// In an index of words, every log added and not yet committed: (project, time, id,
    /// batch). A search of words reads and tests them all.
    pending_logs: Vec<(ProjectId, i64, i64, u64)>,
    /// The number of the last batch added.
    batch: u64,
}

/// What an index of words holds of a log besides its keys.
struct Described {
    body: String,
    service: String,
    severity: u8,
    session: Option<String>,
    person: Option<String>,
}

/// A log as the indexing thread adds it: keys, project, id, time and, in an index of
/// words, the rest.
type Entry = (Vec<u64>, ProjectId, i64, i64, Option<Described>);

/// What the indexing thread is asked to do, in order.
enum Work {
    /// A numbered batch: at most [`BATCH_LOGS`] of an append's logs.
    Add(u64, Vec<Entry>),
    /// Forget a project's logs older than a time.
    Delete(ProjectId, i64),
    /// Commit now and say how it went.
    Commit(mpsc::Sender<Result<()>>),
    /// The index is dropped: let go of the writer (and its lock on the folder).
    Stop,
}

/// The index of one data directory. A thread owns tantivy's writer: adds are handed to it
/// and return at once, so a commit (a segment written and synced, ~50–100 ms under load)
/// never holds up an append.
pub(crate) struct IdIndex {
    key: Field,
    project: Field,
    word: Option<WordFields>,
    /// Its lock orders the sends, so the thread sees batches in their numbers' order. Not
    /// `added`'s lock: a send waits when the queue is full, and the thread takes `added`
    /// to publish a commit.
    work: Mutex<mpsc::SyncSender<Work>>,
    added: Arc<Mutex<Added>>,
    /// The searcher of the last commit.
    published: Arc<Mutex<Searcher>>,
    spans: Arc<Spans>,
    filters: Arc<KeyFilters>,
    vocabulary: Arc<Vocabulary>,
    kept: Arc<KeptCounts>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for IdIndex {
    /// Waits for the thread to let go of the folder, so the index can be opened again.
    fn drop(&mut self) {
        let _ = self.send(Work::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl IdIndex {
    /// Opens (or creates) the index in `dir`; [`IdIndex::covered`] says what it holds.
    /// Its thread commits what was added every [`COMMIT_EVERY`] while the index is alive.
    /// With `words`, it also holds each log's body words, service, severity, session and
    /// person, so searches of words are looked up and counted from it (see [`exact`]). An
    /// index of another layout in `dir` is removed and built again from the logs.
    pub(crate) fn open(dir: &Path, words: bool) -> Result<IdIndex> {
        std::fs::create_dir_all(dir)?;
        let mut schema = Schema::builder();
        let mut fields = Fields {
            // Named by its width (see `keys::KEY_BITS`): an index of other keys is rebuilt.
            key: schema.add_u64_field("key48", NumericOptions::default().set_indexed()),
            project: schema.add_i64_field("project", NumericOptions::default().set_indexed()),
            id: schema.add_i64_field("id", FAST),
            ts: schema.add_i64_field("ts", FAST),
            word: None,
        };
        if words {
            // No field norms (a byte per log): nothing here is scored.
            let indexing = TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_fieldnorms(false)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions);
            let column = || TextOptions::default().set_fast("raw");
            fields.word = Some(WordFields {
                words: schema.add_text_field("words", TextOptions::default().set_indexing_options(indexing)),
                service: schema.add_text_field("service", column()),
                severity: schema.add_u64_field("severity", FAST),
                session: schema.add_text_field("session", column()),
                person: schema.add_text_field("person", column()),
            });
        }
        let schema = schema.build();
        // No field is stored, but every document has an entry in the document store (its
        // offset): 4 bytes per log with lz4, 2 with zstd.
        let settings = IndexSettings {
            docstore_compression: Compressor::Zstd(ZstdCompressor::default()),
            ..IndexSettings::default()
        };
        let create = || {
            Index::builder()
                .schema(schema.clone())
                .settings(settings.clone())
                .open_or_create(MmapDirectory::open(dir)?)
        };
        let index = match create() {
            Err(tantivy::TantivyError::SchemaError(_)) => {
                tracing::info!(dir = %dir.display(), "the id index has another layout; building it again");
                std::fs::remove_dir_all(dir)?;
                std::fs::create_dir_all(dir)?;
                create()?
            }
            index => index?,
        };
        index.tokenizers().register(TOKENIZER, WordTokenizer::default());
        let covered = index.load_metas()?.payload.and_then(|p| p.parse().ok()).unwrap_or(i64::MIN);
        let options = IndexWriterOptions::builder()
            .num_worker_threads(1)
            .memory_budget_per_thread(WRITER_MEMORY)
            .num_merge_threads(1)
            .build();
        let writer: IndexWriter = index.writer_with_options(options)?;
        writer.set_merge_policy(Box::new(Merges));
        let reader: IndexReader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let published = Arc::new(Mutex::new(reader.searcher()));
        let added = Arc::new(Mutex::new(Added {
            highest: covered,
            pending: Vec::new(),
            pending_logs: Vec::new(),
            batch: 0,
        }));
        // Bounded: an indexer that falls behind slows appends instead of growing without end.
        let (work, queue) = mpsc::sync_channel(WORK_QUEUE);
        let (key, project, word) = (fields.key, fields.project, fields.word);
        let filters = Arc::<KeyFilters>::default();
        let indexer = Indexer {
            fields,
            writer,
            reader,
            added: added.clone(),
            published: published.clone(),
            filters: filters.clone(),
            last_batch: 0,
            highest: covered,
            dirty: false,
            learning: true,
        };
        let thread =
            std::thread::Builder::new().name("tether-id-index".into()).spawn(move || indexer.run(queue))?;
        let (spans, vocabulary) = (Arc::default(), Arc::default());
        let work = Mutex::new(work);
        let kept = Arc::default();
        Ok(IdIndex {
            key,
            project,
            word,
            work,
            added,
            published,
            spans,
            filters,
            vocabulary,
            kept,
            thread: Some(thread),
        })
    }

    /// The highest id added (at open, the highest the last commit holds): logs above it
    /// are to be added.
    pub(crate) fn covered(&self) -> i64 {
        self.added.lock().unwrap_or_else(PoisonError::into_inner).highest
    }

    /// Adds logs (before their DuckDB commit, so the index never lacks a stored log); they
    /// are found at once and committed within [`COMMIT_EVERY`].
    pub(crate) fn add(&self, logs: Vec<StoredLog>) -> Result<()> {
        let mut entries = logs.into_iter().map(|l| {
            let keys = keys_of(&l);
            let r = l.record;
            let (project, ts) = (r.project_id, r.timestamp_ns);
            let rest = self.word.map(|_| Described {
                body: r.body,
                service: r.service,
                severity: r.severity.code(),
                session: r.session_id,
                person: r.distinct_id,
            });
            (keys, project, l.id.0, ts, rest)
        });
        // Held across the batches: they reach the thread in the order they are numbered.
        let work = self.work.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let batch: Vec<Entry> = entries.by_ref().take(BATCH_LOGS).collect();
            if batch.is_empty() {
                return Ok(());
            }
            let number = {
                let mut added = self.added.lock().unwrap_or_else(PoisonError::into_inner);
                added.batch += 1;
                let number = added.batch;
                for (keys, project, id, ts, rest) in &batch {
                    added.highest = added.highest.max(*id);
                    added.pending.extend(keys.iter().map(|&k| (k, *ts, *id, number)));
                    if rest.is_some() {
                        added.pending_logs.push((*project, *ts, *id, number));
                    }
                }
                number
            };
            work.send(Work::Add(number, batch)).map_err(|_| stopped())?;
        }
    }

    /// Commits what was added and publishes it to readers.
    pub(crate) fn commit(&self) -> Result<()> {
        let (reply, answer) = mpsc::channel();
        self.send(Work::Commit(reply))?;
        answer.recv().map_err(|_| stopped())?
    }

    /// Deletes a project's entries of logs older than `before_ns`, and commits.
    pub(crate) fn forget_before(&self, project: ProjectId, before_ns: i64) -> Result<()> {
        self.send(Work::Delete(project, before_ns))?;
        self.commit()
    }

    fn send(&self, work: Work) -> Result<()> {
        self.work.lock().unwrap_or_else(PoisonError::into_inner).send(work).map_err(|_| stopped())
    }

    /// What the index looks up for `filter`: its keys (see [`filter_keys`]) and, in an
    /// index of words, the words of the texts it requires; `None` when it names neither.
    pub(crate) fn lookup(&self, filter: &LogFilter) -> Option<Lookup> {
        let groups = filter_keys(filter).unwrap_or_default();
        let texts = filter.query.as_ref().map(|q| q.required_texts()).unwrap_or_default();
        let words: Vec<Vec<String>> = match self.word {
            Some(_) => texts.iter().filter_map(|t| words_of(t)).collect(),
            None => Vec::new(),
        };
        (!groups.is_empty() || !words.is_empty()).then_some(Lookup {
            project: filter.project_id,
            groups,
            words,
        })
    }

    /// What a reader of `lookup` looks in now.
    pub(crate) fn snapshot(&self, lookup: &Lookup) -> Snapshot {
        let added = self.added.lock().unwrap_or_else(PoisonError::into_inner);
        let searcher = self.published.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let any_of = |group: &Vec<u64>| -> HashSet<(i64, i64)> {
            added.pending.iter().filter(|(k, ..)| group.contains(k)).map(|&(_, ts, id, _)| (ts, id)).collect()
        };
        // Words are not kept in memory: every log added since of the project may match.
        let mut pending = match lookup.groups.first() {
            Some(group) => any_of(group),
            None => pending_of(&added, lookup.project),
        };
        for group in lookup.groups.iter().skip(1) {
            let these = any_of(group);
            pending.retain(|at| these.contains(at));
        }
        let (spans, filters) = (self.spans.clone(), self.filters.clone());
        let words = self.word.map(|w| (w.words, self.vocabulary.clone()));
        let (key, project, pending) = (self.key, self.project, pending.into_iter().collect());
        Snapshot { searcher, spans, filters, words, key, project, pending }
    }

    /// The filter's logs as the index counts them exactly, or `None` when it does not (an
    /// index without words, a part of the filter it cannot answer; see [`exact`]).
    pub(crate) fn exact(&self, filter: &LogFilter) -> Result<Option<Exact>> {
        let Some(word) = self.word else { return Ok(None) };
        let (searcher, pending) = {
            let added = self.added.lock().unwrap_or_else(PoisonError::into_inner);
            let searcher = self.published.lock().unwrap_or_else(PoisonError::into_inner).clone();
            (searcher, pending_of(&added, filter.project_id).into_iter().collect())
        };
        self.vocabulary.update(&searcher, word.words)?;
        let text = |text: &str| words_query(word.words, &words_of(text)?, &self.vocabulary);
        let fields = QueryFields { key: self.key, project: self.project, text: &text };
        let Some(query) = fields.exact(filter) else { return Ok(None) };
        // Everything the filter asks but its range: a segment wholly in range counts the same.
        let what = format!("{:?}", LogFilter { from_ns: 0, to_ns: 0, ..filter.clone() }).into();
        Ok(Some(Exact { searcher, spans: self.spans.clone(), query, what, kept: self.kept.clone(), pending }))
    }
}

/// The (time, id) of a project's logs added and not yet committed.
fn pending_of(added: &Added, project: ProjectId) -> HashSet<(i64, i64)> {
    added.pending_logs.iter().filter(|l| l.0 == project).map(|&(_, ts, id, _)| (ts, id)).collect()
}

impl Exact {
    /// The committed matches within per (bucket start, severity code, service).
    pub(crate) fn buckets(&self, within: Within, report: Report, bucket_ns: i64) -> Result<BucketCounts> {
        let range = (within.from_ns, within.to_ns);
        let spans = self.spans.within(&self.searcher, range.0, range.1)?;
        let what = format!("{report:?} {bucket_ns} {}", self.what).into();
        let collector = Buckets { within, report, bucket_ns };
        let kept = (&self.kept.buckets, &what);
        spans::collect(&self.searcher, self.query.as_ref(), &collector, &spans, kept, range)
    }

    /// The committed matches within: how many, their sessions and people.
    pub(crate) fn distinct(&self, within: Within) -> Result<Distincts> {
        let range = (within.from_ns, within.to_ns);
        let spans = self.spans.within(&self.searcher, range.0, range.1)?;
        let numbers = self.kept.numbering.current();
        // Kept bitmaps hold numbers of one numbering.
        let what = format!("{} {}", numbers.generation(), self.what).into();
        let kept = (&self.kept.seen, &what);
        let collector = Distinct { within, numbers };
        spans::collect(&self.searcher, self.query.as_ref(), &collector, &spans, kept, range)
    }
}

fn term(term: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(term, IndexRecordOption::Basic))
}

fn any_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::union(queries))
}

/// Every one of `queries` (every log when there are none).
fn all_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if queries.is_empty() { Box::new(AllQuery) } else { Box::new(BooleanQuery::intersection(queries)) }
}

fn stopped() -> tantivy::TantivyError {
    tantivy::TantivyError::SystemError("the id index thread has stopped".into())
}

/// The thread that owns tantivy's writer.
struct Indexer {
    fields: Fields,
    writer: IndexWriter,
    reader: IndexReader,
    added: Arc<Mutex<Added>>,
    published: Arc<Mutex<Searcher>>,
    filters: Arc<KeyFilters>,
    /// The number of the last batch added to the writer.
    last_batch: u64,
    /// The highest id added to the writer: the next commit's payload.
    highest: i64,
    /// Whether anything changed since the last commit.
    dirty: bool,
    /// Whether segments the reader sees may lack their key filter.
    learning: bool,
}

impl Indexer {
    /// Does the work in order, committing every [`COMMIT_EVERY`] when something changed,
    /// until the index is dropped.
    ///
    /// Key filters (see [`filters`]) are built while nothing else waits, [`LEARN_SLICE`]
    /// at a time: at open, those of an index of 100 M logs take ~13 s.
    fn run(mut self, queue: mpsc::Receiver<Work>) {
        let mut due = Instant::now() + COMMIT_EVERY;
        loop {
            let wait =
                if self.learning { Duration::ZERO } else { due.saturating_duration_since(Instant::now()) };
            let done = match queue.recv_timeout(wait) {
                Ok(Work::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Err(mpsc::RecvTimeoutError::Timeout) if self.learning => {
                    self.learn();
                    Ok(())
                }
                Err(mpsc::RecvTimeoutError::Timeout) => Ok(()),
                Ok(Work::Add(batch, entries)) => {
                    (self.last_batch, self.dirty) = (batch, true);
                    entries.into_iter().try_for_each(|entry| self.add(entry))
                }
                Ok(Work::Delete(project, before_ns)) => {
                    self.dirty = true;
                    self.delete(project, before_ns)
                }
                Ok(Work::Commit(reply)) => {
                    let _ = reply.send(self.commit());
                    due = Instant::now() + COMMIT_EVERY;
                    Ok(())
                }
            };
            if let Err(e) = done {
                tracing::error!(error = %e, "the id index failed to take a change");
            }
            if Instant::now() >= due {
                if let Err(e) = self.commit() {
                    tracing::warn!(error = %e, "cannot commit the id index; retrying");
                }
                due = Instant::now() + COMMIT_EVERY;
            }
        }
    }

    fn add(&mut self, (keys, project, id, ts, rest): Entry) -> Result<()> {
        self.highest = self.highest.max(id);
        let f = &self.fields;
        let mut doc = TantivyDocument::new();
        for key in keys {
            doc.add_u64(f.key, key);
        }
        doc.add_i64(f.project, project);
        doc.add_i64(f.id, id);
        doc.add_i64(f.ts, ts);
        if let (Some(w), Some(rest)) = (f.word, rest) {
            doc.add_text(w.words, rest.body);
            doc.add_text(w.service, rest.service);
            doc.add_u64(w.severity, u64::from(rest.severity));
            for (field, value) in [(w.session, rest.session), (w.person, rest.person)] {
                if let Some(value) = value {
                    doc.add_text(field, value);
                }
            }
        }
        self.writer.add_document(doc).map(drop)
    }

    fn delete(&self, project: ProjectId, before_ns: i64) -> Result<()> {
        let f = &self.fields;
        let older = RangeQuery::new(Bound::Unbounded, Bound::Excluded(Term::from_field_i64(f.ts, before_ns)));
        let query = all_of(vec![term(Term::from_field_i64(f.project, project)), Box::new(older)]);
        self.writer.delete_query(query).map(drop)
    }

    /// Commits (its payload the highest id added, see [`IdIndex::covered`]) and publishes
    /// the new searcher while dropping what it now holds from the pending list, both under
    /// the `added` lock: a reader finds each log in exactly one of them.
    fn commit(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let mut commit = self.writer.prepare_commit()?;
        commit.set_payload(&self.highest.to_string());
        commit.commit()?;
        self.reader.reload()?;
        let mut added = self.added.lock().unwrap_or_else(PoisonError::into_inner);
        *self.published.lock().unwrap_or_else(PoisonError::into_inner) = self.reader.searcher();
        let last_batch = self.last_batch;
        added.pending.retain(|&(.., batch)| batch > last_batch);
        added.pending_logs.retain(|&(.., batch)| batch > last_batch);
        self.dirty = false;
        self.learning = true;
        Ok(())
    }

    /// Builds key filters of the segments the reader sees for [`LEARN_SLICE`].
    fn learn(&mut self) {
        let learnt = self.filters.learn(&self.reader.searcher(), self.fields.key, LEARN_SLICE);
        self.learning = learnt.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot build the id index's key filters");
            false
        });
    }
}

/// Keys (time, id) of candidate logs, newest first.
pub(crate) struct Candidates {
    pub(crate) keys: Vec<(i64, i64)>,
    /// Whether matches beyond `keys` exist.
    pub(crate) more: bool,
}

impl Snapshot {
    /// The newest `limit` logs with a key of every group, in the filter's time range,
    /// strictly after `after`.
    pub(crate) fn newest(
        &self,
        lookup: &Lookup,
        filter: &LogFilter,
        after: Option<PageCursor>,
        limit: usize,
    ) -> Result<Candidates> {
        let key = |k: &u64| term(Term::from_field_u64(self.key, *k));
        let mut parts: Vec<Box<dyn Query>> =
            lookup.groups.iter().map(|group| any_of(group.iter().map(key).collect())).collect();
        if !lookup.words.is_empty() {
            // Words are not per project: the project's term comes with them.
            parts.push(term(Term::from_field_i64(self.project, lookup.project)));
        }
        if let Some((field, vocabulary)) = &self.words {
            vocabulary.update(&self.searcher, *field)?;
            // A word too common to look up is left to the read that tests every candidate.
            parts.extend(lookup.words.iter().filter_map(|w| words_query(*field, w, vocabulary)));
        }
        let query = all_of(parts);
        let upper = match after {
            Some(c) => (c.timestamp_ns, c.id.0),
            None => (filter.to_ns, i64::MIN),
        };
        let newest = Newest { limit, from_ns: filter.from_ns, upper };
        // The newest segments first; once `limit` keys are found, the segments older than
        // all of them are passed.
        let mut spans = self.spans.within(&self.searcher, filter.from_ns, upper.0.saturating_add(1))?;
        self.filters.keep_possible(&mut spans, |(_, reader, _)| reader.segment_id(), &lookup.groups);
        let weight = query.weight(EnableScoring::disabled_from_searcher(&self.searcher))?;
        let (mut keys, mut total, mut passed) = (Vec::new(), 0, false);
        for &(ordinal, reader, (_, newest_ts)) in &spans {
            if keys.len() >= limit && keys.last().is_some_and(|&(ts, _)| newest_ts < ts) {
                passed = true;
                break;
            }
            let (found, n) = newest.collect_segment(weight.as_ref(), ordinal, reader)?;
            keys.extend(found);
            total += n;
            keys.sort_unstable_by(|a, b| b.cmp(a));
            keys.truncate(limit);
        }
        for &at in &self.pending {
            if newest.wants(at) {
                keys.push(at);
                total += 1;
            }
        }
        keys.sort_unstable_by(|a, b| b.cmp(a));
        keys.truncate(limit);
        Ok(Candidates { more: passed || total > keys.len(), keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_model::{AttrValue, Attributes, LogId, LogRecord, Severity};

    fn log(id: i64, ts: i64, session: &str, request: &str) -> StoredLog {
        StoredLog {
            id: LogId(id),
            record: LogRecord {
                project_id: 1,
                timestamp_ns: ts,
                observed_timestamp_ns: ts,
                severity: Severity::Info,
                severity_text: String::new(),
                severity_number: 0,
                service: "api".into(),
                body: "hello".into(),
                session_id: Some(session.into()),
                distinct_id: None,
                trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
                span_id: String::new(),
                trace_flags: 0,
                event_name: String::new(),
                scope_name: String::new(),
                scope_version: String::new(),
                attributes: Attributes(vec![("request_id".into(), AttrValue::String(request.into()))]),
                resource_attributes: Default::default(),
                scope_attributes: Default::default(),
            },
        }
    }

    fn lookup(index: &IdIndex, filter: &LogFilter) -> Vec<i64> {
        let lookup = index.lookup(filter).unwrap();
        let snapshot = index.snapshot(&lookup);
        snapshot.newest(&lookup, filter, None, 10).unwrap().keys.into_iter().map(|(_, id)| id).collect()
    }

    #[test]
    fn finds_by_each_id_newest_first_before_and_after_a_commit() {
        let dir = tempfile::tempdir().unwrap();
        let index = IdIndex::open(dir.path(), false).unwrap();
        index.add(vec![log(10, 100, "s1", "req-0001"), log(11, 300, "s1", "req-0002")]).unwrap();
        let mut filter = LogFilter::new(1, 0, 1000);
        filter.session_id = Some("s1".into());
        assert_eq!(lookup(&index, &filter), vec![11, 10], "found before the commit");
        index.commit().unwrap();
        index.add(vec![log(12, 200, "s2", "req-0002")]).unwrap();
        assert_eq!(lookup(&index, &filter), vec![11, 10], "and after it");
        let mut by_request = LogFilter::new(1, 0, 1000);
        by_request.query = Some(tether_store::LogExpr::attr_equals("request_id", "req-0002"));
        assert_eq!(lookup(&index, &by_request), vec![11, 12], "committed and pending together");
        let mut by_trace = LogFilter::new(1, 150, 1000);
        by_trace.trace_id = Some("0AF7651916CD43DD8448EB211C80319C".into());
        assert_eq!(lookup(&index, &by_trace), vec![11, 12], "any case, within the time range");
        let mut both = by_trace.clone();
        both.session_id = Some("s2".into());
        assert_eq!(lookup(&index, &both), vec![12], "every group must match");
        let mut other_project = filter.clone();
        other_project.project_id = 2;
        assert!(lookup(&index, &other_project).is_empty());
    }

    #[test]
    fn an_append_larger_than_the_queue_is_found_whole_as_soon_as_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let index = IdIndex::open(dir.path(), true).unwrap();
        // More logs than the queue holds: the append waits for the thread, batch by batch.
        let n = (WORK_QUEUE + 2) * BATCH_LOGS + 7;
        let logs = (0..n as i64)
            .map(|i| log(i + 1, i + 1, &format!("s{}", i % 3), &format!("req-{i:06}")))
            .collect();
        index.add(logs).unwrap();
        let by_request = |i: usize| {
            let mut filter = LogFilter::new(1, 0, i64::MAX);
            filter.query = Some(tether_store::LogExpr::attr_equals("request_id", &format!("req-{i:06}")));
            lookup(&index, &filter)
        };
        let mut by_session = LogFilter::new(1, 0, i64::MAX);
        by_session.session_id = Some("s2".into());
        let newest_of_s2 = || lookup(&index, &by_session);
        let last_of_s2 = (0..n).rev().find(|i| i % 3 == 2).unwrap() as i64 + 1;
        for when in ["before the commit", "after it"] {
            for i in [0, BATCH_LOGS - 1, BATCH_LOGS, n / 2, n - 1] {
                assert_eq!(by_request(i), vec![i as i64 + 1], "log {i}, {when}");
            }
            assert_eq!(newest_of_s2(), (0..10).map(|k| last_of_s2 - 3 * k).collect::<Vec<_>>(), "{when}");
            index.commit().unwrap();
        }
    }

    #[test]
    fn a_large_segment_is_looked_up_through_its_key_filter() {
        let dir = tempfile::tempdir().unwrap();
        let index = IdIndex::open(dir.path(), false).unwrap();
        // Thirty-two commits of 5,000 logs, merged into a segment of `FINAL_DOCS`.
        let n = i64::from(merges::FINAL_DOCS);
        let log_of = |i: i64| log(i + 1, i + 1, "s1", &format!("req-{i:07}"));
        for part in 0..32 {
            index.add((part * n / 32..(part + 1) * n / 32).map(log_of).collect()).unwrap();
            index.commit().unwrap();
        }
        // The merged segment is seen at a later commit, and its filter built when the
        // indexing thread has nothing else to do.
        let (start, mut more) = (Instant::now(), n);
        while index.filters.built() == 0 && start.elapsed() < Duration::from_secs(60) {
            index.add(vec![log_of(more)]).unwrap();
            index.commit().unwrap();
            more += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(index.filters.built(), 1, "one segment of {n} logs");
        let by_request = |request: &str| {
            let mut filter = LogFilter::new(1, 0, i64::MAX);
            filter.query = Some(tether_store::LogExpr::attr_equals("request_id", request));
            lookup(&index, &filter)
        };
        for i in [0, 77_777, n - 1, more - 1] {
            assert_eq!(by_request(&format!("req-{i:07}")), vec![i + 1]);
        }
        assert!(by_request("req-9999999").is_empty());
    }

    #[test]
    fn an_index_of_another_layout_is_built_again() {
        let dir = tempfile::tempdir().unwrap();
        {
            let index = IdIndex::open(dir.path(), false).unwrap();
            index.add(vec![log(10, 100, "s1", "req-0001")]).unwrap();
            index.commit().unwrap();
        }
        let index = IdIndex::open(dir.path(), true).unwrap();
        assert_eq!(index.covered(), i64::MIN, "emptied: the store adds every log again");
        index.add(vec![log(10, 100, "s1", "req-0001")]).unwrap();
        index.commit().unwrap();
        let mut filter = LogFilter::new(1, 0, 1000);
        filter.session_id = Some("s1".into());
        assert_eq!(lookup(&index, &filter), vec![10]);
    }

    #[test]
    fn a_reopened_index_knows_what_it_holds_and_forgets_old_logs() {
        let dir = tempfile::tempdir().unwrap();
        {
            let index = IdIndex::open(dir.path(), false).unwrap();
            index.add(vec![log(10, 100, "s1", "req-0001"), log(20, 100, "s1", "req-0001")]).unwrap();
            index.commit().unwrap();
            index.add(vec![log(30, 100, "s1", "req-0001")]).unwrap();
            assert_eq!(index.covered(), 30);
        }
        let index = IdIndex::open(dir.path(), false).unwrap();
        assert_eq!(index.covered(), 20, "the uncommitted add is lost, the commit is not");
        let mut filter = LogFilter::new(1, 0, 1000);
        filter.session_id = Some("s1".into());
        assert_eq!(lookup(&index, &filter), vec![20, 10]);
        index.forget_before(1, 1000).unwrap();
        assert!(lookup(&index, &filter).is_empty());
    }

    #[test]
    fn counts_kept_for_sealed_segments_follow_new_logs_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let index = IdIndex::open(dir.path(), true).unwrap();
        let logs = |ids: std::ops::Range<i64>| -> Vec<StoredLog> {
            ids.map(|i| log(i, i * 10, &format!("s{}", i % 7), "req-0001")).collect()
        };
        let mut filter = LogFilter::new(1, 0, 10_000);
        filter.query = Some(tether_store::LogExpr::Match(tether_store::Condition::Body("hello".into())));
        let counted = |index: &IdIndex| {
            let exact = index.exact(&filter).unwrap().expect("a word is counted from the index");
            let (logs, sessions, _) = exact.distinct(Within::of(&filter)).unwrap().counts();
            let buckets = exact.buckets(Within::of(&filter), Report::default(), 1000).unwrap();
            let mut buckets: Vec<(i64, u64)> =
                buckets.into_iter().map(|((start, ..), n)| (start, n)).collect();
            buckets.sort_unstable();
            (logs, sessions, buckets)
        };
        index.add(logs(1..50)).unwrap();
        index.commit().unwrap();
        assert_eq!(counted(&index), (49, 7, vec![(0, 49)]));
        assert_eq!(counted(&index), (49, 7, vec![(0, 49)]), "asked again");
        index.add(logs(100..103)).unwrap();
        index.commit().unwrap();
        assert_eq!(counted(&index), (52, 7, vec![(0, 49), (1000, 3)]), "a new segment counted too");
        index.forget_before(1, 200).unwrap();
        index.commit().unwrap();
        assert_eq!(counted(&index), (33, 7, vec![(0, 30), (1000, 3)]), "the deleted logs no longer");
        index.forget_before(1, 1000).unwrap();
        index.commit().unwrap();
        assert_eq!(counted(&index), (3, 3, vec![(1000, 3)]));
    }
}
