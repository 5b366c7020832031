//! The settings of a ClickHouse store, all in its URL:
//! `http://user:password@host:8123/?database=tether&compression=lz4&cluster=…&retention_days=30&insert_quorum=2`.

use tether_store::{ErrorKind, StoreError, StoreResult};

/// Where the server is and how Tether lays out its tables there.
#[derive(Debug, Clone, PartialEq)]
pub struct ClickHouseOptions {
    /// The HTTP interface's address, without credentials or query.
    pub endpoint: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Created if missing. `tether` unless `?database=` names another.
    pub database: String,
    /// LZ4-compressed request and response bodies (the default; `compression=none` turns it
    /// off, e.g. for a proxy or test front-end that cannot decode them).
    pub compress: bool,
    /// With a cluster name, tables are `Replicated*` per shard (`…_local`) behind
    /// `Distributed` tables, all created `ON CLUSTER`.
    pub cluster: Option<String>,
    /// Rows older than this many days are dropped by a table `TTL` (whole daily parts).
    pub retention_days: Option<u32>,
    /// On a cluster: how many replicas must have written an insert before it is
    /// acknowledged (`insert_quorum`).
    pub insert_quorum: Option<u32>,
}

fn positive(what: &str, value: &str) -> StoreResult<u32> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| invalid(format!("{what} must be a positive whole number, not {value:?}")))
}

fn invalid(message: String) -> StoreError {
    StoreError::new(ErrorKind::InvalidInput, message)
}

/// A database or cluster name used unquoted in DDL: letters, digits and `_` only.
fn identifier(what: &str, value: &str) -> StoreResult<String> {
    let ok = !value.is_empty()
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !value.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(value.to_owned())
    } else {
        Err(invalid(format!("{what} {value:?} must be letters, digits and _")))
    }
}

impl ClickHouseOptions {
    /// Reads the options from a `clickhouse_url`; a one-line reason when it is not usable.
    pub fn from_url(text: &str) -> StoreResult<ClickHouseOptions> {
        let url = url::Url::parse(text).map_err(|e| invalid(format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "the ClickHouse URL must be http:// or https:// (the HTTP interface, port 8123), not {}://",
                url.scheme()
            )));
        }
        let host = url.host_str().ok_or_else(|| invalid("the ClickHouse URL has no host".into()))?;
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned())
        };
        let mut options = ClickHouseOptions {
            endpoint: format!("{}://{host}{port}{}", url.scheme(), url.path().trim_end_matches('/')),
            user: Some(url.username()).filter(|u| !u.is_empty()).and_then(decode),
            password: url.password().and_then(decode),
            database: "tether".into(),
            compress: true,
            cluster: None,
            retention_days: None,
            insert_quorum: None,
        };
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "database" => options.database = identifier("database", &value)?,
                "cluster" => options.cluster = Some(identifier("cluster", &value)?),
                "compression" => {
                    options.compress = match value.as_ref() {
                        "lz4" => true,
                        "none" => false,
                        other => {
                            return Err(invalid(format!("compression must be lz4 or none, not {other:?}")));
                        }
                    }
                }
                "retention_days" => options.retention_days = Some(positive("retention_days", &value)?),
                "insert_quorum" => options.insert_quorum = Some(positive("insert_quorum", &value)?),
                other => {
                    return Err(invalid(format!(
                        "unknown ClickHouse URL parameter {other:?} (known: database, compression, cluster, retention_days, insert_quorum)"
                    )));
                }
            }
        }
        if options.insert_quorum.is_some() && options.cluster.is_none() {
            return Err(invalid("insert_quorum needs a cluster (one server has one replica)".into()));
        }
        Ok(options)
    }

    /// Settings sent with every request. On a cluster, inserts into a `Distributed` table
    /// wait until the shards wrote them (by default they are queued on the receiving server
    /// and acknowledged before they are stored where they belong), and with a quorum until
    /// that many replicas did.
    pub(crate) fn settings(&self) -> Vec<(&'static str, String)> {
        let mut settings = Vec::new();
        if self.cluster.is_some() {
            settings.push(("distributed_foreground_insert", "1".to_owned()));
        }
        if let Some(quorum) = self.insert_quorum {
            settings.push(("insert_quorum", quorum.to_string()));
        }
        settings
    }

    /// A client for the server, using `database` when given.
    pub(crate) fn client(&self, database: Option<&str>) -> clickhouse::Client {
        let mut client =
            clickhouse::Client::default().with_url(&self.endpoint).with_compression(if self.compress {
                clickhouse::Compression::Lz4
            } else {
                clickhouse::Compression::None
            });
        if let Some(user) = &self.user {
            client = client.with_user(user);
        }
        if let Some(password) = &self.password {
            client = client.with_password(password);
        }
        if let Some(database) = database {
            client = client.with_database(database);
        }
        for (name, value) in self.settings() {
            client = client.with_setting(name, value);
        }
        client
    }

    /// The server and database, credentials left out.
    pub(crate) fn describe(&self) -> String {
        let cluster = self.cluster.as_deref().map(|c| format!(" on cluster {c}")).unwrap_or_default();
        format!("ClickHouse {} database {}{cluster}", self.endpoint, self.database)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_carries_credentials_database_and_layout() {
        let o = ClickHouseOptions::from_url(
            "http://app:p%40ss@ch.internal:8123/?database=obs&compression=none&cluster=main&retention_days=14&insert_quorum=2",
        )
        .unwrap();
        assert_eq!(o.endpoint, "http://ch.internal:8123");
        assert_eq!((o.user.as_deref(), o.password.as_deref()), (Some("app"), Some("p@ss")));
        assert_eq!(o.database, "obs");
        assert!(!o.compress);
        assert_eq!(o.cluster.as_deref(), Some("main"));
        assert_eq!(o.retention_days, Some(14));
        assert_eq!(o.describe(), "ClickHouse http://ch.internal:8123 database obs on cluster main");
        assert_eq!(
            o.settings(),
            [("distributed_foreground_insert", "1".to_owned()), ("insert_quorum", "2".to_owned())],
            "a cluster acknowledges inserts once the quorum of replicas has them"
        );
    }

    #[test]
    fn defaults_are_database_tether_and_lz4() {
        let o = ClickHouseOptions::from_url("http://localhost:8123").unwrap();
        assert!(o.settings().is_empty());
        assert_eq!((o.database.as_str(), o.compress, o.user, o.cluster), ("tether", true, None, None));
    }

    #[test]
    fn unusable_urls_say_why() {
        for (url, reason) in [
            ("clickhouse://h:9000", "must be http:// or https://"),
            ("http://h/?database=a;drop", "letters, digits and _"),
            ("http://h/?compression=gzip", "compression must be lz4 or none"),
            ("http://h/?retention_days=0", "retention_days must be a positive whole number"),
            ("http://h/?insert_quorum=2", "insert_quorum needs a cluster"),
            ("http://h/?user=x", "unknown ClickHouse URL parameter"),
        ] {
            let err = ClickHouseOptions::from_url(url).unwrap_err().to_string();
            assert!(err.contains(reason), "{url}: {err}");
        }
    }
}
