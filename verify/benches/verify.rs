//! `verify` of a valid RS256 access token whose key is already cached (no network).
//!
//! `cargo bench -p portcullis-verify -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portcullis_verify::{Config, Verifier};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::json;

const ISSUER: &str = "https://id.example.com";
const AUDIENCE: &str = "https://api.example.com";

fn setup() -> Result<(Verifier, String), Box<dyn std::error::Error>> {
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
    let jwks = json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "bench",
        "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
    }]});
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())?;
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some("bench".into());
    let claims = json!({
        "iss": ISSUER, "sub": "user-1", "aud": AUDIENCE, "client_id": "web",
        "scope": "openid profile read", "iat": now, "exp": now + 3600, "jti": "jti-1",
        "auth_time": now, "roles": ["admin"], "sid": "sid-1",
    });
    let der = key.to_pkcs1_der()?;
    let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_der(der.as_bytes()))?;
    let verifier = Verifier::from_jwks(ISSUER, AUDIENCE, &jwks.to_string(), Config::default())?;
    Ok((verifier, token))
}

fn bench_verify(c: &mut Criterion) {
    let (verifier, token) = match setup() {
        Ok(v) => v,
        Err(e) => panic!("benchmark setup failed: {e}"),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => panic!("no tokio runtime: {e}"),
    };
    // Sanity: the token verifies.
    if let Err(e) = runtime.block_on(verifier.verify(&token)) {
        panic!("the benchmark token does not verify: {e}");
    }

    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("rs256_cached_key", |b| {
        b.iter(|| runtime.block_on(verifier.verify(black_box(&token))))
    });
    group.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
