//! Facets: the services, severities and attribute keys and values of the logs a filter
//! matches, for the explorer's sidebar and the filter's autocomplete.
//!
//! The attribute columns of a sample of the newest matches are read as Arrow batches and
//! counted here: the same counts as SQL (`unnest` of every log's keys and values, grouped,
//! ranked by window functions, joined) took ~20 of the 44 ms a 24 h facet request cost at
//! 10 M logs, for ~60,000 (key, value) pairs; DuckDB's scan of those columns is ~2.5 ms.

use duckdb::arrow::array::{Array, ArrayRef, AsArray, MapArray, RecordBatch, StringArray, UInt8Array};
use duckdb::arrow::compute::cast;
use duckdb::arrow::datatypes::DataType;
use duckdb::arrow::datatypes::UInt8Type;
use duckdb::types::Value;
use duckdb::{Connection, params_from_iter};
use tether_store::{Facets, LogFilter, StoreError, StoreResult};

use super::columns::{ATTRIBUTE_COLUMNS, KEY_SEPARATOR, SLOTS};
use super::db_err;
use super::read::{filter_where, newest_start, rollup_start, totals};
use crate::facet_tally::{FACET_SAMPLE, Tally, ordered};
use crate::text_index::BlockSpan;

/// Facets. Services and severities are exact from the per-minute counts when those can
/// answer the filter; otherwise (a search, an attribute filter …) they are counted, like
/// the attributes always are, over a sample: the newest [`FACET_SAMPLE`] matching logs.
pub(super) fn facets(
    conn: &Connection,
    filter: &LogFilter,
    blocks: Option<&[BlockSpan]>,
    max_keys: usize,
    max_values: usize,
) -> StoreResult<Facets> {
    let Some(mut w) = filter_where(conn, filter, blocks)? else { return Ok(Facets::default()) };
    // The per-minute counts say which minutes hold the newest logs, when they can answer
    // the filter: at 10 M logs a day, the first 1/256 of it held ~40,000 logs to rank.
    let exact_totals = !filter.narrower_than_counts();
    let first_slice = exact_totals.then(|| rollup_start(conn, filter, FACET_SAMPLE as i64)).transpose()?;
    let sample_start = newest_start(conn, &w, filter, FACET_SAMPLE as i64, first_slice)?;
    w.push("ts >= ?", [Value::BigInt(sample_start)]);
    let sql = format!("SELECT {}, service, severity {}", *ATTRIBUTE_COLUMNS, w.source_sql());
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err("cannot prepare facet query"))?;
    let batches: Vec<RecordBatch> = stmt
        .query_arrow(params_from_iter(w.source_params().iter()))
        .map_err(db_err("facet query failed"))?
        .collect();
    let mut tally = Tally::default();
    for batch in &batches {
        add(&mut tally, &SampleColumns::of(batch)?);
    }
    let mut facets = tally.facets(max_keys, max_values);
    if exact_totals {
        (facets.services, facets.severities) = totals(conn, filter, blocks)?;
    } else {
        // The sample holds every match unless it is full.
        facets.sampled = facets.services.iter().map(|s| s.count).sum::<u64>() >= FACET_SAMPLE as u64;
    }
    Ok(ordered(facets))
}

/// One Arrow batch of the sample, in [`ATTRIBUTE_COLUMNS`]' order and then the service and
/// severity, every text column as `Utf8`.
struct SampleColumns {
    keys: StringArray,
    slots: Vec<StringArray>,
    /// The `more_attributes` MAP and its entries' keys and values.
    more: Option<(MapArray, StringArray, StringArray)>,
    types: StringArray,
    session: StringArray,
    distinct: StringArray,
    service: StringArray,
    severity: UInt8Array,
}

impl SampleColumns {
    fn of(batch: &RecordBatch) -> StoreResult<SampleColumns> {
        let text = |i: usize| utf8(batch.column(i));
        let more = match batch.column(SLOTS + 1).as_map_opt() {
            Some(map) => Some((map.clone(), utf8(map.keys())?, utf8(map.values())?)),
            None => None,
        };
        Ok(SampleColumns {
            keys: text(0)?,
            slots: (1..=SLOTS).map(text).collect::<StoreResult<_>>()?,
            more,
            types: text(SLOTS + 2)?,
            session: text(SLOTS + 3)?,
            distinct: text(SLOTS + 4)?,
            service: text(SLOTS + 5)?,
            severity: cast(batch.column(SLOTS + 6), &DataType::UInt8)
                .map_err(|e| StoreError::internal("facet column is not a severity", e))?
                .as_primitive::<UInt8Type>()
                .clone(),
        })
    }
}

fn utf8(column: &ArrayRef) -> StoreResult<StringArray> {
    let column =
        cast(column, &DataType::Utf8).map_err(|e| StoreError::internal("facet column is not text", e))?;
    Ok(column.as_string::<i32>().clone())
}

/// Counts one Arrow batch of the sample.
fn add<'a>(tally: &mut Tally, c: &'a SampleColumns) {
    for row in 0..c.keys.len() {
        if c.service.is_valid(row) {
            tally.add_service(c.service.value(row), 1);
        }
        if c.severity.is_valid(row) {
            tally.add_severity(c.severity.value(row), 1);
        }
        let types = if c.types.is_valid(row) { c.types.value(row).as_bytes() } else { &[] };
        let id = |column: &'a StringArray| column.is_valid(row).then(|| column.value(row));
        let slot_keys = if c.keys.is_valid(row) { c.keys.value(row) } else { "" };
        let slot_keys = slot_keys.split(KEY_SEPARATOR).filter(|_| !slot_keys.is_empty());
        for (i, key) in slot_keys.take(SLOTS).enumerate() {
            // As filters see it: a slot whose type is `S` / `P` stands for the log's ids.
            let value = match types.get(i) {
                Some(b'S') => id(&c.session),
                Some(b'P') => id(&c.distinct),
                _ => id(&c.slots[i]),
            };
            tally.count(key, value);
        }
        if let Some((more, keys, values)) = c.more.as_ref().filter(|(m, ..)| m.is_valid(row)) {
            let offsets = more.value_offsets();
            for j in offsets[row] as usize..offsets[row + 1] as usize {
                tally.count(keys.value(j), values.is_valid(j).then(|| values.value(j)));
            }
        }
    }
}
