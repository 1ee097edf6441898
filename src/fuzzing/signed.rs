//! Targets for signed tokens. The first input byte picks the mode: even, the rest is a token
//! as a client would send it (parsing and signature checks); odd, the rest is a payload that
//! is signed properly first, so the claim checks behind the signature get fuzzed too.
use std::sync::OnceLock;

use josekit::jwk::alg::ec::EcKeyPair;
use josekit::jws::{JwsHeader, ES256};

use super::{keys, text, ISSUER, NOW};
use crate::oauth::client_keys::{self, assertion, request_object};
use crate::oauth::dpop;
use crate::tokens::{self, keys::Alg};

/// Access tokens: signature by a published key in its algorithm, `typ`, `iss`, `aud`, times.
/// A token accepted has the issuer and is not expired.
pub fn jwt(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let token = if mode % 2 == 0 {
        text(rest)
    } else {
        let Ok(payload) = serde_json::from_slice::<serde_json::Value>(rest) else {
            return;
        };
        let alg = [Alg::RS256, Alg::ES256, Alg::EdDSA][usize::from(*mode / 2) % 3];
        tokens::sign(keys(), alg, tokens::ACCESS_TOKEN_TYP, &payload).expect("signing")
    };
    let _ = tokens::verify_signature(keys(), &token);
    if let Ok(claims) = tokens::verify_access_token(keys(), &token, ISSUER, |_| true, NOW) {
        assert_eq!(claims.iss, ISSUER);
        assert!(claims.exp > NOW);
    }
}

fn proof_key() -> &'static EcKeyPair {
    static KEY: OnceLock<EcKeyPair> = OnceLock::new();
    KEY.get_or_init(|| ES256.generate_key_pair().expect("an ES256 key"))
}

/// DPoP proofs for a resource request. A proof accepted is bound to its key's thumbprint.
pub fn dpop_proof(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let proof = if mode % 2 == 0 {
        text(rest)
    } else {
        let key = proof_key();
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header.set_jwk(key.to_jwk_public_key());
        let signer = ES256
            .signer_from_jwk(&key.to_jwk_private_key())
            .expect("a signer");
        josekit::jws::serialize_compact(rest, &header, &signer).expect("signing")
    };
    let expected = dpop::Expected {
        htm: "GET",
        htu: "https://id.example.com/userinfo",
        access_token: Some("access-token"),
        now: NOW,
    };
    if let Ok(verified) = dpop::verify(&proof, &expected) {
        assert!(!verified.jkt.is_empty() && !verified.jti.is_empty());
        assert!((verified.iat - NOW).abs() <= dpop::IAT_WINDOW_SECS);
    }
}

/// A client's registered keys: the proof key's public half, `kid` `k1`.
fn registered_jwks() -> &'static josekit::jwk::JwkSet {
    static JWKS: OnceLock<josekit::jwk::JwkSet> = OnceLock::new();
    JWKS.get_or_init(|| {
        let mut public = proof_key().to_jwk_public_key();
        public.set_key_id("k1");
        let text = serde_json::json!({ "keys": [public.as_ref()] }).to_string();
        client_keys::parse_jwks(&text).expect("a client JWKS")
    })
}

/// Client-signed JWTs: `private_key_jwt` assertions (RFC 7523) and request objects (RFC 9101),
/// verified against the client's keys and then checked by each rule set. An accepted assertion
/// names the client and has a `jti`; an accepted request object names the client.
pub fn client_jwt(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let jwt = if mode % 2 == 0 {
        text(rest)
    } else {
        let mut header = JwsHeader::new();
        header.set_key_id("k1");
        if mode % 4 == 3 {
            header.set_token_type("oauth-authz-req+jwt");
        }
        let signer = ES256
            .signer_from_jwk(&proof_key().to_jwk_private_key())
            .expect("a signer");
        josekit::jws::serialize_compact(rest, &header, &signer).expect("signing")
    };
    let _ = client_keys::verify::header_of(&jwt);
    let unverified = client_keys::verify::unverified_claims(&jwt);
    let _ = assertion::named_client(unverified.as_ref(), None);
    let Ok(verified) = client_keys::verify::verify(&jwt, registered_jwks(), 8 * 1024) else {
        return;
    };
    let audiences = assertion::Audiences {
        issuer: ISSUER,
        endpoint: "https://id.example.com/token",
    };
    if let Ok(accepted) = assertion::check(&verified.claims, "fuzz-client", audiences, NOW) {
        assert!(!accepted.jti.is_empty() && accepted.exp > NOW);
    }
    if let Ok(params) = request_object::check(&verified, "fuzz-client", ISSUER, NOW) {
        assert_eq!(params.get("client_id"), Some("fuzz-client"));
    }
}

/// JWKS documents a client registers or serves at its `jwks_uri`.
pub fn client_jwks(data: &[u8]) {
    let _ = client_keys::parse_fetched_jwks(data);
    let _ = client_keys::parse_jwks(&text(data));
}
