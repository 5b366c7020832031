//! Recordings composed from two stores: chunk bytes in a [`BlobStore`], their index in a
//! [`RecordingIndex`]. Written here, above the backends, so the two may be different
//! systems (a local folder and DuckDB, S3 and ClickHouse).

use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use tether_model::{ProjectId, RecordingChunk};

use crate::{BlobStore, ChunkEntry, RecordingIndex, StoreResult};

/// Blobs written (or read) at once by one call: enough to hide an object store's latency,
/// few enough to bound memory to a handful of chunks.
const CONCURRENCY: usize = 8;

/// Recording chunks: bytes first, then the index, so an index entry never points at bytes
/// that are not stored.
#[derive(Clone)]
pub struct Recordings {
    pub index: Arc<dyn RecordingIndex>,
    pub blobs: Arc<dyn BlobStore>,
}

/// Sessions whose recordings one step of [`Recordings::delete_ended_before`] removes.
const EXPIRY_STEP: usize = 200;

/// The blob folder holding every chunk of one session.
fn session_folder(project_id: ProjectId, session_id: &str) -> String {
    format!("recordings/{project_id}/{}", hex::encode(Sha256::digest(session_id.as_bytes())))
}

/// The content-addressed index entry of a chunk (its bytes go under `blob_key`).
pub fn chunk_entry(chunk: &RecordingChunk) -> ChunkEntry {
    let chunk_id = hex::encode(Sha256::digest(&chunk.blob));
    ChunkEntry {
        project_id: chunk.project_id,
        session_id: chunk.session_id.clone(),
        window_id: chunk.window_id.clone(),
        distinct_id: chunk.distinct_id.clone(),
        blob_key: format!(
            "{}/{}/{chunk_id}.json.gz",
            session_folder(chunk.project_id, &chunk.session_id),
            hex::encode(Sha256::digest(chunk.window_id.as_bytes())),
        ),
        chunk_id,
        size: chunk.size,
        stats: chunk.stats.clone(),
    }
}

impl Recordings {
    /// Stores chunks durably: their bytes (at most [`CONCURRENCY`] at a time; a chunk
    /// repeated in the group is written once), then their index entries in one call.
    pub async fn store_chunks(&self, chunks: Vec<RecordingChunk>) -> StoreResult<()> {
        let mut seen = std::collections::HashSet::new();
        let mut entries = Vec::with_capacity(chunks.len());
        let mut writes = Vec::new();
        for chunk in chunks {
            let entry = chunk_entry(&chunk);
            if seen.insert(entry.blob_key.clone()) {
                writes.push((entry.blob_key.clone(), chunk.blob));
            }
            entries.push(entry);
        }
        futures::stream::iter(writes)
            .map(|(key, bytes)| {
                let blobs = self.blobs.clone();
                async move { blobs.put(&key, bytes).await }
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        self.index.index_chunks(entries).await
    }

    /// A session's chunks in playback order (window by window, oldest first), each as
    /// (window id, stored bytes); fetched a few ahead, never the whole session at once.
    /// Empty when the session has no recording.
    pub async fn session_chunks(
        &self,
        project_id: ProjectId,
        session_id: &str,
    ) -> StoreResult<impl Stream<Item = StoreResult<(String, Bytes)>> + Send + 'static> {
        let refs = self.index.chunks(project_id, session_id).await?;
        let blobs = self.blobs.clone();
        Ok(futures::stream::iter(refs)
            .map(move |r| {
                let blobs = blobs.clone();
                async move { Ok((r.window_id, blobs.get(&r.blob_key).await?)) }
            })
            .buffered(CONCURRENCY))
    }

    /// Deletes the project's recordings that ended before `before_ms`, bytes and index,
    /// returning how many sessions went. Bytes go first, then the index entries, a step of
    /// sessions at a time: interrupted anywhere, the next call finds the rest (at worst a
    /// session whose bytes are gone is still listed until then).
    pub async fn delete_ended_before(&self, project_id: ProjectId, before_ms: i64) -> StoreResult<u64> {
        let mut deleted = 0;
        loop {
            let sessions = self.index.recordings_ended_before(project_id, before_ms, EXPIRY_STEP).await?;
            if sessions.is_empty() {
                return Ok(deleted);
            }
            let folders: Vec<String> = sessions.iter().map(|s| session_folder(project_id, s)).collect();
            futures::stream::iter(folders)
                .map(|folder| {
                    let blobs = self.blobs.clone();
                    async move { blobs.delete_folder(&folder).await }
                })
                .buffer_unordered(CONCURRENCY)
                .try_collect::<Vec<u64>>()
                .await?;
            deleted += sessions.len() as u64;
            self.index.forget_recordings(project_id, sessions).await?;
        }
    }
}
