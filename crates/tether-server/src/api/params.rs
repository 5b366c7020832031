//! The logs API's query parameters as OpenAPI describes them (the grammar itself is
//! `tether_app::search`), and how times are read from and written to the API.

use crate::ApiError;

/// The query string of the logs endpoints as the API documents it. [`parse`] reads the
/// same names by hand (repeated `attr` and `service`, one 400 naming the bad parameter);
/// this type only describes them to OpenAPI.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read by the OpenAPI derive only.
pub(crate) struct LogSearch {
    /// Start of the range: RFC 3339 or relative (`-1h`, `-7d`); an hour ago when absent.
    from: Option<String>,
    /// End of the range (exclusive); a few minutes from now when absent.
    to: Option<String>,
    /// The query language: words and "phrases" in the body (any case), `AND`/`OR`/`NOT`
    /// (`-word`), parentheses, `field:value` / `field=value` / `field!=value` for
    /// `service`, `severity` (`level`), `trace`, `session`, `person`, `body` and
    /// `attr.<key>`, comparisons (`severity>=warn`, `attr.http.status_code>499`), and
    /// `field:*` (has one). A syntax error is a 400 naming its column.
    q: Option<String>,
    /// Comma-separated: `trace`, `debug`, `info`, `warn`, `error`, `fatal`.
    severity: Option<String>,
    /// A service name (repeatable: any of them).
    service: Option<String>,
    /// `key=value`, `key!=value`, `key` or `!key` (repeatable: all of them).
    attr: Option<String>,
    session_id: Option<String>,
    /// Logs of this distinct id.
    distinct_id: Option<String>,
    /// 32 hex characters.
    trace_id: Option<String>,
    /// 1 to 1,000; 100 when absent.
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Live tail: the `cursor` of the previous poll.
    after: Option<String>,
    /// Histogram: `severity` (default) or `service`.
    breakdown: Option<String>,
}

/// An optional time parameter as Unix milliseconds; a bad value is a 400 naming `name`.
pub(crate) fn parse_time_ms(name: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| {
            tether_app::search::parse_time(v, crate::clock::now_ns()).map(|ns| ns / 1_000_000).ok_or_else(
                || {
                    ApiError::bad_request(format!(
                        "invalid {name}: expected RFC 3339 or relative time like -1h"
                    ))
                },
            )
        })
        .transpose()
}

pub(crate) use tether_app::search::format_ns;
