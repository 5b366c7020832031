//! `$exception` properties: reading the exception list and fingerprinting never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_ingest::posthog::exceptions::exception_info;

fuzz_target!(|data: &[u8]| {
    if let Ok(serde_json::Value::Object(properties)) = serde_json::from_slice(data) {
        let _ = exception_info(&properties);
    }
});
