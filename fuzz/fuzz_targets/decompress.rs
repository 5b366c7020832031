//! Request body decompression (gzip, deflate, zstd, lists, unknown names): never panics and
//! never returns more than the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

const ENCODINGS: [Option<&str>; 7] =
    [None, Some("gzip"), Some("deflate"), Some("zstd"), Some("identity"), Some("zstd, gzip"), Some("br")];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, body)) = data.split_first() else { return };
    let limit = 64 * 1024;
    let mut budget = tether_ingest::Budget::new(limit);
    if let Ok(plain) = tether_ingest::decompress(body, ENCODINGS[choice as usize % ENCODINGS.len()], &mut budget) {
        assert!(plain.len() <= limit);
    }
});
