//! What a crash can leave of the row store's files, and that every acknowledged log is
//! read back once from it: a write-ahead frame cut short, a crash between a segment's
//! rename and the restart of the write-ahead file, segments compressed with the trained
//! dictionary; which reads keep the blocks they decompress; and that the per-minute counts
//! kept joined follow later segments and deletes.

use std::path::Path;

use tether_model::{AttrValue, Attributes, LogId, LogRecord};
use tether_store::{Breakdown, LogFilter, StoredLog};

use super::read::Reading;
use super::{Rows, Settings};

const T0: i64 = 1_700_000_000_000_000_000;
const SEC: i64 = 1_000_000_000;

/// A request's log: ids grow with `n`, a session per 100, a request id per 4.
fn log(n: i64) -> StoredLog {
    let body = format!(
        "GET /api/orders/{} 200 in {} ms user={} region=eu-west-{}",
        n * 7919 % 100_003,
        n % 97,
        n % 13,
        n % 3
    );
    let record = LogRecord {
        session_id: Some(format!("s-{}", n / 100)),
        attributes: Attributes(vec![("request_id".into(), AttrValue::String(format!("req-{:08}", n / 4)))]),
        ..tether_store::conformance::logs::sample(1, T0 + n * 1_000_000, &body)
    };
    StoredLog { id: LogId(1_000 + n), record }
}

fn append(rows: &Rows, range: std::ops::Range<i64>) {
    rows.append(range.map(log).collect()).expect("append");
}

/// Every log of project 1, oldest first by id.
fn all(rows: &Rows) -> Vec<i64> {
    let view = rows.view(1).expect("a project");
    let filter = LogFilter::new(1, i64::MIN, i64::MAX);
    let reading = Reading::new(rows, &view, &filter).expect("a reading");
    let mut ids: Vec<i64> =
        reading.search(1_000_000, None).expect("search").logs.iter().map(|l| l.id.0).collect();
    ids.sort_unstable();
    ids
}

fn ids(range: std::ops::Range<i64>) -> Vec<i64> {
    range.map(|n| 1_000 + n).collect()
}

fn wal(dir: &Path) -> std::path::PathBuf {
    dir.join("p1").join("wal")
}

#[test]
fn segments_with_a_trained_dictionary_read_back_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings { segment_blocks: 64, ..Settings::default() };
    {
        let rows = Rows::open(dir.path(), settings).unwrap();
        for start in (0..5_000).step_by(700) {
            append(&rows, start..(start + 700).min(5_000));
        }
        assert_eq!(all(&rows), ids(0..5_000));
    }
    assert!(dir.path().join("p1").join("dictionary-1.zstd").exists(), "the first segment trained one");
    let rows = Rows::open(dir.path(), settings).unwrap();
    assert_eq!(all(&rows), ids(0..5_000), "two segments of 2,048 and the rest replayed");
    let view = rows.view(1).unwrap();
    assert_eq!(view.segments.len(), 2);
    assert!(view.segments.iter().all(|s| s.dictionary.is_some()));
}

#[test]
fn a_write_ahead_frame_cut_short_is_dropped_and_appends_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings { segment_blocks: 64, ..Settings::default() };
    {
        let rows = Rows::open(dir.path(), settings).unwrap();
        append(&rows, 0..10);
        // Three parts in one frame: 22 logs completing the open block, a block, 16 after.
        append(&rows, 10..80);
    }
    let file = std::fs::OpenOptions::new().write(true).open(wal(dir.path())).unwrap();
    let len = file.metadata().unwrap().len();
    file.set_len(len - 3).unwrap(); // the second frame's last bytes never reached the disk
    drop(file);
    {
        let rows = Rows::open(dir.path(), settings).unwrap();
        assert_eq!(all(&rows), ids(0..10), "the cut frame's append never returned: none of it is kept");
        append(&rows, 80..90);
    }
    let rows = Rows::open(dir.path(), settings).unwrap();
    assert_eq!(all(&rows), ids(0..10).into_iter().chain(ids(80..90)).collect::<Vec<_>>());
}

#[test]
fn a_write_ahead_file_of_the_first_layout_is_read_and_written_again() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("p1")).unwrap();
    // Its layout: a header, then frames of one block each (a length, a CRC, the block).
    let mut bytes = b"TWAL0001".to_vec();
    bytes.extend(0u64.to_le_bytes());
    for range in [0..40, 40..50] {
        let block = super::codec::encode(&range.map(log).collect::<Vec<_>>()).unwrap();
        bytes.extend((block.len() as u32).to_le_bytes());
        bytes.extend(crc32fast::hash(&block).to_le_bytes());
        bytes.extend(&block);
    }
    std::fs::write(wal(dir.path()), bytes).unwrap();
    let settings = Settings { segment_blocks: 64, ..Settings::default() };
    {
        let rows = Rows::open(dir.path(), settings).unwrap();
        assert_eq!(all(&rows), ids(0..50));
        append(&rows, 50..120);
    }
    assert_eq!(&std::fs::read(wal(dir.path())).unwrap()[..8], b"TWAL0002");
    let rows = Rows::open(dir.path(), settings).unwrap();
    assert_eq!(all(&rows), ids(0..120));
}

#[test]
fn a_crash_between_sealing_a_segment_and_restarting_the_write_ahead_file_loses_and_repeats_nothing() {
    let (dir, before) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let small = Settings { segment_blocks: 2, ..Settings::default() };
    {
        // The same appends into a store that never seals: its write-ahead file is what the
        // sealing store's was just before its segment was written.
        let rows =
            Rows::open(before.path(), Settings { segment_blocks: 1 << 20, ..Settings::default() }).unwrap();
        append(&rows, 0..40);
        append(&rows, 40..70);
        let rows = Rows::open(dir.path(), small).unwrap();
        append(&rows, 0..40);
        append(&rows, 40..70);
        assert_eq!(rows.view(1).unwrap().segments.len(), 1, "64 logs sealed, 6 after them");
    }
    std::fs::copy(wal(before.path()), wal(dir.path())).unwrap();
    let rows = Rows::open(dir.path(), small).unwrap();
    assert_eq!(all(&rows), ids(0..70), "the sealed logs are skipped in the old file");
    drop(rows);
    let rows = Rows::open(dir.path(), small).unwrap();
    assert_eq!(all(&rows), ids(0..70), "and the file was restarted without them");
}

#[test]
fn a_search_of_words_is_counted_exactly_and_other_costly_searches_from_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings { segment_blocks: 64, exact_scan_logs: 16_384 };
    let rows = Rows::open(dir.path(), settings).unwrap();
    for start in (0..100_000).step_by(5_000) {
        rows.append(
            (start..start + 5_000)
                .map(|n| {
                    let mut l = log(n);
                    if n % 4 == 0 {
                        l.record.body = format!("upstream timed out after {} ms", n % 1000);
                    }
                    l
                })
                .collect(),
        )
        .unwrap();
    }
    let view = rows.view(1).unwrap();
    let search = |text: &str| {
        let mut filter = LogFilter::new(1, i64::MIN / 2, i64::MAX / 2);
        filter.and_query(tether_store::LogExpr::body(text));
        filter
    };
    let count = |histogram: &tether_store::Histogram| histogram.buckets.iter().map(|b| b.count).sum::<u64>();

    // Words: counted from the id index, committed or not, exactly.
    let words = search("TIMED OUT");
    let reading = Reading::new(&rows, &view, &words).unwrap();
    let histogram = reading.histogram(i64::MAX / 4, tether_store::Breakdown::Severity).unwrap();
    assert!(!histogram.approximate);
    assert_eq!(count(&histogram), 25_000);
    rows.ids.commit().unwrap();
    let reading = Reading::new(&rows, &view, &words).unwrap();
    assert_eq!(count(&reading.histogram(i64::MAX / 4, tether_store::Breakdown::Severity).unwrap()), 25_000);
    assert_eq!(reading.summary().unwrap().logs, 25_000);

    // Not words (it ends in a space): read from the logs, in pieces.
    let text = search("out after ");
    let reading = Reading::new(&rows, &view, &text).unwrap();
    let histogram = reading.histogram(i64::MAX / 4, tether_store::Breakdown::Severity).unwrap();
    let estimated = count(&histogram);
    assert!(histogram.approximate, "100,000 candidates over 16,384: a sample of pieces");
    assert!((20_000..=30_000).contains(&estimated), "25,000 match, estimated {estimated}");
    assert_eq!(reading.summary().unwrap().logs, 25_000, "the summary counts every match");

    let sample = reading.sample(100, 100_000).unwrap();
    assert!(!sample.is_empty());
    for s in &sample {
        assert!(s.body.contains("timed out"), "{}", s.body);
        // One piece in 8 read, 8 × 100 remainders kept.
        assert!(super::segment::residue(s.id.0) < 800, "{}", s.id.0);
    }

    let exact = Rows::open(tempfile::tempdir().unwrap().path(), Settings::default()).unwrap();
    exact.append((0..1_000).map(log).collect()).unwrap();
    let view = exact.view(1).unwrap();
    let mut filter = LogFilter::new(1, i64::MIN / 2, i64::MAX / 2);
    filter.and_query(tether_store::LogExpr::body("orders"));
    let histogram = Reading::new(&exact, &view, &filter)
        .unwrap()
        .histogram(i64::MAX / 4, tether_store::Breakdown::Severity)
        .unwrap();
    assert!(!histogram.approximate);
    assert_eq!(histogram.buckets.iter().map(|b| b.count).sum::<u64>(), 1_000);
}

#[test]
fn a_block_a_lookup_or_page_read_is_read_from_memory_next_time_and_a_fold_reads_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let rows = Rows::open(dir.path(), Settings { segment_blocks: 64, ..Settings::default() }).unwrap();
    append(&rows, 0..3_000);
    let view = rows.view(1).unwrap();
    assert_eq!(view.segments.len(), 1, "2,048 logs sealed");
    let mut session = LogFilter::new(1, i64::MIN / 2, i64::MAX / 2);
    session.session_id = Some("s-3".into());
    let lookup = || {
        let reading = Reading::new(&rows, &view, &session).unwrap();
        let mut ids: Vec<i64> = reading.search(1_000, None).unwrap().logs.iter().map(|l| l.id.0).collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(lookup(), ids(300..400));
    let all = LogFilter::new(1, i64::MIN / 2, i64::MAX / 2);
    let page = || Reading::new(&rows, &view, &all).unwrap().search(3_000, None).unwrap().logs.len();
    assert_eq!(page(), 3_000);
    // The segment's blocks damaged on disk: the blocks of the lookup and of the page are
    // not read again, a fold's (a sample of every block) are.
    let path = &view.segments[0].path;
    let length = std::fs::metadata(path).unwrap().len();
    std::fs::write(path, vec![0u8; length as usize]).unwrap();
    assert_eq!(lookup(), ids(300..400));
    assert_eq!(page(), 3_000);
    assert!(Reading::new(&rows, &view, &all).unwrap().sample(u32::MAX, 10).is_err());
}

/// The sealed segments' per-minute counts, joined once and kept (`counts::Joined`), follow
/// the segments written after and the logs retention deletes.
#[test]
fn a_histogram_counts_later_segments_and_deletes_after_the_counts_were_joined() {
    let dir = tempfile::tempdir().unwrap();
    let rows = Rows::open(dir.path(), Settings { segment_blocks: 2, ..Settings::default() }).unwrap();
    let total = |rows: &Rows| -> u64 {
        let view = rows.view(1).unwrap();
        let filter = LogFilter::new(1, T0 - 600 * SEC, T0 + 600 * SEC);
        let histogram = Reading::new(rows, &view, &filter).unwrap();
        let histogram = histogram.histogram(60 * SEC, Breakdown::Severity).unwrap();
        assert!(!histogram.approximate);
        histogram.buckets.iter().map(|b| b.count).sum()
    };
    append(&rows, 0..1_000);
    let sealed = rows.view(1).unwrap().segments.len();
    assert!(sealed >= 10, "{sealed} segments");
    assert_eq!(total(&rows), 1_000);
    assert_eq!(total(&rows), 1_000);
    append(&rows, 1_000..3_000);
    assert!(rows.view(1).unwrap().segments.len() > sealed);
    assert_eq!(total(&rows), 3_000);
    // Log n is at T0 + n ms: logs 0 to 1,500 go, whole segments and part of one.
    rows.delete_before(1, T0 + 1_500 * 1_000_000 + 1).unwrap();
    assert_eq!(total(&rows), 1_499);
    append(&rows, 3_000..3_500);
    assert_eq!(total(&rows), 1_999);
}

#[test]
fn logs_far_apart_are_found_by_id_and_time_once_sealed() {
    // Ids and times too far apart for a segment's packed bounds to hold exactly: a slow
    // project's (a log a quarter of an hour, ids minted hours apart), and a busy one's
    // whose segment ends with a log much later, so neighbouring blocks' rounded bounds meet.
    let spread = |n: i64| 1_000 + n * 10_000_000_000_000;
    let busy_then_late = |n: i64| if n < 2_047 { 1_000 + n } else { 1_000 + n + 10_000_000_000_000_000 };
    for id_of in [&spread as &dyn Fn(i64) -> i64, &busy_then_late] {
        let far = |n: i64| {
            let mut l = log(n);
            l.id = LogId(id_of(n));
            l.record.timestamp_ns = T0 + n * 900 * SEC;
            l
        };
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings { segment_blocks: 64, ..Settings::default() };
        {
            let rows = Rows::open(dir.path(), settings).unwrap();
            rows.append((0..2_100).map(far).collect()).expect("append");
        }
        let rows = Rows::open(dir.path(), settings).unwrap();
        let view = rows.view(1).unwrap();
        assert_eq!(view.segments.len(), 1);
        let everything = LogFilter::new(1, i64::MIN, i64::MAX);
        let get = |id: LogId| Reading::new(&rows, &view, &everything).unwrap().get(id).unwrap();
        for n in [0, 1, 31, 32, 33, 1_000, 2_046, 2_047, 2_048, 2_099] {
            let wanted = far(n);
            assert_eq!(get(wanted.id).map(|l| l.id), Some(wanted.id), "log {n} by id");
            let at = LogFilter::new(1, wanted.record.timestamp_ns, wanted.record.timestamp_ns + 1);
            let in_range = Reading::new(&rows, &view, &at).unwrap().search(10, None).unwrap().logs;
            assert_eq!(in_range.iter().map(|l| l.id).collect::<Vec<_>>(), [wanted.id], "log {n} by time");
        }
        assert!(get(LogId(id_of(2_047) - 1)).is_none(), "an id between two logs");
    }
}
