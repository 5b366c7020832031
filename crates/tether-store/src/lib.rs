//! The storage boundary: narrow traits per capability, their query and result types, one
//! error type, and the conformance suite every backend runs.
//!
//! Owns: what the rest of Tether may ask of storage. Must not contain: SQL, files, or any
//! backend detail — those live in `tether-store-embedded` (DuckDB), `tether-store-sql`
//! (SQLite or PostgreSQL) and `tether-store-blob` (object stores).

mod alerts;
mod blobs;
mod cache;
mod capture;
pub mod conformance;
mod error;
mod log_expr;
mod logs;
mod metadata;
mod people;
mod recordings;
mod symbols;
mod users;

pub use alerts::{
    Alert, AlertEvent, AlertEventKind, AlertRule, AlertSpec, AlertStore, Delivery, NewAlertEvent,
};
pub use blobs::{BlobStore, Listing, valid_blob_key};
pub use cache::{CachedMeta, DEFAULT_TTL as DEFAULT_METADATA_CACHE_TTL};
pub use capture::{
    ChunkEntry, ChunkPlace, ChunkRef, ErrorFilter, EventStore, ExceptionScope, IssueStats, PlacedChunk,
    Recording, RecordingIndex, RecordingQuery,
};
pub use error::{ErrorKind, StoreError, StoreResult};
pub use log_expr::{Compare, Condition, Field, LogExpr};
pub use logs::{
    AttributeFacet, Breakdown, CountedValue, Facets, Histogram, HistogramBucket, LogFilter, LogPage,
    LogQuery, LogReader, LogSample, LogSummary, LogWriter, PageCursor, SAMPLE_MODULUS,
    SDK_LANGUAGE_ATTRIBUTE, ServiceLinking, SessionHit, StoredLog, check_bucket_width, sdk_language,
};
pub use metadata::{
    ApiKey, IngestLimits, KeyScope, MetadataStore, NetworkCapture, NewApiKey, Privacy, Project,
    ProjectSettings, Retention,
};
pub use people::{Issue, IssueQuery, IssueStatus, IssueStore, Person, PersonStore};
pub use recordings::Recordings;
pub use symbols::{NewRelease, NewSymbolSet, Release, SymbolSet, SymbolStore};
pub use users::{Invite, LoginSession, Membership, Role, User, UserStore};
