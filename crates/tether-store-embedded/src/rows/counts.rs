//! Logs per minute, severity and service: what a histogram or the service and severity
//! facets of a filter on time, severity and service alone read instead of the logs (a
//! day's histogram at 10 M logs sums ~150,000 counts rather than decoding every block).
//! Each segment file keeps the counts of its logs; the open segment's are in memory, and
//! the sealed segments' counts joined are kept for the next reader ([`Joined`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use tether_model::ProjectId;
use tether_store::{StoreResult, StoredLog};

use super::varint::{Reader, put_bytes, put_signed, put_unsigned};

pub(crate) const MINUTE_NS: i64 = 60_000_000_000;

/// Minute start → (severity code, service, logs), each pair once.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Counts(BTreeMap<Minute, Vec<(u8, String, u64)>>);

/// A minute's start, in nanoseconds.
type Minute = i64;

impl Counts {
    pub(crate) fn add(&mut self, logs: &[StoredLog]) {
        for log in logs {
            let r = &log.record;
            self.bump(r.timestamp_ns.div_euclid(MINUTE_NS) * MINUTE_NS, r.severity.code(), &r.service, 1);
        }
    }

    /// Adds `other`'s counts to these.
    pub(crate) fn join(&mut self, other: &Counts) {
        for (&minute, counts) in &other.0 {
            for (code, service, n) in counts {
                self.bump(minute, *code, service, *n);
            }
        }
    }

    fn bump(&mut self, minute: Minute, code: u8, service: &str, n: u64) {
        let minute = self.0.entry(minute).or_default();
        match minute.iter_mut().find(|(c, s, _)| *c == code && s == service) {
            Some((.., count)) => *count += n,
            None => minute.push((code, service.to_owned(), n)),
        }
    }

    /// The counts of minutes in `[from_minute, to_minute)`: (minute, severity, service, logs).
    pub(crate) fn between(
        &self,
        from_minute: i64,
        to_minute: i64,
    ) -> impl Iterator<Item = (i64, u8, &str, u64)> {
        let minutes = self.0.range(from_minute..to_minute.max(from_minute));
        minutes.flat_map(|(m, counts)| counts.iter().map(move |(c, s, n)| (*m, *c, s.as_str(), *n)))
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        put_unsigned(out, self.0.len() as u64);
        for (minute, counts) in &self.0 {
            put_signed(out, *minute);
            put_unsigned(out, counts.len() as u64);
            for (code, service, n) in counts {
                out.push(*code);
                put_bytes(out, service.as_bytes());
                put_unsigned(out, *n);
            }
        }
    }

    pub(crate) fn read(r: &mut Reader) -> StoreResult<Counts> {
        let mut minutes = BTreeMap::new();
        for _ in 0..r.unsigned()? {
            let minute = r.signed()?;
            let n = r.unsigned()? as usize;
            let counts =
                (0..n).map(|_| Ok((r.byte()?, r.text()?, r.unsigned()?))).collect::<StoreResult<_>>()?;
            minutes.insert(minute, counts);
        }
        Ok(Counts(minutes))
    }
}

/// Each project's sealed segments' counts joined, with the segments' numbers: a day's
/// histogram then reads one set of counts rather than one per segment (at 100 M logs
/// ~1,500 segments of about a minute each held twice the counts of 10 M logs' ~150, so
/// its time did not stay within twice). New segments are joined onto what is kept; any
/// other change of the list (retention, a cut) joins them all again.
#[derive(Default)]
pub(crate) struct Joined(Mutex<HashMap<ProjectId, SegmentsJoined>>);

/// The segments' numbers, in order, and their counts joined.
type SegmentsJoined = (Vec<u64>, Arc<Counts>);

impl Joined {
    /// The counts of `segments` (number, counts) joined, in one set.
    pub(crate) fn of(&self, project: ProjectId, segments: &[(u64, &Counts)]) -> Arc<Counts> {
        let numbers: Vec<u64> = segments.iter().map(|(number, _)| *number).collect();
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut joined, from) = match kept.remove(&project) {
            Some((list, joined)) if numbers.starts_with(&list) => (joined, list.len()),
            _ => (Arc::default(), 0),
        };
        if from < segments.len() {
            // In place unless a reader still holds the last set.
            let counts = Arc::make_mut(&mut joined);
            segments[from..].iter().for_each(|(_, c)| counts.join(c));
        }
        kept.insert(project, (numbers, joined.clone()));
        joined
    }
}
