//! Installs the pinned posthog-js package (npm, with its lockfile) when it is missing and
//! embeds its `dist/*.js` files, so the binary serves the SDK's lazily loaded scripts
//! without anything else installed at run time.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    // Read at run time: one compiled build script serves every checkout sharing a target dir.
    let npm_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR")).join("npm");
    println!("cargo:rerun-if-changed={}", npm_dir.join("package-lock.json").display());
    println!("cargo:rerun-if-changed={}", npm_dir.join("package.json").display());
    let dist = npm_dir.join("node_modules/posthog-js/dist");
    if !dist.join("array.js").exists() {
        let status = Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(&npm_dir)
            .status()
            .unwrap_or_else(|e| panic!("cannot run npm (needed to fetch posthog-js): {e}"));
        assert!(status.success(), "npm ci failed in {}", npm_dir.display());
    }
    let version = read_version(&npm_dir.join("node_modules/posthog-js/package.json"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dist)
        .expect("posthog-js dist directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "js"))
        .collect();
    files.sort();
    let mut code = format!(
        "/// The posthog-js version these files come from.\npub const SDK_VERSION: &str = {version:?};\n\n"
    );
    code.push_str("static FILES: &[(&str, &[u8])] = &[\n");
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).expect("utf-8 file name");
        code.push_str(&format!("    ({name:?}, include_bytes!({:?})),\n", path.display().to_string()));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("sdk_files.rs");
    std::fs::write(out, code).expect("write sdk_files.rs");
}

fn read_version(package_json: &Path) -> String {
    let text = std::fs::read_to_string(package_json).expect("posthog-js package.json");
    let after = text.split("\"version\"").nth(1).expect("version field");
    after.split('"').nth(1).expect("version value").to_owned()
}
