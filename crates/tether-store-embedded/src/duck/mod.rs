//! Logs in DuckDB. One writer connection appends batches inside a transaction (DuckDB
//! syncs its WAL at commit, so a returned append is durable); reads run on a small pool of
//! cloned connections. All DuckDB calls run on blocking threads, off the async reactor.

mod capture;
mod catch_up;
mod chunk_index;
pub(crate) mod columns;
mod expire;
mod facets;
mod fold;
mod query;
mod read;
mod recent;
mod schema;
mod session_spans;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use duckdb::{Config, Connection};
use tether_model::{LogId, ProjectId};
use tether_store::{
    Breakdown, Facets, Histogram, LogFilter, LogPage, LogQuery, LogReader, LogSample, LogSummary, LogWriter,
    ServiceLinking, SessionHit, StoreError, StoreResult, StoredLog,
};

use crate::id_index::IdIndex;
use crate::text_index::{BlockSpan, TextIndex};

/// DuckDB's memory limit unless configured: what keeps the whole server under ~512 MB.
pub const DEFAULT_MEMORY_LIMIT: u64 = 192 * 1024 * 1024;

/// A project's logs in DuckDB: how many, and the range of their ids.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectLogs {
    pub project: ProjectId,
    pub logs: u64,
    pub ids: std::ops::RangeInclusive<i64>,
}

/// DuckDB-backed log store (both [`LogWriter`] and [`LogReader`]).
#[derive(Clone)]
pub struct DuckAnalytics {
    inner: Arc<Inner>,
}

struct Inner {
    /// The connection appends go through; holding its lock serializes writers.
    writer: Mutex<write::Writer>,
    /// Idle read connections; a read takes one or clones a new one from `origin`.
    readers: Mutex<Vec<Connection>>,
    origin: Mutex<Connection>,
    /// Which blocks of logs may contain a text (`crate::text_index`). Taken after `writer`
    /// when both are held.
    text: Mutex<TextIndex>,
    /// Which logs carry a session, person, trace or attribute value (`crate::id_index`).
    ids: Arc<IdIndex>,
    /// Recording chunks indexed and not yet folded into the summaries (`fold.rs`).
    unfolded_chunks: Arc<std::sync::atomic::AtomicUsize>,
}

fn db_err(context: &'static str) -> impl FnOnce(duckdb::Error) -> StoreError {
    move |e| StoreError::internal(context, e)
}

impl DuckAnalytics {
    /// [`DuckAnalytics::open_with_memory`] with [`DEFAULT_MEMORY_LIMIT`].
    pub async fn open(path: &Path) -> StoreResult<DuckAnalytics> {
        DuckAnalytics::open_with_memory(path, DEFAULT_MEMORY_LIMIT).await
    }

    /// Opens (creating and migrating) the DuckDB file at `path`, and its text and id
    /// indexes in the folders beside it (`<file>.text-index`, `<file>.id-index`), brought
    /// up to date with the logs. DuckDB keeps at most `memory_limit` bytes (its cache of
    /// table blocks, sorts, checkpoints) and spills to disk past it instead of growing.
    pub async fn open_with_memory(path: &Path, memory_limit: u64) -> StoreResult<DuckAnalytics> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || {
            let config = Config::default()
                .max_memory(&format!("{}MiB", (memory_limit / (1024 * 1024)).max(64)))
                // Checkpoints compress new row groups (FSST, dictionaries). At the default 16 MB
                // of WAL they ran every ~2 s under load and recompressed half-filled row groups:
                // 256 MB took the logs benchmark from 62.8k to 99.9k records/s and 220 to 182
                // bytes/log. Commits still sync the WAL, so durability is unchanged; recovery
                // after a crash replays at most ~256 MB.
                .and_then(|c| c.with("checkpoint_threshold", "256MB"))
                .map_err(db_err("invalid DuckDB config"))?;
            let conn = Connection::open_with_flags(&path, config).map_err(db_err("cannot open DuckDB"))?;
            schema::migrate(&conn).map_err(db_err("DuckDB migration failed"))?;
            let beside = |suffix: &str| {
                let mut dir = PathBuf::from(path.as_os_str());
                dir.as_mut_os_string().push(suffix);
                dir
            };
            let mut text = TextIndex::open(&beside(".text-index"))
                .map_err(|e| StoreError::internal("cannot open the text index", e))?;
            catch_up::text(&conn, &mut text)?;
            let ids = Arc::new(
                IdIndex::open(&beside(".id-index"), false)
                    .map_err(|e| StoreError::internal("cannot open the id index", e))?,
            );
            catch_up::ids(&conn, &ids)?;
            let writer = write::Writer::new(conn.try_clone().map_err(db_err("cannot clone connection"))?)
                .map_err(db_err("cannot prepare the writer"))?;
            let unfolded_chunks = writer.folds.pending();
            let inner = Arc::new(Inner {
                unfolded_chunks,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                origin: Mutex::new(conn),
                text: Mutex::new(text),
                ids,
            });
            crate::text_index::compact(&inner.text);
            Ok(DuckAnalytics { inner })
        })
        .await
        .map_err(|e| StoreError::internal("DuckDB open task failed", e))?
    }

    /// Runs `f` with a read connection on a blocking thread.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let conn = match pooled {
                Some(c) => c,
                None => {
                    let conn = inner
                        .origin
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .try_clone()
                        .map_err(db_err("cannot open read connection"))?;
                    // The logs page's queries are more than the default 16 (preparing one
                    // of the wide log selects costs milliseconds).
                    conn.set_prepared_statement_cache_capacity(64);
                    conn
                }
            };
            let result = f(&conn);
            inner.readers.lock().unwrap_or_else(PoisonError::into_inner).push(conn);
            result
        })
        .await
        .map_err(|e| StoreError::internal("DuckDB read task failed", e))?
    }

    /// Runs `f` with a read connection, the filter, and the blocks of logs the text index
    /// says can hold the texts its query requires (`None`: no such text, or none the index
    /// can narrow).
    async fn read_filtered<T, F>(&self, filter: LogFilter, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &LogFilter, Option<&[BlockSpan]>) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        self.read(move |conn| {
            let blocks = crate::text_index::candidates(&inner.text, &filter)?;
            f(conn, &filter, blocks.as_deref())
        })
        .await
    }

    /// Runs `f` in a transaction on the write connection, on a blocking thread.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.write_deduplicated(|conn, _| f(conn)).await
    }

    /// [`DuckAnalytics::write`] for the de-duplicated capture tables: `f` also gets the keys
    /// stored lately and notes the keys it stores.
    async fn write_deduplicated<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &mut recent::Dedup) -> StoreResult<T> + Send + 'static,
    {
        self.with_writer(move |writer| writer.transaction(f)).await
    }

    /// Runs `f` with the writer (its lock held) on a blocking thread.
    async fn with_writer<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut write::Writer) -> StoreResult<T> + Send + 'static,
    {
        self.prepare_with_writer(|| Ok(()), |writer, ()| f(writer)).await
    }

    /// Runs `prepare` on a blocking thread, then `f` with its result and the writer (its
    /// lock held) on the same thread: work done before the lock is work the one writer
    /// every request waits for does not do (building an Arrow batch was 7 % of the
    /// writer's time on `/e/`).
    async fn prepare_with_writer<P, T, F>(
        &self,
        prepare: impl FnOnce() -> StoreResult<P> + Send + 'static,
        f: F,
    ) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut write::Writer, P) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let prepared = prepare()?;
            f(&mut inner.writer.lock().unwrap_or_else(PoisonError::into_inner), prepared)
        })
        .await
        .map_err(|e| StoreError::internal("DuckDB write task failed", e))?
    }

    /// [`DuckAnalytics::read`] of the recording summaries: the chunks indexed since the
    /// last fold are folded into them first, so the read sees every acknowledged chunk.
    async fn read_recordings<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        if self.inner.unfolded_chunks.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            self.with_writer(write::Writer::fold_recordings).await?;
        }
        self.read(f).await
    }

    /// Writes everything to the main database file (a checkpoint), e.g. before exit. A
    /// crash without it loses nothing (the WAL is replayed at open); it only makes the next
    /// open faster.
    pub async fn checkpoint(&self) -> StoreResult<()> {
        let ids = self.inner.ids.clone();
        self.with_writer(move |writer| {
            writer.checkpoint().map_err(db_err("checkpoint failed"))?;
            ids.commit().map_err(|e| StoreError::internal("cannot commit the id index", e))
        })
        .await
    }

    /// The projects with logs here: how many, and their smallest and greatest ids.
    pub async fn projects_with_logs(&self) -> StoreResult<Vec<ProjectLogs>> {
        self.read(|conn| {
            let sql = "SELECT project_id, count(*), min(id), max(id) FROM logs GROUP BY project_id ORDER BY project_id";
            let mut statement = conn.prepare(sql).map_err(db_err("cannot count logs"))?;
            let projects = statement
                .query_map([], |r| {
                    Ok(ProjectLogs { project: r.get(0)?, logs: r.get::<_, i64>(1)? as u64, ids: r.get(2)?..=r.get(3)? })
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
            projects.map_err(db_err("cannot count logs"))
        })
        .await
    }

    /// The project's logs with an id in `(after, upto]`, in id order, at most `limit`: ids
    /// are nearly sorted on disk, so only the row groups of the range are read.
    pub async fn logs_by_id(
        &self,
        project: ProjectId,
        after: i64,
        upto: i64,
        limit: usize,
    ) -> StoreResult<Vec<StoredLog>> {
        self.read(move |conn| read::by_id(conn, project, after, upto, limit)).await
    }

    /// Bytes of the database file, for benchmarks and metrics.
    pub async fn database_size(&self) -> StoreResult<u64> {
        self.read(|conn| {
            conn.query_row("SELECT sum(total_blocks * block_size) FROM pragma_database_size()", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .map(|v| v.unwrap_or(0).max(0) as u64)
            .map_err(db_err("cannot read database size"))
        })
        .await
    }
}

#[async_trait]
impl LogWriter for DuckAnalytics {
    async fn append_logs(&self, logs: Vec<StoredLog>) -> StoreResult<()> {
        if logs.is_empty() {
            return Ok(());
        }
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            // Before the lock: the previous commit's sync need not wait for this. The id index
            // is added to before the commit too (a reader never finds a stored log it lacks).
            let batches = columns::logs_batches(&logs)?;
            inner.ids.add(logs.clone()).map_err(|e| StoreError::internal("cannot add to the id index", e))?;
            let mut writer = inner.writer.lock().unwrap_or_else(PoisonError::into_inner);
            let mut text = inner.text.lock().unwrap_or_else(PoisonError::into_inner);
            // Indexed before the commit: a reader never finds a stored log the index lacks.
            text.add_logs(&logs);
            writer.append(&logs, batches)?;
            if let Err(e) = text.seal_full() {
                // The segment stays in memory and is written at the next append.
                tracing::warn!(error = %e, "cannot write a text index segment");
            }
            drop((text, writer));
            crate::text_index::compact(&inner.text);
            Ok(())
        })
        .await
        .map_err(|e| StoreError::internal("DuckDB append task failed", e))?
    }

    async fn delete_logs_before(&self, project_id: ProjectId, before_ns: i64) -> StoreResult<u64> {
        let deleted = expire::logs(self, project_id, before_ns).await?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut text = inner.text.lock().unwrap_or_else(PoisonError::into_inner);
            text.forget_before(project_id, before_ns)
                .map_err(|e| StoreError::internal("cannot drop text index segments", e))?;
            drop(text);
            inner
                .ids
                .forget_before(project_id, before_ns)
                .map_err(|e| StoreError::internal("cannot forget old logs in the id index", e))
        })
        .await
        .map_err(|e| StoreError::internal("index task failed", e))??;
        Ok(deleted)
    }
}

#[async_trait]
impl LogReader for DuckAnalytics {
    async fn search(&self, query: LogQuery) -> StoreResult<LogPage> {
        let LogQuery { filter, limit, after } = query;
        let ids = self.inner.ids.clone();
        self.read_filtered(filter, move |conn, filter, blocks| match ids.lookup(filter) {
            Some(lookup) => read::search_indexed(conn, filter, limit, after, blocks, &ids, &lookup),
            None => read::search(conn, filter, limit, after, blocks),
        })
        .await
    }

    async fn get(&self, project_id: ProjectId, id: LogId) -> StoreResult<Option<StoredLog>> {
        self.read(move |conn| read::get(conn, project_id, id)).await
    }

    async fn histogram(
        &self,
        filter: LogFilter,
        bucket_ns: i64,
        breakdown: Breakdown,
    ) -> StoreResult<Histogram> {
        self.read_filtered(filter, move |conn, filter, blocks| {
            read::histogram(conn, filter, blocks, bucket_ns, breakdown)
        })
        .await
    }

    async fn facets(&self, filter: LogFilter, max_keys: usize, max_values: usize) -> StoreResult<Facets> {
        self.read_filtered(filter, move |conn, filter, blocks| {
            facets::facets(conn, filter, blocks, max_keys, max_values)
        })
        .await
    }

    async fn summary(&self, filter: LogFilter) -> StoreResult<LogSummary> {
        self.read_filtered(filter, read::summary).await
    }

    async fn sessions(&self, filter: LogFilter, limit: usize) -> StoreResult<Vec<SessionHit>> {
        self.read_filtered(filter, move |conn, filter, blocks| read::sessions(conn, filter, blocks, limit))
            .await
    }

    async fn linking(&self, filter: LogFilter) -> StoreResult<Vec<ServiceLinking>> {
        self.read_filtered(filter, read::linking).await
    }

    async fn sample(&self, filter: LogFilter, keep: u32, limit: usize) -> StoreResult<Vec<LogSample>> {
        self.read_filtered(filter, move |conn, filter, blocks| {
            read::sample(conn, filter, blocks, keep, limit)
        })
        .await
    }

    async fn tail(&self, filter: LogFilter, after: LogId, limit: usize) -> StoreResult<Vec<StoredLog>> {
        self.read_filtered(filter, move |conn, filter, blocks| read::tail(conn, filter, blocks, after, limit))
            .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|conn| conn.execute_batch("SELECT 1").map_err(db_err("DuckDB unreachable"))).await
    }
}
