//! Logs per minute, severity and service: what a histogram or the service and severity
//! facets of a filter on time, severity and service alone read instead of the logs (a
//! day's histogram at 10 M logs sums ~150,000 counts rather than decoding every block).
//! Each segment file keeps the counts of its logs; the open segment's are in memory.

use std::collections::BTreeMap;

use tether_store::{StoreResult, StoredLog};

use super::varint::{Reader, put_bytes, put_signed, put_unsigned};

pub(crate) const MINUTE_NS: i64 = 60_000_000_000;

/// Minute start → (severity code, service, logs), each pair once.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Counts(BTreeMap<i64, Vec<(u8, String, u64)>>);

impl Counts {
    pub(crate) fn add(&mut self, logs: &[StoredLog]) {
        for log in logs {
            let r = &log.record;
            let minute = self.0.entry(r.timestamp_ns.div_euclid(MINUTE_NS) * MINUTE_NS).or_default();
            let code = r.severity.code();
            match minute.iter_mut().find(|(c, s, _)| *c == code && *s == r.service) {
                Some((.., n)) => *n += 1,
                None => minute.push((code, r.service.clone(), 1)),
            }
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
