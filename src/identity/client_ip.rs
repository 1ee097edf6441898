//! The client's IP: the socket peer, unless that peer is a trusted proxy, in which case the
//! right-most entry of the proxy header (`X-Forwarded-For`, or RFC 7239 `Forwarded` when
//! `proxy_header = "forwarded"`) that is not itself a trusted proxy.
//!
//! Entries are parsed as proxies write them: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::5`,
//! `[2001:db8::5]:443`, and in `Forwarded` also quoted (`for="[2001:db8::5]:443"`). An entry that
//! doesn't parse (`unknown`, an obfuscated identifier, garbage) ends the walk: what stands left
//! of it was written by whoever the unparsable hop was, so it is not believed, and the client is
//! taken to be the peer.
use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Which header the trusted proxies set.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyHeader {
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=…`.
    Forwarded,
}

impl ProxyHeader {
    pub fn name(self) -> &'static str {
        match self {
            ProxyHeader::XForwardedFor => "x-forwarded-for",
            ProxyHeader::Forwarded => "forwarded",
        }
    }
}

/// Parses a trusted-proxy entry: an IP address or a CIDR range.
pub fn parse_net(entry: &str) -> anyhow::Result<IpNet> {
    if let Ok(net) = entry.parse::<IpNet>() {
        return Ok(net);
    }
    let ip: IpAddr = entry.parse().with_context(|| {
        format!("trusted_proxies: {entry:?} is not an IP address or CIDR range")
    })?;
    Ok(IpNet::from(ip))
}

/// One hop as a proxy wrote it: an address, with or without a port or brackets.
fn parse_hop(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = s.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    // `[v6]` without a port.
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|inner| inner.parse::<IpAddr>().ok())
}

/// The hops of `X-Forwarded-For` headers, left to right.
fn xff_hops<'a>(headers: &'a [&'a str]) -> impl Iterator<Item = &'a str> {
    headers.iter().flat_map(|h| h.split(','))
}

/// The `for=` values of RFC 7239 `Forwarded` headers, left to right (an element without `for`
/// is a hop we can't identify).
fn forwarded_hops(headers: &[&str]) -> Vec<String> {
    headers
        .iter()
        .flat_map(|h| h.split(','))
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        })
        .collect()
}

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ProxyHeader,
}

impl TrustedProxies {
    pub fn new(entries: &[String], header: ProxyHeader) -> anyhow::Result<TrustedProxies> {
        Ok(TrustedProxies {
            nets: entries
                .iter()
                .map(|e| parse_net(e))
                .collect::<anyhow::Result<_>>()?,
            header,
        })
    }

    /// The header whose values `client_ip` needs.
    pub fn header(&self) -> &'static str {
        self.header.name()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client IP for a request from `peer` carrying these values of `header()`.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &[&str]) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let hops: Vec<String> = match self.header {
            ProxyHeader::XForwardedFor => xff_hops(headers).map(String::from).collect(),
            ProxyHeader::Forwarded => forwarded_hops(headers),
        };
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) if self.trusts(ip) => continue,
                Some(ip) => return Some(ip),
                None => return Some(peer),
            }
        }
        Some(peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let none = TrustedProxies::default();
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        assert_eq!(none.client_ip(Some(peer), &["1.2.3.4"]), Some(peer));
        let proxies = TrustedProxies::new(
            &["10.0.0.0/8".into(), "192.168.1.1".into()],
            ProxyHeader::XForwardedFor,
        )
        .unwrap();
        assert_eq!(
            proxies.client_ip(Some(peer), &["6.6.6.6, 1.2.3.4, 192.168.1.1"]),
            ip("1.2.3.4")
        );
        assert_eq!(proxies.client_ip(Some(peer), &[]), Some(peer));
        assert!(TrustedProxies::new(&["nonsense".into()], ProxyHeader::Forwarded).is_err());
    }

    #[test]
    fn ports_and_brackets_are_parsed_and_garbage_is_not_believed() {
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        let p = TrustedProxies::new(&["10.0.0.0/8".into()], ProxyHeader::XForwardedFor).unwrap();
        assert_eq!(
            p.client_ip(Some(peer), &["6.6.6.6, 1.2.3.4:5678"]),
            ip("1.2.3.4")
        );
        assert_eq!(
            p.client_ip(Some(peer), &["6.6.6.6, [2001:db8::5]:443"]),
            ip("2001:db8::5")
        );
        assert_eq!(
            p.client_ip(Some(peer), &["6.6.6.6, [2001:db8::5]"]),
            ip("2001:db8::5")
        );
        assert_eq!(
            p.client_ip(Some(peer), &["6.6.6.6,2001:db8::7"]),
            ip("2001:db8::7")
        );
        // The client-supplied entry left of an unparsable one is never believed.
        for garbage in ["unknown", "1.2.3.4:port", "[2001:db8::5", "_hidden", ""] {
            assert_eq!(
                p.client_ip(Some(peer), &[&format!("6.6.6.6, {garbage}")]),
                Some(peer),
                "{garbage:?}"
            );
        }
        // Several header lines are one list.
        assert_eq!(
            p.client_ip(Some(peer), &["6.6.6.6", "1.2.3.4"]),
            ip("1.2.3.4")
        );
    }

    #[test]
    fn rfc_7239_forwarded() {
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        let p = TrustedProxies::new(&["10.0.0.0/8".into()], ProxyHeader::Forwarded).unwrap();
        assert_eq!(
            p.client_ip(
                Some(peer),
                &["for=6.6.6.6, for=192.0.2.60;proto=http;by=203.0.113.43"]
            ),
            ip("192.0.2.60")
        );
        assert_eq!(
            p.client_ip(
                Some(peer),
                &[r#"for=6.6.6.6, For="[2001:db8:cafe::17]:4711""#]
            ),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            p.client_ip(Some(peer), &["for=6.6.6.6, for=unknown"]),
            Some(peer)
        );
        assert_eq!(
            p.client_ip(Some(peer), &["for=6.6.6.6, proto=https"]),
            Some(peer)
        );
        assert_eq!(
            p.client_ip(Some(peer), &["for=6.6.6.6, for=10.0.0.9"]),
            ip("6.6.6.6")
        );
    }
}
