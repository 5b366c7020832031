//! Writing the recording index: a group commit's chunks in a fixed handful of statements,
//! whatever the group's size. Planning a DuckDB statement costs far more than running it on
//! a few rows; three statements per chunk took half of the server's CPU on `/s/` at 64
//! clients (the upsert of the session summary, re-planned on each execution), so chunks
//! are appended and each session's summary is folded in Rust and upserted once per group
//! from list parameters (one statement text, cached).

use std::collections::{BTreeMap, HashSet};

use duckdb::types::Value;
use duckdb::{Connection, params, params_from_iter};
use tether_model::{ProjectId, RecordingStats};
use tether_store::{ChunkEntry, ChunkPlace, PlacedChunk, StoreResult};

use super::db_err;
use super::recent::{self, Dedup, Table};

/// Indexes the chunks not indexed before (a retried request sends the same bytes: the same
/// chunk id in the same session, found among the chunks of the same first timestamps) nor
/// earlier in the group, and folds them into their sessions' summaries. Two sessions may
/// send the same bytes (the chunk id is a hash of them): each keeps its chunk.
pub(super) fn index_chunks(conn: &Connection, dedup: &mut Dedup, chunks: &[ChunkEntry]) -> StoreResult<()> {
    let old = dedup.uncovered(Table::Chunks, chunks, |c| c.stats.first_ms);
    let indexed_before = already_indexed(conn, &old)?;
    let fresh = dedup.keep_new(
        Table::Chunks,
        chunks,
        |c| (recent::key(c.project_id, &[&c.session_id, &c.chunk_id]), c.stats.first_ms),
        &indexed_before,
    );
    if fresh.is_empty() {
        return Ok(());
    }
    let mut app = conn.appender("recording_chunks").map_err(db_err("cannot index recording chunks"))?;
    for c in &fresh {
        app.append_row(params![
            c.project_id,
            c.session_id,
            c.window_id,
            c.chunk_id,
            c.stats.first_ms,
            c.stats.last_ms,
            c.place.blob_key,
            c.size as i64,
            c.place.offset as i64,
            c.place.length as i64
        ])
        .map_err(db_err("cannot index recording chunk"))?;
    }
    app.flush().map_err(db_err("cannot index recording chunks"))?;
    drop(app);
    upsert_summaries(conn, &fold_sessions(&fresh))
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

/// One session's share of a group: its chunks' stats folded as the summary folds them.
struct SessionFold<'a> {
    distinct_id: &'a str,
    stats: RecordingStats,
    size: u64,
}

fn fold_sessions<'a>(chunks: &[&'a ChunkEntry]) -> BTreeMap<(ProjectId, &'a str), SessionFold<'a>> {
    let mut sessions: BTreeMap<(ProjectId, &str), SessionFold> = BTreeMap::new();
    for c in chunks {
        let s = &c.stats;
        let fold = sessions.entry((c.project_id, c.session_id.as_str())).or_insert_with(|| SessionFold {
            distinct_id: &c.distinct_id,
            stats: RecordingStats { first_ms: i64::MAX, last_ms: i64::MIN, ..Default::default() },
            size: 0,
        });
        let f = &mut fold.stats;
        if s.first_url.is_some() && (s.first_ms < f.first_ms || f.first_url.is_none()) {
            f.first_url = s.first_url.clone();
        }
        f.first_ms = f.first_ms.min(s.first_ms);
        f.last_ms = f.last_ms.max(s.last_ms);
        f.active_ms += s.active_ms;
        f.clicks += s.clicks;
        f.keypresses += s.keypresses;
        f.console_errors += s.console_errors;
        f.has_full_snapshot |= s.has_full_snapshot;
        fold.size += c.size;
    }
    sessions
}

/// Upserts every session's fold in one statement: columns as list parameters, zipped by
/// `unnest`, so the statement text is the same for any number of sessions.
fn upsert_summaries(
    conn: &Connection,
    sessions: &BTreeMap<(ProjectId, &str), SessionFold>,
) -> StoreResult<()> {
    let mut columns: [Vec<Value>; 12] = Default::default();
    for ((project, session), f) in sessions {
        let s = &f.stats;
        let row = [
            Value::BigInt(*project),
            Value::Text((*session).to_owned()),
            Value::Text(f.distinct_id.to_owned()),
            Value::BigInt(s.first_ms),
            Value::BigInt(s.last_ms),
            Value::BigInt(s.active_ms),
            s.first_url.clone().map_or(Value::Null, Value::Text),
            Value::BigInt(s.clicks as i64),
            Value::BigInt(s.keypresses as i64),
            Value::BigInt(s.console_errors as i64),
            Value::BigInt(f.size as i64),
            Value::Boolean(s.has_full_snapshot),
        ];
        for (column, value) in columns.iter_mut().zip(row) {
            column.push(value);
        }
    }
    conn.prepare_cached(
        "INSERT INTO recordings SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), \
             unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[]), \
             unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::BIGINT[]), \
             unnest(?::BOOLEAN[]) \
         ON CONFLICT (project_id, session_id) DO UPDATE SET \
         first_url = CASE WHEN excluded.start_ms < recordings.start_ms AND excluded.first_url IS NOT NULL \
             THEN excluded.first_url ELSE coalesce(recordings.first_url, excluded.first_url) END, \
         start_ms = least(recordings.start_ms, excluded.start_ms), \
         end_ms = greatest(recordings.end_ms, excluded.end_ms), \
         active_ms = recordings.active_ms + excluded.active_ms, \
         clicks = recordings.clicks + excluded.clicks, \
         keypresses = recordings.keypresses + excluded.keypresses, \
         console_errors = recordings.console_errors + excluded.console_errors, \
         size = recordings.size + excluded.size, \
         has_full_snapshot = recordings.has_full_snapshot OR excluded.has_full_snapshot",
    )
    .and_then(|mut st| st.execute(params_from_iter(columns.into_iter().map(Value::List))))
    .map_err(db_err("cannot update recording summaries"))?;
    Ok(())
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
