//! The conformance suites: the behaviours every storage backend must show, one suite per
//! capability, so each backend runs exactly the suites of what it implements. A backend
//! runs a suite with its macro (e.g. [`crate::logs_suite!`]), handing in an async function
//! that builds fresh, empty stores (and, for a backend that needs a running server,
//! `requires = "TETHER_TEST_…"`: the variable naming it, so its cases skip without it). Each case builds its own data; no case depends on
//! another, and none relies on how a backend stores things (transactions, counts of rows
//! written): only on what a caller can observe.

pub mod alerts;
pub mod blobs;
pub mod events;
pub mod log_estimates;
pub mod log_queries;
pub mod logs;
pub mod metadata;
pub mod persons;
pub mod recordings;
pub mod symbols;
pub mod users;

use std::any::Any;
use std::sync::Arc;

use crate::{
    AlertStore, BlobStore, EventStore, IssueStore, LogReader, LogWriter, MetadataStore, PersonStore,
    RecordingIndex, SymbolStore, UserStore,
};

/// Whatever keeps a backend's fresh stores alive (a temp dir, a scratch database).
pub type Guard = Box<dyn Any + Send>;

/// Fresh log stores.
pub struct LogStores {
    pub writer: Arc<dyn LogWriter>,
    pub logs: Arc<dyn LogReader>,
    pub guard: Guard,
}

/// A fresh event store.
pub struct EventStores {
    pub events: Arc<dyn EventStore>,
    pub guard: Guard,
}

/// A fresh recording index.
pub struct RecordingStores {
    pub index: Arc<dyn RecordingIndex>,
    /// The same backend's events: "with errors" finds sessions by their exceptions there.
    pub events: Arc<dyn EventStore>,
    pub guard: Guard,
}

/// A fresh, empty blob store.
pub struct BlobStores {
    pub blobs: Arc<dyn BlobStore>,
    pub guard: Guard,
}

/// A fresh metadata database: projects and keys, issues, persons, users, symbol sets, alerts.
pub struct MetaStores {
    pub meta: Arc<dyn MetadataStore>,
    pub issues: Arc<dyn IssueStore>,
    pub persons: Arc<dyn PersonStore>,
    pub users: Arc<dyn UserStore>,
    pub symbols: Arc<dyn SymbolStore>,
    pub alerts: Arc<dyn AlertStore>,
    pub guard: Guard,
}

/// Whether the service a suite needs is there: the environment variable `var` that names
/// it is set (`""`: the suite needs nothing). See [`prerequisite`].
pub fn service_available(var: &str) -> bool {
    var.is_empty() || prerequisite(std::env::var_os(var).is_some_and(|v| !v.is_empty()), var)
}

/// Whether a test's prerequisite (a service, an SDK's packages) is `present`. Without it
/// the test is skipped with one line naming `what` is missing, so `cargo test` runs on a
/// machine with only Rust and Node, unless `TETHER_TEST_REQUIRE_SERVICES` is set (as
/// `scripts/test`, which installs and starts everything, does): then a missing one fails
/// the test, so nothing is skipped by accident where everything should be there.
pub fn prerequisite(present: bool, what: &str) -> bool {
    if present {
        return true;
    }
    assert!(
        std::env::var_os("TETHER_TEST_REQUIRE_SERVICES").is_none(),
        "{what} is missing, and TETHER_TEST_REQUIRE_SERVICES says every test must run"
    );
    eprintln!("skipped: needs {what} (scripts/test installs and starts everything; see README, Tests)");
    false
}

/// Expands into one `#[tokio::test]` per case of a suite module, each calling
/// `$make().await` for its own stores, and skipped when the service `$requires` names is
/// not there ([`service_available`]).
#[doc(hidden)]
#[macro_export]
macro_rules! conformance_cases {
    ($make:path, $requires:literal, $module:ident; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                if $crate::conformance::service_available($requires) {
                    $crate::conformance::$module::$case($make().await).await;
                }
            }
        )*
    };
}

/// The log suite, for a `$make` returning [`LogStores`].
#[macro_export]
macro_rules! logs_suite {
    ($make:path) => {
        $crate::logs_suite!($make, requires = "");
    };
    ($make:path, requires = $requires:literal) => {
        $crate::conformance_cases!($make, $requires, logs;
            append_then_get_round_trips_every_field,
            appended_logs_keep_the_ids_they_were_given,
            attributes_repeating_the_logs_ids_filter_and_count_like_others,
            many_attributes_in_any_order_filter_and_count,
            pages_are_newest_first_and_stable_while_logs_arrive,
            filters_select_the_right_logs,
            projects_never_see_each_others_logs,
            histogram_counts_per_bucket_and_breakdown,
            samples_keep_the_logs_of_some_ids_the_same_everywhere,
            the_sessions_of_a_search_latest_match_first,
            linking_counts_the_linkable_logs_of_each_service,
            facets_count_services_severities_and_attributes,
            tail_returns_what_arrived_after_the_cursor,
            concurrent_writers_lose_nothing,
            deleting_old_logs_leaves_newer_ones_and_other_projects,
            text_search_finds_every_match_among_many_logs);
        $crate::conformance_cases!($make, $requires, log_queries;
            every_operator_selects_the_right_logs,
            texts_match_as_substrings_wherever_words_meet);
        $crate::conformance_cases!($make, $requires, log_estimates;
            summaries_and_facets_of_a_large_search_are_exact_or_say_they_are_not,
            facets_of_many_logs_count_the_newest);
    };
}

/// The event suite, for a `$make` returning [`EventStores`].
#[macro_export]
macro_rules! events_suite {
    ($make:path) => {
        $crate::events_suite!($make, requires = "");
    };
    ($make:path, requires = $requires:literal) => {
        $crate::conformance_cases!($make, $requires, events;
            events_are_seen_once_per_uuid_and_project,
            exceptions_aggregate_per_issue_and_session,
            exception_ranges_are_half_open,
            deleting_old_events_leaves_newer_ones_and_other_projects);
    };
}

/// The recording index suite, for a `$make` returning [`RecordingStores`].
#[macro_export]
macro_rules! recordings_suite {
    ($make:path) => {
        $crate::recordings_suite!($make, requires = "");
    };
    ($make:path, requires = $requires:literal) => {
        $crate::conformance_cases!($make, $requires, recordings;
            recordings_fold_chunks_into_a_summary,
            recording_chunks_index_together,
            recordings_filter_by_errors,
            recordings_overlap_the_time_range,
            a_persons_recordings_are_counted,
            ended_recordings_are_found_and_forgotten,
            chunks_are_found_by_segment_and_moved);
    };
}

/// The blob suite, for a `$make` returning [`BlobStores`].
#[macro_export]
macro_rules! blobs_suite {
    ($make:path) => {
        $crate::blobs_suite!($make, requires = "");
    };
    ($make:path, requires = $requires:literal) => {
        $crate::conformance_cases!($make, $requires, blobs;
            blobs_round_trip_and_replace_whole,
            missing_blobs_are_not_found,
            unsafe_keys_are_refused,
            concurrent_puts_all_land,
            deleting_a_folder_removes_only_its_blobs,
            ranges_lists_and_deletes);
    };
}

/// The metadata suite (projects, keys, node numbers, issues), for a `$make` returning
/// [`MetaStores`].
#[macro_export]
macro_rules! metadata_suite {
    ($make:path) => {
        $crate::metadata_suite!($make, requires = "");
    };
    ($make:path, requires = $requires:literal) => {
        $crate::conformance_cases!($make, $requires, metadata;
            metadata_projects_and_tokens,
            metadata_api_keys_by_hash_and_revocation,
            node_numbers_are_never_reused,
            issues_reopen_when_seen_again,
            concurrent_occurrences_of_a_new_fingerprint_share_one_issue,
            first_start_happens_once);
    };
}

/// The persons suite, for a `$make` returning [`MetaStores`].
#[macro_export]
macro_rules! persons_suite {
    ($make:path) => {
        $crate::persons_suite!($make, requires = "");
    };
    ($make:path, requires = $requires:literal) => {
        $crate::conformance_cases!($make, $requires, persons;
            persons_merge_on_identify_and_keep_set_once,
            persons_list_newest_first_and_search_ids_and_properties,
            concurrent_updates_of_a_new_person_make_one_person);
    };
}

/// The symbols suite (releases, source map uploads), for a `$make` returning [`MetaStores`].
#[macro_export]
macro_rules! symbols_suite {
    ($make:path) => {
        $crate::symbols_suite!($make, requires = "");
    };
    ($make:path, requires = $requires:literal) => {
        $crate::conformance_cases!($make, $requires, symbols;
            releases_are_found_by_hash_once_per_project,
            symbol_sets_are_replaced_per_chunk_and_finish_once);
    };
}

/// The alerts suite, for a `$make` returning [`MetaStores`].
#[macro_export]
macro_rules! alerts_suite {
    ($make:path) => {
        $crate::alerts_suite!($make, requires = "");
    };
    ($make:path, requires = $requires:literal) => {
        $crate::conformance_cases!($make, $requires, alerts;
            alerts_belong_to_their_project_and_keep_their_rule,
            an_alert_fires_once_per_breach_and_records_deliveries);
    };
}

/// The users suite, for a `$make` returning [`MetaStores`].
#[macro_export]
macro_rules! users_suite {
    ($make:path) => {
        $crate::users_suite!($make, requires = "");
    };
    ($make:path, requires = $requires:literal) => {
        $crate::conformance_cases!($make, $requires, users;
            users_and_sessions_expire,
            a_new_password_ends_every_session,
            roles_change_and_one_admin_always_remains,
            concurrent_demotions_leave_an_admin,
            removing_a_user_ends_their_sessions_and_keys,
            sessions_are_listed_and_ended_one_by_one,
            invitations_are_used_once_and_expire,
            memberships_are_granted_changed_and_removed);
    };
}

pub(crate) const SEC: i64 = 1_000_000_000;
/// 2026-01-01T00:00:00Z; every case places its data relative to it.
pub(crate) const T0: i64 = 1_767_225_600 * SEC;
