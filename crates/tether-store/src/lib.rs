//! The storage boundary: narrow traits per capability, their query and result types, one
//! error type, and the conformance suite every backend runs.
//!
//! Owns: what the rest of Tether may ask of storage. Must not contain: SQL, files, or any
//! backend detail — those live in `tether-store-embedded` (and later ClickHouse/Postgres).

mod capture;
pub mod conformance;
mod error;
mod logs;
mod metadata;
mod people;
mod users;

pub use capture::{
    BlobStore, EventStore, ExceptionScope, IssueStats, Recording, RecordingQuery, RecordingStore,
    SessionFlags,
};
pub use error::{ErrorKind, StoreError, StoreResult};
pub use logs::{
    AttrFilter, AttrOp, AttributeFacet, Breakdown, CountedValue, Facets, HistogramBucket, LogFilter, LogPage,
    LogQuery, LogReader, LogSummary, LogWriter, PageCursor, StoredLog,
};
pub use metadata::{ApiKey, KeyScope, MetadataStore, NewApiKey, Project, ProjectSettings};
pub use people::{Issue, IssueStatus, IssueStore, Person, PersonStore};
pub use users::{User, UserStore};
