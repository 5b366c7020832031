//! Ingest stops before the disk under the data directory is full: a store that runs out of
//! space mid-commit can be left unable to write (or, for some, to open), and nothing is
//! gained by accepting data that cannot be kept. Below `min_free` bytes free, writes answer
//! 503 with the reason (clients retry) and `/_health` says why; reads go on; writes resume by
//! themselves once space is freed. The free space is read per request (one `statvfs`, a
//! few microseconds).

use std::path::PathBuf;

/// The data directory and how much space must stay free on its filesystem.
#[derive(Debug)]
pub(crate) struct DiskGuard {
    pub(crate) path: PathBuf,
    pub(crate) min_free: u64,
}

impl DiskGuard {
    /// Why writes must wait, if they must.
    pub(crate) fn full(&self) -> Option<String> {
        // Unreadable free space is not a reason to refuse data.
        let free = fs4::available_space(&self.path).ok()?;
        (free < self.min_free).then(|| {
            format!(
                "disk almost full: {} MB free under {} (min_free_disk {} MB); ingest resumes when space is freed",
                free / 1_000_000,
                self.path.display(),
                self.min_free / 1_000_000
            )
        })
    }
}
