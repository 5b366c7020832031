//! The write-ahead file of a project's logs not yet in a segment: each group commit
//! appends one frame (a length, a CRC, and its logs as [`super::codec`] blocks, each
//! length-prefixed: the blocks the open segment keeps are written as they are, not encoded
//! twice) and syncs it, which is what makes an acknowledged log durable. A frame cut short
//! by a crash is dropped at open (its append never returned), whole: a group commit is in
//! the file entirely or not at all. When a segment is sealed the file is replaced by one
//! holding only the logs after it. A file of the first layout (one block per frame) is
//! read, then written again in this one.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use tether_model::ProjectId;
use tether_store::{StoreError, StoreResult, StoredLog};

use super::codec;
use super::files::{io_err, replace_file};
use super::varint::{Reader, put_bytes};

const MAGIC: &[u8; 8] = b"TWAL0002";
/// The first layout: a frame's payload is one block.
const MAGIC_ONE_BLOCK: &[u8; 8] = b"TWAL0001";

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
        let one_block = match bytes.get(..8) {
            Some(magic) if bytes.len() >= 16 && magic == MAGIC => false,
            Some(magic) if bytes.len() >= 16 && magic == MAGIC_ONE_BLOCK => true,
            _ => return Err(StoreError::new(tether_store::ErrorKind::Internal, "a log WAL has no header")),
        };
        let first_seq = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
        let (mut at, mut logs) = (16, Vec::new());
        while let Some(frame) = frame_at(&bytes, at) {
            if one_block {
                logs.extend(codec::decode(frame, project_id)?);
            } else {
                let mut r = Reader::new(frame);
                while !r.is_empty() {
                    logs.extend(codec::decode(r.bytes()?, project_id)?);
                }
            }
            at += 8 + frame.len();
        }
        if one_block {
            let wal = Wal::create(path, first_seq, &logs)?;
            return Ok(Replayed { wal, first_seq, logs });
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
            let mut frame = Frame::new();
            frame.push(&codec::encode(logs)?);
            bytes.extend_from_slice(frame.sealed());
        }
        replace_file(path, &bytes)?;
        let file = OpenOptions::new().append(true).open(path).map_err(io_err("cannot open a log WAL"))?;
        Ok(Wal { path: path.to_owned(), file })
    }

    /// Appends a frame of logs and syncs it.
    pub(crate) fn append(&mut self, frame: &mut Frame) -> StoreResult<()> {
        self.file
            .write_all(frame.sealed())
            .and_then(|()| self.file.sync_data())
            .map_err(io_err("cannot write a log WAL"))
    }

    /// Replaces the file by one starting at `first_seq` with `logs` (after a seal).
    pub(crate) fn restart(&mut self, first_seq: u64, logs: &[StoredLog]) -> StoreResult<()> {
        *self = Wal::create(&self.path, first_seq, logs)?;
        Ok(())
    }
}

/// A frame: room for its length and CRC, then its payload, blocks of logs
/// ([`codec::encode`]'s bytes) in order — written as built, not copied behind a header.
pub(crate) struct Frame(Vec<u8>);

impl Frame {
    pub(crate) fn new() -> Frame {
        Frame(vec![0; 8])
    }

    pub(crate) fn push(&mut self, block: &[u8]) {
        put_bytes(&mut self.0, block);
    }

    /// The frame with its payload's length and CRC filled in.
    fn sealed(&mut self) -> &[u8] {
        let (header, payload) = self.0.split_at_mut(8);
        header[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        header[4..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
        &self.0
    }
}

/// The frame's payload at `at`, if whole and intact.
fn frame_at(bytes: &[u8], at: usize) -> Option<&[u8]> {
    let header = bytes.get(at..at + 8)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[4..].try_into().ok()?);
    let payload = bytes.get(at + 8..at + 8 + len)?;
    (crc32fast::hash(payload) == crc).then_some(payload)
}
