//! Matching a request's `redirect_uri` against a client's registered ones: an exact string
//! comparison, except for native apps' loopback redirects (RFC 8252 §7.3), whose port the app
//! picks at run time, so any port matches.
//!
//! The loopback rule applies only when both URIs use `http` with the IP literal `127.0.0.1` or
//! `[::1]` and are written in their canonical form; scheme, host, path and query must then be
//! identical and only the port may differ. `localhost` keeps the exact match: RFC 8252 §8.3
//! recommends against it because the name can resolve to something other than the loopback
//! interface (a hosts file, a resolver, a firewall), where another program could listen.
//!
//! The code stays bound to the exact URI the request used (stored with the request; the token
//! request must repeat it, see `grants::authorization_code`).
use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use super::Client;

/// Whether `requested` may be used as the redirect URI `registered`.
pub fn matches(registered: &str, requested: &str) -> bool {
    registered == requested || loopback_matches(registered, requested)
}

/// Whether `requested` matches one of the client's registered redirect URIs.
pub fn is_registered(client: &Client, requested: &str) -> bool {
    client.redirect_uris.iter().any(|r| matches(r, requested))
}

fn loopback_matches(registered: &str, requested: &str) -> bool {
    let (Some(mut reg), Some(mut req)) = (loopback_url(registered), loopback_url(requested)) else {
        return false;
    };
    // Ports of the literal loopback hosts are the only free part. Setting a port cannot fail
    // for http URLs; if it ever did, the URIs are treated as different.
    reg.set_port(None).is_ok() && req.set_port(None).is_ok() && reg == req
}

/// `uri` parsed, if it is a canonical `http` URI on the literal 127.0.0.1 or [::1].
fn loopback_url(uri: &str) -> Option<Url> {
    let url = Url::parse(uri).ok()?;
    let literal = match url.host() {
        Some(Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        _ => false,
    };
    // Canonical form only (`HTTP://`, `127.1`, a default `:80`…): anything unusual is compared
    // as an exact string.
    (url.scheme() == "http" && literal && url.as_str() == uri && url.fragment().is_none())
        .then_some(url)
}

#[cfg(test)]
#[path = "redirect_uri_proptests.rs"]
mod proptests;

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn non_loopback_uris_match_exactly() {
        let reg = "https://app.example.com/cb";
        assert!(matches(reg, reg));
        for other in [
            "https://app.example.com:8443/cb",
            "https://app.example.com/cb/",
            "https://app.example.com/cb?x=1",
            "https://APP.example.com/cb",
        ] {
            assert!(!matches(reg, other), "{other}");
        }
    }

    #[test]
    fn loopback_ip_literals_match_on_any_port() {
        assert!(matches("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb"));
        assert!(matches(
            "http://127.0.0.1:3000/cb",
            "http://127.0.0.1:4000/cb"
        ));
        assert!(matches("http://127.0.0.1:3000/cb", "http://127.0.0.1/cb"));
        assert!(matches("http://[::1]/cb", "http://[::1]:8080/cb"));
        assert!(matches(
            "http://127.0.0.1/cb?a=1",
            "http://127.0.0.1:9/cb?a=1"
        ));
    }

    #[test]
    fn loopback_still_needs_the_same_everything_else() {
        let reg = "http://127.0.0.1/cb";
        for other in [
            "http://127.0.0.1:9/other",
            "http://127.0.0.1:9/cb/",
            "http://127.0.0.1:9/cb?x=1",
            "http://[::1]:9/cb",
            "https://127.0.0.1:9/cb",
            "HTTP://127.0.0.1:9/cb",
            "http://127.0.0.2:9/cb",
            "http://127.1:9/cb",
            "http://localhost:9/cb",
            "http://127.0.0.1:9/cb#f",
        ] {
            assert!(!matches(reg, other), "{other}");
        }
    }

    #[test]
    fn localhost_keeps_the_exact_match() {
        assert!(matches(
            "http://localhost:3000/cb",
            "http://localhost:3000/cb"
        ));
        assert!(!matches("http://localhost/cb", "http://localhost:3000/cb"));
        assert!(!matches(
            "http://localhost:3000/cb",
            "http://localhost:4000/cb"
        ));
    }
}
