//! The federated sign-in flow the federation tests share: an upstream Portcullis playing the
//! OpenID provider, a downstream server trusting it (a `TestApp`, or a `portcullis serve`
//! process configured by the environment, see `config_env.rs`), and the browser walk between
//! them: downstream /authorize → /federation/<provider>/start → upstream login → callback →
//! consent → code → tokens.
use diesel::prelude::*;
use portcullis::config::OidcProviderSettings;
use portcullis::store::schema::clients;

use crate::helpers::{spawn_app_with, Backend, TestApp, TestClient, PASSWORD};
use crate::web::{self, param, Site, REDIRECT_URI};

/// An upstream Portcullis with a verified user, and a downstream one that trusts it as `acme`
/// and as `google`.
pub struct Pair {
    pub up: TestApp,
    pub down: TestApp,
    /// The downstream app users sign in to (asks consent; has the `account` scope).
    pub app: TestClient,
}

/// The two ends of a federated sign-in: the upstream test server, a downstream server (a
/// [`TestApp`], or a `portcullis serve` process) and the downstream app users sign in to.
pub trait Ends {
    fn up(&self) -> &TestApp;
    fn down(&self) -> &dyn Site;
    fn app(&self) -> &TestClient;
}

impl Ends for Pair {
    fn up(&self) -> &TestApp {
        &self.up
    }
    fn down(&self) -> &dyn Site {
        &self.down
    }
    fn app(&self) -> &TestClient {
        &self.app
    }
}

/// An upstream Portcullis playing the OpenID provider, and its registration of the downstream
/// ("Downstream Portcullis", no consent asked; callbacks set by [`allow_callbacks`]).
pub async fn upstream(backend: Backend) -> (TestApp, TestClient) {
    // The upstream re-reads its keys every second (a rotation test needs it).
    let up = spawn_app_with(backend, |s| s.keys.reload_interval_secs = 1).await;
    let client = up.code_client_with(|s| {
        s.name = "Downstream Portcullis".into();
        s.skip_consent = true;
        s.scopes = vec!["openid email profile".into()];
        s.redirect_uris = vec!["http://127.0.0.1:9/placeholder".into()];
    });
    (up, client)
}

/// Lets the upstream registration redirect to these downstream callbacks (known once the
/// downstream's port is).
pub fn allow_callbacks(up: &TestApp, client: &TestClient, callbacks: &[String]) {
    let callbacks = serde_json::to_string(callbacks).unwrap();
    let mut conn = up.db.get().unwrap();
    diesel::update(clients::table.find(&client.id))
        .set(clients::redirect_uris.eq(callbacks))
        .execute(&mut *conn)
        .unwrap();
}

pub async fn pair(backend: Backend) -> Pair {
    let (up, upstream_client) = upstream(backend).await;
    let (issuer, id, secret) = (
        up.address.clone(),
        upstream_client.id.clone(),
        upstream_client.secret.clone(),
    );
    let down = spawn_app_with(backend, |s| {
        s.federation.oidc.insert(
            "acme".into(),
            OidcProviderSettings {
                issuer: issuer.clone(),
                client_id: Some(id.clone()),
                client_secret: Some(secret.clone()),
                display_name: Some("Acme SSO".into()),
                scopes: vec!["openid".into(), "email".into(), "profile".into()],
            },
        );
        s.federation.google.client_id = Some(id.clone());
        s.federation.google.client_secret = Some(secret.clone());
        s.federation.google.issuer = issuer.clone();
    })
    .await;
    allow_callbacks(
        &up,
        &upstream_client,
        &[
            down.url("/federation/acme/callback"),
            down.url("/federation/google/callback"),
        ],
    );
    let app = down.code_client_with(|s| {
        s.scopes = vec!["openid profile email account".into()];
    });
    Pair { up, down, app }
}

/// The downstream login page for a fresh request by `app`, in browser `bd`.
pub async fn login_page(down: &dyn Site, bd: &reqwest::Client, app: &TestClient) -> String {
    let (_, challenge) = web::pkce();
    let params = TestApp::code_request(app, &challenge, "openid email account");
    let resp = bd
        .get(web::authorize_url(down, &params))
        .send()
        .await
        .unwrap();
    let login = web::location(down, &resp);
    let (status, _, html) = web::get(bd, &login).await;
    assert_eq!(status, 200);
    html
}

/// Clicks "Continue with <provider>" on the downstream login page, signs in upstream (in its
/// own browser `bu`) and follows the browser back; returns the downstream callback's answer.
pub async fn via_upstream(
    p: &impl Ends,
    bd: &reqwest::Client,
    bu: &reqwest::Client,
    provider: &str,
    email: &str,
) -> reqwest::Response {
    let (up, down) = (p.up(), p.down());
    let html = login_page(down, bd, p.app()).await;
    let start = web::attr(
        &html,
        &format!("a[href^='/federation/{provider}/start']"),
        "href",
    )
    .unwrap_or_else(|| panic!("no {provider} button: {html}"));
    let resp = bd.get(down.url(&start)).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let upstream = web::location(down, &resp);
    assert!(upstream.starts_with(&up.url("/authorize?")), "{upstream}");
    assert_eq!(
        param(&upstream, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(param(&upstream, "nonce").is_some() && param(&upstream, "state").is_some());
    // Upstream: its own login page, then straight back (skip-consent registration).
    let resp = bu.get(&upstream).send().await.unwrap();
    let up_login = web::location(up, &resp);
    let resp = web::sign_in(up, bu, &up_login, email, PASSWORD).await;
    assert_eq!(resp.status(), 303);
    let back = web::location(up, &resp);
    assert!(
        back.starts_with(&down.url(&format!("/federation/{provider}/callback?"))),
        "{back}"
    );
    bd.get(&back).send().await.unwrap()
}

/// Consents on the downstream page the callback led to (unless consent is on record), then
/// gets tokens with a fresh request in the now signed-in browser.
pub async fn finish_downstream(
    p: &impl Ends,
    bd: &reqwest::Client,
    resp: reqwest::Response,
) -> serde_json::Value {
    let (down, app) = (p.down(), p.app());
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let mut next = web::location(down, &resp);
    if next.contains("/consent?request=") {
        let resp = web::decide(down, bd, &next, "allow").await;
        next = web::location(down, &resp);
    }
    assert!(next.starts_with(REDIRECT_URI), "{next}");
    assert!(param(&next, "code").is_some(), "{next}");
    // `login_page`'s verifier is not kept; a fresh request gets a code at once.
    let (verifier, challenge) = web::pkce();
    let params = TestApp::code_request(app, &challenge, "openid email account");
    let resp = bd
        .get(web::authorize_url(down, &params))
        .send()
        .await
        .unwrap();
    let back = web::location(down, &resp);
    let code = param(&back, "code").expect("signed in and consented: a code at once");
    let resp = web::exchange(down, app, &code, Some(&verifier)).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}
