//! The pinned posthog-js SDK files (`dist/*.js`) embedded in the binary, for `/static/`.
//!
//! Owns: the npm pin (`npm/package.json` + lockfile) and the embedding. Must not contain:
//! request handling (the server decides paths, headers and caching).

include!(concat!(env!("OUT_DIR"), "/sdk_files.rs"));

/// The bytes of `dist/<name>` of the pinned posthog-js, e.g. `lazy-recorder.js`.
pub fn sdk_file(name: &str) -> Option<&'static [u8]> {
    FILES.iter().find(|(n, _)| *n == name).map(|(_, bytes)| *bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lazily_loaded_extensions_are_embedded() {
        for name in [
            "lazy-recorder.js",
            "exception-autocapture.js",
            "tracing-headers.js",
            "web-vitals.js",
            "dead-clicks-autocapture.js",
            "array.js",
        ] {
            assert!(sdk_file(name).is_some_and(|b| b.len() > 1000), "{name}");
        }
        assert!(sdk_file("../Cargo.toml").is_none());
        assert_eq!(SDK_VERSION, "1.449.2");
    }
}
