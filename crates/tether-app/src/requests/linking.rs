//! Linking health: how much of a project's logging can be linked to the sessions that caused
//! it (per service: the share of logs with a session, a person, a trace), and which requests
//! in recent recordings found no backend log at all, by route — each gap with its fix.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt};
use tether_store::{LogFilter, RecordingQuery, ServiceLinking, StoreError, StoreResult};

use super::{url_host, url_path};
use crate::App;

/// Recordings (the newest of the range) whose requests are checked.
pub const RECORDINGS_READ: usize = 20;
/// posthog-js's own calls (flags, remote config, capture): not the app's backend.
const POSTHOG_PATHS: [&str; 7] = ["/flags/", "/decide/", "/array/", "/e/", "/s/", "/i/", "/batch/"];

/// A service and what would make more of its logs linkable.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceHealth {
    pub linking: ServiceLinking,
    pub fix: Option<String>,
}

/// Requests of one route in recordings that no backend log was found for.
#[derive(Debug, Clone, PartialEq)]
pub struct UnlinkedRoute {
    pub host: String,
    /// The path with its ids as `:id` (`/api/orders/:id`).
    pub route: String,
    pub requests: u64,
    pub sessions: u64,
    /// A session to watch one in.
    pub example_session: String,
    /// On the page's own host (else a call to another host, an API or a third party).
    pub same_origin: bool,
    pub fix: String,
}

/// Linking health of a range.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkingHealth {
    pub services: Vec<ServiceHealth>,
    pub unlinked_routes: Vec<UnlinkedRoute>,
    /// Backend calls (documents, fetch, XHR) in the recordings read, and how many of them
    /// found logs.
    pub requests: u64,
    pub linked_requests: u64,
    pub recordings_read: usize,
}

impl App {
    /// The linking health of the logs matching `filter` and of the newest
    /// [`RECORDINGS_READ`] recordings in its range.
    pub async fn linking(&self, filter: LogFilter) -> StoreResult<LinkingHealth> {
        let project_id = filter.project_id;
        let (from_ms, to_ms) = (filter.from_ns / 1_000_000, filter.to_ns / 1_000_000);
        let services = self.stores.logs.linking(filter).await?.into_iter().map(service_health).collect();
        let query = RecordingQuery {
            project_id,
            from_ms: Some(from_ms),
            to_ms: Some(to_ms),
            limit: RECORDINGS_READ,
            ..Default::default()
        };
        let recordings = self.stores.recordings.index.recordings(query).await?;
        let (mut requests, mut linked) = (0, 0);
        let mut routes: BTreeMap<(String, String), (u64, BTreeSet<String>, bool)> = BTreeMap::new();
        // A few recordings at a time: each is blob reads, parsing and a logs query.
        let recordings_read = recordings.len();
        let joined: Vec<_> = futures::stream::iter(recordings)
            .map(|r| async move {
                let calls = self.session_requests(project_id, &r.session_id).await?;
                Ok::<_, StoreError>((r, calls))
            })
            .buffered(4)
            .try_collect()
            .await?;
        for (recording, calls) in joined {
            let page_host = recording.first_url.as_deref().and_then(url_host);
            let Some(calls) = calls else { continue };
            for call in calls.iter().filter(|c| c.request.is_api_call()) {
                let (Some(host), Some(path)) = (url_host(&call.request.url), url_path(&call.request.url))
                else {
                    continue;
                };
                if POSTHOG_PATHS.iter().any(|p| path.starts_with(p)) {
                    continue;
                }
                requests += 1;
                if call.matched.is_some() {
                    linked += 1;
                    continue;
                }
                let entry = routes
                    .entry((host.to_owned(), route_of(path)))
                    .or_insert_with(|| (0, BTreeSet::new(), page_host.is_none_or(|p| p == host)));
                entry.0 += 1;
                entry.1.insert(recording.session_id.clone());
            }
        }
        let mut unlinked_routes: Vec<UnlinkedRoute> = routes
            .into_iter()
            .map(|((host, route), (requests, sessions, same_origin))| UnlinkedRoute {
                fix: route_fix(&host, &route, same_origin),
                example_session: sessions.iter().next().cloned().unwrap_or_default(),
                sessions: sessions.len() as u64,
                host,
                route,
                requests,
                same_origin,
            })
            .collect();
        unlinked_routes.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.route.cmp(&b.route)));
        Ok(LinkingHealth { services, unlinked_routes, requests, linked_requests: linked, recordings_read })
    }
}

fn service_health(linking: ServiceLinking) -> ServiceHealth {
    let share = |n: u64| n as f64 / linking.logs.max(1) as f64;
    let sdk = linking.language.as_deref().map_or_else(String::new, |l| format!(" ({l})"));
    let fix = if share(linking.with_session) < 0.5 {
        Some(format!(
            "Most logs of this service{sdk} carry no session: add the stamping middleware to its HTTP \
             server, and add its host to tracing_headers in posthog.init when the page calls it on \
             another host."
        ))
    } else if share(linking.with_trace) < 0.5 {
        Some(format!(
            "Most logs of this service{sdk} carry no trace id, so a request in a replay finds them only \
             by session, route and time: the stamping middleware (or OpenTelemetry tracing) adds one."
        ))
    } else {
        None
    };
    ServiceHealth { linking, fix }
}

fn route_fix(host: &str, route: &str, same_origin: bool) -> String {
    if same_origin {
        format!(
            "No backend log was found for {route}: the service that answers it writes no log for these \
             requests, or its logs carry neither the session nor the trace. Add the stamping middleware \
             to that service."
        )
    } else {
        let name = host.split(':').next().unwrap_or(host);
        format!(
            "Calls to {host} carry no session: add '{name}' to tracing_headers in posthog.init, stamp that \
             service's logs, and let the page's origin read its Server-Timing (Timing-Allow-Origin)."
        )
    }
}

/// A path with the segments that look like ids (numbers, UUIDs, hex, long tokens with
/// digits) as `:id`, so requests of one route group together.
fn route_of(path: &str) -> String {
    let id_like = |s: &str| {
        let digits = s.bytes().filter(u8::is_ascii_digit).count();
        digits > 0 && (digits == s.len() || s.len() >= 8)
    };
    path.split('/').map(|s| if id_like(s) { ":id" } else { s }).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_paths_are_one_route() {
        assert_eq!(route_of("/api/orders/1234/items"), "/api/orders/:id/items");
        assert_eq!(route_of("/u/0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"), "/u/:id");
        assert_eq!(route_of("/api/v2/cart"), "/api/v2/cart");
        assert_eq!(route_of("/"), "/");
    }
}
