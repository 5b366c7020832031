//! Log patterns of a search: the templates its logs come in, each with its count, share,
//! errors, services, first and last log, a sparkline, examples, and the sessions and people
//! it hit. The logs are read as a sample spread over the range (the newest of each of the
//! sparkline's buckets, through the same page query as the logs list, so both backends give
//! the same sample), counts are scaled by each bucket's total, and the templates come from
//! the project's catalog (`tether_patterns::Catalog`), so a pattern keeps its id from one
//! request and range to the next.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use futures::{StreamExt, TryStreamExt};
use tether_model::{ProjectId, Severity};
use tether_patterns::Catalog;
use tether_store::{Breakdown, LogFilter, LogQuery, StoreError, StoreResult, StoredLog};

use crate::App;

/// Logs read per request at most, spread over the buckets of the range.
pub const SAMPLE_LOGS: usize = 10_000;
/// Patterns one answer lists at most (the rest are in no pattern's row, but in the total).
pub const MAX_PATTERNS: usize = 200;
/// Examples per pattern.
const EXAMPLES: usize = 3;
/// Bucket queries run at once (each is a page query of the logs list).
const PARALLEL_READS: usize = 4;

/// The learned templates of each project, shared by every request.
#[derive(Debug, Default)]
pub struct Catalogs(Mutex<HashMap<ProjectId, Catalog>>);

/// A log pattern of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub id: String,
    pub template: String,
    /// Logs of the search in the pattern (estimated from the sample unless exact).
    pub count: u64,
    /// `count` over the search's total.
    pub share: f64,
    /// Of `count`, the logs of severity error or fatal.
    pub errors: u64,
    pub services: Vec<String>,
    pub first_ns: i64,
    pub last_ns: i64,
    /// Logs per bucket of [`Patterns::buckets`].
    pub sparkline: Vec<u64>,
    /// The newest logs of the pattern in the sample.
    pub examples: Vec<StoredLog>,
    /// Distinct sessions and people among the pattern's logs read (in the sample when
    /// sampled).
    pub sessions: u64,
    pub people: u64,
}

/// The patterns of a search, most frequent first.
#[derive(Debug, Clone, PartialEq)]
pub struct Patterns {
    pub patterns: Vec<Pattern>,
    /// Logs the search matches.
    pub total: u64,
    /// Logs read and mined; the counts are exact when it equals `total`.
    pub sampled: u64,
    /// Bucket starts of the sparklines (Unix nanoseconds) and their width.
    pub buckets: Vec<i64>,
    pub bucket_ns: i64,
}

/// What one bucket's read found: the logs, and how many the bucket holds in all.
struct BucketSample {
    logs: Vec<StoredLog>,
    total: u64,
}

/// A pattern's figures while the sample is counted.
#[derive(Default)]
struct Tally {
    scaled: f64,
    errors: f64,
    sparkline: Vec<f64>,
    services: BTreeSet<String>,
    sessions: BTreeSet<String>,
    people: BTreeSet<String>,
    first_ns: i64,
    last_ns: i64,
    examples: Vec<StoredLog>,
}

impl App {
    /// The patterns of the logs matching `filter`.
    pub async fn patterns(&self, filter: LogFilter) -> StoreResult<Patterns> {
        let histogram = self.histogram(filter.clone(), Breakdown::Severity).await?;
        let starts: Vec<i64> = histogram.buckets.iter().map(|(start, _)| *start).collect();
        let totals: Vec<u64> = histogram.buckets.iter().map(|(_, counts)| counts.values().sum()).collect();
        let per_bucket = SAMPLE_LOGS / starts.len().max(1);
        let width = histogram.width_ns;
        let jobs: Vec<(LogFilter, u64)> = starts
            .iter()
            .zip(&totals)
            .map(|(&start, &total)| {
                let mut bucket = filter.clone();
                (bucket.from_ns, bucket.to_ns) =
                    (start.max(filter.from_ns), (start + width).min(filter.to_ns));
                (bucket, total)
            })
            .collect();
        let reads = futures::stream::iter(jobs).map(|(bucket, total)| async move {
            if total == 0 {
                return Ok(BucketSample { logs: Vec::new(), total });
            }
            let query = LogQuery { filter: bucket, limit: per_bucket, after: None };
            let logs = self.stores.logs.search(query).await?.logs;
            // An estimated total below what was read is raised to it.
            Ok::<_, StoreError>(BucketSample { total: total.max(logs.len() as u64), logs })
        });
        let samples: Vec<BucketSample> = reads.buffered(PARALLEL_READS).try_collect().await?;
        let logs: Vec<&StoredLog> = samples.iter().flat_map(|s| &s.logs).collect();
        let assigned = self.patterns_of(filter.project_id, logs).await?;
        Ok(tally(samples, assigned, starts, width))
    }

    /// The id and template of each log's pattern, from the project's catalog (learning the
    /// templates of logs it has none for).
    pub async fn patterns_of(
        &self,
        project_id: ProjectId,
        logs: Vec<&StoredLog>,
    ) -> StoreResult<Vec<(String, String)>> {
        let bodies: Vec<String> = logs.iter().map(|l| l.record.body.clone()).collect();
        let catalogs: Arc<Catalogs> = self.patterns.clone();
        // Mining is CPU work of tens of milliseconds: off the reactor.
        tokio::task::spawn_blocking(move || {
            let mut catalogs = catalogs.0.lock().unwrap_or_else(PoisonError::into_inner);
            let catalog = catalogs.entry(project_id).or_default();
            let indexes = catalog.learn(&bodies);
            let mut named: HashMap<usize, (String, String)> = HashMap::new();
            let name = |t: usize| {
                named.entry(t).or_insert_with(|| (catalog.get(t).id(), catalog.get(t).text())).clone()
            };
            indexes.into_iter().map(name).collect()
        })
        .await
        .map_err(|e| StoreError::internal("pattern mining stopped", e))
    }
}

/// Counts the sample by pattern, each log weighted by its bucket's total over its sample.
fn tally(
    samples: Vec<BucketSample>,
    assigned: Vec<(String, String)>,
    buckets: Vec<i64>,
    bucket_ns: i64,
) -> Patterns {
    let total: u64 = samples.iter().map(|s| s.total).sum();
    let sampled: u64 = samples.iter().map(|s| s.logs.len() as u64).sum();
    let mut tallies: HashMap<(String, String), Tally> = HashMap::new();
    let mut assigned = assigned.into_iter();
    for (b, sample) in samples.into_iter().enumerate() {
        let weight = sample.total as f64 / sample.logs.len().max(1) as f64;
        for log in sample.logs {
            let Some(pattern) = assigned.next() else { break };
            let tally = tallies.entry(pattern).or_insert_with(|| Tally {
                sparkline: vec![0.0; buckets.len()],
                first_ns: i64::MAX,
                last_ns: i64::MIN,
                ..Tally::default()
            });
            let record = &log.record;
            tally.scaled += weight;
            tally.sparkline[b] += weight;
            if record.severity >= Severity::Error {
                tally.errors += weight;
            }
            tally.services.insert(record.service.clone());
            tally.sessions.extend(record.session_id.clone());
            tally.people.extend(record.distinct_id.clone());
            tally.first_ns = tally.first_ns.min(record.timestamp_ns);
            tally.last_ns = tally.last_ns.max(record.timestamp_ns);
            if tally.examples.iter().all(|e| e.record.body != record.body) {
                tally.examples.push(log);
                tally.examples.sort_by_key(|e| std::cmp::Reverse((e.record.timestamp_ns, e.id)));
                tally.examples.truncate(EXAMPLES);
            }
        }
    }
    let mut patterns: Vec<Pattern> = tallies
        .into_iter()
        .map(|((id, template), t)| Pattern {
            id,
            template,
            count: t.scaled.round() as u64,
            share: if total == 0 { 0.0 } else { t.scaled / total as f64 },
            errors: t.errors.round() as u64,
            services: t.services.into_iter().filter(|s| !s.is_empty()).collect(),
            first_ns: t.first_ns,
            last_ns: t.last_ns,
            sparkline: t.sparkline.into_iter().map(|c| c.round() as u64).collect(),
            examples: t.examples,
            sessions: t.sessions.len() as u64,
            people: t.people.len() as u64,
        })
        .collect();
    patterns.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.template.cmp(&b.template)));
    patterns.truncate(MAX_PATTERNS);
    Patterns { patterns, total, sampled, buckets, bucket_ns }
}
