//! Fetching a metadata document without letting a URL reach inside our network (SSRF).
//!
//! The host is resolved once here; every address it resolves to must be public
//! ([`classify`]), and the request connects only to the addresses checked (reqwest's
//! `resolve_to_addrs` override: no second lookup to rebind). No proxy, no redirect (a 3xx is refused),
//! one timeout for connecting and reading, the body read chunk by chunk up to the size cap, and
//! only `200` with `Content-Type: application/json` is a document.
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use url::{Host, Url};

pub use super::reach::{classify, Reach};
use crate::config::ClientSettings;
use crate::telemetry::capped;

/// A document as fetched.
#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    /// Its `Cache-Control` values, joined.
    pub cache_control: Option<String>,
}

/// The fetcher's settings, read once at start.
#[derive(Debug, Clone)]
pub struct Fetcher {
    extra_roots: Vec<reqwest::Certificate>,
    timeout: Duration,
    max_bytes: usize,
    allow_loopback: bool,
    /// Also take `application/jwk-set+json` (`for_jwks`).
    jwk_set: bool,
}

impl Fetcher {
    pub fn new(rules: &ClientSettings) -> anyhow::Result<Fetcher> {
        let extra_roots = match &rules.metadata_document_ca_file {
            Some(path) => read_roots(path)?,
            None => Vec::new(),
        };
        Ok(Fetcher {
            extra_roots,
            timeout: Duration::from_secs(rules.metadata_document_timeout_secs),
            max_bytes: rules.metadata_document_max_bytes,
            allow_loopback: rules.metadata_document_allow_loopback,
            jwk_set: false,
        })
    }

    /// The same fetcher for a client's JWK set (`oauth::client_keys`): up to `max_bytes`, and
    /// `application/jwk-set+json` as well.
    pub fn for_jwks(rules: &ClientSettings, max_bytes: usize) -> anyhow::Result<Fetcher> {
        let (max_bytes, jwk_set) = (max_bytes, true);
        Ok(Fetcher {
            max_bytes,
            jwk_set,
            ..Fetcher::new(rules)?
        })
    }

    /// Fetches `url`'s document; the error is the reason for a person, the cause is logged.
    pub async fn fetch(&self, url: &Url) -> Result<Fetched, String> {
        let port = url
            .port_or_known_default()
            .ok_or_else(|| "its URL has no port".to_string())?;
        let (addrs, domain) = match url.host() {
            Some(Host::Ipv4(ip)) => (vec![SocketAddr::new(ip.into(), port)], None),
            Some(Host::Ipv6(ip)) => (vec![SocketAddr::new(ip.into(), port)], None),
            Some(Host::Domain(d)) => (self.lookup(d, port).await?, Some(d.to_string())),
            None => return Err("its URL has no host".into()),
        };
        for addr in &addrs {
            self.check(addr.ip())?;
        }
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
            .user_agent(concat!("Portcullis/", env!("CARGO_PKG_VERSION")));
        for root in &self.extra_roots {
            builder = builder.add_root_certificate(root.clone());
        }
        if let Some(domain) = &domain {
            // Exactly the addresses checked: no second lookup that could answer otherwise.
            builder = builder.resolve_to_addrs(domain, &addrs);
        }
        let client = builder
            .build()
            .map_err(|e| failed("building the HTTP client", &e.into()))?;
        let work = async {
            let mut resp = client
                .get(url.clone())
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| self.request_error(e))?;
            let status = resp.status();
            if status.is_redirection() {
                return Err(format!(
                    "it answered with a redirect (HTTP {}), which is not followed",
                    status.as_u16()
                ));
            }
            if status != reqwest::StatusCode::OK {
                return Err(format!("it answered HTTP {}", status.as_u16()));
            }
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let essence = content_type.split(';').next().unwrap_or("").trim();
            let jwk_set = self.jwk_set && essence.eq_ignore_ascii_case("application/jwk-set+json");
            if !essence.eq_ignore_ascii_case("application/json") && !jwk_set {
                return Err(format!(
                    "its Content-Type is {:?}, not application/json",
                    content_type.chars().take(100).collect::<String>()
                ));
            }
            let cache_control = resp
                .headers()
                .get_all(reqwest::header::CACHE_CONTROL)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>();
            let cache_control = (!cache_control.is_empty()).then(|| cache_control.join(", "));
            let too_large = || format!("it is larger than {} bytes", self.max_bytes);
            if resp
                .content_length()
                .is_some_and(|n| n > self.max_bytes as u64)
            {
                return Err(too_large());
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| self.request_error(e))? {
                if body.len() + chunk.len() > self.max_bytes {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Fetched {
                body,
                cache_control,
            })
        };
        // reqwest's timeout covers each request; this one bounds the whole read as well.
        tokio::time::timeout(self.timeout + Duration::from_millis(100), work)
            .await
            .unwrap_or_else(|_| Err(self.timed_out()))
    }

    /// The host's addresses (every one is checked by the caller).
    async fn lookup(&self, domain: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let addrs: Vec<SocketAddr> = tokio::time::timeout(
            self.timeout,
            tokio::net::lookup_host((domain, port)),
        )
        .await
        .map_err(|_| self.timed_out())?
        .map_err(|e| {
            tracing::warn!(host = %capped(domain), error = %e, "metadata document: lookup failed");
            format!("its host {domain} could not be found")
        })?
        .collect();
        if addrs.is_empty() {
            return Err(format!("its host {domain} has no address"));
        }
        Ok(addrs)
    }

    fn check(&self, ip: IpAddr) -> Result<(), String> {
        match classify(ip) {
            Reach::Public => Ok(()),
            Reach::Loopback if self.allow_loopback => Ok(()),
            Reach::Loopback | Reach::Internal => Err(format!(
                "its host is on a private or reserved address ({ip}), which this server does not \
                 contact"
            )),
        }
    }

    fn timed_out(&self) -> String {
        format!("it did not answer within {} s", self.timeout.as_secs())
    }

    fn request_error(&self, e: reqwest::Error) -> String {
        if e.is_timeout() {
            return self.timed_out();
        }
        let why = if e.is_connect() {
            "its host could not be reached securely"
        } else {
            "it could not be fetched"
        };
        failed(why, &e.into())
    }
}

/// Logs the cause; returns the reason.
fn failed(why: &str, cause: &anyhow::Error) -> String {
    tracing::warn!(error = %capped(format!("{cause:#}")), "metadata document: {why}");
    why.to_string()
}

fn read_roots(path: &Path) -> anyhow::Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(path).with_context(|| {
        format!(
            "clients.metadata_document_ca_file: cannot read {}",
            path.display()
        )
    })?;
    let roots = reqwest::Certificate::from_pem_bundle(&pem).with_context(|| {
        format!(
            "clients.metadata_document_ca_file: {} is not a PEM certificate bundle",
            path.display()
        )
    })?;
    if roots.is_empty() {
        anyhow::bail!(
            "clients.metadata_document_ca_file: {} holds no certificate",
            path.display()
        );
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_ip_literals_are_refused_before_connecting() {
        let rules = ClientSettings {
            metadata_document_timeout_secs: 1,
            ..ClientSettings::default()
        };
        let f = Fetcher::new(&rules).unwrap();
        for url in [
            "https://10.0.0.1/client.json",
            "https://[fd00::1]/c",
            "https://127.0.0.1:1/c",
        ] {
            let err = f.fetch(&Url::parse(url).unwrap()).await.unwrap_err();
            assert!(err.contains("private or reserved address"), "{url}: {err}");
        }
        let err = f
            .fetch(&Url::parse("https://localhost:1/c").unwrap())
            .await
            .unwrap_err();
        assert!(err.contains("private or reserved address"), "{err}");
    }
}
