//! DPoP proofs (RFC 9449 §4.3, §7.1) as a resource server checks them: plain functions of the
//! proof, the request and `now`. The replay cache is [`crate::replay`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::alg::Alg;
use crate::api_key::API_KEY_PREFIX;
use crate::claims::Claims;
use crate::error::VerifyError;
use crate::jwks::public_key;
use crate::replay::Seen;
use crate::verifier::Verifier;

/// The proof algorithms accepted (asymmetric only), as named in `DPoP algs="…"` challenges.
pub(crate) const ALGORITHMS: [&str; 4] = ["ES256", "EdDSA", "RS256", "PS256"];

/// How far a proof's `iat` may be from the clock, either way (RFC 9449 §11.1).
pub(crate) const IAT_WINDOW_SECS: i64 = 60;

/// Longest proof looked at: one public key, an RSA-4096 one at most.
const MAX_PROOF_LEN: usize = 8 * 1024;

/// What the proof must match.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expected<'a> {
    /// The request's HTTP method.
    pub(crate) htm: &'a str,
    /// The URL the client sent the request to (query and fragment are ignored).
    pub(crate) htu: &'a str,
    /// The access token sent with the proof (`ath`).
    pub(crate) access_token: &'a str,
    /// Unix seconds.
    pub(crate) now: i64,
}

/// A proof that passed every check but the replay check and the key binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proof {
    /// RFC 7638 SHA-256 thumbprint of the proof's key, base64url.
    pub(crate) jkt: String,
    /// The proof's `jti`.
    pub(crate) jti: String,
}

impl Proof {
    /// The replay-cache key: SHA-256 of the thumbprint and the `jti` (a `jti` is unique per key;
    /// the hash bounds the size whatever the client sent).
    pub(crate) fn replay_key(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.jkt.as_bytes());
        h.update(b" ");
        h.update(self.jti.as_bytes());
        h.finalize().into()
    }
}

/// `ath`: base64url(SHA-256(access token)) (RFC 9449 §4.2).
pub(crate) fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// The URL as RFC 9449 §4.3 compares it: parsed (scheme and host lowercased, default port
/// dropped, dot segments resolved), without query and fragment. `None` if not http(s).
pub(crate) fn normalize_htu(u: &str) -> Option<String> {
    let mut url = reqwest::Url::parse(u).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

/// The RFC 7638 thumbprint of a public JWK: SHA-256 over its required members in lexical
/// order, base64url. `None` for a key type without one here.
pub(crate) fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str).map(json_string);
    let canonical = match jwk.get("kty").and_then(Value::as_str)? {
        "EC" => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            member("crv")?,
            member("x")?,
            member("y")?
        ),
        "OKP" => format!(
            r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
            member("crv")?,
            member("x")?
        ),
        "RSA" => format!(
            r#"{{"e":{},"kty":"RSA","n":{}}}"#,
            member("e")?,
            member("n")?
        ),
        _ => return None,
    };
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

fn json_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// Checks a DPoP proof for a request (RFC 9449 §4.3): a compact JWS with `typ: dpop+jwt`, an
/// accepted asymmetric `alg`, a public `jwk` that verifies the signature (ring), no `crit`;
/// `htm`, `htu`, `iat` within [`IAT_WINDOW_SECS`], a `jti`, and `ath` of the access token.
/// The error is a client-safe reason (`error_description`).
pub(crate) fn check(proof: &str, expected: &Expected<'_>) -> Result<Proof, &'static str> {
    if proof.len() > MAX_PROOF_LEN {
        return Err("the DPoP proof is too long");
    }
    let mut parts = proof.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the DPoP proof is not a signed JWT");
    };
    let header = json_object(header_b64).ok_or("the DPoP proof's header is not a JSON object")?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err("the DPoP proof's typ must be dpop+jwt");
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .filter(|a| ALGORITHMS.contains(a))
        .and_then(Alg::from_name)
        .ok_or("the DPoP proof's alg must be one of ES256, EdDSA, RS256, PS256")?;
    if header.contains_key("crit") {
        return Err("the DPoP proof uses critical header extensions");
    }
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or("the DPoP proof has no jwk header")?;
    const PRIVATE: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    if PRIVATE.iter().any(|m| jwk.contains_key(*m)) {
        return Err("the DPoP proof's jwk must be a public key");
    }
    let key = public_key(&Value::Object(jwk.clone()))
        .filter(|k| k.fits(alg))
        .ok_or("the DPoP proof's jwk is not a key for its alg")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| "the DPoP proof's signature does not verify with its jwk")?;
    let message = &proof.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
    if !key.verify(alg, message, &signature) {
        return Err("the DPoP proof's signature does not verify with its jwk");
    }
    let claims = json_object(payload_b64).ok_or("the DPoP proof's claims are not a JSON object")?;
    let claim = |name: &str| claims.get(name).and_then(Value::as_str);
    if claim("htm") != Some(expected.htm) {
        return Err("the DPoP proof's htm does not match the request method");
    }
    match (
        claim("htu").and_then(normalize_htu),
        normalize_htu(expected.htu),
    ) {
        (Some(got), Some(want)) if got == want => {}
        _ => return Err("the DPoP proof's htu does not match the request URL"),
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or("the DPoP proof has no iat")?;
    if iat.abs_diff(expected.now) > IAT_WINDOW_SECS.unsigned_abs() {
        return Err("the DPoP proof's iat is too far from the current time");
    }
    let jti = claim("jti")
        .filter(|j| !j.is_empty())
        .ok_or("the DPoP proof has no jti")?;
    if claim("ath") != Some(ath(expected.access_token).as_str()) {
        return Err("the DPoP proof's ath does not match the access token");
    }
    let jkt = thumbprint(jwk).ok_or("the DPoP proof's jwk is not a key for its alg")?;
    Ok(Proof {
        jkt,
        jti: jti.to_owned(),
    })
}

fn json_object(b64: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(b64).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// What a DPoP proof must match of the request it came with (RFC 9449 §7.1).
#[derive(Debug, Clone, Copy)]
pub struct DpopRequest<'a> {
    /// The `DPoP` header's value (`None` when the request has none).
    pub proof: Option<&'a str>,
    /// The request's HTTP method (`GET`, `POST`, …).
    pub method: &'a str,
    /// The URL the client sent the request to, as the client sees it (query and fragment are
    /// ignored); see [`Verifier::external_url`].
    pub url: &'a str,
}

impl Verifier {
    /// Verifies a token sent as `Authorization: DPoP <token>` with its `DPoP` proof (RFC 9449
    /// §7.1): the token as [`verify`](Verifier::verify) checks it, bound to a key (`cnf.jkt`,
    /// else [`VerifyError::NotDpopBound`]); then the proof: `typ: dpop+jwt`, `alg` ES256, EdDSA or
    /// RS256, a public `jwk` in its header that verifies the signature, `htm` = the method,
    /// `htu` = the URL, `iat` within 60 s of the clock, a `jti` not seen before by this verifier
    /// (in memory, see [`Config::dpop_replay_cache_size`](crate::Config::dpop_replay_cache_size)),
    /// `ath` = base64url(SHA-256(token)), and its key's RFC 7638 thumbprint = `cnf.jkt`. A
    /// failing proof is [`VerifyError::InvalidDpopProof`]. Server nonces are not required.
    pub async fn verify_dpop(
        &self,
        token: &str,
        request: &DpopRequest<'_>,
    ) -> Result<Claims, VerifyError> {
        if token.starts_with(API_KEY_PREFIX) {
            return Err(VerifyError::NotDpopBound);
        }
        let claims = self.verify_token(token).await?;
        let jkt = match claims.extra.get("cnf").and_then(|c| c.get("jkt")) {
            None => return Err(VerifyError::NotDpopBound),
            Some(Value::String(jkt)) => jkt.clone(),
            Some(_) => return Err(VerifyError::InvalidClaim("cnf")),
        };
        let proof = request
            .proof
            .ok_or(VerifyError::InvalidDpopProof("a DPoP proof is required"))?;
        let now = self.inner.clock.now();
        let expected = Expected {
            htm: request.method,
            htu: request.url,
            access_token: token,
            now,
        };
        let proof = check(proof, &expected).map_err(VerifyError::InvalidDpopProof)?;
        if proof.jkt != jkt {
            return Err(VerifyError::InvalidDpopProof(
                "the DPoP proof is not signed by the key the token is bound to",
            ));
        }
        // Past this, the proof's iat is out of the window whatever it was.
        let expires_at = now
            .saturating_add(2 * IAT_WINDOW_SECS)
            .saturating_add(self.inner.leeway);
        match self
            .inner
            .replay
            .remember(proof.replay_key(), now, expires_at)
        {
            Seen::Fresh => Ok(claims),
            Seen::Replayed => Err(VerifyError::InvalidDpopProof(
                "the DPoP proof was already used",
            )),
            Seen::Full => Err(VerifyError::Unavailable(
                "the DPoP replay cache is full".to_owned(),
            )),
        }
    }

    /// The [`external URL`](crate::Config::external_url) followed by `path`: the `htu` a
    /// proof for a request to `path` must carry. `None` when no external URL is configured.
    pub fn external_url(&self, path: &str) -> Option<String> {
        self.inner
            .external_url
            .as_deref()
            .map(|base| format!("{base}{path}"))
    }
}

#[cfg(test)]
#[path = "dpop_tests.rs"]
mod tests;
