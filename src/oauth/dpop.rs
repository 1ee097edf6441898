//! DPoP proofs (RFC 9449): parsing and verifying the `DPoP` header's JWT, the key's thumbprint
//! (`jkt`, RFC 7638) tokens are bound to, and the access-token hash (`ath`). Plain functions of
//! the proof, what the request was and `now`; the replay cache (`jti`) is the caller's, keyed by
//! [`replay_key`] and kept for [`REPLAY_TTL_SECS`].
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::Jwk;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::tokens::keys::{thumbprint, Alg};

/// How far a proof's `iat` may be from the server's clock, either way (RFC 9449 §11.1).
pub const IAT_WINDOW_SECS: i64 = 60;

/// How long a seen `jti` is remembered: past this, the proof's `iat` is out of the window anyway.
pub const REPLAY_TTL_SECS: i64 = 2 * IAT_WINDOW_SECS + 5;

/// The proof signing algorithms accepted (asymmetric only), for `dpop_signing_alg_values_supported`.
pub const ALGORITHMS: [&str; 3] = ["ES256", "EdDSA", "RS256"];

/// The longest proof accepted: a proof carries one public key, an RSA-4096 one at most.
const MAX_PROOF_LEN: usize = 8 * 1024;

/// The smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// A proof that is not valid for this request: `invalid_dpop_proof`. The text says why and is
/// safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidProof(pub String);

fn invalid(why: impl Into<String>) -> InvalidProof {
    InvalidProof(why.into())
}

/// What the proof must match.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The request's HTTP method.
    pub htm: &'a str,
    /// The URL of the endpoint (query and fragment are ignored).
    pub htu: &'a str,
    /// The access token presented with the proof (resource requests): requires `ath`.
    pub access_token: Option<&'a str>,
    /// Seconds since the epoch.
    pub now: i64,
}

/// A verified proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// RFC 7638 SHA-256 thumbprint of the proof's key, base64url.
    pub jkt: String,
    pub jti: String,
    pub iat: i64,
}

impl Proof {
    /// The replay-cache key of this proof.
    pub fn replay_key(&self) -> String {
        replay_key(&self.jkt, &self.jti)
    }
}

/// The key a proof is remembered by: SHA-256 of the key thumbprint and the `jti`, base64url (a
/// `jti` is only unique per key; hashing bounds the length whatever the client sent).
pub fn replay_key(jkt: &str, jti: &str) -> String {
    let mut h = Sha256::new();
    h.update(jkt.as_bytes());
    h.update(b" ");
    h.update(jti.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// `ath`: base64url(SHA-256(access token)) (RFC 9449 §4.2).
pub fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// The URL as RFC 9449 §4.3 compares it: parsed (scheme and host lowercased, default port
/// dropped, dot segments resolved), without query and fragment. `None` if it is not an http(s) URL.
pub fn normalize_htu(u: &str) -> Option<String> {
    let mut url = url::Url::parse(u).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

/// Parses and verifies a DPoP proof for a request: `typ: dpop+jwt`, an accepted asymmetric `alg`,
/// a public `jwk` that signed it, `htm`, `htu`, `iat` within [`IAT_WINDOW_SECS`], a `jti`, and
/// `ath` when an access token comes with it. The replay check is the caller's.
pub fn verify(proof: &str, expected: &Expected<'_>) -> Result<Proof, InvalidProof> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(invalid("the DPoP proof is too long"));
    }
    let mut parts = proof.split('.');
    let (Some(header_b64), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("the DPoP proof is not a signed JWT"));
    };
    let header: Map<String, Value> = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| invalid("the DPoP proof's header is not a JSON object"))?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(invalid("the DPoP proof's typ must be dpop+jwt"));
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .filter(|a| ALGORITHMS.contains(a))
        .and_then(|a| a.parse::<Alg>().ok())
        .ok_or_else(|| invalid("the DPoP proof's alg must be one of ES256, EdDSA, RS256"))?;
    let jwk = public_jwk(&header, alg)?;
    let verifier = alg
        .verifier_from_jwk(&jwk)
        .map_err(|_| invalid("the DPoP proof's jwk is not a key for its alg"))?;
    let (payload, _) = josekit::jwt::decode_with_verifier(proof, &*verifier)
        .map_err(|_| invalid("the DPoP proof's signature does not verify with its jwk"))?;
    let claim_str = |name: &str| payload.claim(name).and_then(Value::as_str);

    if claim_str("htm") != Some(expected.htm) {
        return Err(invalid(
            "the DPoP proof's htm does not match the request method",
        ));
    }
    let htu_matches = match (
        claim_str("htu").and_then(normalize_htu),
        normalize_htu(expected.htu),
    ) {
        (Some(got), Some(want)) => got == want,
        _ => false,
    };
    if !htu_matches {
        return Err(invalid(
            "the DPoP proof's htu does not match the request URL",
        ));
    }
    let iat = payload
        .claim("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid("the DPoP proof has no iat"))?;
    if (iat - expected.now).abs() > IAT_WINDOW_SECS {
        return Err(invalid(
            "the DPoP proof's iat is too far from the current time",
        ));
    }
    let jti = claim_str("jti")
        .filter(|j| !j.is_empty())
        .ok_or_else(|| invalid("the DPoP proof has no jti"))?;
    if let Some(token) = expected.access_token {
        if claim_str("ath") != Some(ath(token).as_str()) {
            return Err(invalid(
                "the DPoP proof's ath does not match the access token",
            ));
        }
    }
    let jkt = thumbprint(&jwk).map_err(|_| invalid("the DPoP proof's jwk has no thumbprint"))?;
    Ok(Proof {
        jkt,
        jti: jti.to_string(),
        iat,
    })
}

/// The header's `jwk`: a public key of the algorithm's type, with no private members.
fn public_jwk(header: &Map<String, Value>, alg: Alg) -> Result<Jwk, InvalidProof> {
    let map = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("the DPoP proof has no jwk header"))?;
    const PRIVATE: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    if PRIVATE.iter().any(|m| map.contains_key(*m)) {
        return Err(invalid("the DPoP proof's jwk must be a public key"));
    }
    let member = |name: &str| map.get(name).and_then(Value::as_str);
    let fits = match alg {
        Alg::ES256 => member("kty") == Some("EC") && member("crv") == Some("P-256"),
        Alg::EdDSA => member("kty") == Some("OKP") && member("crv") == Some("Ed25519"),
        Alg::RS256 => {
            member("kty") == Some("RSA")
                && member("n")
                    .and_then(|n| URL_SAFE_NO_PAD.decode(n).ok())
                    .is_some_and(|n| n.len() >= MIN_RSA_MODULUS_BYTES)
        }
    };
    if !fits {
        return Err(invalid("the DPoP proof's jwk is not a key for its alg"));
    }
    Jwk::from_map(map.clone()).map_err(|_| invalid("the DPoP proof's jwk is not a valid JWK"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwk::alg::ed::EdCurve;
    use josekit::jwk::KeyPair;
    use josekit::jws::{EdDSA, JwsHeader, JwsSigner, ES256, RS256};
    use josekit::jwt::JwtPayload;

    const NOW: i64 = 1_800_000_000;
    const URL: &str = "https://auth.example.com/token";

    struct Key {
        signer: Box<dyn JwsSigner>,
        jwk: Jwk,
    }

    fn es256() -> Key {
        let pair = ES256.generate_key_pair().unwrap();
        Key {
            signer: Box::new(ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap()),
            jwk: pair.to_jwk_public_key(),
        }
    }

    fn eddsa() -> Key {
        let pair = EdDSA.generate_key_pair(EdCurve::Ed25519).unwrap();
        Key {
            signer: Box::new(EdDSA.signer_from_jwk(&pair.to_jwk_private_key()).unwrap()),
            jwk: pair.to_jwk_public_key(),
        }
    }

    fn rs256(bits: u32) -> Key {
        let pair = RS256.generate_key_pair(bits).unwrap();
        Key {
            signer: Box::new(RS256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap()),
            jwk: pair.to_jwk_public_key(),
        }
    }

    fn sign(key: &Key, header: JwsHeader, claims: Value) -> String {
        let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
        josekit::jwt::encode_with_signer(&payload, &header, &*key.signer).unwrap()
    }

    fn header(key: &Key) -> JwsHeader {
        let mut h = JwsHeader::new();
        h.set_token_type("dpop+jwt");
        h.set_jwk(key.jwk.clone());
        h
    }

    fn claims() -> Value {
        serde_json::json!({"htm": "POST", "htu": URL, "iat": NOW, "jti": "j-1"})
    }

    fn expected() -> Expected<'static> {
        Expected {
            htm: "POST",
            htu: URL,
            access_token: None,
            now: NOW,
        }
    }

    fn proof_with(key: &Key, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut c = claims();
        edit(c.as_object_mut().unwrap());
        sign(key, header(key), c)
    }

    #[test]
    fn dpop_valid_proofs_of_each_algorithm_give_the_thumbprint() {
        for key in [es256(), eddsa(), rs256(2048)] {
            let proof = sign(&key, header(&key), claims());
            let got = verify(&proof, &expected()).unwrap();
            assert_eq!(got.jkt, thumbprint(&key.jwk).unwrap());
            assert_eq!(got.jti, "j-1");
            assert_eq!(got.iat, NOW);
        }
    }

    #[test]
    fn dpop_header_rules() {
        let key = es256();
        let mut h = header(&key);
        h.set_token_type("JWT");
        assert!(verify(&sign(&key, h, claims()), &expected()).is_err());

        let mut h = JwsHeader::new();
        h.set_token_type("dpop+jwt");
        assert!(verify(&sign(&key, h, claims()), &expected())
            .unwrap_err()
            .0
            .contains("no jwk"));

        // A jwk with private members.
        let pair = ES256.generate_key_pair().unwrap();
        let signer = ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
        let mut h = JwsHeader::new();
        h.set_token_type("dpop+jwt");
        h.set_jwk(pair.to_jwk_private_key());
        let payload = JwtPayload::from_map(claims().as_object().unwrap().clone()).unwrap();
        let proof = josekit::jwt::encode_with_signer(&payload, &h, &signer).unwrap();
        assert!(verify(&proof, &expected())
            .unwrap_err()
            .0
            .contains("public key"));

        // Signed by another key than the one in the header.
        let other = es256();
        let mut h = header(&key);
        h.set_jwk(other.jwk.clone());
        assert!(verify(&sign(&key, h, claims()), &expected())
            .unwrap_err()
            .0
            .contains("signature"));

        // An RSA key smaller than 2048 bits (checked before the signature).
        let rsa = rs256(2048);
        let mut small = rsa.jwk.clone();
        let n = URL_SAFE_NO_PAD.decode(small.parameter("n").unwrap().as_str().unwrap());
        small
            .set_parameter("n", Some(URL_SAFE_NO_PAD.encode(&n.unwrap()[..128]).into()))
            .unwrap();
        let mut h = header(&rsa);
        h.set_jwk(small);
        assert!(verify(&sign(&rsa, h, claims()), &expected())
            .unwrap_err()
            .0
            .contains("not a key for its alg"));

        // HMAC and `none` are not accepted.
        let hs = josekit::jws::HS256.signer_from_bytes(b"0123456789abcdef0123456789abcdef");
        let mut h = header(&key);
        h.set_algorithm("HS256");
        let payload = JwtPayload::from_map(claims().as_object().unwrap().clone()).unwrap();
        let proof = josekit::jwt::encode_with_signer(&payload, &h, &hs.unwrap()).unwrap();
        assert!(verify(&proof, &expected()).unwrap_err().0.contains("alg"));
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"typ":"dpop+jwt","alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        assert!(verify(&unsigned, &expected()).is_err());
        for junk in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.x.y",
            &"a".repeat(MAX_PROOF_LEN + 1),
        ] {
            assert!(verify(junk, &expected()).is_err());
        }
    }

    #[test]
    fn dpop_claim_rules() {
        let key = es256();
        let err = |edit: &dyn Fn(&mut Map<String, Value>)| {
            verify(&proof_with(&key, edit), &expected()).unwrap_err().0
        };
        assert!(err(&|c| {
            c.insert("htm".into(), "GET".into());
        })
        .contains("htm"));
        assert!(err(&|c| {
            c.insert("htu".into(), "https://auth.example.com/userinfo".into());
        })
        .contains("htu"));
        assert!(err(&|c| {
            c.insert("htu".into(), "https://evil.example.com/token".into());
        })
        .contains("htu"));
        assert!(err(&|c| {
            c.remove("htu");
        })
        .contains("htu"));
        assert!(err(&|c| {
            c.insert("iat".into(), (NOW - IAT_WINDOW_SECS - 1).into());
        })
        .contains("iat"));
        assert!(err(&|c| {
            c.insert("iat".into(), (NOW + IAT_WINDOW_SECS + 1).into());
        })
        .contains("iat"));
        assert!(err(&|c| {
            c.remove("iat");
        })
        .contains("iat"));
        assert!(err(&|c| {
            c.remove("jti");
        })
        .contains("jti"));
        assert!(err(&|c| {
            c.insert("jti".into(), "".into());
        })
        .contains("jti"));
        // Within the window either way is fine.
        assert!(verify(
            &proof_with(&key, |c| {
                c.insert("iat".into(), (NOW - IAT_WINDOW_SECS).into());
            }),
            &expected()
        )
        .is_ok());
    }

    #[test]
    fn dpop_htu_is_compared_without_query_fragment_and_by_normal_form() {
        let key = es256();
        for htu in [
            "https://AUTH.example.com/token",
            "https://auth.example.com:443/token",
            "https://auth.example.com/token?x=1",
            "https://auth.example.com/token#f",
        ] {
            let proof = proof_with(&key, |c| {
                c.insert("htu".into(), htu.into());
            });
            assert!(verify(&proof, &expected()).is_ok(), "{htu}");
        }
        let proof = proof_with(&key, |c| {
            c.insert("htu".into(), "http://auth.example.com/token".into());
        });
        assert!(verify(&proof, &expected()).is_err());
        assert_eq!(normalize_htu("ftp://x/y"), None);
        assert_eq!(normalize_htu("not a url"), None);
    }

    #[test]
    fn dpop_ath_is_required_with_an_access_token() {
        let key = eddsa();
        let with_token = Expected {
            access_token: Some("the-token"),
            ..expected()
        };
        let no_ath = proof_with(&key, |_| {});
        assert!(verify(&no_ath, &with_token).unwrap_err().0.contains("ath"));
        let wrong = proof_with(&key, |c| {
            c.insert("ath".into(), ath("another-token").into());
        });
        assert!(verify(&wrong, &with_token).unwrap_err().0.contains("ath"));
        let right = proof_with(&key, |c| {
            c.insert("ath".into(), ath("the-token").into());
        });
        assert!(verify(&right, &with_token).is_ok());
        // RFC 9449 §7.1 example: ath of the example token.
        assert_eq!(
            ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn dpop_replay_key_depends_on_key_and_jti() {
        assert_eq!(replay_key("a", "b"), replay_key("a", "b"));
        assert_ne!(replay_key("a", "b"), replay_key("a", "c"));
        assert_ne!(replay_key("a", "b"), replay_key("c", "b"));
        assert_eq!(replay_key("a", "b").len(), 43);
    }
}
