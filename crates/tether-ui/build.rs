//! Builds the web app (`web/`, TypeScript + Vite, npm lockfile) into OUT_DIR and embeds it,
//! so the normal `cargo build` produces a binary that serves its own UI.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(dir: &Path, args: &[&str]) {
    let status = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap_or_else(|e| panic!("cannot run npm (Node.js is needed to build the UI): {e}"));
    assert!(status.success(), "npm {} failed in {}", args.join(" "), dir.display());
}

fn main() {
    // Read at run time: one compiled build script serves every checkout sharing a target dir.
    let web =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR")).join("../../web");
    for input in ["src", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json"]
    {
        println!("cargo:rerun-if-changed={}", web.join(input).display());
    }
    if !web.join("node_modules/.package-lock.json").exists() {
        run(&web, &["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("web-dist");
    let out_text = out.display().to_string();
    // `scripts/generate-api-types` builds the server to write the API document the UI's
    // types come from; the UI need not type-check against the old types meanwhile.
    println!("cargo:rerun-if-env-changed=TETHER_UI_SKIP_TYPECHECK");
    let script = if std::env::var_os("TETHER_UI_SKIP_TYPECHECK").is_some() { "bundle" } else { "build" };
    run(&web, &["run", script, "--", "--outDir", &out_text, "--emptyOutDir"]);
    let mut files = Vec::new();
    collect(&out, &out, &mut files);
    files.sort();
    let mut code = String::from("static FILES: &[(&str, &[u8])] = &[\n");
    for (name, path) in &files {
        code.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
    }
    code.push_str("];\n");
    std::fs::write(PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("ui_files.rs"), code)
        .expect("write ui_files.rs");
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("read built UI").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).expect("inside root").to_string_lossy().replace('\\', "/");
            out.push((rel, path.display().to_string()));
        }
    }
}
