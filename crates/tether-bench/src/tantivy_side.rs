//! The logs benchmark's lookups answered by tantivy (the engine inside Quickwit) over the
//! same generated logs, in process: the figures Tether's index design is measured against
//! (issue 26 asks for tantivy as one of the designs), in two layouts:
//! - [`Layout::Store`], tantivy as the log store (Quickwit's way): the body tokenized with
//!   positions, ids as exact terms, the time, severity and service as fast fields, every
//!   field stored (zstd) for the page of results;
//! - [`Layout::Terms`], an index beside a columnar store that keeps the rows: terms only
//!   (no positions, norms or stored documents), the time as a fast field, so a lookup yields
//!   the rows to fetch.

use std::time::Instant;

use anyhow::Context;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
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

use crate::generate::Probes;
use crate::templates::{COMMON_TERM, RARE_TERM};

struct Fields {
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
}

/// A tantivy index being filled with the benchmark's logs.
pub(crate) struct Side {
    layout: Layout,
    index: Index,
    writer: IndexWriter,
    fields: Fields,
    dir: tempfile::TempDir,
    indexing_seconds: f64,
}

fn text(v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        _ => String::new(),
    }
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
        };
        let fields = Fields {
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
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .map(|a| text(&a.value))
                .unwrap_or_default();
            for record in resource.scope_logs.iter().flat_map(|s| &s.log_records) {
                let attr = |key: &str| {
                    record
                        .attributes
                        .iter()
                        .find(|a| a.key == key)
                        .map(|a| text(&a.value))
                        .unwrap_or_default()
                };
                let trace: String = record.trace_id.iter().map(|b| format!("{b:02x}")).collect();
                self.writer.add_document(doc!(
                    f.ts => record.time_unix_nano as i64,
                    f.severity => u64::try_from(record.severity_number).unwrap_or(0),
                    f.service => service.clone(),
                    f.body => text(&record.body),
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
        };
        println!(
            "tantivy 0.27 {layout}, over the same logs in process: indexed at {:.0} logs/s (one writer, 2 threads), {} segments",
            logs as f64 / indexing,
            searcher.segment_readers().len()
        );
        let store = self.layout == Layout::Store;
        let f = &self.fields;
        let term = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
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
        let newest = |query: &dyn Query, limit: usize| -> anyhow::Result<usize> {
            let top = searcher
                .search(query, &TopDocs::with_limit(limit).order_by_fast_field::<i64>("ts", Order::Desc))?;
            if store {
                for (_, address) in &top {
                    let _: TantivyDocument = searcher.doc(*address)?;
                }
            }
            Ok(top.len())
        };
        let substring = RegexQuery::from_pattern(&format!(".*{}.*", &probes.needle[2..14]), f.body)
            .context("the substring's pattern")?;
        let lookups: Vec<(&str, Box<dyn Query>, usize)> = vec![
            ("a token that occurs once, newest 100", term(f.body, &probes.needle), 100),
            ("12-character substring of it (regex)", Box::new(substring), 100),
            ("attribute request_id = X (8 logs)", term(f.request_id, &probes.request_id), 100),
            ("one trace's logs (8 logs)", term(f.trace_id, &probes.trace_id), 100),
            ("one person's logs, newest 100", term(f.distinct_id, &probes.person), 100),
            ("one session's logs", term(f.session_id, &probes.session), 1000),
            ("rare term, newest 100", term(f.body, &RARE_TERM.to_lowercase()), 100),
            ("common term, newest 100", phrase(COMMON_TERM), 100),
        ];
        for (name, query, limit) in &lookups {
            let (p50, n) = time(&mut || newest(query.as_ref(), *limit))?;
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
        let (p50, n) = time(&mut || Ok(buckets(&aggregate(common.as_ref(), histogram.clone())?)))?;
        println!("  {:<40} p50 {p50:7.2} ms   {n} buckets", "histogram of a search");
        let (p50, n) = time(&mut || Ok(buckets(&aggregate(&AllQuery, by_severity.clone())?)))?;
        println!("  {:<40} p50 {p50:7.2} ms   {n} buckets", "histogram of 24 h by severity");
        let (p50, n) = time(&mut || {
            Ok(aggregate(&AllQuery, facets.clone())?["s"]["buckets"].as_array().map_or(0, Vec::len))
        })?;
        println!("  {:<40} p50 {p50:7.2} ms   {n} services", "facets (top services)");
        let mut answer = serde_json::Value::Null;
        let (p50, _) = time(&mut || {
            let count = searcher.search(common.as_ref(), &Count)?;
            answer = aggregate(common.as_ref(), summary.clone())?;
            answer["logs"] = count.into();
            Ok(count)
        })?;
        println!(
            "  {:<40} p50 {p50:7.2} ms   {} logs · {} sessions · {} users (sessions and users: HyperLogLog)",
            "logs · sessions · users of a search",
            answer["logs"],
            answer["sessions"]["value"],
            answer["users"]["value"]
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
