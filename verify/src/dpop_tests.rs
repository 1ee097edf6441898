//! Unit tests of DPoP proof checks: algorithms, header and claim rules, `htu`, `ath`,
//! thumbprints.
use super::*;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::json;

const NOW: i64 = 1_800_000_000;
const URL: &str = "https://api.example.com/orders";
const TOKEN: &str = "the.access.token";

enum Signer {
    Es256(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

struct Key {
    signer: Signer,
    jwk: Value,
    alg: &'static str,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn es256() -> Key {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref();
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])});
    Key {
        signer: Signer::Es256(pair),
        jwk,
        alg: "ES256",
    }
}

fn eddsa() -> Key {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref())});
    Key {
        signer: Signer::Ed(pair),
        jwk,
        alg: "EdDSA",
    }
}

fn sign(key: &Key, header: &Value, claims: &Value) -> String {
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = match &key.signer {
        Signer::Es256(pair) => pair
            .sign(&SystemRandom::new(), message.as_bytes())
            .unwrap()
            .as_ref()
            .to_vec(),
        Signer::Ed(pair) => pair.sign(message.as_bytes()).as_ref().to_vec(),
    };
    format!("{message}.{}", b64(&signature))
}

fn header(key: &Key) -> Value {
    json!({"typ": "dpop+jwt", "alg": key.alg, "jwk": key.jwk})
}

fn claims() -> Value {
    json!({"htm": "GET", "htu": URL, "iat": NOW, "jti": "j-1", "ath": ath(TOKEN)})
}

fn expected() -> Expected<'static> {
    Expected {
        htm: "GET",
        htu: URL,
        access_token: TOKEN,
        now: NOW,
    }
}

fn with_claims(
    key: &Key,
    edit: impl FnOnce(&mut Map<String, Value>),
) -> Result<Proof, &'static str> {
    let mut c = claims();
    edit(c.as_object_mut().unwrap());
    check(&sign(key, &header(key), &c), &expected())
}

fn with_header(
    key: &Key,
    edit: impl FnOnce(&mut Map<String, Value>),
) -> Result<Proof, &'static str> {
    let mut h = header(key);
    edit(h.as_object_mut().unwrap());
    check(&sign(key, &h, &claims()), &expected())
}

#[test]
fn dpop_valid_proofs_give_the_keys_thumbprint() {
    for key in [es256(), eddsa()] {
        let proof = check(&sign(&key, &header(&key), &claims()), &expected()).unwrap();
        assert_eq!(proof.jkt, thumbprint(key.jwk.as_object().unwrap()).unwrap());
        assert_eq!(proof.jti, "j-1");
        // The same URL in another spelling; query and fragment ignored.
        let alt = Expected {
            htu: "HTTPS://API.example.com:443/orders?page=2#x",
            ..expected()
        };
        assert!(check(&sign(&key, &header(&key), &claims()), &alt).is_ok());
    }
}

#[test]
fn dpop_thumbprint_is_rfc_7638() {
    // RFC 7638 §3.1.
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    });
    assert_eq!(
        thumbprint(jwk.as_object().unwrap()).unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert!(thumbprint(json!({"kty": "oct", "k": "x"}).as_object().unwrap()).is_none());
}

#[test]
fn dpop_claims_must_match_the_request() {
    let key = es256();
    let cases: [(&str, Value, &str); 8] = [
        ("htm", json!("POST"), "htm"),
        ("htu", json!("https://api.example.com/other"), "htu"),
        ("htu", json!("https://evil.example.com/orders"), "htu"),
        ("htu", json!("not a url"), "htu"),
        ("ath", json!(ath("another token")), "ath"),
        ("iat", json!(NOW - IAT_WINDOW_SECS - 1), "iat"),
        ("iat", json!(NOW + IAT_WINDOW_SECS + 1), "iat"),
        ("jti", json!(""), "jti"),
    ];
    for (name, value, why) in cases {
        let err = with_claims(&key, |c| {
            c.insert(name.into(), value.clone());
        })
        .unwrap_err();
        assert!(err.contains(why), "{name}={value}: {err}");
    }
    for name in ["ath", "iat", "jti", "htm", "htu"] {
        assert!(with_claims(&key, |c| {
            c.remove(name);
        })
        .is_err());
    }
    // At the edge of the window: accepted.
    assert!(with_claims(&key, |c| {
        c.insert("iat".into(), json!(NOW - IAT_WINDOW_SECS));
    })
    .is_ok());
}

#[test]
fn dpop_header_rules() {
    let key = es256();
    let err = with_header(&key, |h| {
        h.insert("typ".into(), json!("JWT"));
    });
    assert!(err.unwrap_err().contains("typ"));
    for alg in ["HS256", "none", "ES384", "PS256"] {
        let err = with_header(&key, |h| {
            h.insert("alg".into(), json!(alg));
        });
        assert!(err.unwrap_err().contains("alg"), "{alg}");
    }
    // The alg does not fit the key.
    let err = with_header(&key, |h| {
        h.insert("alg".into(), json!("EdDSA"));
    });
    assert!(err.unwrap_err().contains("not a key for its alg"));
    let err = with_header(&key, |h| {
        h.remove("jwk");
    });
    assert!(err.unwrap_err().contains("no jwk"));
    let err = with_header(&key, |h| {
        h["jwk"]["d"] = json!("private");
    });
    assert!(err.unwrap_err().contains("public key"));
    let err = with_header(&key, |h| {
        h.insert("crit".into(), json!(["x"]));
    });
    assert!(err.unwrap_err().contains("critical"));
    // Signed by another key than the header's.
    let other = es256();
    let err = with_header(&key, |h| {
        h.insert("jwk".into(), other.jwk.clone());
    });
    assert!(err.unwrap_err().contains("signature"));
    // Not a JWS at all; absurdly long.
    for bad in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
        assert!(check(bad, &expected()).is_err(), "{bad}");
    }
    assert!(check(&"a".repeat(9000), &expected())
        .unwrap_err()
        .contains("too long"));
}

#[test]
fn dpop_replay_keys_differ_per_key_and_jti() {
    let p = |jkt: &str, jti: &str| Proof {
        jkt: jkt.into(),
        jti: jti.into(),
    };
    assert_eq!(p("a", "1").replay_key(), p("a", "1").replay_key());
    assert_ne!(p("a", "1").replay_key(), p("b", "1").replay_key());
    assert_ne!(p("a", "1").replay_key(), p("a", "2").replay_key());
}
