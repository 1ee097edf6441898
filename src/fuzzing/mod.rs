//! The parsers that take untrusted input, each behind one entry point of bytes: the fuzz
//! targets (`fuzz/`, `cargo +nightly fuzz run <name>`) call these, and so does a stable smoke
//! run over the seed corpora (`fuzz/corpus/<name>/`, the tests below). An entry point passes
//! when the parser answers, `Ok` or a typed error, without panicking, and the property it
//! states (where one is cheap to state) holds.
//!
//! Not part of the server's API: public only so the fuzz crate can reach it. A harness reports
//! a broken property by panicking, so `expect` is how it fails here.
#![allow(clippy::expect_used)]
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

use crate::config::{ClientSettings, Settings};
use crate::identity::client_ip::{ProxyHeader, TrustedProxies};
use crate::oauth::registration::{self, ClientSpec};
use crate::oauth::{authorize, client_auth, metadata_document, origins, redirect_uri};
use crate::oauth::{Client, Params};
use crate::tokens::keys::{self, Alg, KeySet};

mod signed;

pub use signed::{client_jwks, client_jwt, dpop_proof, jwt};

/// A fuzz target: any bytes in, a panic when a parser or its property breaks.
pub type Target = fn(&[u8]);

/// Every target by name (the fuzz crate's `fuzz_targets/<name>.rs` and the corpus folders).
pub const TARGETS: &[(&str, Target)] = &[
    ("jwt", jwt),
    ("dpop_proof", dpop_proof),
    ("client_jwt", client_jwt),
    ("client_jwks", client_jwks),
    ("form_params", form_params),
    ("authorize_request", authorize_request),
    ("redirect_uri_match", redirect_uri_match),
    ("basic_credentials", basic_credentials),
    ("forwarded", forwarded),
    ("cors_origin", cors_origin),
    ("config_env", config_env),
    ("metadata_document", metadata_document),
];

const ISSUER: &str = "https://id.example.com";
const NOW: i64 = 1_800_000_000;

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The published keys, one per algorithm, made once per process.
fn keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        keys::ephemeral(&[Alg::RS256, Alg::ES256, Alg::EdDSA], NOW).expect("ephemeral keys")
    })
}

/// `application/x-www-form-urlencoded` bodies and queries (duplicates, encodings): parsed
/// parameters serialise and parse back to the same parameters.
pub fn form_params(data: &[u8]) {
    let Ok(params) = Params::parse_form(data, authorize::REPEATABLE) else {
        return;
    };
    let again = Params::parse_form(params.to_query().as_bytes(), authorize::REPEATABLE)
        .expect("a serialised parameter set parses");
    assert_eq!(params.pairs(), again.pairs());
}

/// The client every authorization request is checked against.
fn client() -> &'static Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let mut client = registration::validate(
            &ClientSpec {
                name: "fuzz".into(),
                grant_types: vec!["authorization_code".into(), "refresh_token".into()],
                scopes: vec!["openid profile email offline_access read".into()],
                redirect_uris: vec![
                    "https://app.example.com/cb".into(),
                    "http://127.0.0.1/cb".into(),
                ],
                public: true,
                ..ClientSpec::default()
            },
            86_400,
        )
        .expect("a valid client");
        client.id = "fuzz-client".into();
        client
    })
}

/// `/authorize` validation of any query: an answer (a request, a page or a redirected error),
/// and a redirect only ever to a registered URI.
pub fn authorize_request(data: &[u8]) {
    let Ok(params) = Params::parse_form(data, authorize::REPEATABLE) else {
        return;
    };
    let shared = vec!["https://api.example.com".to_string()];
    let answer = authorize::validate(&params, &shared, |id| {
        Ok((id == client().id).then(|| client().clone()))
    });
    if let Err(authorize::AuthorizeError::Redirect(reply)) = &answer {
        assert!(redirect_uri::is_registered(
            client(),
            &reply.to.redirect_uri
        ));
    }
    if let Ok((_, request)) = &answer {
        assert!(redirect_uri::is_registered(
            client(),
            &request.reply.redirect_uri
        ));
    }
}

/// Redirect-URI matching: `registered\nrequested`. A URI the registration rules accept
/// matches itself.
pub fn redirect_uri_match(data: &[u8]) {
    let input = text(data);
    let (registered, requested) = input.split_once('\n').unwrap_or((&input, &input));
    let _ = redirect_uri::matches(registered, requested);
    if registration::check_redirect_uri(registered).is_ok() {
        assert!(
            redirect_uri::matches(registered, registered),
            "{registered}"
        );
    }
}

/// HTTP Basic client credentials (`Authorization` value) with a body `client_id`.
pub fn basic_credentials(data: &[u8]) {
    let input = text(data);
    let (header, body_id) = input.split_once('\n').unwrap_or((&input, ""));
    let params = Params::from_pairs([("client_id", body_id)], &[]).unwrap_or_default();
    let _ = client_auth::extract(Some(header), None, &params);
    let _ = client_auth::named_client_id(Some(header), Some(body_id));
}

/// `X-Forwarded-For` (first byte even) or RFC 7239 `Forwarded` values, one per line, from a
/// trusted proxy: the client IP is the peer or an address the header names.
pub fn forwarded(data: &[u8]) {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let header = if first % 2 == 0 {
        ProxyHeader::XForwardedFor
    } else {
        ProxyHeader::Forwarded
    };
    let proxies = TrustedProxies::new(&["127.0.0.0/8".into(), "10.0.0.0/8".into()], header)
        .expect("valid networks");
    let input = text(rest);
    let values: Vec<&str> = input.lines().collect();
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let ip = proxies.client_ip(Some(peer), &values);
    assert!(ip.is_some(), "a trusted peer always yields an address");
    let outside = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(proxies.client_ip(Some(outside), &values), Some(outside));
}

/// CORS: configured origins and `Origin` headers. A parsed origin parses to itself.
pub fn cors_origin(data: &[u8]) {
    let input = text(data);
    if let Ok(origin) = origins::parse_origin(&input) {
        assert_eq!(
            origins::parse_origin(&origin).as_deref(),
            Ok(origin.as_str())
        );
    }
    let _ = origins::request_origin(&input);
    let _ = origins::allows(client(), &input);
}

/// Configuration from the environment: `NAME=value` lines (`PORTCULLIS_` added when missing),
/// then validated as at start; a first line `[toml]` makes the rest a configuration file.
pub fn config_env(data: &[u8]) {
    let input = text(data);
    let loaded = match input.strip_prefix("[toml]\n") {
        Some(toml) => Settings::from_sources(
            Some((std::path::Path::new("fuzz.toml"), toml)),
            std::iter::empty(),
        ),
        None => Settings::from_sources(
            None,
            input.lines().filter_map(|line| {
                let (name, value) = line.split_once('=')?;
                let name = if name.starts_with("PORTCULLIS_") {
                    name.to_string()
                } else {
                    format!("PORTCULLIS_{name}")
                };
                Some((name, value.to_string()))
            }),
        ),
    };
    if let Ok(loaded) = loaded {
        let _ = loaded.settings.validate();
    }
}

/// A fetched client metadata document as a client.
pub fn metadata_document(data: &[u8]) {
    let id = "https://app.example.com/client.json";
    let rules = ClientSettings::default();
    if let Ok(client) = metadata_document::document::to_client(
        id,
        "app.example.com",
        data,
        &rules,
        86_400,
        NOW,
        NOW + 3_600,
    ) {
        assert_eq!(client.id, id);
        assert!(
            client.public,
            "a document never defines a confidential client"
        );
    }
}

#[cfg(test)]
mod tests;
