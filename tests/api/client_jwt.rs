//! Shared by `private_key_jwt` and `jar`: client keys made with josekit, JWKS documents, JWTs
//! signed with them.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, JwsSigner, ES256, HS256, PS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::{json, Value};

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's private key and the algorithm it signs with.
pub struct Key {
    pub jwk: Jwk,
    pub alg: &'static str,
}

impl Key {
    pub fn es256(kid: &str) -> Key {
        let mut jwk = Jwk::generate_ec_key(EcCurve::P256).unwrap();
        jwk.set_key_id(kid);
        Key { jwk, alg: "ES256" }
    }

    pub fn ps256(kid: &str) -> Key {
        let mut jwk = Jwk::generate_rsa_key(2048).unwrap();
        jwk.set_key_id(kid);
        Key { jwk, alg: "PS256" }
    }

    /// The public half, `kid` kept.
    pub fn public(&self) -> Value {
        let mut p = self.jwk.to_public_key().unwrap();
        p.set_key_id(self.jwk.key_id().unwrap());
        Value::Object(p.as_ref().clone())
    }

    /// `claims` signed with this key (its `kid` in the header).
    pub fn sign(&self, claims: &Value) -> String {
        let signer: Box<dyn JwsSigner> = match self.alg {
            "ES256" => Box::new(ES256.signer_from_jwk(&self.jwk).unwrap()),
            "PS256" => Box::new(PS256.signer_from_jwk(&self.jwk).unwrap()),
            other => panic!("no signer for {other}"),
        };
        self.sign_with(claims, &JwsHeader::new(), &*signer)
    }

    /// `claims` signed with this key and `header` (e.g. a `typ`).
    pub fn sign_with(&self, claims: &Value, header: &JwsHeader, signer: &dyn JwsSigner) -> String {
        jwt::encode_with_signer(&payload(claims), header, signer).unwrap()
    }
}

/// A JWKS of these keys' public halves.
pub fn jwks(keys: &[&Key]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.public()).collect::<Vec<_>>() })
}

fn payload(claims: &Value) -> JwtPayload {
    JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap()
}

/// `claims` as an unsecured JWT (`alg: none`).
pub fn unsigned(claims: &Value) -> String {
    jwt::encode_unsecured(&payload(claims), &JwsHeader::new()).unwrap()
}

/// `claims` HMAC-signed (HS256) with `secret`.
pub fn hs256(claims: &Value, secret: &[u8]) -> String {
    let signer = HS256.signer_from_bytes(secret).unwrap();
    jwt::encode_with_signer(&payload(claims), &JwsHeader::new(), &signer).unwrap()
}

/// A fresh random `jti`.
pub fn jti() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The claims of a JWT, unverified.
pub fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}
