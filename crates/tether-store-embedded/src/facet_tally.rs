//! Facet counts both log stores share: a sample's attribute keys and (key, value) pairs,
//! services and severities, ranked the same way.

use std::collections::HashMap;

use tether_model::Severity;
use tether_store::{AttributeFacet, CountedValue, Facets};

/// Attribute facets (and, when the per-minute counts cannot answer, service and severity
/// facets) count this many of the newest matching logs: enough to show what keys and
/// values exist without reading a wide time range. For a common search at 10 M logs, 5,000
/// fit in the first time slice (274 ms with 10,000, which needed two).
pub(crate) const FACET_SAMPLE: usize = 5_000;

/// Values longer than this are not offered as facet values (a stack trace, a payload).
const MAX_FACET_VALUE_CHARS: usize = 200;

/// Services listed at most.
const MAX_SERVICES: usize = 100;

/// Counts of a sample's keys, (key, value) pairs, services and severities.
#[derive(Default)]
pub(crate) struct Tally {
    keys: HashMap<String, u64>,
    values: HashMap<(String, String), u64>,
    services: HashMap<String, u64>,
    severities: HashMap<u8, u64>,
}

impl Tally {
    pub(crate) fn add_service(&mut self, service: &str, logs: u64) {
        match self.services.get_mut(service) {
            Some(n) => *n += logs,
            None => {
                self.services.insert(service.to_owned(), logs);
            }
        }
    }

    pub(crate) fn add_severity(&mut self, code: u8, logs: u64) {
        *self.severities.entry(code).or_default() += logs;
    }

    /// Counts a log's attribute `key` and its value (`None`: a value facets do not offer).
    pub(crate) fn count(&mut self, key: &str, value: Option<&str>) {
        *self.keys.entry(key.to_owned()).or_default() += 1;
        if let Some(value) = value.filter(|v| v.chars().count() <= MAX_FACET_VALUE_CHARS) {
            *self.values.entry((key.to_owned(), value.to_owned())).or_default() += 1;
        }
    }

    /// The `max_keys` most frequent keys with their `max_values` most frequent values, and
    /// every service and severity counted; ties by name.
    pub(crate) fn facets(self, max_keys: usize, max_values: usize) -> Facets {
        let mut values_of: HashMap<String, Vec<CountedValue>> = HashMap::new();
        for ((key, value), count) in self.values {
            values_of.entry(key).or_default().push(CountedValue { value, count });
        }
        let keys = self.keys.into_iter().map(|(value, count)| CountedValue { value, count }).collect();
        let attributes = ranked(keys, max_keys)
            .into_iter()
            .map(|CountedValue { value: key, count }| {
                let values = values_of.remove(&key).unwrap_or_default();
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
