//! Stack frames of minified bundles, read as the code was written. posthog-js sends a
//! `chunk_id` with each frame of a bundle that `posthog-cli sourcemap inject` prepared;
//! the source map uploaded for that chunk (`api/symbols.rs`) turns the frame's minified
//! position into the original file, line, column, function name and a few lines of source.
//!
//! Exceptions are stored as sent. Frames are resolved when an exception arrives (so issues
//! group by original frames, and a rebuild with new minified names does not split an issue)
//! and again whenever a stack is shown (so a map uploaded later applies to what came before).
//! Position lookup and function names are the `sourcemap` crate's (Sentry's), the upload
//! format `posthog-symbol-data`'s: no VLQ decoding here.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use sourcemap::{SourceMap, SourceView};
use tether_model::ProjectId;

use tether_app::symbols::blob_key;
use tether_store::{BlobStore, SymbolStore};

/// Lines of original source shown before and after the frame's line.
const CONTEXT_LINES: usize = 5;
/// Longest context line kept (minified or generated sources can have very long lines).
const MAX_CONTEXT_CHARS: usize = 300;
/// Parsed maps kept in memory, by their decoded size.
const CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// A symbol set ready for lookups: the map and a view of the minified source it maps (for
/// original function names, which the `sourcemap` crate finds from the minified name's
/// position in that source).
pub(crate) struct Resolver {
    map: SourceMap,
    minified: SourceView,
    /// Where each line of each original source starts, found once per map (not per frame:
    /// a stack of thousands of frames into one large source would split it thousands of times).
    line_starts: Vec<Vec<usize>>,
}

impl Resolver {
    /// Reads an uploaded symbol set (posthog-cli's "source and map" format); the reason
    /// when it is not one. `max_decoded` bounds what decompression may produce.
    pub(crate) fn from_upload(bytes: &[u8], max_decoded: usize) -> Result<Resolver, String> {
        let decoded = posthog_symbol_data::symbol_data_known_decompressed_size(bytes)
            .map_err(|e| format!("not a posthog-cli symbol set: {e}"))?;
        match decoded {
            Some(n) if n <= max_decoded => {}
            Some(n) => return Err(format!("the symbol set decodes to {n} bytes, more than {max_decoded}")),
            None => return Err("the symbol set does not declare its decoded size".into()),
        }
        let data: posthog_symbol_data::SourceAndMap = posthog_symbol_data::read_symbol_data(bytes)
            .map_err(|e| format!("not a posthog-cli source and map: {e}"))?;
        let map = SourceMap::from_slice(data.sourcemap.as_bytes())
            .map_err(|e| format!("invalid source map: {e}"))?;
        let line_starts = (0..map.get_source_count())
            .map(|i| map.get_source_contents(i).map(line_starts).unwrap_or_default())
            .collect();
        Ok(Resolver { map, minified: SourceView::new(data.minified_source.into()), line_starts })
    }

    /// Line `at` of source `src`, without its line break.
    fn source_line(&self, src: u32, at: usize) -> Option<&str> {
        let contents = self.map.get_source_contents(src)?;
        let starts = self.line_starts.get(src as usize)?;
        let start = *starts.get(at)?;
        let end = starts.get(at + 1).map_or(contents.len(), |next| next - 1);
        Some(contents[start..end].trim_end_matches(['\n', '\r']))
    }

    fn weight(&self) -> u32 {
        let sources: usize = (0..self.map.get_source_count())
            .filter_map(|i| self.map.get_source_contents(i))
            .map(str::len)
            .sum();
        let lines: usize = self.line_starts.iter().map(Vec::len).sum();
        u32::try_from(
            self.minified.source().len() + sources + self.map.get_token_count() as usize * 24 + lines * 8,
        )
        .unwrap_or(u32::MAX)
    }

    /// The frame as written, or `None` when the map has no mapping for its position. The
    /// frame as sent is kept under `raw`.
    fn resolve(&self, frame: &Map<String, Value>) -> Option<Map<String, Value>> {
        let line = frame.get("lineno")?.as_u64()?.checked_sub(1)? as u32;
        let col = frame.get("colno")?.as_u64()?.checked_sub(1)? as u32;
        let token = self.map.lookup_token(line, col)?;
        let source = token.get_source()?;
        let minified_name = frame.get("function").and_then(Value::as_str);
        let function = minified_name
            .and_then(|name| self.map.get_original_function_name(line, col, name, &self.minified))
            .or(minified_name);
        let mut out = frame.clone();
        let raw: Map<String, Value> = ["filename", "function", "lineno", "colno", "in_app"]
            .iter()
            .filter_map(|k| frame.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        out.insert("raw".into(), Value::Object(raw));
        out.insert("resolved".into(), Value::Bool(true));
        out.insert("filename".into(), json!(source));
        out.insert("function".into(), json!(function));
        out.insert("lineno".into(), json!(token.get_src_line() + 1));
        out.insert("colno".into(), json!(token.get_src_col() + 1));
        if source.contains("node_modules/") {
            out.insert("in_app".into(), Value::Bool(false));
        }
        let src = token.get_src_id();
        let at = token.get_src_line() as usize;
        let clip = |l: &str| Value::from(l.chars().take(MAX_CONTEXT_CHARS).collect::<String>());
        if let Some(current) = self.source_line(src, at) {
            out.insert("context_line".into(), clip(current));
            let before = at.saturating_sub(CONTEXT_LINES)..at;
            out.insert(
                "pre_context".into(),
                before.filter_map(|l| self.source_line(src, l)).map(clip).collect(),
            );
            let after = at + 1..at + 1 + CONTEXT_LINES;
            out.insert(
                "post_context".into(),
                after.filter_map(|l| self.source_line(src, l)).map(clip).collect(),
            );
        }
        Some(out)
    }
}

/// Where each line of `text` starts (as `str::lines` counts them: a final line break ends
/// the last line, it does not start an empty one).
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&start| start < text.len())
        .collect()
}

/// Resolves frames through the uploaded symbol sets, keeping parsed sets by id (a
/// re-upload makes a new id, so entries never go stale).
pub(crate) struct Symbolicator {
    cache: moka::future::Cache<String, Arc<Resolver>>,
    symbols: Arc<dyn SymbolStore>,
    blobs: Arc<dyn BlobStore>,
    /// The server's CPU threads (resolving frames competes with decoding).
    cpu: Arc<crate::cpu::CpuPool>,
}

/// Every frame of `$exception_list` that has a chunk id.
fn frames_mut(list: &mut Value) -> impl Iterator<Item = &mut Map<String, Value>> {
    list.as_array_mut().into_iter().flatten().flat_map(|exception| {
        exception
            .pointer_mut("/stacktrace/frames")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
            .filter(|f| f.get("chunk_id").is_some_and(Value::is_string))
    })
}

impl Symbolicator {
    pub(crate) fn new(
        symbols: Arc<dyn SymbolStore>,
        blobs: Arc<dyn BlobStore>,
        cpu: Arc<crate::cpu::CpuPool>,
    ) -> Symbolicator {
        let cache = moka::future::Cache::builder()
            .max_capacity(CACHE_BYTES)
            .weigher(|_, r: &Arc<Resolver>| r.weight())
            .build();
        Symbolicator { cache, symbols, blobs, cpu }
    }

    /// `$exception_list` with every frame that has an uploaded map resolved; frames without
    /// one stay as sent. Never fails: an unreadable map or store leaves frames as sent.
    pub(crate) async fn symbolicate(&self, project_id: ProjectId, sent: &Value) -> Value {
        let mut list = sent.clone();
        let chunks: BTreeSet<String> = frames_mut(&mut list)
            .filter_map(|f| f.get("chunk_id").and_then(Value::as_str).map(str::to_owned))
            .collect();
        if chunks.is_empty() {
            return list;
        }
        let chunks: Vec<String> = chunks.into_iter().collect();
        let sets = match self.symbols.symbol_sets_of_chunks(project_id, &chunks).await {
            Ok(sets) => sets,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up symbol sets; frames stay minified");
                return list;
            }
        };
        let mut resolvers: HashMap<String, Arc<Resolver>> = HashMap::new();
        for set in sets.into_iter().filter(|s| s.finished_at_ms.is_some()) {
            if let Some(resolver) = self.resolver(project_id, &set.id).await {
                resolvers.insert(set.chunk_id, resolver);
            }
        }
        if resolvers.is_empty() {
            return list;
        }
        self.cpu
            .run(move || {
                for frame in frames_mut(&mut list) {
                    let resolver =
                        frame.get("chunk_id").and_then(Value::as_str).and_then(|c| resolvers.get(c));
                    if let Some(resolved) = resolver.and_then(|r| r.resolve(frame)) {
                        *frame = resolved;
                    }
                }
                list
            })
            .await
            .unwrap_or_else(|| sent.clone())
    }

    async fn resolver(&self, project_id: ProjectId, set_id: &str) -> Option<Arc<Resolver>> {
        let load = async {
            let bytes = match self.blobs.get(&blob_key(project_id, set_id)).await {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::warn!(error = %e, set_id, "cannot read symbol set");
                    return None;
                }
            };
            self.cpu
                .run(move || Resolver::from_upload(&bytes, crate::api::MAX_SYMBOL_SET_DECODED))
                .await?
                .inspect_err(|e| tracing::warn!(error = %e, set_id, "cannot read symbol set"))
                .ok()
                .map(Arc::new)
        };
        // Only parsed maps are kept: a failed read is tried again next time.
        self.cache.optionally_get_with(set_id.to_owned(), load).await
    }
}

#[async_trait::async_trait]
impl tether_app::capture::Symbolicate for Symbolicator {
    async fn symbolicate(&self, project_id: ProjectId, exception_list: &Value) -> Value {
        Symbolicator::symbolicate(self, project_id, exception_list).await
    }

    async fn check_symbol_set(&self, bytes: bytes::Bytes) -> Result<(), String> {
        self.cpu
            .run(move || Resolver::from_upload(&bytes, crate::api::MAX_SYMBOL_SET_DECODED).map(drop))
            .await
            .ok_or_else(|| "the symbol set could not be read".to_owned())?
    }
}
