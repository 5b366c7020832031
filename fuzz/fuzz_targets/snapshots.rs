//! Session recording events: `cv` decompression, chunking and activity summaries never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_ingest::Budget;
use tether_ingest::posthog::{events::parse_capture, snapshots};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Some(events) = value.as_array() {
        let mut events = events.clone();
        let mut budget = Budget::new(1 << 20);
        for event in &mut events {
            if snapshots::decompress_event(event, &mut budget).is_err() {
                return;
            }
        }
        snapshots::summarize(&events);
        let (blob, _) = snapshots::encode_chunk(&events);
        let _ = snapshots::chunk_events_json(&blob);
    }
    let mut n = 0u64;
    if let Ok(capture) = parse_capture(value, 1_767_225_600_000, &mut || {
        n += 1;
        format!("uuid-{n}")
    }) {
        let _ = snapshots::snapshot_chunks(capture.events, &mut Budget::new(1 << 20));
    }
});
