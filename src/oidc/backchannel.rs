//! OpenID Connect Back-Channel Logout 1.0: when a session ends, every client that got tokens in
//! it and registered a `backchannel_logout_uri` is sent a signed logout token.
//!
//! The deliveries are queued in the transaction that ends the session
//! (`store::sessions::end_session`), so no path that ends a session can forget them, and they
//! are sent here, off the request path: a background task takes the due ones, signs a fresh
//! logout token for each (the token is never stored) and POSTs it as
//! `application/x-www-form-urlencoded` `logout_token=…`, without following redirects and with a
//! bounded timeout. A failed delivery is retried with backoff, at most `MAX_ATTEMPTS` times;
//! every outcome is an audit event (`backchannel_logout`), and failures are logged, never with
//! the token.
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use crate::clock::Clock;
use crate::identity::audit::{self, Event};
use crate::store::logout_deliveries::{self, DeliveryRow};
use crate::store::{clients, Db};
use crate::tokens::{secret, Alg, KeySet, KeyStore};

/// `typ` of logout tokens (Back-Channel Logout 1.0 §2.4).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// The event a logout token carries (§2.4).
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is good for.
pub const LOGOUT_TOKEN_TTL_SECS: i64 = 120;
/// Deliveries tried per session end and client before giving up.
pub const MAX_ATTEMPTS: i32 = 3;
/// How long one POST may take.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the queue is looked at.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// Deliveries taken per look.
const BATCH: i64 = 32;
/// How long a delivery taken by one instance is hidden from the others (well above the timeout).
const CLAIM_SECS: i64 = 30;
/// The audit event of every delivery outcome.
pub const AUDIT_KIND: &str = "backchannel_logout";

/// The claims of a logout token: `sub` and `sid` (both always known here), `events`, and never
/// a `nonce` (§2.4).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogoutTokenClaims {
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub sub: String,
    pub sid: String,
    pub events: serde_json::Value,
}

/// The claims of the logout token telling `client_id` that session `sid` of user `sub` ended.
pub fn claims(
    issuer: &str,
    client_id: &str,
    sub: &str,
    sid: &str,
    now: i64,
) -> anyhow::Result<LogoutTokenClaims> {
    Ok(LogoutTokenClaims {
        iss: issuer.to_string(),
        aud: client_id.to_string(),
        iat: now,
        exp: now + LOGOUT_TOKEN_TTL_SECS,
        jti: secret::random_token(16)?,
        sub: sub.to_string(),
        sid: sid.to_string(),
        events: json!({ BACKCHANNEL_EVENT: {} }),
    })
}

/// Signs `claims` as a logout token with the current key of `alg` (the client's ID token
/// algorithm, so the client verifies it as it verifies its ID tokens).
pub fn sign(keys: &KeySet, alg: Alg, claims: &LogoutTokenClaims) -> anyhow::Result<String> {
    crate::tokens::sign(keys, alg, LOGOUT_TOKEN_TYP, claims)
}

/// What the delivery task needs.
#[derive(Clone)]
pub struct Deliverer {
    pub db: Db,
    pub keys: Arc<KeyStore>,
    pub clock: Arc<dyn Clock>,
    pub issuer: String,
    pub http: reqwest::Client,
}

/// The outbound client: no redirects, no cookies, a bounded timeout.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(DELIVERY_TIMEOUT)
        .timeout(DELIVERY_TIMEOUT)
        .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// Seconds to wait before attempt `attempts + 1`, after `attempts` failed ones.
pub fn backoff_secs(attempts: i32) -> i64 {
    match attempts {
        ..=1 => 2,
        2 => 10,
        _ => 60,
    }
}

/// Delivers due logout tokens forever, every `POLL_EVERY`.
pub async fn run(deliverer: Deliverer) {
    loop {
        if let Err(e) = deliverer.drain_once().await {
            tracing::warn!(error = %format!("{e:#}"), "back-channel logout: reading the queue failed");
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

impl Deliverer {
    /// Takes the deliveries due now and sends them concurrently; returns how many were tried.
    pub async fn drain_once(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let taken: Vec<DeliveryRow> = self
            .db
            .run(move |c| -> anyhow::Result<Vec<DeliveryRow>> {
                let mut taken = Vec::new();
                for row in logout_deliveries::due(c, now, BATCH)? {
                    if logout_deliveries::claim(c, &row, now + CLAIM_SECS)? {
                        taken.push(row);
                    }
                }
                Ok(taken)
            })
            .await?;
        let count = taken.len();
        let mut tasks = tokio::task::JoinSet::new();
        for row in taken {
            let me = self.clone();
            tasks.spawn(async move { me.deliver(row).await });
        }
        while let Some(done) = tasks.join_next().await {
            if let Ok(Err(e)) = done {
                tracing::warn!(error = %format!("{e:#}"), "back-channel logout: recording a delivery failed");
            }
        }
        Ok(count)
    }

    /// One attempt at one delivery, and its outcome recorded.
    async fn deliver(&self, row: DeliveryRow) -> anyhow::Result<()> {
        let client_id = row.client_id.clone();
        let client = self
            .db
            .run(move |c| -> anyhow::Result<_> { Ok(clients::find(c, &client_id)?) })
            .await?;
        // The client is gone or no longer wants to hear: nothing to send, nothing to retry.
        let mut hopeless = false;
        let outcome = match client {
            None => {
                hopeless = true;
                Err("the client is gone".to_string())
            }
            Some(c) if c.backchannel_logout_uri.is_none() => {
                hopeless = true;
                Err("the client no longer has a backchannel_logout_uri".to_string())
            }
            Some(c) => {
                let alg = c
                    .id_token_signed_response_alg
                    .as_deref()
                    .and_then(|a| a.parse::<Alg>().ok());
                // Where the client wants it now (it may have moved since the session ended).
                let uri = c.backchannel_logout_uri.clone().unwrap_or(row.uri.clone());
                self.post(&row, &uri, alg).await
            }
        };
        let attempts = row.attempts + 1;
        let now = self.clock.now();
        let give_up = outcome.is_err() && (hopeless || attempts >= MAX_ATTEMPTS);
        match &outcome {
            Ok(status) => tracing::info!(
                client_id = %row.client_id, session = %row.session_id, status,
                "back-channel logout delivered"
            ),
            Err(why) => tracing::warn!(
                client_id = %row.client_id, session = %row.session_id, attempts, give_up,
                reason = %why, "back-channel logout delivery failed"
            ),
        }
        self.db
            .run(move |c| -> anyhow::Result<()> {
                match &outcome {
                    Err(_) if !give_up => logout_deliveries::retry_at(
                        c,
                        &row.id,
                        attempts,
                        now + backoff_secs(attempts),
                    )?,
                    _ => logout_deliveries::remove(c, &row.id)?,
                }
                if outcome.is_ok() || give_up {
                    audit::record(
                        c,
                        Event {
                            kind: AUDIT_KIND,
                            success: outcome.is_ok(),
                            user_id: Some(&row.user_id),
                            client_id: Some(&row.client_id),
                            meta: None,
                            detail: Some(match &outcome {
                                Ok(status) => json!({
                                    "session": row.session_id, "attempts": attempts,
                                    "status": status,
                                }),
                                Err(why) => json!({
                                    "session": row.session_id, "attempts": attempts,
                                    "error": why,
                                }),
                            }),
                        },
                        now,
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// Signs and POSTs the logout token; `Ok(status)` on a 2xx answer (§2.8: 200 or 204).
    async fn post(&self, row: &DeliveryRow, uri: &str, alg: Option<Alg>) -> Result<u16, String> {
        let keys = self.keys.current();
        let alg = alg.unwrap_or_else(|| keys.default_alg());
        let token = claims(
            &self.issuer,
            &row.client_id,
            &row.user_id,
            &row.session_id,
            self.clock.now(),
        )
        .and_then(|c| sign(&keys, alg, &c))
        .map_err(|e| format!("signing the logout token failed: {e}"))?;
        let answer = self
            .http
            .post(uri)
            .form(&[("logout_token", token.as_str())])
            .send()
            .await
            // reqwest's error names the URL, never the body.
            .map_err(|e| format!("POST failed: {e}"))?;
        let status = answer.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            Err(format!("the client answered {status}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> KeySet {
        crate::tokens::keys::ephemeral(&[Alg::RS256], 1_000).unwrap()
    }

    #[test]
    fn logout_token_has_the_claims_of_the_spec_and_no_nonce() {
        let c = claims("https://id.example", "app", "user-1", "sess-1", 1_000).unwrap();
        assert_eq!(c.iss, "https://id.example");
        assert_eq!(c.aud, "app");
        assert_eq!(c.exp - c.iat, LOGOUT_TOKEN_TTL_SECS);
        assert!(c.jti.len() >= 16);
        let other = claims("https://id.example", "app", "user-1", "sess-1", 1_000).unwrap();
        assert_ne!(c.jti, other.jti, "every logout token has its own jti");

        let keys = keys();
        let token = sign(&keys, Alg::RS256, &c).unwrap();
        let (header, payload) = crate::tokens::verify_signature(&keys, &token).unwrap();
        assert_eq!(header["typ"], "logout+jwt");
        assert_eq!(header["alg"], "RS256");
        assert!(header.contains_key("kid"));
        assert_eq!(payload["sub"], "user-1");
        assert_eq!(payload["sid"], "sess-1");
        assert_eq!(payload["aud"], "app");
        assert_eq!(
            payload["events"],
            json!({ "http://schemas.openid.net/event/backchannel-logout": {} })
        );
        assert!(payload.get("nonce").is_none());
    }

    #[test]
    fn logout_token_from_another_key_does_not_verify() {
        let c = claims("https://id.example", "app", "u", "s", 1_000).unwrap();
        let token = sign(&keys(), Alg::RS256, &c).unwrap();
        assert!(crate::tokens::verify_signature(&keys(), &token).is_err());
    }

    #[test]
    fn logout_retries_back_off_and_are_bounded() {
        assert!(backoff_secs(1) < backoff_secs(2));
        assert!(backoff_secs(2) < backoff_secs(3));
        assert_eq!(MAX_ATTEMPTS, 3);
    }
}
