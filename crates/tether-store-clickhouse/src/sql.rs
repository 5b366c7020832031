//! SQL with bound values, running it, and what ClickHouse errors mean to callers.
//!
//! Values are bound with the crate's `?` placeholders (escaped by the client), never spliced
//! by hand; only numbers Tether computes itself (limits, bucket widths) appear in the text.

use clickhouse::query::Query;
use clickhouse::{Client, RowOwned, RowRead, RowWrite};
use tether_store::{StoreError, StoreResult};

use crate::{QUERY_TIMEOUT, timed_out};

/// One bound value.
#[derive(Debug, Clone)]
pub(crate) enum Bound {
    Int(i64),
    Float(f64),
    Text(String),
    /// An `Array(String)` literal.
    Texts(Vec<String>),
    /// An `Array(UInt64)` literal.
    Counts(Vec<u64>),
}

impl From<i64> for Bound {
    fn from(v: i64) -> Bound {
        Bound::Int(v)
    }
}

impl From<&str> for Bound {
    fn from(v: &str) -> Bound {
        Bound::Text(v.to_owned())
    }
}

impl From<String> for Bound {
    fn from(v: String) -> Bound {
        Bound::Text(v)
    }
}

/// A list of predicates joined by AND, and the values their `?`s stand for, in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Where {
    clauses: Vec<String>,
    binds: Vec<Bound>,
}

impl Where {
    pub(crate) fn push(&mut self, clause: &str, binds: impl IntoIterator<Item = Bound>) {
        self.clauses.push(clause.to_owned());
        self.binds.extend(binds);
    }

    /// `column IN (…)`; nothing when there are no values (no restriction).
    pub(crate) fn push_in(&mut self, column: &str, values: impl IntoIterator<Item = Bound>) {
        let values: Vec<Bound> = values.into_iter().collect();
        if !values.is_empty() {
            let marks = vec!["?"; values.len()].join(", ");
            self.push(&format!("{column} IN ({marks})"), values);
        }
    }

    /// `WHERE a AND b …`, or nothing without predicates.
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() { String::new() } else { format!("WHERE {}", self.clauses.join(" AND ")) }
    }

    /// The predicates as one parenthesized condition (`1` when there are none).
    pub(crate) fn condition(&self) -> String {
        if self.clauses.is_empty() { "1".into() } else { format!("({})", self.clauses.join(" AND ")) }
    }

    pub(crate) fn binds(&self) -> &[Bound] {
        &self.binds
    }
}

/// `sql` with `binds` bound to its `?`s in order.
pub(crate) fn query<'a>(client: &Client, sql: &str, binds: impl IntoIterator<Item = &'a Bound>) -> Query {
    binds.into_iter().fold(client.query(sql), |q, b| match b {
        Bound::Int(v) => q.bind(*v),
        Bound::Float(v) => q.bind(*v),
        Bound::Text(v) => q.bind(v.as_str()),
        Bound::Texts(v) => q.bind(v.as_slice()),
        Bound::Counts(v) => q.bind(v.as_slice()),
    })
}

/// Runs a statement that returns no rows.
pub(crate) async fn run(query: Query) -> StoreResult<()> {
    match tokio::time::timeout(QUERY_TIMEOUT, query.execute()).await {
        Ok(result) => result.map_err(ch_err("ClickHouse statement failed")),
        Err(_) => Err(timed_out("ClickHouse statement")),
    }
}

/// Runs a query and reads every row.
pub(crate) async fn fetch<T>(query: Query) -> StoreResult<Vec<T>>
where
    T: RowOwned + RowRead,
{
    match tokio::time::timeout(QUERY_TIMEOUT, query.fetch_all::<T>()).await {
        Ok(result) => result.map_err(ch_err("ClickHouse query failed")),
        Err(_) => Err(timed_out("ClickHouse query")),
    }
}

/// Inserts rows in one `INSERT`: Ok once the server acknowledged all of them.
pub(crate) async fn insert<T>(client: &Client, table: &str, rows: &[T]) -> StoreResult<()>
where
    T: RowOwned + RowWrite,
{
    if rows.is_empty() {
        return Ok(());
    }
    let write = async {
        let mut insert = client.insert::<T>(table).await?;
        for row in rows {
            insert.write(row).await?;
        }
        insert.end().await
    };
    match tokio::time::timeout(QUERY_TIMEOUT, write).await {
        Ok(result) => result.map_err(ch_err("ClickHouse insert failed")),
        Err(_) => Err(timed_out("ClickHouse insert")),
    }
}

/// Server error codes that mean "try again later" rather than "this request is wrong":
/// overload (too many parts, queries or connections, memory), timeouts, network trouble,
/// replicas that are read-only or restarting, and Keeper sessions lost.
const TRANSIENT_CODES: &[u32] = &[
    3,   // UNEXPECTED_END_OF_FILE
    159, // TIMEOUT_EXCEEDED
    160, // TOO_SLOW
    202, // TOO_MANY_SIMULTANEOUS_QUERIES
    203, // NO_FREE_CONNECTION
    209, // SOCKET_TIMEOUT
    210, // NETWORK_ERROR
    236, // ABORTED
    241, // MEMORY_LIMIT_EXCEEDED
    242, // TABLE_IS_READ_ONLY
    252, // TOO_MANY_PARTS
    279, // ALL_CONNECTION_TRIES_FAILED
    285, // TOO_FEW_LIVE_REPLICAS
    286, // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
    319, // UNKNOWN_STATUS_OF_INSERT
    425, // SYSTEM_ERROR
    439, // CANNOT_SCHEDULE_TASK
    999, // KEEPER_EXCEPTION
];

/// The `Code: N.` of a server error message.
pub(crate) fn error_code(message: &str) -> Option<u32> {
    let rest = &message[message.find("Code: ")? + 6..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// Unreachable, overloaded or timed-out servers are `Unavailable` (503 + Retry-After
/// upstream); anything else is internal.
pub(crate) fn ch_err(context: &'static str) -> impl Fn(clickhouse::error::Error) -> StoreError {
    use clickhouse::error::Error;
    move |e| match &e {
        Error::Network(_) | Error::TimedOut => StoreError::unavailable(context, e),
        Error::BadResponse(message) if error_code(message).is_some_and(|c| TRANSIENT_CODES.contains(&c)) => {
            StoreError::unavailable(context, e)
        }
        _ => StoreError::internal(context, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_codes_are_read_from_messages() {
        let too_many = "Code: 252. DB::Exception: Too many parts (300). Merges are processing \
                        significantly slower than inserts. (TOO_MANY_PARTS)";
        assert_eq!(error_code(too_many), Some(252));
        assert_eq!(error_code("no code here"), None);
        let kind = |m: &str| ch_err("x")(clickhouse::error::Error::BadResponse(m.into())).kind();
        assert_eq!(kind(too_many), tether_store::ErrorKind::Unavailable);
        assert_eq!(kind("Code: 62. DB::Exception: Syntax error"), tether_store::ErrorKind::Internal);
    }

    #[test]
    fn predicates_join_with_their_values_in_order() {
        let mut w = Where::default();
        w.push("project_id = ?", [Bound::Int(7)]);
        w.push_in("service", ["a", "b"].map(Bound::from));
        w.push_in("severity", []);
        assert_eq!(w.sql(), "WHERE project_id = ? AND service IN (?, ?)");
        assert_eq!(w.binds().len(), 3);
    }
}
