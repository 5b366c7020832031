//! Where alert webhooks may go. An admin (or a stolen admin session) chooses the URL and
//! reads the outcome back from the alert's history, so a webhook could probe and poke what
//! only Tether can reach: loopback, the private network, a cloud's metadata service at
//! 169.254.169.254. Destinations in those ranges are refused — when the alert is saved
//! (with the reason) and again at every connection, by the resolver reqwest connects
//! through, so a name that resolved to a public address at save time and to a private one
//! later (DNS rebinding) is still refused. Internal receivers are allowed by listing their
//! networks (`[alerts] allowed_webhook_networks`). Redirects are not followed (a public
//! receiver could otherwise redirect inward) and proxy variables of the environment are
//! ignored (they would decide the destination instead of these rules); a proxy is used only
//! when configured (`[alerts] webhook_proxy`), and its own address must then be allowed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

/// Why a destination address is not reachable by webhooks unless allowed: `None` for a
/// public address.
pub(crate) fn internal(addr: IpAddr) -> Option<&'static str> {
    let net = |s: &str| s.parse::<IpNet>().ok();
    let ranges: &[(&str, &'static str)] = &[
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "local translation"),
        ("fc00::/7", "unique local"),
        ("fe80::/10", "link-local"),
        ("ff00::/8", "multicast"),
    ];
    let addr = canonical(addr);
    ranges.iter().find(|(range, _)| net(range).is_some_and(|n| n.contains(&addr))).map(|(_, why)| *why)
}

/// An IPv4 address written as IPv6 (`::ffff:127.0.0.1`) is that IPv4 address.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// The networks webhooks may reach beyond the public internet.
#[derive(Debug, Clone, Default)]
pub(crate) struct WebhookNetworks {
    pub(crate) allowed: Vec<IpNet>,
    /// The proxy every webhook goes through, if one is configured.
    pub(crate) proxy: Option<String>,
}

impl WebhookNetworks {
    /// Why `addr` is refused, if it is.
    fn refuses(&self, addr: IpAddr) -> Option<String> {
        let why = internal(addr)?;
        let allowed = self.allowed.iter().any(|n| n.contains(&addr) || n.contains(&canonical(addr)));
        (!allowed).then(|| {
            format!(
                "{addr} is a {why} address: webhooks go to public addresses only, unless its network is \
                 listed in [alerts] allowed_webhook_networks"
            )
        })
    }

    /// Checks where `url` (an http(s) URL, see `tether_model::webhook_url`) would connect:
    /// every address its host resolves to must be allowed.
    pub(crate) async fn check(&self, url: &str) -> Result<(), String> {
        let parsed = url::Url::parse(url).map_err(|_| "invalid webhook_url".to_owned())?;
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addrs: Vec<IpAddr> = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => vec![v4.into()],
            Some(url::Host::Ipv6(v6)) => vec![v6.into()],
            Some(url::Host::Domain(name)) => resolve(name, port).await?.into_iter().map(|a| a.ip()).collect(),
            None => return Err("invalid webhook_url: no host".into()),
        };
        match addrs.into_iter().find_map(|a| self.refuses(a)) {
            Some(why) => Err(format!("webhook_url refused: {why}")),
            None => Ok(()),
        }
    }

    /// The HTTP client webhooks are sent with: every connection through the checking
    /// resolver, no redirects, the configured proxy or none.
    pub(crate) fn client(self: &Arc<Self>, timeout: Duration) -> reqwest::Result<reqwest::Client> {
        let builder = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(Resolver(self.clone())));
        match &self.proxy {
            Some(proxy) => builder.proxy(reqwest::Proxy::all(proxy)?),
            None => builder.no_proxy(),
        }
        .build()
    }
}

async fn resolve(name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let found =
        tokio::net::lookup_host((name, port)).await.map_err(|e| format!("cannot resolve {name}: {e}"))?;
    let found: Vec<SocketAddr> = found.collect();
    if found.is_empty() {
        return Err(format!("cannot resolve {name}"));
    }
    Ok(found)
}

/// Resolves names for the webhook client, keeping only allowed addresses.
struct Resolver(Arc<WebhookNetworks>);

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let networks = self.0.clone();
        Box::pin(async move {
            let found = resolve(name.as_str(), 0).await?;
            let mut refusals = Vec::new();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match networks.refuses(a.ip()) {
                    Some(why) => {
                        refusals.push(why);
                        false
                    }
                    None => true,
                })
                .collect();
            if allowed.is_empty() {
                return Err(refusals.join("; ").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges_are_named_and_public_ones_pass() {
        let cases = [
            ("127.0.0.1", Some("loopback")),
            ("127.255.0.9", Some("loopback")),
            ("::1", Some("loopback")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("172.31.255.255", Some("private")),
            ("192.168.1.1", Some("private")),
            ("::ffff:192.168.1.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("fe80::1", Some("link-local")),
            ("100.64.0.1", Some("shared (carrier-grade NAT)")),
            ("fd00::1", Some("unique local")),
            ("fc00::1", Some("unique local")),
            ("224.0.0.1", Some("multicast")),
            ("ff02::1", Some("multicast")),
            ("0.0.0.0", Some("unspecified")),
            ("::", Some("unspecified")),
            ("255.255.255.255", Some("reserved")),
            ("8.8.8.8", None),
            ("172.32.0.1", None),
            ("100.128.0.1", None),
            ("2606:4700:4700::1111", None),
            ("::ffff:8.8.8.8", None),
        ];
        for (addr, expected) in cases {
            assert_eq!(internal(addr.parse().unwrap()), expected, "{addr}");
        }
    }

    #[test]
    fn listed_networks_are_allowed() {
        let networks = WebhookNetworks { allowed: vec!["10.20.0.0/16".parse().unwrap()], proxy: None };
        assert_eq!(networks.refuses("10.20.3.4".parse().unwrap()), None);
        assert_eq!(networks.refuses("::ffff:10.20.3.4".parse().unwrap()), None, "as IPv6 too");
        let refused = networks.refuses("10.21.0.1".parse().unwrap()).unwrap();
        assert!(refused.starts_with("10.21.0.1 is a private address"), "{refused}");
        assert_eq!(networks.refuses("8.8.4.4".parse().unwrap()), None);
    }

    /// Only names and literals that stay on this machine: no test sends a packet elsewhere.
    #[tokio::test]
    async fn urls_are_checked_by_where_they_connect() {
        let none = WebhookNetworks::default();
        for url in [
            "http://127.0.0.1:9/hook",
            "http://[::1]:9/hook",
            "http://localhost:9/hook",
            "http://[::ffff:7f00:1]/",
        ] {
            let why = none.check(url).await.unwrap_err();
            assert!(why.contains("loopback"), "{url}: {why}");
        }
        assert!(
            none.check("http://169.254.169.254/latest/meta-data").await.unwrap_err().contains("link-local")
        );
        let loopback = WebhookNetworks {
            allowed: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
            proxy: None,
        };
        assert_eq!(loopback.check("http://localhost:9/hook").await, Ok(()));
        assert_eq!(loopback.check("http://[::1]:9/hook").await, Ok(()));
    }

    /// A configured proxy carries every webhook (and environment proxies are not used).
    #[tokio::test]
    async fn a_configured_proxy_carries_the_webhook() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = proxy.local_addr().unwrap();
        let seen = tokio::spawn(async move {
            let (mut conn, _) = proxy.accept().await.unwrap();
            let mut head = vec![0; 4096];
            let n = conn.read(&mut head).await.unwrap();
            conn.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await.unwrap();
            String::from_utf8_lossy(&head[..n]).lines().next().unwrap_or_default().to_owned()
        });
        let networks = Arc::new(WebhookNetworks {
            allowed: vec!["127.0.0.0/8".parse().unwrap()],
            proxy: Some(format!("http://{address}")),
        });
        let client = networks.client(Duration::from_secs(5)).unwrap();
        let sent = client.post("http://127.0.0.1:9/hook").body("{}").send().await.unwrap();
        assert_eq!(sent.status(), 204);
        assert_eq!(seen.await.unwrap(), "POST http://127.0.0.1:9/hook HTTP/1.1");
    }
}
