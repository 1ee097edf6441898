//! The OpenID Foundation's certification test plans for an OP, as our own tests against the
//! live server: Basic OP (`oidcc-basic-certification-test-plan`), Config OP
//! (`oidcc-config-certification-test-plan`) and RP-Initiated Logout
//! (`oidcc-rp-initiated-logout-certification-test-plan`). Each test is named after the module
//! it mirrors (`oidcc-scope-address` → `oidcc_scope_address`) and checks what that module
//! checks of a server with static clients, `client_secret_basic` and the code flow.
use serde_json::Value;

use crate::helpers::{spawn_app, Backend, TestApp, TestClient, TestUser};
use crate::web::{self, browser, param, REDIRECT_URI};

mod basic_op;
mod basic_op_requests;
mod config_op;
mod rp_logout;

/// What every module starts from: a server, a static confidential client registered for
/// `REDIRECT_URI` (and the post-logout URI), a user, and a fresh browser.
pub struct Op {
    pub app: TestApp,
    pub client: TestClient,
    pub user: TestUser,
    pub browser: reqwest::Client,
}

impl Op {
    pub async fn start(backend: Backend) -> Op {
        let app = spawn_app(backend).await;
        let client = app.code_client();
        let user = app.create_user("oidcc@example.com", "student").await;
        Op {
            app,
            client,
            user,
            browser: browser(),
        }
    }

    /// The suite's default authorization request (`openid`, state, nonce, PKCE S256), with
    /// `changes` applied in order: `(name, Some(value))` sets, `(name, None)` removes.
    pub fn request(
        &self,
        challenge: &str,
        changes: &[(&'static str, Option<&str>)],
    ) -> Vec<(&'static str, String)> {
        let mut p: Vec<(&'static str, String)> =
            TestApp::code_request(&self.client, challenge, "openid")
                .into_iter()
                .map(|(k, v)| (k, v.to_string()))
                .collect();
        for (name, value) in changes {
            p.retain(|(k, _)| k != name);
            if let Some(v) = value {
                p.push((name, v.to_string()));
            }
        }
        p
    }

    /// The browser goes through `/authorize` (login and consent when asked) to the callback.
    pub async fn authorize(&self, params: &[(&'static str, String)]) -> String {
        let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        web::authorize_through(
            &self.app,
            &self.browser,
            &borrowed,
            &self.user.email,
            &self.user.password,
        )
        .await
    }

    /// `/authorize` once, no redirect followed: the status and the `Location`, if any.
    pub async fn authorize_once(&self, params: &[(&'static str, String)]) -> (u16, Option<String>) {
        let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let resp = self
            .browser
            .get(self.app.authorize_url(&borrowed))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let loc = resp
            .headers()
            .get("location")
            .map(|_| web::location(&self.app, &resp));
        (status, loc)
    }

    /// A full code flow with `changes` to the request: the callback and the token response.
    pub async fn code_flow(&self, changes: &[(&'static str, Option<&str>)]) -> (String, Value) {
        let (verifier, challenge) = web::pkce();
        let callback = self.authorize(&self.request(&challenge, changes)).await;
        let tokens = self.exchange(&callback, &verifier).await;
        (callback, tokens)
    }

    /// Exchanges the callback's code (HTTP Basic); asserts 200.
    pub async fn exchange(&self, callback: &str, verifier: &str) -> Value {
        let code = param(callback, "code").unwrap_or_else(|| panic!("no code: {callback}"));
        let resp = web::exchange(&self.app, &self.client, &code, Some(verifier)).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["cache-control"], "no-store");
        resp.json().await.unwrap()
    }

    /// The id_token's claims, verified against the JWKS for this client.
    pub async fn id_token(&self, tokens: &Value) -> Value {
        let (_, claims) = crate::helpers::verify_with_jwks(
            tokens["id_token"].as_str().expect("an id_token"),
            &self.app.jwks().await,
            &self.app.address,
            &self.client.id,
        );
        claims
    }

    /// `GET /userinfo` with the access token as Bearer; asserts 200 and JSON.
    pub async fn userinfo(&self, tokens: &Value) -> Value {
        let resp = self
            .app
            .api
            .get(self.app.url("/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        resp.json().await.unwrap()
    }
}

/// The callback carries the request's `state` intact and the issuer (RFC 9207).
pub fn assert_callback(op: &Op, callback: &str, state: &str) {
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    assert_eq!(param(callback, "state").as_deref(), Some(state));
    assert_eq!(
        param(callback, "iss").as_deref(),
        Some(op.app.address.as_str())
    );
}
