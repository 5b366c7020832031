//! The write-ahead file of a project's logs not yet in a segment: each group commit
//! appends one frame (its logs as one [`super::codec`] block, a length and a CRC) and syncs
//! it, which is what makes an acknowledged log durable. A frame cut short by a crash is
//! dropped at open (its append never returned). When a segment is sealed the file is
//! replaced by one holding only the logs after it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use tether_model::ProjectId;
use tether_store::{StoreError, StoreResult, StoredLog};

use super::codec;
use super::files::{io_err, replace_file};

const MAGIC: &[u8; 8] = b"TWAL0001";

pub(crate) struct Wal {
    path: PathBuf,
    file: File,
}

/// What a write-ahead file held at open.
pub(crate) struct Replayed {
    pub(crate) wal: Wal,
    /// The position of its first log.
    pub(crate) first_seq: u64,
    pub(crate) logs: Vec<StoredLog>,
}

impl Wal {
    /// Opens the file (a new one starting at `next_seq` if missing) and reads its logs;
    /// a damaged or cut last frame is cut off.
    pub(crate) fn open(path: &Path, project_id: ProjectId, next_seq: u64) -> StoreResult<Replayed> {
        if !path.exists() {
            let wal = Wal::create(path, next_seq, &[])?;
            return Ok(Replayed { wal, first_seq: next_seq, logs: Vec::new() });
        }
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(io_err("cannot read a log WAL"))?;
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err(StoreError::new(tether_store::ErrorKind::Internal, "a log WAL has no header"));
        }
        let first_seq = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
        let (mut at, mut logs) = (16, Vec::new());
        while let Some(frame) = frame_at(&bytes, at) {
            logs.extend(codec::decode(frame, project_id)?);
            at += 8 + frame.len();
        }
        let file = OpenOptions::new().append(true).open(path).map_err(io_err("cannot open a log WAL"))?;
        if at < bytes.len() {
            tracing::warn!(path = %path.display(), bytes = bytes.len() - at, "log WAL: dropping a cut-off frame");
            file.set_len(at as u64).and_then(|()| file.sync_all()).map_err(io_err("cannot cut a log WAL"))?;
        }
        Ok(Replayed { wal: Wal { path: path.to_owned(), file }, first_seq, logs })
    }

    /// A new file (replacing any) starting at `first_seq`, holding `logs`.
    pub(crate) fn create(path: &Path, first_seq: u64, logs: &[StoredLog]) -> StoreResult<Wal> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&first_seq.to_le_bytes());
        if !logs.is_empty() {
            push_frame(&mut bytes, &codec::encode(logs)?);
        }
        replace_file(path, &bytes)?;
        let file = OpenOptions::new().append(true).open(path).map_err(io_err("cannot open a log WAL"))?;
        Ok(Wal { path: path.to_owned(), file })
    }

    /// Appends a frame of logs ([`codec::encode`]'s bytes) and syncs it.
    pub(crate) fn append(&mut self, block: &[u8]) -> StoreResult<()> {
        let mut frame = Vec::with_capacity(block.len() + 8);
        push_frame(&mut frame, block);
        self.file
            .write_all(&frame)
            .and_then(|()| self.file.sync_data())
            .map_err(io_err("cannot write a log WAL"))
    }

    /// Replaces the file by one starting at `first_seq` with `logs` (after a seal).
    pub(crate) fn restart(&mut self, first_seq: u64, logs: &[StoredLog]) -> StoreResult<()> {
        *self = Wal::create(&self.path, first_seq, logs)?;
        Ok(())
    }
}

fn push_frame(out: &mut Vec<u8>, block: &[u8]) {
    out.extend_from_slice(&(block.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(block).to_le_bytes());
    out.extend_from_slice(block);
}

/// The frame's payload at `at`, if whole and intact.
fn frame_at(bytes: &[u8], at: usize) -> Option<&[u8]> {
    let header = bytes.get(at..at + 8)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
    let payload = bytes.get(at + 8..at + 8 + len)?;
    (crc32fast::hash(payload) == crc).then_some(payload)
}
