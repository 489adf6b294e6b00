//! The client's address behind trusted reverse proxies, for rate limits and the audit trail.
//!
//! Only when the TCP peer is a configured trusted proxy are `Forwarded` (RFC 7239) or, without
//! it, `X-Forwarded-For` read; each proxy appends the address it saw, so the hops are walked
//! from the right and the first one that is not itself a trusted proxy is the client. Anything
//! a client wrote further left is never believed. From an untrusted peer both headers are
//! ignored: anyone can send them.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// One trusted proxy: an address (`10.0.0.1`, a /32 or /128) or a network (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrustedProxy(IpNet);

impl FromStr for TrustedProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<TrustedProxy, String> {
        let text = text.trim();
        text.parse::<IpNet>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
            .map(|net| TrustedProxy(net.trunc()))
            .map_err(|_| format!("trusted_proxies: {text:?} is not an IP address or CIDR"))
    }
}

impl TryFrom<String> for TrustedProxy {
    type Error = String;

    fn try_from(text: String) -> Result<TrustedProxy, String> {
        text.parse()
    }
}

impl From<TrustedProxy> for String {
    fn from(proxy: TrustedProxy) -> String {
        proxy.0.to_string()
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The configured trusted proxies.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

/// The client's address as decided by [`resolve`], kept in the request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedClientIp(pub IpAddr);

impl TrustedProxies {
    pub fn new(proxies: &[TrustedProxy]) -> TrustedProxies {
        TrustedProxies(proxies.iter().map(|proxy| proxy.0).collect())
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request from `peer` with these headers.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_hops(headers).unwrap_or_else(|| x_forwarded_for_hops(headers));
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                // An unreadable hop ("unknown", an obfuscated name): nothing left of it can be
                // trusted, so the last trusted proxy stands for the client.
                None => break,
                Some(ip) => {
                    client = ip.to_canonical();
                    if !self.trusts(client) {
                        break;
                    }
                }
            }
        }
        client
    }
}

/// Middleware: decides the client's address once per request (see [`crate::extract::ClientIp`]).
pub async fn resolve(proxies: TrustedProxies, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    if let Some(peer) = peer {
        let client = proxies.client(peer, request.headers());
        request.extensions_mut().insert(ResolvedClientIp(client));
    }
    next.run(request).await
}

/// The `for=` of every `Forwarded` element, left to right; `None` without the header.
fn forwarded_hops(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut values = headers.get_all("forwarded").iter().peekable();
    values.peek()?;
    let mut hops = Vec::new();
    for value in values {
        // A header that is not text cannot be read at all: trust nothing of it.
        let Ok(value) = value.to_str() else {
            return Some(vec![None]);
        };
        for element in value.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| value.trim().trim_matches('"'))
            });
            hops.push(node.and_then(parse_node));
        }
    }
    Some(hops)
}

/// The addresses of every `X-Forwarded-For` value, left to right.
fn x_forwarded_for_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else {
            return vec![None];
        };
        hops.extend(value.split(',').map(|hop| parse_node(hop.trim())));
    }
    hops
}

/// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:80`.
fn parse_node(node: &str) -> Option<IpAddr> {
    node.parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .or_else(|| {
            node.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(list: &[&str]) -> TrustedProxies {
        let parsed: Vec<TrustedProxy> = list.iter().map(|p| p.parse().expect("proxy")).collect();
        TrustedProxies::new(&parsed)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("value"));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn headers_count_only_from_a_trusted_peer() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let forged = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(trusted.client(ip("192.0.2.1"), &forged), ip("192.0.2.1"));
        assert_eq!(trusted.client(ip("10.0.0.1"), &forged), ip("203.0.113.9"));
        assert_eq!(proxies(&[]).client(ip("10.0.0.1"), &forged), ip("10.0.0.1"));
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(
            trusted.client(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "2001:db8::1"]);
        // The client prepended a lie; the proxies appended what they saw.
        let chain = headers(&[
            ("x-forwarded-for", "198.51.100.1, 203.0.113.9"),
            ("x-forwarded-for", "10.0.0.2"),
        ]);
        assert_eq!(trusted.client(ip("10.0.0.1"), &chain), ip("203.0.113.9"));
        // Forwarded wins over X-Forwarded-For; quoted IPv6 with a port.
        let forwarded = headers(&[
            (
                "forwarded",
                "for=198.51.100.1, For=\"[2001:db8::7]:4711\";proto=https",
            ),
            ("forwarded", "for=10.0.0.2;by=10.0.0.1"),
            ("x-forwarded-for", "192.0.2.200"),
        ]);
        assert_eq!(
            trusted.client(ip("10.0.0.1"), &forwarded),
            ip("2001:db8::7")
        );
        // An unreadable hop stops the walk at the last trusted proxy.
        let unknown = headers(&[("forwarded", "for=198.51.100.1, for=unknown, for=10.0.0.2")]);
        assert_eq!(trusted.client(ip("10.0.0.1"), &unknown), ip("10.0.0.2"));
        // Every hop trusted: the leftmost one.
        let inside = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.2")]);
        assert_eq!(trusted.client(ip("10.0.0.1"), &inside), ip("10.9.9.9"));
        // An IPv4-mapped peer matches an IPv4 network.
        assert_eq!(
            trusted.client(ip("::ffff:10.0.0.1"), &chain),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn proxies_parse_as_addresses_or_networks() {
        assert_eq!(
            "10.1.2.3"
                .parse::<TrustedProxy>()
                .expect("addr")
                .to_string(),
            "10.1.2.3/32"
        );
        assert_eq!(
            "10.1.2.3/8"
                .parse::<TrustedProxy>()
                .expect("net")
                .to_string(),
            "10.0.0.0/8"
        );
        assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
        assert!("proxy.local".parse::<TrustedProxy>().is_err());
    }
}
