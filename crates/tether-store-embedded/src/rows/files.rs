//! Writing the row store's files so that a crash leaves the old file or the new one whole.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use tether_store::StoreError;

pub(crate) fn io_err(context: &'static str) -> impl Fn(std::io::Error) -> StoreError {
    move |e| StoreError::internal(context, e)
}

/// Writes `bytes` to a temporary file, syncs it, renames it over `path` and syncs the
/// folder: after a crash `path` holds the old bytes or the new ones.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let temp = path.with_extension("tmp");
    let mut file = File::create(&temp).map_err(io_err("cannot create a log file"))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io_err("cannot write a log file"))?;
    std::fs::rename(&temp, path).map_err(io_err("cannot rename a log file"))?;
    sync_dir(path)
}

/// Syncs the folder holding `path` (a rename or removal in it is durable after).
pub(crate) fn sync_dir(path: &Path) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err("cannot sync a log folder"))
}
