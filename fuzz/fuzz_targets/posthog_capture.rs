//! PostHog capture bodies (gzip, `data=` base64 forms, JSON, the envelope shapes): decoding
//! and parsing never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_ingest::posthog::{decode_capture_body, events::parse_capture};

const CONTENT_TYPES: [Option<&str>; 3] = [None, Some("application/json"), Some("application/x-www-form-urlencoded")];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, body)) = data.split_first() else { return };
    let content_type = CONTENT_TYPES[choice as usize % CONTENT_TYPES.len()];
    let compression = (choice & 0x80 != 0).then_some("gzip-js");
    if let Ok(value) = decode_capture_body(body, content_type, compression, &mut tether_ingest::Budget::new(1 << 20)) {
        let mut n = 0u64;
        let _ = parse_capture(value, 1_767_225_600_000, &mut || {
            n += 1;
            format!("uuid-{n}")
        });
    }
});
