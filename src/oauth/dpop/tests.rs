//! Unit tests of DPoP proofs: algorithms, header and claim rules, `htu`, `ath`, replay keys.
use super::*;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jwk::KeyPair;
use josekit::jws::{EdDSA, JwsHeader, JwsSigner, ES256, PS256, RS256};
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

fn ps256() -> Key {
    let pair = PS256.generate_key_pair(2048).unwrap();
    Key {
        signer: Box::new(PS256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap()),
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
    let keys = [
        (es256(), Alg::ES256),
        (eddsa(), Alg::EdDSA),
        (rs256(2048), Alg::RS256),
        (ps256(), Alg::PS256),
    ];
    for (key, alg) in keys {
        let proof = sign(&key, header(&key), claims());
        let got = verify(&proof, &expected()).unwrap();
        assert_eq!(got.alg, alg);
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

#[test]
fn dpop_nonce_is_checked_only_when_required() {
    let key = es256();
    let nonces = NonceKey::new("server secret");
    let issued = nonces.issue(NOW);
    let with = |nonce: Value| {
        let proof = proof_with(&key, |c| {
            c.insert("nonce".into(), nonce);
        });
        verify(&proof, &expected()).unwrap()
    };
    let without = verify(&sign(&key, header(&key), claims()), &expected()).unwrap();
    assert_eq!(without.nonce, None);
    // Not required: any nonce, or none, is ignored.
    assert!(check_nonce(&without, None, NOW).is_ok());
    assert!(check_nonce(&with("forged".into()), None, NOW).is_ok());
    // Required: one this server issued, recently.
    let good = with(issued.clone().into());
    assert_eq!(good.nonce.as_deref(), Some(issued.as_str()));
    assert!(check_nonce(&good, Some(&nonces), NOW).is_ok());
    assert!(check_nonce(&without, Some(&nonces), NOW)
        .unwrap_err()
        .0
        .contains("required"));
    for bad in [
        with("forged".into()),
        with(NonceKey::new("another server").issue(NOW).into()),
        with(serde_json::json!(42)),
    ] {
        assert!(check_nonce(&bad, Some(&nonces), NOW).is_err());
    }
    let later = NOW + 2 * nonce::WINDOW_SECS;
    assert!(check_nonce(&good, Some(&nonces), later)
        .unwrap_err()
        .0
        .contains("expired"));
}

#[test]
fn dpop_a_ps256_proof_is_not_an_rs256_one() {
    // An RSA key's PSS signature does not pass as PKCS#1 v1.5 under a forged RS256 header.
    let key = ps256();
    let mut h = header(&key);
    h.set_algorithm("RS256");
    let payload = JwtPayload::from_map(claims().as_object().unwrap().clone()).unwrap();
    let good = josekit::jwt::encode_with_signer(&payload, &header(&key), &*key.signer).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let forged_header = URL_SAFE_NO_PAD.encode(h.to_string());
    let forged = format!("{forged_header}.{}.{}", parts[1], parts[2]);
    assert!(verify(&forged, &expected()).is_err());
    assert!(verify(&good, &expected()).is_ok());
}
