//! Writing the recording index: a group commit's chunks through the appender, with their
//! shares of their sessions' summaries (folded later, in batches: see `super::fold`).
//! Planning a DuckDB statement costs far more than running it on a few rows, so a group
//! runs a fixed handful of statements whatever its size.

use std::collections::{BTreeMap, HashSet};

use duckdb::types::Value;
use duckdb::{Connection, params};
use tether_model::ProjectId;
use tether_store::{ChunkEntry, ChunkPlace, PlacedChunk, StoreResult};

use super::db_err;
use super::recent::{self, Dedup, Table};

/// Indexes the chunks not indexed before (a retried request sends the same bytes: the same
/// chunk id in the same session, found among the chunks of the same first timestamps) nor
/// earlier in the group, as group `seq`; returns how many it indexed. Two sessions may
/// send the same bytes (the chunk id is a hash of them): each keeps its chunk.
pub(super) fn index_chunks(
    conn: &Connection,
    dedup: &mut Dedup,
    seq: i64,
    chunks: &[ChunkEntry],
) -> StoreResult<usize> {
    let old = dedup.uncovered(Table::Chunks, chunks, |c| c.stats.first_ms);
    let indexed_before = already_indexed(conn, &old)?;
    let fresh = dedup.keep_new(
        Table::Chunks,
        chunks,
        |c| (recent::key(c.project_id, &[&c.session_id, &c.chunk_id]), c.stats.first_ms),
        &indexed_before,
    );
    if fresh.is_empty() {
        return Ok(0);
    }
    let mut app = conn.appender("recording_chunks").map_err(db_err("cannot index recording chunks"))?;
    for c in &fresh {
        let s = &c.stats;
        app.append_row(params![
            c.project_id,
            c.session_id,
            c.window_id,
            c.chunk_id,
            s.first_ms,
            s.last_ms,
            c.place.blob_key,
            c.size as i64,
            c.place.offset as i64,
            c.place.length as i64,
            seq,
            c.distinct_id,
            s.active_ms,
            s.first_url,
            s.clicks as i64,
            s.keypresses as i64,
            s.console_errors as i64,
            s.has_full_snapshot,
        ])
        .map_err(db_err("cannot index recording chunk"))?;
    }
    app.flush().map_err(db_err("cannot index recording chunks"))?;
    Ok(fresh.len())
}

/// The keys of `chunks` already in the index (for chunks older than the recent keys).
fn already_indexed(conn: &Connection, chunks: &[&ChunkEntry]) -> StoreResult<HashSet<u128>> {
    if chunks.is_empty() {
        return Ok(HashSet::new());
    }
    let mut by_project: BTreeMap<ProjectId, (i64, i64, Vec<Value>)> = BTreeMap::new();
    for c in chunks {
        let (from, to, ids) =
            by_project.entry(c.project_id).or_insert((c.stats.first_ms, c.stats.first_ms, Vec::new()));
        (*from, *to) = ((*from).min(c.stats.first_ms), (*to).max(c.stats.first_ms));
        ids.push(Value::Text(c.chunk_id.clone()));
    }
    let mut found = HashSet::new();
    let mut stmt = conn
        .prepare_cached(
            "SELECT session_id, chunk_id FROM recording_chunks \
             WHERE project_id = ? AND first_ms BETWEEN ? AND ? AND list_contains(?, chunk_id)",
        )
        .map_err(db_err("cannot check recording chunks"))?;
    for (project, (from, to, ids)) in by_project {
        let rows = stmt
            .query_map(params![project, from, to, Value::List(ids)], |r| {
                Ok(recent::key(project, &[&r.get::<_, String>(0)?, &r.get::<_, String>(1)?]))
            })
            .map_err(db_err("cannot check recording chunks"))?;
        for key in rows {
            found.insert(key.map_err(db_err("cannot read recording chunk"))?);
        }
    }
    Ok(found)
}

/// The chunk place in a row's columns `blob_key, blob_offset, blob_length` from `first`.
pub(super) fn place_at(r: &duckdb::Row<'_>, first: usize) -> duckdb::Result<ChunkPlace> {
    Ok(ChunkPlace {
        blob_key: r.get(first)?,
        offset: r.get::<_, i64>(first + 1)? as u64,
        length: r.get::<_, i64>(first + 2)? as u64,
    })
}

/// The project's chunks whose bytes are in `blob_keys`.
pub(super) fn chunks_in_blobs(
    conn: &Connection,
    project_id: ProjectId,
    blob_keys: Vec<String>,
) -> StoreResult<Vec<PlacedChunk>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT session_id, chunk_id, blob_key, blob_offset, blob_length FROM recording_chunks \
             WHERE project_id = ? AND list_contains(?, blob_key)",
        )
        .map_err(db_err("cannot find chunks by segment"))?;
    let keys = Value::List(blob_keys.into_iter().map(Value::Text).collect());
    let rows = stmt
        .query_map(params![project_id, keys], |r| {
            Ok(PlacedChunk { session_id: r.get(0)?, chunk_id: r.get(1)?, place: place_at(r, 2)? })
        })
        .map_err(db_err("cannot find chunks by segment"))?;
    rows.collect::<Result<_, _>>().map_err(db_err("cannot read a chunk row"))
}

/// Points chunks at new places, in one statement (lists of the new places by key).
pub(super) fn move_chunks(
    conn: &Connection,
    project_id: ProjectId,
    moved: &[PlacedChunk],
) -> StoreResult<()> {
    let list = |f: &dyn Fn(&PlacedChunk) -> Value| Value::List(moved.iter().map(f).collect());
    let mut stmt = conn
        .prepare_cached(
            "UPDATE recording_chunks c SET blob_key = m.blob_key, blob_offset = m.blob_offset, \
             blob_length = m.blob_length \
             FROM (SELECT unnest(?) AS session_id, unnest(?) AS chunk_id, unnest(?) AS blob_key, \
                          unnest(?) AS blob_offset, unnest(?) AS blob_length) m \
             WHERE c.project_id = ? AND c.session_id = m.session_id AND c.chunk_id = m.chunk_id",
        )
        .map_err(db_err("cannot move recording chunks"))?;
    stmt.execute(params![
        list(&|c| Value::Text(c.session_id.clone())),
        list(&|c| Value::Text(c.chunk_id.clone())),
        list(&|c| Value::Text(c.place.blob_key.clone())),
        list(&|c| Value::BigInt(c.place.offset as i64)),
        list(&|c| Value::BigInt(c.place.length as i64)),
        project_id
    ])
    .map_err(db_err("cannot move recording chunks"))?;
    Ok(())
}
