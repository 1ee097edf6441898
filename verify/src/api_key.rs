//! API keys (`pc_…`) checked through the issuer's introspection endpoint (RFC 7662), with a
//! short cache of positive answers keyed by the key's SHA-256.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::claims::{Claims, TokenKind};
use crate::config::Credentials;
use crate::error::VerifyError;
use crate::http;

/// Bearer values starting with this are API keys, not JWTs.
pub(crate) const API_KEY_PREFIX: &str = "pc_";
/// Longest API key sent to the issuer.
const MAX_KEY_LEN: usize = 512;
/// Most cached answers; beyond it expired entries go, then everything.
const MAX_CACHED: usize = 10_000;

pub(crate) struct ApiKeys {
    endpoint: String,
    /// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
    authorization: String,
    ttl: i64,
    cache: Mutex<HashMap<[u8; 32], Cached>>,
}

struct Cached {
    claims: Claims,
    until: i64,
}

fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl ApiKeys {
    pub(crate) fn new(endpoint: String, credentials: &Credentials, ttl: i64) -> ApiKeys {
        let pair = format!(
            "{}:{}",
            form_encode(&credentials.client_id),
            form_encode(&credentials.client_secret)
        );
        ApiKeys {
            endpoint,
            authorization: format!("Basic {}", STANDARD.encode(pair)),
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) async fn verify(
        &self,
        client: &reqwest::Client,
        key: &str,
        issuer: &str,
        audience: &str,
        now: i64,
    ) -> Result<Claims, VerifyError> {
        if key.len() > MAX_KEY_LEN
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(VerifyError::Malformed);
        }
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        if let Some(claims) = self.cached(&digest, now) {
            return Ok(claims);
        }

        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", key)
            .append_pair("token_type_hint", "api_key")
            .finish();
        let request = client
            .post(&self.endpoint)
            .header(AUTHORIZATION, &self.authorization)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        let fetched = http::send(&self.endpoint, request)
            .await
            .map_err(|e| VerifyError::Unavailable(e.to_string()))?;
        let answer: Map<String, Value> = serde_json::from_slice(&fetched.body).map_err(|_| {
            VerifyError::Unavailable("the introspection answer is not a JSON object".to_owned())
        })?;
        let claims = claims_from_answer(answer, issuer, audience, now)?;

        let until = match claims.exp {
            Some(exp) => exp.min(now.saturating_add(self.ttl)),
            None => now.saturating_add(self.ttl),
        };
        if until > now {
            self.store(digest, claims.clone(), until, now);
        }
        Ok(claims)
    }

    fn cached(&self, digest: &[u8; 32], now: i64) -> Option<Claims> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(digest)
            .filter(|c| now < c.until)
            .map(|c| c.claims.clone())
    }

    fn store(&self, digest: [u8; 32], claims: Claims, until: i64, now: i64) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, c| now < c.until);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(digest, Cached { claims, until });
    }
}

/// Turns an RFC 7662 answer into claims; anything but an active API key is rejected.
fn claims_from_answer(
    mut answer: Map<String, Value>,
    issuer: &str,
    audience: &str,
    now: i64,
) -> Result<Claims, VerifyError> {
    if answer.remove("active") != Some(Value::Bool(true)) {
        return Err(VerifyError::InactiveApiKey);
    }
    match answer.remove("token_type") {
        None => {}
        Some(Value::String(t)) if t.eq_ignore_ascii_case("api_key") => {}
        Some(_) => return Err(VerifyError::InactiveApiKey),
    }
    let mut claims = Claims::from_object(answer, TokenKind::ApiKey)?;
    if claims.iss.is_empty() {
        claims.iss = issuer.to_owned();
    } else if claims.iss != issuer {
        return Err(VerifyError::WrongIssuer);
    }
    if claims.sub.is_empty() {
        return Err(VerifyError::MissingClaim("sub"));
    }
    if !claims.aud.is_empty() && !claims.aud.iter().any(|a| a == audience) {
        return Err(VerifyError::WrongAudience);
    }
    if claims.exp.is_some_and(|exp| now >= exp) {
        return Err(VerifyError::InactiveApiKey);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn answers() {
        let iss = "https://id.example.com";
        let ok = claims_from_answer(
            answer(json!({"active": true, "token_type": "api_key", "sub": "u1",
                          "scope": "read write", "exp": 2000, "name": "ci"})),
            iss,
            "api",
            1000,
        )
        .unwrap();
        assert_eq!(ok.sub, "u1");
        assert_eq!(ok.iss, iss);
        assert!(ok.has_scope("write"));
        assert!(ok.roles.is_empty());
        assert!(ok.is_api_key());
        assert_eq!(ok.extra.get("name"), Some(&json!("ci")));
        assert!(!ok.extra.contains_key("active"));

        let reject = |v: Value| claims_from_answer(answer(v), iss, "api", 1000).unwrap_err();
        assert_eq!(
            reject(json!({"active": false})),
            VerifyError::InactiveApiKey
        );
        assert_eq!(
            reject(json!({"active": "true", "sub": "u"})),
            VerifyError::InactiveApiKey
        );
        assert_eq!(
            reject(json!({"active": true, "token_type": "Bearer", "sub": "u"})),
            VerifyError::InactiveApiKey
        );
        assert_eq!(
            reject(json!({"active": true, "sub": "u", "exp": 999})),
            VerifyError::InactiveApiKey
        );
        assert_eq!(
            reject(json!({"active": true})),
            VerifyError::MissingClaim("sub")
        );
        assert_eq!(
            reject(json!({"active": true, "sub": "u", "iss": "https://evil"})),
            VerifyError::WrongIssuer
        );
        assert_eq!(
            reject(json!({"active": true, "sub": "u", "aud": ["other"]})),
            VerifyError::WrongAudience
        );
    }

    #[test]
    fn basic_credentials_are_form_encoded() {
        let keys = ApiKeys::new(
            "https://id.example.com/introspect".to_owned(),
            &Credentials {
                client_id: "rs:1".to_owned(),
                client_secret: "a b+c".to_owned(),
            },
            30,
        );
        let encoded = keys.authorization.strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "rs%3A1:a+b%2Bc");
    }
}
