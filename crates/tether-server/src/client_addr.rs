//! The address of the client behind a request, for the login throttle. Each proxy appends
//! the address it was reached from to `X-Forwarded-For`, so only the hops written by proxies
//! Tether trusts are facts: the client is the right-most hop that is not a trusted proxy.
//! Everything to its left is whatever the client chose to send (trusting the first hop let
//! a guesser pick a new "address" for every attempt).

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The networks whose connections may say who they forward (`[server] trusted_proxies`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrustedProxies(pub(crate) Vec<IpNet>);

impl Default for TrustedProxies {
    /// Loopback only: a proxy on the same machine.
    fn default() -> Self {
        TrustedProxies(["127.0.0.0/8", "::1/128"].iter().filter_map(|n| n.parse().ok()).collect())
    }
}

impl TrustedProxies {
    fn trusts(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client of a request that came from `peer`: `peer` itself unless it is a trusted
    /// proxy; then the right-most `X-Forwarded-For` hop that is not one (the left-most hop
    /// when all are, the last trusted one before a hop that is not an address).
    pub(crate) fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer;
        if !self.trusts(client) {
            return client;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.iter().rev() {
            let Ok(addr) = hop.parse::<IpAddr>() else { break };
            client = addr;
            if !self.trusts(addr) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies(vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1/32".parse().unwrap()]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // The client wrote "6.6.6.6" itself; the proxy appended the address it saw.
        let headers = forwarded(&["6.6.6.6, 203.0.113.7", "10.0.0.2"]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &headers), ip("203.0.113.7"));
        assert_eq!(proxies.client(ip("::ffff:10.0.0.1"), &headers), ip("203.0.113.7"), "IPv4-mapped");
        // From an untrusted peer, the header is the client's own words.
        assert_eq!(proxies.client(ip("198.51.100.1"), &headers), ip("198.51.100.1"));
        // Only proxies: the left-most one; garbage stops the walk.
        assert_eq!(proxies.client(ip("127.0.0.1"), &forwarded(&["10.0.0.9, 10.0.0.2"])), ip("10.0.0.9"));
        assert_eq!(proxies.client(ip("127.0.0.1"), &forwarded(&["nonsense, 10.0.0.2"])), ip("10.0.0.2"));
        assert_eq!(proxies.client(ip("127.0.0.1"), &HeaderMap::new()), ip("127.0.0.1"));
        assert_eq!(TrustedProxies(Vec::new()).client(ip("127.0.0.1"), &headers), ip("127.0.0.1"));
    }
}
