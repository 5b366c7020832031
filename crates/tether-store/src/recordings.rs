//! Recordings composed from two stores: chunk bytes in a [`BlobStore`], their index in a
//! [`RecordingIndex`]. Written here, above the backends, so the two may be different
//! systems (a local folder and DuckDB, S3 and ClickHouse).
//!
//! A group commit's chunks of one project are one *segment*,
//! `recordings/{project}/{day}/{random}.seg` (`day`: the UTC date the server wrote it),
//! each chunk a byte range of it. One blob (one file and one fsync, or one S3 object) per
//! group rather than per chunk: creating and syncing a file per chunk was a third of the
//! server's CPU on `/s/` at 64 clients. PostHog keeps its recording blocks the same way.
//!
//! Retention forgets expired sessions in the index, then sweeps the day folders that lie
//! wholly before the cutoff: segments no indexed chunk points at are deleted, and the
//! chunks of sessions still kept are first copied into a new segment (compaction), so an
//! expired session's bytes are gone within a day of its cutoff. Forgetting comes first: an
//! interrupted run leaves bytes that the next sweep finds, never an entry without bytes;
//! the segments of commits whose index write failed are swept the same way.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use tether_model::{ProjectId, RecordingChunk};

use crate::{BlobStore, ChunkEntry, ChunkPlace, PlacedChunk, RecordingIndex, StoreResult};

/// Blobs written (or read) at once by one call: enough to hide an object store's latency,
/// few enough to bound memory to a handful of chunks.
const CONCURRENCY: usize = 8;
/// Sessions whose recordings one step of [`Recordings::delete_ended_before`] forgets.
const EXPIRY_STEP: usize = 200;
/// Segments one sweep step checks against the index (and may delete) at once.
const SWEEP_STEP: usize = 200;
/// A compacted segment is written once it holds this many bytes.
const COMPACTED_SEGMENT_BYTES: usize = 32 << 20;
const DAY_MS: i64 = 86_400_000;

/// Recording chunks: bytes first, then the index, so an index entry never points at bytes
/// that are not stored.
#[derive(Clone)]
pub struct Recordings {
    pub index: Arc<dyn RecordingIndex>,
    pub blobs: Arc<dyn BlobStore>,
}

/// The blob folder of a project's recordings.
fn project_folder(project_id: ProjectId) -> String {
    format!("recordings/{project_id}")
}

/// A new segment's key, in the folder of the UTC day of `now_ms`.
fn segment_key(project_id: ProjectId, now_ms: i64) -> String {
    let day = time::OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(now_ms);
    format!(
        "{}/{:04}-{:02}-{:02}/{}.seg",
        project_folder(project_id),
        day.year(),
        u8::from(day.month()),
        day.day(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The start (Unix ms) of the day a day folder is named after; `None` for other folders.
fn day_start_ms(folder: &str) -> Option<i64> {
    let name = folder.rsplit('/').next()?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(name, &format).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

/// The folder chunks of `session_id` were kept in one file each, before segments.
fn legacy_session_folder(project_id: ProjectId, session_id: &str) -> String {
    format!("{}/{}", project_folder(project_id), hex::encode(Sha256::digest(session_id.as_bytes())))
}

/// Segments being filled: per project, its key and bytes so far.
#[derive(Default)]
struct Segments(BTreeMap<ProjectId, (String, Vec<u8>)>);

impl Segments {
    /// Appends `bytes` to the project's segment, returning where they are.
    fn append(&mut self, project_id: ProjectId, now_ms: i64, bytes: &[u8]) -> ChunkPlace {
        let (key, segment) =
            self.0.entry(project_id).or_insert_with(|| (segment_key(project_id, now_ms), Vec::new()));
        let place =
            ChunkPlace { blob_key: key.clone(), offset: segment.len() as u64, length: bytes.len() as u64 };
        segment.extend_from_slice(bytes);
        place
    }

    /// Writes every segment durably ([`CONCURRENCY`] at a time).
    async fn put(self, blobs: &Arc<dyn BlobStore>) -> StoreResult<()> {
        futures::stream::iter(self.0.into_values())
            .map(|(key, bytes)| {
                let blobs = blobs.clone();
                async move { blobs.put(&key, Bytes::from(bytes)).await }
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}

impl Recordings {
    /// Stores chunks durably: their bytes in one segment per project (a chunk repeated in
    /// the group is written once), then their index entries in one call. `now_ms` names
    /// the segments' day folder.
    pub async fn store_chunks(&self, chunks: Vec<RecordingChunk>, now_ms: i64) -> StoreResult<()> {
        let mut segments = Segments::default();
        let mut placed: HashMap<(ProjectId, String, String), ChunkPlace> = HashMap::new();
        let mut entries = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            let chunk_id = hex::encode(Sha256::digest(&chunk.blob));
            let place = placed
                .entry((chunk.project_id, chunk.session_id.clone(), chunk_id.clone()))
                .or_insert_with(|| segments.append(chunk.project_id, now_ms, &chunk.blob))
                .clone();
            entries.push(ChunkEntry {
                project_id: chunk.project_id,
                session_id: chunk.session_id,
                window_id: chunk.window_id,
                distinct_id: chunk.distinct_id,
                chunk_id,
                place,
                size: chunk.size,
                stats: chunk.stats,
            });
        }
        segments.put(&self.blobs).await?;
        self.index.index_chunks(entries).await
    }

    async fn read(blobs: &Arc<dyn BlobStore>, place: &ChunkPlace) -> StoreResult<Bytes> {
        match place.length {
            0 => blobs.get(&place.blob_key).await,
            length => blobs.get_range(&place.blob_key, place.offset, length).await,
        }
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
                async move { Ok((r.window_id, Self::read(&blobs, &r.place).await?)) }
            })
            .buffered(CONCURRENCY))
    }

    /// Deletes the project's recordings that ended before `before_ms`, returning how many
    /// sessions went: their index entries at once, their bytes by the sweep of the day
    /// folders wholly before `before_ms` (see the module's notes). `now_ms` names the day
    /// folder of compacted segments. Interrupted anywhere, the next call finishes the work.
    pub async fn delete_ended_before(
        &self,
        project_id: ProjectId,
        before_ms: i64,
        now_ms: i64,
    ) -> StoreResult<u64> {
        let mut deleted = 0;
        loop {
            let sessions = self.index.recordings_ended_before(project_id, before_ms, EXPIRY_STEP).await?;
            if sessions.is_empty() {
                break;
            }
            // Chunks stored before segments sit one file each in their session's folder:
            // those go before the entries, as they always did.
            let folders: Vec<String> =
                sessions.iter().map(|s| legacy_session_folder(project_id, s)).collect();
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
        for folder in self.blobs.list(&project_folder(project_id)).await?.folders {
            if day_start_ms(&folder).is_some_and(|start| start + DAY_MS <= before_ms) {
                self.sweep(project_id, &folder, now_ms).await?;
            }
        }
        Ok(deleted)
    }

    /// Deletes the segments of a day folder, first moving the chunks still indexed in them
    /// into new segments.
    async fn sweep(&self, project_id: ProjectId, folder: &str, now_ms: i64) -> StoreResult<()> {
        let keys = self.blobs.list(folder).await?.keys;
        for step in keys.chunks(SWEEP_STEP) {
            let kept = self.index.chunks_in_blobs(project_id, step.to_vec()).await?;
            let mut kept = futures::stream::iter(kept)
                .map(|c| {
                    let blobs = self.blobs.clone();
                    async move { Ok::<_, crate::StoreError>((Self::read(&blobs, &c.place).await?, c)) }
                })
                .buffered(CONCURRENCY);
            let mut segments = Segments::default();
            let mut moved = Vec::new();
            let mut filled = 0;
            while let Some((bytes, chunk)) = kept.try_next().await? {
                filled += bytes.len();
                let place = segments.append(project_id, now_ms, &bytes);
                moved.push(PlacedChunk { session_id: chunk.session_id, chunk_id: chunk.chunk_id, place });
                if filled >= COMPACTED_SEGMENT_BYTES {
                    self.relocate(project_id, std::mem::take(&mut segments), std::mem::take(&mut moved))
                        .await?;
                    filled = 0;
                }
            }
            self.relocate(project_id, segments, moved).await?;
            self.blobs.delete(step.to_vec()).await?;
        }
        Ok(())
    }

    /// Writes a compacted segment, then points its chunks at it.
    async fn relocate(
        &self,
        project_id: ProjectId,
        segments: Segments,
        moved: Vec<PlacedChunk>,
    ) -> StoreResult<()> {
        if moved.is_empty() {
            return Ok(());
        }
        segments.put(&self.blobs).await?;
        self.index.move_chunks(project_id, moved).await
    }
}
