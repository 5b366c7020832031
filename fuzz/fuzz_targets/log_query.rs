//! The logs API's query strings (times, filters, attribute predicates, cursors): parsing
//! never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(query) = std::str::from_utf8(data) {
        tether_server::fuzzing::log_params(query);
    }
});
