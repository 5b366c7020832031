//! Log patterns of a search: the templates its logs come in, each with its count, share,
//! errors, services, first and last log, a sparkline, examples, and the sessions and people
//! it hit. The logs are read as a sample spread over the range (`LogReader::sample`: the
//! logs of some remainders of their ids, so both backends read the same sample), counts
//! are scaled by each sparkline bucket's total over its sampled logs, and the templates
//! come from the project's catalog (`tether_patterns::Catalog`), so a pattern keeps its id
//! from one request and range to the next.

pub mod compare;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use tether_model::{ProjectId, Severity};
use tether_patterns::Catalog;
use tether_store::{Breakdown, LogFilter, LogSample, SAMPLE_MODULUS, StoreError, StoreResult, StoredLog};

use crate::App;

/// About this many logs are read per request, spread over the range.
pub const SAMPLE_LOGS: usize = 10_000;
/// Patterns one answer lists at most (the rest are in no pattern's row, but in the total).
pub const MAX_PATTERNS: usize = 200;
/// Examples per pattern.
const EXAMPLES: usize = 3;

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
    /// Of the logs read, those in the pattern.
    pub sampled: u64,
    /// `count` over the search's total.
    pub share: f64,
    /// Of `count`, the logs of severity error or fatal.
    pub errors: u64,
    pub services: Vec<String>,
    pub first_ns: i64,
    pub last_ns: i64,
    /// Logs per bucket of [`Patterns::buckets`].
    pub sparkline: Vec<u64>,
    /// The newest logs of the pattern in the sample, with different bodies.
    pub examples: Vec<LogSample>,
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
    logs: Vec<LogSample>,
    total: u64,
}

/// The sampled logs of a search by histogram bucket.
struct Sample {
    project_id: ProjectId,
    buckets: Vec<BucketSample>,
    starts: Vec<i64>,
    width: i64,
}

impl Sample {
    fn bodies(&self) -> Vec<String> {
        self.buckets.iter().flat_map(|b| b.logs.iter().map(|l| l.body.clone())).collect()
    }

    /// The sample of the logs `keep` accepts, each bucket's total scaled by the share it
    /// kept, with their templates (`assigned` holds those of every log, in order).
    fn only(
        &self,
        assigned: &[(String, String)],
        mut keep: impl FnMut(&LogSample) -> bool,
    ) -> (Sample, Vec<(String, String)>) {
        let mut templates = assigned.iter();
        let mut kept_templates = Vec::new();
        let buckets = self
            .buckets
            .iter()
            .map(|b| {
                let mut logs = Vec::new();
                for (log, template) in b.logs.iter().zip(templates.by_ref()) {
                    if keep(log) {
                        logs.push(log.clone());
                        kept_templates.push(template.clone());
                    }
                }
                let total = (b.total as f64 * logs.len() as f64 / b.logs.len().max(1) as f64).round() as u64;
                BucketSample { logs, total }
            })
            .collect();
        let sample =
            Sample { project_id: self.project_id, buckets, starts: self.starts.clone(), width: self.width };
        (sample, kept_templates)
    }
}

/// A pattern's figures while the sample is counted.
#[derive(Default)]
struct Tally {
    scaled: f64,
    sampled: u64,
    errors: f64,
    sparkline: Vec<f64>,
    services: BTreeSet<String>,
    sessions: BTreeSet<String>,
    people: BTreeSet<String>,
    first_ns: i64,
    last_ns: i64,
    examples: Vec<LogSample>,
}

impl App {
    /// The patterns of the logs matching `filter`.
    pub async fn patterns(&self, filter: LogFilter) -> StoreResult<Patterns> {
        let sample = self.read_sample(filter).await?;
        let assigned = self.templates_of(sample.project_id, sample.bodies()).await?;
        let mut found = tally(sample, assigned);
        found.patterns.truncate(MAX_PATTERNS);
        Ok(found)
    }

    /// A sample of the logs matching `filter`, in the buckets of its histogram.
    async fn read_sample(&self, filter: LogFilter) -> StoreResult<Sample> {
        let histogram = self.histogram(filter.clone(), Breakdown::Severity).await?;
        let width = histogram.width_ns;
        let mut buckets: Vec<BucketSample> = histogram
            .buckets
            .iter()
            .map(|(_, counts)| BucketSample { logs: Vec::new(), total: counts.values().sum() })
            .collect();
        let starts: Vec<i64> = histogram.buckets.into_iter().map(|(start, _)| start).collect();
        let total: u64 = buckets.iter().map(|s| s.total).sum();
        let keep = sample_keep(total);
        let first = starts.first().copied().unwrap_or_default();
        for log in self.stores.logs.sample(filter.clone(), keep, 2 * SAMPLE_LOGS).await? {
            let bucket = (log.timestamp_ns.div_euclid(width) * width - first) / width;
            if let Some(sample) = usize::try_from(bucket).ok().and_then(|b| buckets.get_mut(b)) {
                sample.logs.push(log);
            }
        }
        for bucket in &mut buckets {
            // An estimated total below what was read is raised to it.
            bucket.total = bucket.total.max(bucket.logs.len() as u64);
        }
        Ok(Sample { project_id: filter.project_id, buckets, starts, width })
    }

    /// The id and template of each log's pattern, from the project's catalog (learning the
    /// templates of logs it has none for).
    pub async fn patterns_of(
        &self,
        project_id: ProjectId,
        logs: &[StoredLog],
    ) -> StoreResult<Vec<(String, String)>> {
        self.templates_of(project_id, logs.iter().map(|l| l.record.body.clone()).collect()).await
    }

    /// The id and template of each body's pattern (see [`App::patterns_of`]).
    async fn templates_of(
        &self,
        project_id: ProjectId,
        bodies: Vec<String>,
    ) -> StoreResult<Vec<(String, String)>> {
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

/// How many remainders of [`SAMPLE_MODULUS`] a sample of about [`SAMPLE_LOGS`] of `total`
/// logs keeps (all of them when the total fits).
fn sample_keep(total: u64) -> u32 {
    let share = SAMPLE_LOGS as f64 / total.max(1) as f64;
    (share * f64::from(SAMPLE_MODULUS)).ceil().clamp(1.0, f64::from(SAMPLE_MODULUS)) as u32
}

/// Counts the sample by pattern, each log weighted by its bucket's total over its sample.
fn tally(sample: Sample, assigned: Vec<(String, String)>) -> Patterns {
    let Sample { buckets: samples, starts: buckets, width: bucket_ns, .. } = sample;
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
            tally.scaled += weight;
            tally.sampled += 1;
            tally.sparkline[b] += weight;
            if log.severity >= Severity::Error {
                tally.errors += weight;
            }
            tally.services.insert(log.service.clone());
            tally.sessions.extend(log.session_id.clone());
            tally.people.extend(log.distinct_id.clone());
            tally.first_ns = tally.first_ns.min(log.timestamp_ns);
            tally.last_ns = tally.last_ns.max(log.timestamp_ns);
            if tally.examples.iter().all(|e| e.body != log.body) {
                tally.examples.push(log);
                tally.examples.sort_by_key(|e| std::cmp::Reverse((e.timestamp_ns, e.id)));
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
            sampled: t.sampled,
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
    Patterns { patterns, total, sampled, buckets, bucket_ns }
}
