//! The logs benchmark's lookups answered by tantivy (the engine inside Quickwit) over the
//! same generated logs, in process: the figures Tether's index design is measured against
//! (issue 26 asks for tantivy as one of the designs), in two layouts:
//! - [`Layout::Store`], tantivy as the log store (Quickwit's way): the body tokenized with
//!   positions, ids as exact terms, the time, severity and service as fast fields, every
//!   field stored (zstd) for the page of results;
//! - [`Layout::Terms`], an index beside a columnar store that keeps the rows: terms only
//!   (no positions, norms or stored documents), the time as a fast field, so a lookup yields
//!   the rows to fetch;
//! - [`Layout::Rows`], tantivy as the only log store, sized for Tether's budget: each whole
//!   record (every attribute, trace and span id) stored once as its OTLP bytes, body words
//!   without positions or norms (a phrase is checked on the rows it yields, so counts stay
//!   exact), ids as 64-bit keys (no text dictionary), the time, severity, service and the
//!   session's and person's keys as fast fields.

use std::time::Instant;

use anyhow::Context;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;
use tantivy::aggregation::AggregationCollector;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, PhraseQuery, Query, RegexQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, NumericOptions, STORED, STRING, Schema, TEXT, TextFieldIndexing,
    TextOptions,
};
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{Index, IndexSettings, IndexWriter, Order, TantivyDocument, Term, doc};

use crate::generate::{
    PERSON, Probes, REQUEST, SESSION, TRACE, attribute, id_key, service_name, text, trace_hex,
};
use crate::templates::{COMMON_TERM, RARE_TERM};

struct Fields {
    /// [`Layout::Rows`]: the keys of the record's session, person, trace and request id.
    keys: Field,
    session_key: Field,
    person_key: Field,
    /// [`Layout::Rows`]: the record as OTLP protobuf.
    row: Field,
    ts: Field,
    severity: Field,
    service: Field,
    body: Field,
    request_id: Field,
    trace_id: Field,
    session_id: Field,
    distinct_id: Field,
}

/// What the index holds.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Layout {
    Store,
    Terms,
    Rows,
}

/// A timed lookup: its name, query, page size, and the phrase its records must hold where
/// words have no positions.
type Lookup<'a> = (&'a str, Box<dyn Query>, usize, Option<&'a str>);

/// A tantivy index being filled with the benchmark's logs.
pub(crate) struct Side {
    layout: Layout,
    index: Index,
    writer: IndexWriter,
    fields: Fields,
    dir: tempfile::TempDir,
    indexing_seconds: f64,
}

impl Side {
    pub(crate) fn new(layout: Layout) -> anyhow::Result<Side> {
        let mut schema = Schema::builder();
        let store = layout == Layout::Store;
        let numeric = |o: NumericOptions| if store { o.set_stored() } else { o };
        let service: TextOptions = STRING | FAST;
        // Terms only: no positions (phrases are checked on the fetched rows), no norms.
        let terms = |tokenizer: &str| {
            let indexing = TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(false);
            TextOptions::default().set_indexing_options(indexing)
        };
        let (body, id) = match layout {
            Layout::Store => (TEXT | STORED, STRING | STORED),
            Layout::Terms => (terms("default"), terms("raw")),
            Layout::Rows => (terms("default"), TextOptions::default()),
        };
        let fields = Fields {
            keys: schema.add_u64_field("keys", NumericOptions::default().set_indexed()),
            session_key: schema.add_u64_field("session_key", NumericOptions::default().set_fast()),
            person_key: schema.add_u64_field("person_key", NumericOptions::default().set_fast()),
            row: schema.add_bytes_field("row", STORED),
            ts: schema.add_i64_field("ts", numeric(NumericOptions::default().set_fast().set_indexed())),
            severity: schema.add_u64_field("severity", numeric(NumericOptions::default().set_fast())),
            service: schema.add_text_field("service", if store { service.set_stored() } else { service }),
            body: schema.add_text_field("body", body),
            request_id: schema.add_text_field("request_id", id.clone()),
            trace_id: schema.add_text_field("trace_id", id.clone()),
            session_id: schema.add_text_field("session_id", id.clone() | FAST),
            distinct_id: schema.add_text_field("distinct_id", id | FAST),
        };
        let dir = tempfile::tempdir()?;
        // zstd for the documents, as Quickwit stores them (tantivy's default is lz4).
        let settings = IndexSettings {
            docstore_compression: Compressor::Zstd(ZstdCompressor::default()),
            ..Default::default()
        };
        let index = Index::builder().schema(schema.build()).settings(settings).create_in_dir(dir.path())?;
        let writer = index.writer(256 << 20)?;
        Ok(Side { layout, index, writer, fields, dir, indexing_seconds: 0.0 })
    }

    /// Indexes one batch of the generated logs.
    pub(crate) fn add(&mut self, batch: &ExportLogsServiceRequest) -> anyhow::Result<()> {
        let started = Instant::now();
        let f = &self.fields;
        for resource in &batch.resource_logs {
            let service = service_name(resource).to_owned();
            for record in resource.scope_logs.iter().flat_map(|s| &s.log_records) {
                let attr = |key: &str| attribute(record, key).to_owned();
                let trace = trace_hex(record);
                if self.layout == Layout::Rows {
                    let (session, person) = (attr("sessionId"), attr("posthogDistinctId"));
                    let mut doc = doc!(
                        f.ts => record.time_unix_nano as i64,
                        f.severity => u64::try_from(record.severity_number).unwrap_or(0),
                        f.service => service.clone(),
                        f.body => text(&record.body).to_owned(),
                        f.session_key => id_key(SESSION, &session),
                        f.person_key => id_key(PERSON, &person),
                        f.row => record.encode_to_vec(),
                    );
                    for (kind, value) in [
                        (SESSION, &session),
                        (PERSON, &person),
                        (TRACE, &trace),
                        (REQUEST, &attr("request_id")),
                    ] {
                        let key = id_key(kind, value);
                        if key != 0 {
                            doc.add_u64(f.keys, key);
                        }
                    }
                    self.writer.add_document(doc)?;
                    continue;
                }
                self.writer.add_document(doc!(
                    f.ts => record.time_unix_nano as i64,
                    f.severity => u64::try_from(record.severity_number).unwrap_or(0),
                    f.service => service.clone(),
                    f.body => text(&record.body).to_owned(),
                    f.request_id => attr("request_id"),
                    f.trace_id => trace,
                    f.session_id => attr("sessionId"),
                    f.distinct_id => attr("posthogDistinctId"),
                ))?;
            }
        }
        self.indexing_seconds += started.elapsed().as_secs_f64();
        Ok(())
    }

    /// Commits, merges nothing further, and times the same lookups as the API's.
    pub(crate) fn report(mut self, probes: &Probes, logs: u64, repeat: usize) -> anyhow::Result<()> {
        let started = Instant::now();
        self.writer.commit()?;
        self.writer.wait_merging_threads()?;
        let indexing = self.indexing_seconds + started.elapsed().as_secs_f64();
        let reader = self.index.reader()?;
        let searcher = reader.searcher();
        let layout = match self.layout {
            Layout::Store => "as the log store (documents stored, zstd)",
            Layout::Terms => "as an index of terms only (no documents, positions or norms)",
            Layout::Rows => {
                "as the only log store (whole records stored, zstd; words without positions; id keys)"
            }
        };
        println!(
            "tantivy 0.27 {layout}, over the same logs in process: indexed at {:.0} logs/s (one writer, 2 threads), {} segments",
            logs as f64 / indexing,
            searcher.segment_readers().len()
        );
        let store = self.layout == Layout::Store;
        let rows = self.layout == Layout::Rows;
        let f = &self.fields;
        let term = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
        };
        // An id: its key where the layout has keys, else its text in its own field.
        let id = |kind: u8, field: Field, value: &str| -> Box<dyn Query> {
            if rows {
                return Box::new(TermQuery::new(
                    Term::from_field_u64(f.keys, id_key(kind, value)),
                    IndexRecordOption::Basic,
                ));
            }
            term(field, value)
        };
        // The records of `docs` whose body holds `phrase` (lower-cased), as (time, session key,
        // person key): a query of words without positions finds a superset.
        let confirmed = |docs: &mut dyn Iterator<Item = tantivy::DocAddress>,
                         phrase: &str|
         -> anyhow::Result<Vec<(i64, u64, u64)>> {
            let mut kept = Vec::new();
            for address in docs {
                let doc: TantivyDocument = searcher.doc(address)?;
                let bytes =
                    doc.get_first(f.row).and_then(|v| tantivy::schema::Value::as_bytes(&v)).unwrap_or(&[]);
                let record = opentelemetry_proto::tonic::logs::v1::LogRecord::decode(bytes)?;
                if !text(&record.body).to_lowercase().contains(phrase) {
                    continue;
                }
                let ts = record.time_unix_nano as i64;
                let (session, person) =
                    (attribute(&record, "sessionId"), attribute(&record, "posthogDistinctId"));
                kept.push((ts, id_key(SESSION, session), id_key(PERSON, person)));
            }
            Ok(kept)
        };
        // Without positions, a phrase is its words (the fetched rows are checked for it).
        let phrase = |words: &str| -> Box<dyn Query> {
            let terms: Vec<Term> = words.split(' ').map(|w| Term::from_field_text(f.body, w)).collect();
            if store {
                return Box::new(PhraseQuery::new(terms));
            }
            let each = terms
                .into_iter()
                .map(|t| -> Box<dyn Query> { Box::new(TermQuery::new(t, IndexRecordOption::Basic)) });
            Box::new(BooleanQuery::intersection(each.collect()))
        };
        let time = |run: &mut dyn FnMut() -> anyhow::Result<usize>| -> anyhow::Result<(f64, usize)> {
            let mut times = Vec::new();
            let mut n = 0;
            for _ in 0..repeat {
                let t = Instant::now();
                n = run()?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            Ok((times[times.len() / 2], n))
        };
        // The newest `limit` matches, each document read whole (as a page of results is)
        // where the index stores them; else the rows to fetch are what it yields.
        // With words but no positions, a phrase's candidates are read twice as deep and
        // checked on their records.
        let newest = |query: &dyn Query, limit: usize, phrase: Option<&str>| -> anyhow::Result<usize> {
            let depth = if rows && phrase.is_some() { limit * 2 } else { limit };
            let top = searcher
                .search(query, &TopDocs::with_limit(depth).order_by_fast_field::<i64>("ts", Order::Desc))?;
            if let (true, Some(phrase)) = (rows, phrase) {
                return Ok(confirmed(&mut top.iter().map(|(_, a)| *a), phrase)?.len().min(limit));
            }
            if store || rows {
                for (_, address) in &top {
                    let _: TantivyDocument = searcher.doc(*address)?;
                }
            }
            Ok(top.len())
        };
        let substring = RegexQuery::from_pattern(&format!(".*{}.*", &probes.needle[2..14]), f.body)
            .context("the substring's pattern")?;
        let lookups: Vec<Lookup> = vec![
            ("a token that occurs once, newest 100", term(f.body, &probes.needle), 100, None),
            ("12-character substring of it (regex)", Box::new(substring), 100, None),
            ("attribute request_id = X (8 logs)", id(REQUEST, f.request_id, &probes.request_id), 100, None),
            ("one trace's logs (8 logs)", id(TRACE, f.trace_id, &probes.trace_id), 100, None),
            ("one person's logs, newest 100", id(PERSON, f.distinct_id, &probes.person), 100, None),
            ("one session's logs", id(SESSION, f.session_id, &probes.session), 1000, None),
            ("rare term, newest 100", term(f.body, &RARE_TERM.to_lowercase()), 100, None),
            ("common term, newest 100", phrase(COMMON_TERM), 100, Some(COMMON_TERM)),
        ];
        for (name, query, limit, phrase) in &lookups {
            let (p50, n) = time(&mut || newest(query.as_ref(), *limit, *phrase))?;
            println!("  {name:<40} p50 {p50:7.2} ms   {n} logs");
        }
        let hour_ns = 3_600_000_000_000i64;
        let aggregate = |query: &dyn Query, aggs: serde_json::Value| -> anyhow::Result<serde_json::Value> {
            let aggs: Aggregations = serde_json::from_value(aggs)?;
            let collector = AggregationCollector::from_aggs(aggs, Default::default());
            Ok(serde_json::to_value(searcher.search(query, &collector)?)?)
        };
        let common = phrase(COMMON_TERM);
        let histogram =
            serde_json::json!({"h": {"histogram": {"field": "ts", "interval": hour_ns as f64 / 2.0}}});
        let by_severity = serde_json::json!({"h": {"histogram": {"field": "ts", "interval": hour_ns as f64 / 2.0},
            "aggs": {"s": {"terms": {"field": "severity"}}}}});
        let facets = serde_json::json!({"s": {"terms": {"field": "service", "size": 10}}});
        let summary = serde_json::json!({"sessions": {"cardinality": {"field": "session_id"}},
            "users": {"cardinality": {"field": "distinct_id"}}});
        let buckets = |v: &serde_json::Value| v["h"]["buckets"].as_array().map_or(0, Vec::len);
        // Where words have no positions, every candidate of the phrase is checked on its
        // record, so the counts are exact.
        let matches = || -> anyhow::Result<Vec<(i64, u64, u64)>> {
            let docs = searcher.search(common.as_ref(), &tantivy::collector::DocSetCollector)?;
            confirmed(&mut docs.into_iter(), COMMON_TERM)
        };
        let (p50, n) = time(&mut || {
            if rows {
                let half_hours: std::collections::HashSet<i64> =
                    matches()?.iter().map(|(ts, ..)| ts / (hour_ns / 2)).collect();
                return Ok(half_hours.len());
            }
            Ok(buckets(&aggregate(common.as_ref(), histogram.clone())?))
        })?;
        println!("  {:<40} p50 {p50:7.2} ms   {n} buckets", "histogram of a search");
        let (p50, n) = time(&mut || Ok(buckets(&aggregate(&AllQuery, by_severity.clone())?)))?;
        println!("  {:<40} p50 {p50:7.2} ms   {n} buckets", "histogram of 24 h by severity");
        let (p50, n) = time(&mut || {
            Ok(aggregate(&AllQuery, facets.clone())?["s"]["buckets"].as_array().map_or(0, Vec::len))
        })?;
        println!("  {:<40} p50 {p50:7.2} ms   {n} services", "facets (top services)");
        let mut answer = serde_json::Value::Null;
        let (p50, _) = time(&mut || {
            if rows {
                let found = matches()?;
                let distinct = |pick: fn(&(i64, u64, u64)) -> u64| {
                    found
                        .iter()
                        .map(pick)
                        .filter(|&k| k != 0)
                        .collect::<std::collections::HashSet<u64>>()
                        .len()
                };
                answer = serde_json::json!({"logs": found.len(), "sessions": {"value": distinct(|m| m.1)},
                    "users": {"value": distinct(|m| m.2)}});
                return Ok(found.len());
            }
            let count = searcher.search(common.as_ref(), &Count)?;
            answer = aggregate(common.as_ref(), summary.clone())?;
            answer["logs"] = count.into();
            Ok(count)
        })?;
        println!(
            "  {:<40} p50 {p50:7.2} ms   {} logs · {} sessions · {} users ({})",
            "logs · sessions · users of a search",
            answer["logs"],
            answer["sessions"]["value"],
            answer["users"]["value"],
            if rows { "exact, every candidate's record checked" } else { "sessions and users: HyperLogLog" }
        );
        // Per part of the index: the documents (`store`), postings (`idx`), positions (`pos`),
        // terms (`term`), fast fields (`fast`), norms.
        let mut parts: std::collections::BTreeMap<String, u64> = Default::default();
        for entry in std::fs::read_dir(self.dir.path())?.flatten() {
            let path = entry.path();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("other").to_owned();
            *parts.entry(ext).or_default() += entry.metadata().map_or(0, |m| m.len());
        }
        let per_log = |bytes: u64| bytes as f64 / logs as f64;
        let total: u64 = parts.values().sum();
        let detail: Vec<String> =
            parts.iter().map(|(ext, bytes)| format!("{ext} {:.1}", per_log(*bytes))).collect();
        println!(
            "  index: {:.1} MB = {:.1} bytes/log (by part: {})",
            total as f64 / 1e6,
            per_log(total),
            detail.join(", ")
        );
        Ok(())
    }
}
