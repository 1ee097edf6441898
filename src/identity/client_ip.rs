//! The client's IP: the socket peer, unless that peer is a trusted proxy, in which case the
//! right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
use std::net::IpAddr;

use anyhow::Context;
use ipnet::IpNet;

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

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(entries: &[String]) -> anyhow::Result<TrustedProxies> {
        Ok(TrustedProxies(
            entries
                .iter()
                .map(|e| parse_net(e))
                .collect::<anyhow::Result<_>>()?,
        ))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client IP for a request from `peer` carrying `forwarded_for` headers.
    pub fn client_ip(&self, peer: Option<IpAddr>, forwarded_for: &[&str]) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let hops: Vec<IpAddr> = forwarded_for
            .iter()
            .flat_map(|h| h.split(','))
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        hops.into_iter()
            .rev()
            .find(|ip| !self.trusts(*ip))
            .or(Some(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let none = TrustedProxies::default();
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        assert_eq!(none.client_ip(Some(peer), &["1.2.3.4"]), Some(peer));
        let proxies = TrustedProxies::new(&["10.0.0.0/8".into(), "192.168.1.1".into()]).unwrap();
        assert_eq!(
            proxies.client_ip(Some(peer), &["6.6.6.6, 1.2.3.4, 192.168.1.1"]),
            Some("1.2.3.4".parse().unwrap())
        );
        assert_eq!(proxies.client_ip(Some(peer), &[]), Some(peer));
        assert!(TrustedProxies::new(&["nonsense".into()]).is_err());
    }
}
