//! OTLP/JSON bodies: decoding then normalizing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_ingest::otlp::{self, BodyFormat, RecordLimits};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = otlp::decode_logs(data, BodyFormat::Json) {
        otlp::normalize(request, 1, 1_767_225_600_000_000_000, RecordLimits::default());
    }
});
