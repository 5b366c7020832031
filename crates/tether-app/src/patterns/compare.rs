//! What changed: the patterns of two sets of logs side by side — two time ranges (a deploy,
//! an incident), or the sessions that hit an error against those that did not — ranked by
//! how surprising the difference is, not by how many logs there are.
//!
//! Surprise is the log-likelihood ratio (G statistic) of the pattern's logs read in each set
//! against the same rate in both, in bits: how much less likely the counts are if nothing
//! changed. The rate is per hour for two ranges (per hour of the logs read: a range that
//! was sampled more thinly weighs its count up) and per log for two sets of sessions (a
//! share). A pattern that doubles from 4 to 8 logs is less surprising than one going from 0
//! to 40, and a huge pattern moving by a percent is not surprising at all.

use std::collections::{HashMap, HashSet};

use tether_store::{ExceptionScope, LogFilter, StoreResult};

use super::{Pattern, Patterns, tally};
use crate::App;
use crate::logs::MAX_FLAGGED_SESSIONS;

/// How a pattern's share moved from the baseline to the current set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// In the current set only.
    New,
    /// In the baseline only.
    Gone,
    Up,
    Down,
    /// Within what chance explains (under [`SIGNIFICANT_BITS`]).
    Same,
}

/// Below this surprise a change reads as chance: G ≥ 3.84 (p < 0.05 for one degree of
/// freedom) is 2.77 bits.
pub const SIGNIFICANT_BITS: f64 = 2.77;

/// One pattern in both sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    pub id: String,
    pub template: String,
    /// Logs of the pattern in each set (estimated when sampled).
    pub current: u64,
    pub baseline: u64,
    /// The pattern's share of each set's logs.
    pub current_share: f64,
    pub baseline_share: f64,
    pub change: Change,
    /// Bits (see the module documentation).
    pub surprise: f64,
}

/// The two sets' totals, and the patterns most surprising first.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub current_total: u64,
    pub baseline_total: u64,
    pub patterns: Vec<Compared>,
}

impl App {
    /// The search's patterns in its range against `[base_from_ns, base_to_ns)`.
    pub async fn compare_ranges(
        &self,
        filter: LogFilter,
        base_from_ns: i64,
        base_to_ns: i64,
    ) -> StoreResult<Comparison> {
        let baseline = LogFilter { from_ns: base_from_ns, to_ns: base_to_ns, ..filter.clone() };
        // Exposure: the hours each sample stands for.
        let exposure = |p: &Patterns, f: &LogFilter| {
            (f.to_ns - f.from_ns) as f64 / 3.6e12 * p.sampled as f64 / p.total.max(1) as f64
        };
        let now = self.patterns(filter.clone()).await?;
        let before = self.patterns(baseline.clone()).await?;
        Ok(compare(&now, exposure(&now, &filter), &before, exposure(&before, &baseline)))
    }

    /// The search's patterns in the logs of sessions that hit an error in its range (of
    /// `issue` when given) against those of the other sessions. Logs without a session are
    /// in neither set.
    pub async fn compare_sessions(&self, filter: LogFilter, issue: Option<i64>) -> StoreResult<Comparison> {
        let scope = ExceptionScope {
            project_id: filter.project_id,
            issue_id: issue,
            from_ms: Some(filter.from_ns.div_euclid(1_000_000)),
            to_ms: Some(filter.to_ns.div_euclid(1_000_000)),
            ..ExceptionScope::default()
        };
        let sample = self.read_sample(filter).await?;
        let sessions: Vec<String> = sample
            .buckets
            .iter()
            .flat_map(|b| b.logs.iter().filter_map(|l| l.session_id.clone()))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut erred = HashSet::new();
        for chunk in sessions.chunks(MAX_FLAGGED_SESSIONS) {
            let counts = self.stores.events.session_exception_counts(scope.clone(), chunk.to_vec()).await?;
            erred.extend(counts.into_iter().filter(|(_, n)| *n > 0).map(|(s, _)| s));
        }
        // Mined once; each set is then counted with its logs' templates.
        let assigned = self.templates_of(sample.project_id, sample.bodies()).await?;
        let of = |hit: bool| {
            let (set, templates) =
                sample.only(&assigned, |l| l.session_id.as_ref().is_some_and(|s| erred.contains(s) == hit));
            tally(set, templates)
        };
        let (with, without) = (of(true), of(false));
        // Exposure: the logs read of each set, so a rate is a share.
        Ok(compare(&with, with.sampled as f64, &without, without.sampled as f64))
    }
}

/// Every pattern of either set, most surprising first; `exposure` is what each set's logs
/// read are counted per.
fn compare(current: &Patterns, exposure: f64, baseline: &Patterns, base_exposure: f64) -> Comparison {
    let by_id = |p: &Patterns| {
        p.patterns.iter().map(|x| (x.id.clone(), x.clone())).collect::<HashMap<String, Pattern>>()
    };
    let (now, before) = (by_id(current), by_id(baseline));
    let ids: HashSet<&String> = now.keys().chain(before.keys()).collect();
    let mut patterns: Vec<Compared> = ids
        .into_iter()
        .map(|id| {
            let (a, b) = (now.get(id), before.get(id));
            let template = a.or(b).map(|p| p.template.clone()).unwrap_or_default();
            let sampled = |p: Option<&Pattern>| p.map_or(0, |p| p.sampled);
            let (a_read, b_read) = (sampled(a), sampled(b));
            let surprise = g_bits(a_read, exposure, b_read, base_exposure);
            let share = |p: Option<&Pattern>| p.map_or(0.0, |p| p.share);
            let (current_share, baseline_share) = (share(a), share(b));
            let change = match (a, b) {
                (Some(_), None) => Change::New,
                (None, Some(_)) => Change::Gone,
                _ if surprise < SIGNIFICANT_BITS => Change::Same,
                _ if a_read as f64 / exposure > b_read as f64 / base_exposure => Change::Up,
                _ => Change::Down,
            };
            Compared {
                id: id.clone(),
                template,
                current: a.map_or(0, |p| p.count),
                baseline: b.map_or(0, |p| p.count),
                current_share,
                baseline_share,
                change,
                surprise,
            }
        })
        .collect();
    patterns.sort_by(|x, y| y.surprise.total_cmp(&x.surprise).then_with(|| x.template.cmp(&y.template)));
    Comparison { current_total: current.total, baseline_total: baseline.total, patterns }
}

/// The G statistic in bits of `a` events over `exposure` against `b` over `base_exposure`
/// under one rate for both (see the module documentation).
fn g_bits(a: u64, exposure: f64, b: u64, base_exposure: f64) -> f64 {
    let (a, b) = (a as f64, b as f64);
    if exposure <= 0.0 || base_exposure <= 0.0 || a + b == 0.0 {
        return 0.0;
    }
    let share = exposure / (exposure + base_exposure);
    let term = |observed: f64, expected: f64| {
        if observed > 0.0 { observed * (observed / expected).ln() } else { 0.0 }
    };
    let g = 2.0 * (term(a, (a + b) * share) + term(b, (a + b) * (1.0 - share)));
    g / (2.0 * std::f64::consts::LN_2)
}

#[cfg(test)]
mod tests {
    use super::g_bits;

    #[test]
    fn surprise_grows_with_the_evidence_not_the_volume() {
        assert!(g_bits(10, 1.0, 20, 2.0).abs() < 1e-9, "the same rate is no surprise");
        let small = g_bits(8, 1.0, 4, 1.0);
        let appeared = g_bits(40, 1.0, 0, 1.0);
        let huge_drift = g_bits(5050, 1.0, 5000, 1.0);
        assert!(appeared > 20.0 && small < super::SIGNIFICANT_BITS, "{appeared} {small}");
        assert!(huge_drift < super::SIGNIFICANT_BITS, "a big pattern moving by a percent: {huge_drift}");
        assert_eq!(g_bits(3, 0.0, 1, 10.0), 0.0);
    }
}
