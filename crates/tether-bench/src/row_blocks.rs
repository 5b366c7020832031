//! Rows by position, measured: the benchmark's logs cut in append order into blocks, each
//! compressed with zstd on its own, and the lookups' records read back by position
//! (decompress the block, decode the one record). What a log store without DuckDB would
//! pay per log on disk and per record read, against DuckDB's ~75 bytes/log for the rows
//! and tantivy's document store (`--tantivy`, layout `Rows`: 79 bytes/log), for the
//! designs of issue 26:
//! - [`Layout::Records`]: each record as its OTLP protobuf bytes, one after another (what
//!   tantivy's document store holds);
//! - [`Layout::Columns`]: the block's records column by column (times as deltas, each
//!   attribute key's values together, ids as raw bytes), so zstd sees alike values side by
//!   side, as a columnar store does.

use std::collections::HashMap;
use std::time::Instant;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;

use crate::generate::{PERSON, Probes, SESSION, TRACE, attribute, id_key, service_name, text, trace_hex};

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Layout {
    Records,
    Columns,
    /// [`Layout::Columns`] compressed with a zstd dictionary trained on the first blocks,
    /// so small blocks (cheap to read one record from) compress like large ones.
    ColumnsWithDictionary,
}

/// Blocks a dictionary is trained on, and its size.
const DICTIONARY_SAMPLES: usize = 4096;
const DICTIONARY_BYTES: usize = 112 << 10;

/// A zstd level as a store writing ~80,000 logs/s on one of two cores could afford.
const ZSTD_LEVEL: i32 = 3;

/// The blocks of one layout and block size, and which lookups' records are where.
pub(crate) struct Blocks {
    layout: Layout,
    block_logs: usize,
    /// Records of the open block.
    open: Vec<(LogRecord, u32)>,
    blocks: Vec<Vec<u8>>,
    /// [`Layout::ColumnsWithDictionary`]: the uncompressed blocks until the dictionary is
    /// trained, then the dictionary.
    samples: Vec<Vec<u8>>,
    dictionary: Option<Vec<u8>>,
    /// Per position: the keys of its session, person and trace (to find the probes').
    keys: Vec<[u64; 3]>,
    /// Service names, by index (a record keeps its resource's service).
    services: Vec<String>,
    encoding_seconds: f64,
}

impl Blocks {
    pub(crate) fn new(layout: Layout, block_logs: usize) -> Blocks {
        Blocks {
            layout,
            block_logs,
            open: Vec::new(),
            blocks: Vec::new(),
            samples: Vec::new(),
            dictionary: None,
            keys: Vec::new(),
            services: Vec::new(),
            encoding_seconds: 0.0,
        }
    }

    pub(crate) fn add(&mut self, batch: &ExportLogsServiceRequest) {
        for resource in &batch.resource_logs {
            let service = service_name(resource);
            let index = match self.services.iter().position(|s| s == service) {
                Some(i) => i,
                None => {
                    self.services.push(service.to_owned());
                    self.services.len() - 1
                }
            } as u32;
            for record in resource.scope_logs.iter().flat_map(|s| &s.log_records) {
                self.keys.push([
                    id_key(SESSION, attribute(record, "sessionId")),
                    id_key(PERSON, attribute(record, "posthogDistinctId")),
                    id_key(TRACE, &trace_hex(record)),
                ]);
                self.open.push((record.clone(), index));
                if self.open.len() == self.block_logs {
                    self.seal();
                }
            }
        }
    }

    fn seal(&mut self) {
        if self.open.is_empty() {
            return;
        }
        let started = Instant::now();
        let raw = match self.layout {
            Layout::Records => records(&self.open),
            Layout::Columns | Layout::ColumnsWithDictionary => columns(&self.open),
        };
        self.open.clear();
        if self.layout != Layout::ColumnsWithDictionary {
            self.blocks.push(zstd::bulk::compress(&raw, ZSTD_LEVEL).expect("zstd compresses"));
        } else if let Some(dictionary) = &self.dictionary {
            let mut compressor =
                zstd::bulk::Compressor::with_dictionary(ZSTD_LEVEL, dictionary).expect("a dictionary");
            self.blocks.push(compressor.compress(&raw).expect("zstd compresses"));
        } else {
            self.samples.push(raw);
            if self.samples.len() == DICTIONARY_SAMPLES {
                self.train();
            }
        }
        self.encoding_seconds += started.elapsed().as_secs_f64();
    }

    /// Trains the dictionary on the blocks so far and compresses them with it.
    fn train(&mut self) {
        let dictionary =
            zstd::dict::from_samples(&self.samples, DICTIONARY_BYTES).expect("a dictionary trains");
        let mut compressor =
            zstd::bulk::Compressor::with_dictionary(ZSTD_LEVEL, &dictionary).expect("a dictionary");
        for raw in std::mem::take(&mut self.samples) {
            self.blocks.push(compressor.compress(&raw).expect("zstd compresses"));
        }
        self.dictionary = Some(dictionary);
    }

    /// The records at `positions`: each block decompressed once, its records decoded.
    fn read(&self, positions: &[usize]) -> Vec<LogRecord> {
        let mut decompressor = match &self.dictionary {
            Some(dictionary) => zstd::bulk::Decompressor::with_dictionary(dictionary),
            None => zstd::bulk::Decompressor::new(),
        }
        .expect("a decompressor");
        let mut read = Vec::with_capacity(positions.len());
        for group in positions.chunk_by(|a, b| a / self.block_logs == b / self.block_logs) {
            let block = &self.blocks[group[0] / self.block_logs];
            let raw = decompressor.decompress(block, 64 << 20).expect("a block decompresses");
            for &position in group {
                let nth = position % self.block_logs;
                read.push(match self.layout {
                    Layout::Records => record_at(&raw, nth),
                    Layout::Columns | Layout::ColumnsWithDictionary => column_record_at(&raw, nth),
                });
            }
        }
        read
    }

    /// Prints bytes per log and the time to read each lookup's records by position.
    pub(crate) fn report(mut self, probes: &Probes) {
        self.seal();
        if !self.samples.is_empty() {
            // Fewer blocks than the dictionary's samples: it is trained (and they are
            // compressed) only now, and that is encoding time too.
            let started = Instant::now();
            self.train();
            self.encoding_seconds += started.elapsed().as_secs_f64();
        }
        let logs = self.keys.len();
        let bytes: usize = self.blocks.iter().map(Vec::len).sum();
        let positions = |slot: usize, wanted: u64, limit: usize| -> Vec<usize> {
            let found: Vec<usize> = (0..logs).rev().filter(|&p| self.keys[p][slot] == wanted).collect();
            found.into_iter().take(limit).collect()
        };
        let lookups = [
            ("trace (8)", positions(2, id_key(TRACE, &probes.trace_id), 100)),
            ("person, newest 100", positions(1, id_key(PERSON, &probes.person), 100)),
            ("session (1,000)", positions(0, id_key(SESSION, &probes.session), 1000)),
        ];
        let mut times = Vec::new();
        for (name, found) in &lookups {
            let mut runs: Vec<f64> = (0..7)
                .map(|_| {
                    let started = Instant::now();
                    let read = self.read(found).iter().filter(|r| r.body.is_some()).count();
                    assert_eq!(read, found.len(), "every record has a body");
                    started.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            runs.sort_by(f64::total_cmp);
            times.push(format!("{name} {:.2} ms ({} records)", runs[3], found.len()));
        }
        let dictionary = self.dictionary.as_ref().map_or(0, Vec::len);
        println!(
            "  {:?} in blocks of {} logs: {:.1} bytes/log (dictionary included), {:.0} logs/s encoded and compressed on one core; {}",
            self.layout,
            self.block_logs,
            (bytes + dictionary) as f64 / logs as f64,
            logs as f64 / self.encoding_seconds,
            times.join(", ")
        );
    }
}

/// Each record's OTLP bytes, length-delimited, with its service's index.
fn records(open: &[(LogRecord, u32)]) -> Vec<u8> {
    let mut raw = Vec::new();
    for (record, service) in open {
        prost::encoding::encode_varint(u64::from(*service), &mut raw);
        record.encode_length_delimited(&mut raw).expect("a Vec grows");
    }
    raw
}

fn record_at(mut raw: &[u8], nth: usize) -> LogRecord {
    for i in 0.. {
        let _service = prost::encoding::decode_varint(&mut raw).expect("a service index");
        let len = prost::encoding::decode_varint(&mut raw).expect("a length") as usize;
        if i == nth {
            return LogRecord::decode(&raw[..len]).expect("a record");
        }
        raw = &raw[len..];
    }
    unreachable!()
}

/// The streams of a block in [`Layout::Columns`]: fixed-width and varint columns, then each
/// attribute key's values (length-prefixed) in one stream per key, in first-seen order.
fn columns(open: &[(LogRecord, u32)]) -> Vec<u8> {
    let mut fixed = Vec::new(); // times (deltas), severities, services, flags
    let mut ids = Vec::new(); // trace and span ids, raw
    let mut bodies = Vec::new();
    let mut shapes = Vec::new(); // per record: its key list's index
    let mut key_lists: Vec<Vec<String>> = Vec::new();
    let mut values: Vec<(String, Vec<u8>)> = Vec::new();
    let mut previous = 0i64;
    for (record, service) in open {
        let time = record.time_unix_nano as i64;
        prost::encoding::encode_varint(zigzag(time - previous), &mut fixed);
        previous = time;
        prost::encoding::encode_varint(zigzag(record.observed_time_unix_nano as i64 - time), &mut fixed);
        prost::encoding::encode_varint(record.severity_number as u64, &mut fixed);
        prost::encoding::encode_varint(u64::from(*service), &mut fixed);
        prost::encoding::encode_varint(u64::from(record.flags), &mut fixed);
        // 16 and 8 bytes, zeros for none (a real store would keep a presence bit).
        ids.extend(record.trace_id.iter().copied().chain(std::iter::repeat(0)).take(16));
        ids.extend(record.span_id.iter().copied().chain(std::iter::repeat(0)).take(8));
        string(&mut bodies, text(&record.body));
        let list: Vec<String> = record.attributes.iter().map(|a| a.key.clone()).collect();
        let shape = match key_lists.iter().position(|l| *l == list) {
            Some(i) => i,
            None => {
                key_lists.push(list);
                key_lists.len() - 1
            }
        };
        prost::encoding::encode_varint(shape as u64, &mut shapes);
        for a in &record.attributes {
            let stream = match values.iter().position(|(k, _)| *k == a.key) {
                Some(i) => i,
                None => {
                    values.push((a.key.clone(), Vec::new()));
                    values.len() - 1
                }
            };
            let value = a.value.as_ref().map(Message::encode_to_vec).unwrap_or_default();
            bytes(&mut values[stream].1, &value);
        }
    }
    let mut raw = Vec::new();
    let lists: Vec<u8> = key_lists.join(&"\u{1e}".to_owned()).join("\u{1f}").into_bytes();
    for stream in [&fixed, &ids, &bodies, &shapes, &lists] {
        prost::encoding::encode_varint(stream.len() as u64, &mut raw);
        raw.extend_from_slice(stream);
    }
    for (key, stream) in &values {
        string(&mut raw, key);
        prost::encoding::encode_varint(stream.len() as u64, &mut raw);
        raw.extend_from_slice(stream);
    }
    raw
}

/// The `nth` record of a [`columns`] block: every stream read up to it.
fn column_record_at(mut raw: &[u8], nth: usize) -> LogRecord {
    let take = |raw: &mut &[u8]| -> Vec<u8> {
        let len = prost::encoding::decode_varint(raw).expect("a length") as usize;
        let (stream, rest) = raw.split_at(len);
        *raw = rest;
        stream.to_vec()
    };
    let (fixed, ids, bodies, shapes, lists) =
        (take(&mut raw), take(&mut raw), take(&mut raw), take(&mut raw), take(&mut raw));
    let mut streams: HashMap<String, Vec<u8>> = HashMap::new();
    while !raw.is_empty() {
        let key = String::from_utf8(take(&mut raw)).expect("a key");
        streams.insert(key, take(&mut raw));
    }
    let key_lists: Vec<Vec<&str>> = std::str::from_utf8(&lists)
        .expect("key lists")
        .split('\u{1f}')
        .map(|l| if l.is_empty() { Vec::new() } else { l.split('\u{1e}').collect() })
        .collect();
    let (mut fixed, mut bodies, mut shapes) = (&fixed[..], &bodies[..], &shapes[..]);
    let mut cursors: HashMap<&str, &[u8]> = streams.iter().map(|(k, v)| (k.as_str(), &v[..])).collect();
    let mut time = 0i64;
    let mut record = LogRecord::default();
    for i in 0..=nth {
        let mut next = || prost::encoding::decode_varint(&mut fixed).expect("a number");
        time += unzigzag(next());
        let observed = time + unzigzag(next());
        let (severity, _service, flags) = (next(), next(), next());
        let body = read_string(&mut bodies);
        let list = &key_lists[prost::encoding::decode_varint(&mut shapes).expect("a shape") as usize];
        let attributes: Vec<(&str, &[u8])> =
            list.iter().map(|k| (*k, read_bytes(cursors.get_mut(k).expect("a key's stream")))).collect();
        if i == nth {
            record.time_unix_nano = time as u64;
            record.observed_time_unix_nano = observed as u64;
            record.severity_number = severity as i32;
            record.flags = flags as u32;
            record.trace_id = ids[i * 24..i * 24 + 16].to_vec();
            record.span_id = ids[i * 24 + 16..i * 24 + 24].to_vec();
            record.body = Some(AnyValue { value: Some(Value::StringValue(body)) });
            record.attributes = attributes
                .into_iter()
                .map(|(k, v)| opentelemetry_proto::tonic::common::v1::KeyValue {
                    key: k.to_owned(),
                    value: AnyValue::decode(v).ok(),
                })
                .collect();
        }
    }
    record
}

fn string(out: &mut Vec<u8>, s: &str) {
    bytes(out, s.as_bytes());
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    prost::encoding::encode_varint(b.len() as u64, out);
    out.extend_from_slice(b);
}

fn read_bytes<'a>(raw: &mut &'a [u8]) -> &'a [u8] {
    let len = prost::encoding::decode_varint(raw).expect("a length") as usize;
    let (b, rest) = raw.split_at(len);
    *raw = rest;
    b
}

fn read_string(raw: &mut &[u8]) -> String {
    String::from_utf8_lossy(read_bytes(raw)).into_owned()
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}
