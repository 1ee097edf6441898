//! Building a [`Verifier`]: from the issuer's discovery document and JWKS, or offline from a
//! JWKS, after checking the configuration.
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use crate::alg::Alg;
use crate::api_key::ApiKeys;
use crate::config::Config;
use crate::error::Error;
use crate::http;
use crate::jwks::{parse_jwks, KeySet};
use crate::metadata::ProtectedResourceMetadata;
use crate::verifier::{fetch_jwks, secs, Inner, Keys, RefreshState, Verifier};

impl Verifier {
    /// Loads the issuer's discovery document (`<issuer>/.well-known/openid-configuration`) and
    /// JWKS, with the default [`Config`]: RS256 only, 30 s leeway, 30 s refetch interval, 5 s
    /// HTTP timeout, no API keys. `audience` is the `aud` value this resource server requires.
    pub async fn from_issuer(issuer: &str, audience: &str) -> Result<Verifier, Error> {
        Verifier::from_issuer_with_config(issuer, audience, Config::default()).await
    }

    /// [`from_issuer`](Verifier::from_issuer) with a [`Config`].
    ///
    /// Fails if the configuration is refused (e.g. `none` or `HS256` allowed), if the discovery
    /// document cannot be loaded or names another `issuer`, if the JWKS cannot be loaded or holds
    /// no usable key, or if API keys are configured and no introspection endpoint is known.
    pub async fn from_issuer_with_config(
        issuer: &str,
        audience: &str,
        config: Config,
    ) -> Result<Verifier, Error> {
        let (algorithms, metadata) = prepare(issuer, audience, &config)?;
        let client = http::client(config.http_timeout)?;

        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let fetched = http::get(&client, &url).await?;
        let invalid = |message: &str| Error::InvalidDocument {
            url: url.clone(),
            message: message.to_owned(),
        };
        let doc: Map<String, Value> =
            serde_json::from_slice(&fetched.body).map_err(|_| invalid("not a JSON object"))?;
        match doc.get("issuer").and_then(Value::as_str) {
            Some(found) if found == issuer => {}
            found => {
                return Err(Error::IssuerMismatch {
                    expected: issuer.to_owned(),
                    found: found.unwrap_or_default().to_owned(),
                })
            }
        }
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .filter(|u| is_http_url(u))
            .ok_or_else(|| invalid("no usable jwks_uri"))?
            .to_owned();
        let introspection_endpoint = config.introspection_endpoint.clone().or_else(|| {
            doc.get("introspection_endpoint")
                .and_then(Value::as_str)
                .filter(|u| is_http_url(u))
                .map(str::to_owned)
        });

        let now = config.clock.now();
        let (set, fresh_until) = fetch_jwks(
            &client,
            &jwks_uri,
            &algorithms,
            secs(config.refetch_interval),
            now,
        )
        .await?;
        if set.len() == 0 {
            return Err(Error::NoUsableKeys);
        }
        Verifier::assemble(
            issuer,
            audience,
            config,
            algorithms,
            client,
            Some(jwks_uri),
            introspection_endpoint,
            metadata,
            set,
            fresh_until,
        )
    }

    /// An offline verifier from a JWKS document (JSON text), for tests, benchmarks and servers
    /// that ship the issuer's keys. It never fetches keys; API keys still work when the config
    /// has credentials and an [`introspection_endpoint`](Config::introspection_endpoint).
    pub fn from_jwks(
        issuer: &str,
        audience: &str,
        jwks_json: &str,
        config: Config,
    ) -> Result<Verifier, Error> {
        let (algorithms, metadata) = prepare(issuer, audience, &config)?;
        let client = http::client(config.http_timeout)?;
        let set = parse_jwks(jwks_json.as_bytes(), &algorithms).map_err(|message| {
            Error::InvalidDocument {
                url: "<jwks>".to_owned(),
                message,
            }
        })?;
        if set.len() == 0 {
            return Err(Error::NoUsableKeys);
        }
        let introspection_endpoint = config.introspection_endpoint.clone();
        Verifier::assemble(
            issuer,
            audience,
            config,
            algorithms,
            client,
            None,
            introspection_endpoint,
            metadata,
            set,
            i64::MAX,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        issuer: &str,
        audience: &str,
        config: Config,
        algorithms: Vec<Alg>,
        http: reqwest::Client,
        jwks_uri: Option<String>,
        introspection_endpoint: Option<String>,
        resource_metadata: Option<ProtectedResourceMetadata>,
        set: KeySet,
        fresh_until: i64,
    ) -> Result<Verifier, Error> {
        let api_keys = match &config.credentials {
            None => None,
            Some(credentials) => {
                let endpoint = introspection_endpoint.ok_or(Error::NoIntrospectionEndpoint)?;
                Some(ApiKeys::new(
                    endpoint,
                    credentials,
                    secs(config.api_key_cache_ttl),
                ))
            }
        };
        let now = config.clock.now();
        Ok(Verifier {
            inner: Arc::new(Inner {
                issuer: issuer.to_owned(),
                audience: audience.to_owned(),
                algorithms,
                leeway: secs(config.leeway),
                refetch_interval: secs(config.refetch_interval),
                clock: config.clock,
                http,
                jwks_uri,
                keys: RwLock::new(Keys {
                    set: Arc::new(set),
                    fresh_until,
                }),
                refresh: tokio::sync::Mutex::new(RefreshState { last_attempt: now }),
                api_keys,
                resource_metadata,
                external_url: config.external_url.clone(),
                replay: crate::replay::ReplayCache::new(config.dpop_replay_cache_size),
            }),
        })
    }
}

/// Checks issuer, audience and config; returns the allowed algorithms and the resource metadata.
fn prepare(
    issuer: &str,
    audience: &str,
    config: &Config,
) -> Result<(Vec<Alg>, Option<ProtectedResourceMetadata>), Error> {
    if !is_http_url(issuer) {
        return Err(Error::Config(format!(
            "the issuer must be an http(s) URL, not {issuer:?}"
        )));
    }
    if audience.is_empty() {
        return Err(Error::Config("the audience must not be empty".to_owned()));
    }
    config.check()?;
    let algorithms = config.parsed_algorithms()?;
    let metadata = config
        .resource_metadata
        .as_ref()
        .map(|m| m.resolve(issuer, audience))
        .transpose()?;
    Ok((algorithms, metadata))
}

pub(crate) fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls() {
        assert!(is_http_url("https://id.example.com"));
        assert!(is_http_url("http://127.0.0.1:8080/tenant"));
        assert!(!is_http_url("ftp://x"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("id.example.com"));
    }

    #[test]
    fn forbidden_algorithms_are_refused() {
        let jwks = r#"{"keys":[]}"#;
        for alg in ["none", "HS256", "HS384", "HS512", "hs256", "None"] {
            let config = Config::default().allowed_algorithms(["RS256", alg]);
            let err =
                Verifier::from_jwks("https://id.example.com", "api", jwks, config).unwrap_err();
            assert!(matches!(err, Error::ForbiddenAlgorithm(_)), "{alg}: {err}");
        }
        let config = Config::default().allowed_algorithms(["XX999"]);
        let err = Verifier::from_jwks("https://id.example.com", "api", jwks, config).unwrap_err();
        assert!(matches!(err, Error::UnsupportedAlgorithm(_)));
        let config = Config::default().allowed_algorithms(Vec::<String>::new());
        let err = Verifier::from_jwks("https://id.example.com", "api", jwks, config).unwrap_err();
        assert!(matches!(err, Error::Config(_)));
    }
}
