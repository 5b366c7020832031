//! The use cases of Tether: the rules of the product as functions over a state of stores
//! and a clock, with no transport in them. The HTTP handlers of `tether-server` extract,
//! authorize, call one of these, and shape the answer; a rule (the ±6 h window of related
//! errors, which ids are a person's, what a sparkline covers) is written once, here, and
//! tested here without a server.
//!
//! Use cases fail with [`StoreError`], whose [`tether_store::ErrorKind`] (invalid input,
//! not found, unavailable, internal) the server maps to a status in one place.
//!
//! The modules: errors (issues with their stats, the errors related to a log), logs
//! (histogram buckets, live tail's cursor, a session's logs, session marks), people (a
//! person's ids and summary), recordings (the list and its error filter, a session's
//! events), finding a log, the logs search grammar (`search`), alert decisions, retention,
//! source-map uploads (`symbols`), API keys with their owners (`keys`), and capture
//! (events, exceptions, persons and recording chunks through their group commits,
//! `commit`).

pub mod alerts;
pub mod capture;
pub mod clock;
pub mod commit;
pub mod errors;
pub mod keys;
pub mod logs;
pub mod patterns;
pub mod people;
pub mod query;
pub mod recordings;
pub mod requests;
pub mod retention;
pub mod search;
pub mod symbols;

use std::sync::Arc;

use tether_model::{LogId, ProjectId};
use tether_store::{
    AlertStore, BlobStore, CachedMeta, ErrorKind, EventStore, IssueStore, LogReader, LogWriter,
    MetadataStore, PersonStore, RecordingIndex, Recordings, StoreError, StoreResult, StoredLog, SymbolStore,
    UserStore,
};

pub use clock::{Clock, ManualClock, SystemClock};

/// The stores of Tether, as trait objects so any backend fits: what the use cases read and
/// write, and what the server serves them from. What spans two stores is composed in the
/// use cases, above them.
#[derive(Clone)]
pub struct Stores {
    pub meta: Arc<dyn MetadataStore>,
    pub logs: Arc<dyn LogReader>,
    pub log_writer: Arc<dyn LogWriter>,
    pub events: Arc<dyn EventStore>,
    pub recordings: Recordings,
    pub issues: Arc<dyn IssueStore>,
    pub persons: Arc<dyn PersonStore>,
    pub users: Arc<dyn UserStore>,
    pub symbols: Arc<dyn SymbolStore>,
    pub alerts: Arc<dyn AlertStore>,
}

impl Stores {
    /// All stores from one analytics store (logs, events, recording index), one metadata
    /// store (projects, keys, issues, persons, users) and one blob store.
    pub fn new<A, M>(analytics: Arc<A>, meta: Arc<M>, blobs: Arc<dyn BlobStore>) -> Stores
    where
        A: LogReader + LogWriter + EventStore + RecordingIndex + 'static,
        M: MetadataStore + IssueStore + PersonStore + UserStore + SymbolStore + AlertStore + 'static,
    {
        Stores {
            meta: meta.clone(),
            logs: analytics.clone(),
            log_writer: analytics.clone(),
            events: analytics.clone(),
            recordings: Recordings { index: analytics, blobs },
            issues: meta.clone(),
            persons: meta.clone(),
            users: meta.clone(),
            symbols: meta.clone(),
            alerts: meta,
        }
    }

    /// The same stores with project, key and login lookups behind a read cache whose
    /// entries live `ttl` ([`CachedMeta`]); a zero `ttl` leaves them uncached.
    pub fn with_metadata_cache(mut self, ttl: std::time::Duration) -> Stores {
        if !ttl.is_zero() {
            let cached = Arc::new(CachedMeta::new(self.meta.clone(), self.users.clone(), ttl));
            self.meta = cached.clone();
            self.users = cached;
        }
        self
    }
}

/// The use cases over one set of stores, a clock and the symbolicator (which reads stack
/// frames through uploaded source maps). Cheap to clone.
#[derive(Clone)]
pub struct App {
    stores: Stores,
    clock: Arc<dyn Clock>,
    symbols: Arc<dyn capture::Symbolicate>,
    patterns: Arc<patterns::Catalogs>,
}

impl App {
    pub fn new(stores: Stores, clock: Arc<dyn Clock>, symbols: Arc<dyn capture::Symbolicate>) -> App {
        App { stores, clock, symbols, patterns: Arc::default() }
    }

    /// What time it is for the use cases (moved by tests through a [`ManualClock`]).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// One log of the project by its id as the API shows it (a decimal number); not found
    /// for anything else, so an id of another project reads as absent.
    pub async fn log(&self, project_id: ProjectId, log_id: &str) -> StoreResult<StoredLog> {
        let not_found = || StoreError::new(ErrorKind::NotFound, format!("log {log_id} not found"));
        let id: i64 = log_id.parse().map_err(|_| not_found())?;
        self.stores.logs.get(project_id, LogId(id)).await?.ok_or_else(not_found)
    }
}
