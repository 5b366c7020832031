//! Facet counts both log stores share: a sample's attribute keys and (key, value) pairs,
//! services and severities, ranked the same way.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use tether_model::Severity;
use tether_store::{AttributeFacet, CountedValue, Facets};

/// Attribute facets (and, when the per-minute counts cannot answer, service and severity
/// facets) count this many recent matching logs (the newest on DuckDB, the last written on
/// the row store: see `rows::read::Order`): enough to show what keys and values exist
/// without reading a wide time range. For a common search at 10 M logs, 5,000 fit in the
/// first time slice (274 ms with 10,000, which needed two).
pub(crate) const FACET_SAMPLE: usize = 5_000;

/// Values longer than this are not offered as facet values (a stack trace, a payload).
const MAX_FACET_VALUE_CHARS: usize = 200;

/// Services listed at most.
const MAX_SERVICES: usize = 100;

/// Counts of a sample's keys, (key, value) pairs, services and severities. Looked up by
/// `&str` before anything is allocated, and hashed with Fx (not SipHash: the texts are
/// the store's own): allocating and SipHashing each attribute's key and value twice per
/// log was a third of the row store's facets at 10 M logs.
#[derive(Default)]
pub(crate) struct Tally {
    /// Key → (logs with it, its values offered → logs).
    keys: FxHashMap<String, (u64, FxHashMap<String, u64>)>,
    services: FxHashMap<String, u64>,
    severities: FxHashMap<u8, u64>,
}

/// Adds `n` to the count of `key`, inserting it (allocated) only when new.
fn add_to<V: Default>(map: &mut FxHashMap<String, V>, key: &str, add: impl FnOnce(&mut V)) {
    match map.get_mut(key) {
        Some(v) => add(v),
        None => add(map.entry(key.to_owned()).or_default()),
    }
}

impl Tally {
    pub(crate) fn add_service(&mut self, service: &str, logs: u64) {
        add_to(&mut self.services, service, |n| *n += logs);
    }

    pub(crate) fn add_severity(&mut self, code: u8, logs: u64) {
        *self.severities.entry(code).or_default() += logs;
    }

    /// Counts a log's attribute `key` and its value (`None`: a value facets do not offer).
    pub(crate) fn count(&mut self, key: &str, value: Option<&str>) {
        // At most 200 characters: at most 800 bytes, and at most 200 when 200 bytes or fewer.
        let offered =
            |v: &&str| v.len() <= MAX_FACET_VALUE_CHARS || v.chars().count() <= MAX_FACET_VALUE_CHARS;
        add_to(&mut self.keys, key, |(n, values)| {
            *n += 1;
            if let Some(value) = value.filter(offered) {
                add_to(values, value, |n| *n += 1);
            }
        });
    }

    /// Both tallies' counts together.
    pub(crate) fn merged(mut self, other: Tally) -> Tally {
        for (key, (logs, values)) in other.keys {
            let (n, all) = self.keys.entry(key).or_default();
            *n += logs;
            values.into_iter().for_each(|(value, logs)| *all.entry(value).or_default() += logs);
        }
        other
            .services
            .into_iter()
            .for_each(|(service, logs)| *self.services.entry(service).or_default() += logs);
        other
            .severities
            .into_iter()
            .for_each(|(code, logs)| *self.severities.entry(code).or_default() += logs);
        self
    }

    /// The `max_keys` most frequent keys with their `max_values` most frequent values, and
    /// every service and severity counted; ties by name.
    pub(crate) fn facets(self, max_keys: usize, max_values: usize) -> Facets {
        let mut values_of: HashMap<String, FxHashMap<String, u64>> = HashMap::new();
        let mut keys = Vec::with_capacity(self.keys.len());
        for (key, (count, values)) in self.keys {
            values_of.insert(key.clone(), values);
            keys.push(CountedValue { value: key, count });
        }
        let attributes = ranked(keys, max_keys)
            .into_iter()
            .map(|CountedValue { value: key, count }| {
                let values = values_of.remove(&key).unwrap_or_default();
                let values = values.into_iter().map(|(value, count)| CountedValue { value, count }).collect();
                AttributeFacet { values: ranked(values, max_values), key, count }
            })
            .collect();
        let severities = self.severities.into_iter().map(|(code, count)| CountedValue {
            value: Severity::from_code(code).map_or_else(|| code.to_string(), |s| s.as_str().to_owned()),
            count,
        });
        Facets {
            services: self.services.into_iter().map(|(value, count)| CountedValue { value, count }).collect(),
            severities: severities.collect(),
            attributes,
            sampled: false,
        }
    }
}

/// The `n` largest counts, ties by value.
fn ranked(mut counted: Vec<CountedValue>, n: usize) -> Vec<CountedValue> {
    counted.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    counted.truncate(n);
    counted
}

/// Facets as the API lists them: the most frequent services first (at most
/// [`MAX_SERVICES`]), severities in their order.
pub(crate) fn ordered(mut facets: Facets) -> Facets {
    facets.services = ranked(std::mem::take(&mut facets.services), MAX_SERVICES);
    facets.severities.sort_by_key(|v| Severity::parse_name(&v.value).map(Severity::code));
    facets
}
