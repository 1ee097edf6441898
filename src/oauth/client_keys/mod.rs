//! A client's public keys (its `jwks` by value or its `jwks_uri`), what they may be, and
//! verifying what the client signs with them: `private_key_jwt` assertions (RFC 7523,
//! [`assertion`]) and request objects (RFC 9101, [`request_object`]).
//!
//! Only asymmetric algorithms are accepted ([`ALGORITHMS`]; never `none` or HMAC), RSA keys of
//! at least 2048 bits. The keys at a `jwks_uri` are fetched through the SSRF-hardened fetcher
//! of metadata documents and cached ([`resolver`]). `client_secret_jwt` is not offered: secrets
//! are stored only as hashes, and it needs the secret itself as the HMAC key.
pub mod assertion;
pub mod request_object;
pub mod resolver;
pub mod verify;

#[cfg(test)]
mod tests;

use josekit::jwk::{Jwk, JwkSet};
use url::Url;

pub use resolver::ClientKeys;

use super::client::PRIVATE_KEY_JWT;
use super::registration::ClientSpec;

/// The JWS algorithms a client may sign with (`*_signing_alg_values_supported`).
pub const ALGORITHMS: [&str; 4] = ["PS256", "ES256", "EdDSA", "RS256"];

/// The most keys a JWKS by value may hold.
pub const MAX_KEYS: usize = 10;

/// The longest `jwks` by value, in bytes.
pub const MAX_JWKS_LEN: usize = 64 * 1024;

/// The smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// JWK members that only a private (or symmetric) key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A client's authentication method and keys, as validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySettings {
    pub private_key_jwt: bool,
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
}

/// The rules on `--auth-method`, `--jwks` and `--jwks-uri`: `private_key_jwt` needs exactly one
/// of the two (and is for confidential clients); a JWKS must be public asymmetric keys
/// ([`parse_jwks`]); a `jwks_uri` https, or http on a loopback host (which the fetcher itself
/// still refuses unless `clients.metadata_document_allow_loopback`). Each broken rule adds a
/// problem.
pub fn check_spec(spec: &ClientSpec, problems: &mut Vec<String>) -> KeySettings {
    let blank = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let (jwks, jwks_uri) = (blank(&spec.jwks), blank(&spec.jwks_uri));
    let private_key_jwt = match blank(&spec.auth_method).as_deref() {
        None => false,
        Some(PRIVATE_KEY_JWT) => true,
        Some("client_secret_basic" | "client_secret_post") if !spec.public => false,
        Some("none") if spec.public => false,
        Some(other) => {
            problems.push(format!(
                "--auth-method {other:?} is not offered: use private_key_jwt, or leave it out \
                 (a secret for a confidential client, none for a public one; client_secret_jwt \
                 is not supported because secrets are stored only as hashes)"
            ));
            false
        }
    };
    if private_key_jwt && spec.public {
        problems.push("a public client cannot use private_key_jwt (it has no keys to authenticate with; drop --public)".into());
    }
    if jwks.is_some() && jwks_uri.is_some() {
        problems.push("give either --jwks or --jwks-uri, not both".into());
    } else if private_key_jwt && jwks.is_none() && jwks_uri.is_none() {
        problems.push("private_key_jwt needs the client's keys: --jwks or --jwks-uri".into());
    }
    let jwks = jwks.and_then(|text| match parse_jwks(&text) {
        Ok(_) => Some(text),
        Err(e) => {
            problems.push(format!("--jwks: {e}"));
            None
        }
    });
    if let Some(uri) = &jwks_uri {
        if let Err(e) = check_jwks_uri(uri) {
            problems.push(e);
        }
    }
    KeySettings {
        private_key_jwt,
        jwks,
        jwks_uri,
    }
}

/// A `jwks_uri`: absolute, https (http only on a loopback host), no fragment or credentials.
pub fn check_jwks_uri(uri: &str) -> Result<Url, String> {
    let url = Url::parse(uri).map_err(|e| format!("--jwks-uri {uri:?} is not absolute: {e}"))?;
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "--jwks-uri {uri} must have no fragment and no credentials"
        ));
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if super::registration::is_loopback_host(url.host()) => Ok(url),
        _ => Err(format!(
            "--jwks-uri {uri} must use https (http only for a loopback host, in development)"
        )),
    }
}

/// A JWKS by value: at most [`MAX_KEYS`] keys, each a public key some accepted algorithm can
/// verify with (RSA ≥ 2048 bits, EC P-256, OKP Ed25519), none private or symmetric.
pub fn parse_jwks(text: &str) -> Result<JwkSet, String> {
    if text.len() > MAX_JWKS_LEN {
        return Err(format!("the JWKS is larger than {MAX_JWKS_LEN} bytes"));
    }
    let set = read_set(text.as_bytes())?;
    let keys = set.keys();
    if keys.is_empty() {
        return Err("the JWKS holds no key".into());
    }
    if keys.len() > MAX_KEYS {
        return Err(format!("the JWKS holds more than {MAX_KEYS} keys"));
    }
    for (i, key) in keys.iter().enumerate() {
        usable(key).map_err(|why| format!("key {i} of the JWKS {why}"))?;
    }
    Ok(set)
}

/// A JWKS fetched from a `jwks_uri`: private or symmetric keys refuse the whole set; public
/// keys no accepted algorithm can use (other curves, small RSA, encryption keys) are left out.
pub fn parse_fetched_jwks(body: &[u8]) -> Result<JwkSet, String> {
    let set = read_set(body)?;
    let mut kept = JwkSet::new();
    for key in set.keys() {
        if has_private_members(key) || key.key_type() == "oct" {
            return Err("the JWKS holds a private or symmetric key".into());
        }
        if usable(key).is_ok() {
            kept.push_key(key.clone());
        }
    }
    if kept.keys().is_empty() {
        return Err("the JWKS holds no usable public key".into());
    }
    Ok(kept)
}

fn read_set(bytes: &[u8]) -> Result<JwkSet, String> {
    JwkSet::from_bytes(bytes).map_err(|_| "it is not a JWK set ({\"keys\": [...]})".to_string())
}

fn has_private_members(key: &Jwk) -> bool {
    PRIVATE_MEMBERS.iter().any(|m| key.parameter(m).is_some())
}

/// Whether a key is public and fits one of [`ALGORITHMS`]; the reason when it is not.
fn usable(key: &Jwk) -> Result<(), String> {
    if has_private_members(key) {
        return Err("is private or symmetric: give public keys only".into());
    }
    if key.key_use().is_some_and(|u| u != "sig") {
        return Err("is not a signing key (use)".into());
    }
    let fits = match key.key_type() {
        "RSA" => rsa_modulus_len(key).is_some_and(|n| n >= MIN_RSA_MODULUS_BYTES),
        "EC" => key.curve() == Some("P-256"),
        "OKP" => key.curve() == Some("Ed25519"),
        _ => false,
    };
    if !fits {
        return Err(
            "is not an RSA key of at least 2048 bits, an EC P-256 key or an Ed25519 key".into(),
        );
    }
    if key.algorithm().is_some_and(|a| !ALGORITHMS.contains(&a)) {
        return Err(format!(
            "names an algorithm other than {}",
            ALGORITHMS.join(", ")
        ));
    }
    Ok(())
}

fn rsa_modulus_len(key: &Jwk) -> Option<usize> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let n = key.parameter("n")?.as_str()?;
    let bytes = URL_SAFE_NO_PAD.decode(n).ok()?;
    // A leading zero octet is not part of the modulus' size.
    Some(bytes.iter().skip_while(|b| **b == 0).count())
}
