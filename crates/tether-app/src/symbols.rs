//! Source-map uploads as `posthog-cli sourcemap upload` makes them: which chunks need their
//! bytes sent, starting uploads (each with a one-time secret for its upload URL, of which
//! only the SHA-256 is kept), receiving the bytes, and confirming. A symbol set lives in two
//! stores — its row in the symbol store, its bytes in the blob store — which these keep in
//! step: a replaced set's bytes are deleted, and a set is marked finished only once its
//! bytes are stored and read back as a symbol set.

use bytes::Bytes;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tether_model::ProjectId;
use tether_store::{NewSymbolSet, StoreResult, SymbolSet};

use crate::App;

/// How long an upload URL works after the start step.
pub const UPLOAD_WINDOW_MS: i64 = 60 * 60 * 1000;

/// The blob folder of one symbol set (deleted whole when the set is replaced).
pub fn blob_folder(project_id: ProjectId, set_id: &str) -> String {
    format!("symbols/{project_id}/{set_id}")
}

/// The blob key of a symbol set's bytes, as uploaded.
pub fn blob_key(project_id: ProjectId, set_id: &str) -> String {
    format!("{}/upload", blob_folder(project_id, set_id))
}

/// A symbol set the CLI is about to send: one minified file's source map.
#[derive(Debug, Clone, PartialEq)]
pub struct SetUpload {
    pub chunk_id: String,
    pub release_id: Option<String>,
    pub content_hash: String,
    pub content_length: u64,
}

/// How a start step went.
#[derive(Debug)]
pub enum Started {
    /// Each set started, with the secret its upload URL carries (shown this once).
    Sets(Vec<(SymbolSet, String)>),
    /// A set named a release the project does not have; nothing was started.
    UnknownRelease(String),
}

/// Why uploaded bytes were refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// No set with this id and secret in the project.
    NotThisUrl,
    /// The URL is older than [`UPLOAD_WINDOW_MS`].
    Expired,
    /// Not the length the start step declared.
    Length { declared: u64, got: u64 },
    /// Not a readable symbol set (the reason).
    Unreadable(String),
    /// A newer upload replaced this set meanwhile.
    Replaced,
    /// The set's bytes were received already: its URL does not take others.
    Finished,
}

impl App {
    /// The chunks whose bytes must be sent: all when `force`, else those without a finished
    /// set of the same content hash.
    pub async fn chunks_to_upload(
        &self,
        project_id: ProjectId,
        sets: &[SetUpload],
        force: bool,
    ) -> StoreResult<Vec<String>> {
        let chunks: Vec<String> = sets.iter().map(|e| e.chunk_id.clone()).collect();
        let current = self.stores.symbols.symbol_sets_of_chunks(project_id, &chunks).await?;
        let done = |e: &SetUpload| {
            current.iter().any(|s| {
                s.chunk_id == e.chunk_id && s.content_hash == e.content_hash && s.finished_at_ms.is_some()
            })
        };
        Ok(sets.iter().filter(|e| force || !done(e)).map(|e| e.chunk_id.clone()).collect())
    }

    /// Starts an upload per set. A set replaces its chunk's previous one, whose bytes are
    /// deleted (no frame resolves through it any more).
    pub async fn start_uploads(&self, project_id: ProjectId, sets: Vec<SetUpload>) -> StoreResult<Started> {
        let symbols = &self.stores.symbols;
        for release_id in sets.iter().filter_map(|e| e.release_id.as_deref()) {
            if symbols.release(project_id, release_id).await?.is_none() {
                return Ok(Started::UnknownRelease(release_id.to_owned()));
            }
        }
        let chunks: Vec<String> = sets.iter().map(|e| e.chunk_id.clone()).collect();
        let current = symbols.symbol_sets_of_chunks(project_id, &chunks).await?;
        let mut started = Vec::with_capacity(sets.len());
        for entry in sets {
            let mut secret = [0u8; 32];
            rand::rng().fill_bytes(&mut secret);
            let secret = hex::encode(secret);
            let replaced: Vec<&str> =
                current.iter().filter(|s| s.chunk_id == entry.chunk_id).map(|s| s.id.as_str()).collect();
            let new = NewSymbolSet {
                chunk_id: entry.chunk_id,
                release_id: entry.release_id,
                content_hash: entry.content_hash,
                content_length: entry.content_length,
                upload_secret_hash: hex::encode(Sha256::digest(secret.as_bytes())),
            };
            let set = symbols.start_symbol_set(project_id, new).await?;
            for old in replaced {
                if let Err(e) =
                    self.stores.recordings.blobs.delete_folder(&blob_folder(project_id, old)).await
                {
                    tracing::warn!(error = %e, set_id = old, "cannot delete a replaced symbol set");
                }
            }
            started.push((set, secret));
        }
        Ok(Started::Sets(started))
    }

    /// The set an upload URL names, when its secret is the one the start step handed out
    /// and it is not older than [`UPLOAD_WINDOW_MS`] (checked before its bytes are read).
    pub async fn upload_target(
        &self,
        project_id: ProjectId,
        set_id: &str,
        secret: &str,
    ) -> StoreResult<Result<SymbolSet, Refused>> {
        let set = self.stores.symbols.symbol_set(project_id, set_id).await?;
        let secret_hash = hex::encode(Sha256::digest(secret.as_bytes()));
        let Some(set) = set.filter(|s| s.upload_secret_hash == secret_hash) else {
            return Ok(Err(Refused::NotThisUrl));
        };
        if self.now_ms() - set.created_at_ms > UPLOAD_WINDOW_MS {
            return Ok(Err(Refused::Expired));
        }
        // An upload URL works once: a copy of it (from a build log, a proxy) must not
        // replace the map the build uploaded.
        if set.finished_at_ms.is_some() {
            return Ok(Err(Refused::Finished));
        }
        Ok(Ok(set))
    }

    /// Takes an upload's bytes: of the declared length, read as a symbol set, stored, and the
    /// set marked finished (it resolves frames from now on).
    pub async fn receive_symbol_set(
        &self,
        set: &SymbolSet,
        bytes: Bytes,
    ) -> StoreResult<Result<(), Refused>> {
        if bytes.len() as u64 != set.content_length {
            return Ok(Err(Refused::Length { declared: set.content_length, got: bytes.len() as u64 }));
        }
        if let Err(why) = self.symbols.check_symbol_set(bytes.clone()).await {
            return Ok(Err(Refused::Unreadable(why)));
        }
        self.stores.recordings.blobs.put(&blob_key(set.project_id, &set.id), bytes).await?;
        if !self.stores.symbols.finish_symbol_set(set.project_id, &set.id, self.now_ms()).await? {
            return Ok(Err(Refused::Replaced));
        }
        Ok(Ok(()))
    }

    /// The first of `set_ids` whose bytes were never received, if any (the CLI's finish
    /// step confirms what the uploads already completed).
    pub async fn unfinished_symbol_set(
        &self,
        project_id: ProjectId,
        set_ids: impl IntoIterator<Item = &str>,
    ) -> StoreResult<Option<String>> {
        for set_id in set_ids {
            let set = self.stores.symbols.symbol_set(project_id, set_id).await?;
            if set.is_none_or(|s| s.finished_at_ms.is_none()) {
                return Ok(Some(set_id.to_owned()));
            }
        }
        Ok(None)
    }
}
