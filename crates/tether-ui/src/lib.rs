//! The web UI (`web/`), built by this crate's build script and embedded in the binary.
//!
//! Owns: building and embedding the UI. Must not contain: request handling (the server
//! decides routes, caching and the SPA fallback).

include!(concat!(env!("OUT_DIR"), "/ui_files.rs"));

/// A built UI file by its path relative to the build output (`index.html`,
/// `assets/index-<hash>.js`, …).
pub fn file(path: &str) -> Option<&'static [u8]> {
    FILES.iter().find(|(name, _)| *name == path).map(|(_, bytes)| *bytes)
}

/// The app's entry page, served for every UI route.
pub fn index_html() -> &'static [u8] {
    file("index.html").unwrap_or(b"<!doctype html><title>Tether</title><p>The UI was not built.</p>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_app_is_embedded() {
        let index = String::from_utf8_lossy(index_html()).into_owned();
        assert!(index.contains("<div id=\"root\">"), "{index}");
        assert!(FILES.iter().any(|(name, _)| name.starts_with("assets/") && name.ends_with(".js")));
    }
}
