//! Federated sign-in end to end on loopback, no internet: a second Portcullis plays the
//! upstream OpenID provider (as `federation.oidc.acme` and as `federation.google` with its
//! issuer overridden); a fake GitHub (`fakes.rs`) plays GitHub. Each site gets its own
//! "browser" (cookie store): cookies don't tell ports apart, real sites differ by host.
use diesel::prelude::*;
use portcullis::config::OidcProviderSettings;

use crate::federation_flow::*;
use crate::helpers::{spawn_app_with, Backend, TestApp, TestClient, PASSWORD};
use crate::web::{self, browser, param, REDIRECT_URI};

crate::both_backends!(
    an_upstream_openid_provider_signs_in_a_new_user,
    an_existing_account_is_linked_only_after_its_password,
    an_unverified_upstream_email_neither_creates_nor_links,
    bad_state_and_upstream_errors_give_the_error_page,
);

async fn identities(down: &TestApp, access: &str) -> serde_json::Value {
    let resp = down
        .api
        .get(down.url("/api/auth/identities"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// `DELETE /api/auth/identities/{id}` with `access`.
async fn unlink(down: &TestApp, access: &str, id: &str) -> reqwest::Response {
    down.api
        .delete(down.url(&format!("/api/auth/identities/{id}")))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
}

/// The claims of a downstream id_token for `app`, verified against the downstream JWKS.
async fn id_claims(
    down: &TestApp,
    app: &TestClient,
    tokens: &serde_json::Value,
) -> serde_json::Value {
    let (_, claims) = crate::helpers::verify_with_jwks(
        tokens["id_token"].as_str().unwrap(),
        &down.jwks().await,
        &down.address,
        &app.id,
    );
    claims
}

async fn an_upstream_openid_provider_signs_in_a_new_user(backend: Backend) {
    let p = pair(backend).await;
    let upstream_user = p.up.create_user("fed@example.com", "student").await;
    let (bd, bu) = (browser(), browser());
    let html = login_page(&p.down, &bd, &p.app).await;
    assert!(html.contains("Continue with Acme SSO") && html.contains("Continue with Google"));

    let resp = via_upstream(&p, &bd, &bu, "acme", "fed@example.com").await;
    let tokens = finish_downstream(&p, &bd, resp).await;
    let claims = id_claims(&p.down, &p.app, &tokens).await;
    // A downstream account of its own (the apps never see upstream ids or tokens).
    assert_ne!(claims["sub"], upstream_user.id.as_str());
    assert_eq!(claims["email"], "fed@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["amr"], serde_json::json!(["fed"]));
    let access = tokens["access_token"].as_str().unwrap();
    let linked = identities(&p.down, access).await;
    assert_eq!(linked.as_array().unwrap().len(), 1);
    assert_eq!(linked[0]["provider"], "acme");
    // The only way in: unlinking it is refused.
    let id = linked[0]["id"].as_str().unwrap();
    let resp = unlink(&p.down, access, id).await;
    assert_eq!(resp.status(), 409);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "last_sign_in_method");
    // A first password (no current one to give, but a fresh sign-in) makes room to unlink.
    let set_password = |access: String, body: serde_json::Value| {
        let down = &p.down;
        async move {
            down.api
                .put(down.url("/api/auth/password"))
                .bearer_auth(access)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let first = serde_json::json!({ "new_password": "First-pass-1" });
    assert_eq!(set_password(access.to_string(), first.clone()).await, 204);
    assert_eq!(
        set_password(access.to_string(), first).await,
        422,
        "now the current one is needed"
    );

    // The same upstream user again (a new browser): the same account, no duplicate.
    let (bd2, bu2) = (browser(), browser());
    let resp = via_upstream(&p, &bd2, &bu2, "acme", "fed@example.com").await;
    let again = finish_downstream(&p, &bd2, resp).await;
    let claims2 = id_claims(&p.down, &p.app, &again).await;
    assert_eq!(claims2["sub"], claims["sub"]);

    // "Google" (its issuer overridden to the upstream Portcullis): another upstream user gets
    // an account of their own.
    p.up.create_user("g@example.com", "student").await;
    let (bd3, bu3) = (browser(), browser());
    let resp = via_upstream(&p, &bd3, &bu3, "google", "g@example.com").await;
    let g = finish_downstream(&p, &bd3, resp).await;
    let g_access = g["access_token"].as_str().unwrap();
    let linked = identities(&p.down, g_access).await;
    assert_eq!(linked[0]["provider"], "google");
    assert_eq!(linked[0]["email"], "g@example.com");
    // A first password needs a recent sign-in.
    p.down.clock.advance(601);
    let stale = serde_json::json!({ "new_password": "First-pass-1" });
    // RFC 9470: 401 insufficient_user_authentication.
    assert_eq!(set_password(g_access.to_string(), stale).await, 401);
}

async fn an_existing_account_is_linked_only_after_its_password(backend: Backend) {
    let p = pair(backend).await;
    p.up.create_user("both@example.com", "student").await;
    let local = p.down.create_user("both@example.com", "student").await;
    let (bd, bu) = (browser(), browser());
    let resp = via_upstream(&p, &bd, &bu, "acme", "both@example.com").await;
    assert_eq!(resp.status(), 303);
    let link = web::location(&p.down, &resp);
    assert!(link.contains("/federation/link?token="), "{link}");
    let (status, _, html) = web::get(&bd, &link).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("both@example.com") && html.contains("Acme SSO"),
        "{html}"
    );
    let form = web::form_fields(&html, "#link-form");
    // In German when the browser asks for it.
    let resp = bd
        .get(&link)
        .header("accept-language", "de")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let de = resp.text().await.unwrap();
    assert_eq!(web::attr(&de, "html", "lang").as_deref(), Some("de"));
    assert_eq!(
        web::text(&de, "h1").as_deref(),
        Some("Acme SSO mit Ihrem Konto verknüpfen")
    );
    assert_eq!(
        web::text(&de, "label[for=password]").as_deref(),
        Some("Passwort für both@example.com")
    );
    // The link page is bound to this browser.
    let (status, _, _) = web::get(&browser(), &link).await;
    assert_eq!(status, 400);
    // A wrong password links nothing.
    let wrong = web::fill(form.clone(), &[("password", "Not-the-password-1")]);
    let resp = web::post_form(&bd, &p.down.url("/federation/link"), &wrong).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert_eq!(
        web::text(&html, "#link-error").as_deref(),
        Some("That password is not right for this account."),
        "{html}"
    );
    let right = web::fill(form, &[("password", &local.password)]);
    let resp = web::post_form(&bd, &p.down.url("/federation/link"), &right).await;
    let tokens = finish_downstream(&p, &bd, resp).await;
    let claims = id_claims(&p.down, &p.app, &tokens).await;
    assert_eq!(claims["sub"], local.id.as_str(), "the existing account");
    let access = tokens["access_token"].as_str().unwrap();
    let linked = identities(&p.down, access).await;
    assert_eq!(linked[0]["provider"], "acme");
    // Next time the upstream sign-in goes straight in.
    let (bd2, bu2) = (browser(), browser());
    let resp = via_upstream(&p, &bd2, &bu2, "acme", "both@example.com").await;
    let next = web::location(&p.down, &resp);
    assert!(
        next.starts_with(REDIRECT_URI) && param(&next, "code").is_some(),
        "{next}"
    );
    // With a password, unlinking is allowed.
    let id = linked[0]["id"].as_str().unwrap();
    let resp = unlink(&p.down, access, id).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(identities(&p.down, access).await, serde_json::json!([]));
}

async fn an_unverified_upstream_email_neither_creates_nor_links(backend: Backend) {
    let p = pair(backend).await;
    create_unverified(&p.up, "unverified@example.com").await;
    create_unverified(&p.up, "taken@example.com").await;
    p.down.create_user("taken@example.com", "student").await;
    for email in ["unverified@example.com", "taken@example.com"] {
        let (bd, bu) = (browser(), browser());
        let resp = via_upstream(&p, &bd, &bu, "acme", email).await;
        assert_eq!(resp.status(), 400);
        assert!(resp.headers().get("location").is_none());
        let html = resp.text().await.unwrap();
        let message = web::text(&html, "#error-message").unwrap();
        assert!(message.contains("did not confirm an email"), "{message}");
        assert!(
            web::attr(&html, "a[href^='/login']", "href").is_some(),
            "a way back: {html}"
        );
    }
    let mut conn = p.down.db.get().unwrap();
    use portcullis::store::schema::{federated_identities, users};
    let linked: i64 = federated_identities::table
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(linked, 0);
    let created: i64 = users::table
        .filter(users::email_lower.eq("unverified@example.com"))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(created, 0);
}

async fn create_unverified(app: &TestApp, email: &str) {
    let hasher = portcullis::identity::password::Hasher::new(&app.settings.password).unwrap();
    portcullis::identity::users::register(
        &app.db,
        &hasher,
        &portcullis::identity::roles::Roles::education().unwrap(),
        &app.settings,
        portcullis::identity::users::NewUser {
            email: email.into(),
            name: None,
            password: PASSWORD.into(),
            role: None,
            email_verified: false,
        },
        portcullis::identity::RequestMeta::default(),
        app.clock_now(),
    )
    .await
    .unwrap();
}

async fn bad_state_and_upstream_errors_give_the_error_page(backend: Backend) {
    let p = pair(backend).await;
    p.up.create_user("st@example.com", "student").await;
    let bd = browser();
    let assert_page = |resp: reqwest::Response| async move {
        assert_eq!(resp.status(), 400);
        assert!(resp.headers().get("location").is_none());
        let html = resp.text().await.unwrap();
        assert!(
            web::attr(&html, "a[href^='/login']", "href").is_some(),
            "{html}"
        );
        web::text(&html, "#error-message").unwrap()
    };
    // A forged state, and none at all.
    let forged = p
        .down
        .url("/federation/acme/callback?state=forged&code=abc");
    assert!(assert_page(bd.get(forged).send().await.unwrap())
        .await
        .contains("expired"));
    let none = p.down.url("/federation/acme/callback?code=abc");
    assert_page(bd.get(none).send().await.unwrap()).await;
    // The upstream says no (the user cancelled there).
    let html = login_page(&p.down, &bd, &p.app).await;
    let start = web::attr(&html, "a[href^='/federation/acme/start']", "href").unwrap();
    let resp = bd.get(p.down.url(&start)).send().await.unwrap();
    let state = param(&web::location(&p.down, &resp), "state").unwrap();
    let cancelled = reqwest::Url::parse_with_params(
        &p.down.url("/federation/acme/callback"),
        &[("state", state.as_str()), ("error", "access_denied")],
    )
    .unwrap();
    assert!(assert_page(bd.get(cancelled.clone()).send().await.unwrap())
        .await
        .contains("cancelled"));
    // The state was used up by that answer: replaying it is refused too.
    assert!(assert_page(bd.get(cancelled).send().await.unwrap())
        .await
        .contains("expired"));
    // A callback carried to another browser is refused (the state is bound to the browser).
    let bu = browser();
    let resp = bd.get(p.down.url(&start)).send().await.unwrap();
    let upstream = web::location(&p.down, &resp);
    let resp = bu.get(&upstream).send().await.unwrap();
    let up_login = web::location(&p.up, &resp);
    let resp = web::sign_in(&p.up, &bu, &up_login, "st@example.com", PASSWORD).await;
    let back = web::location(&p.up, &resp);
    assert!(assert_page(browser().get(&back).send().await.unwrap())
        .await
        .contains("expired"));
    // An unknown provider.
    let (status, _, _) = web::get(&bd, &p.down.url("/federation/nope/start")).await;
    assert_eq!(status, 404);
}

/// A downstream server with GitHub pointed at a fake.
async fn with_github(
    backend: Backend,
    behaviour: crate::fakes::GithubBehaviour,
    timeout: u64,
) -> (TestApp, TestClient) {
    let gh = crate::fakes::github(behaviour);
    let down = spawn_app_with(backend, |s| {
        let g = &mut s.federation.github;
        g.client_id = Some("gh-client".into());
        g.client_secret = Some("gh-secret".into());
        g.authorize_url = format!("{gh}/login/oauth/authorize");
        g.token_url = format!("{gh}/login/oauth/access_token");
        g.api_url = gh.clone();
        s.federation.timeout_secs = timeout;
    })
    .await;
    let app = down.code_client_with(|s| s.scopes = vec!["openid profile email account".into()]);
    (down, app)
}

/// Starts a GitHub sign-in in `bd` and follows the fake's redirect back to the callback.
async fn via_github(down: &TestApp, bd: &reqwest::Client, app: &TestClient) -> reqwest::Response {
    let html = login_page(down, bd, app).await;
    assert!(html.contains("Continue with GitHub"), "{html}");
    let start = web::attr(&html, "a[href^='/federation/github/start']", "href").unwrap();
    let resp = bd.get(down.url(&start)).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let upstream = resp.headers()["location"].to_str().unwrap().to_string();
    let resp = bd.get(&upstream).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let back = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(
        back.starts_with(&down.url("/federation/github/callback?")),
        "{back}"
    );
    bd.get(&back).send().await.unwrap()
}

fn octo(verified: bool) -> crate::fakes::GithubBehaviour {
    crate::fakes::GithubBehaviour {
        email: "octo@example.com".into(),
        verified,
        token_delay: std::time::Duration::ZERO,
        huge_user: false,
    }
}

crate::both_backends!(github_signs_in_with_the_primary_verified_email);

async fn github_signs_in_with_the_primary_verified_email(backend: Backend) {
    let (down, app) = with_github(backend, octo(true), 10).await;
    let bd = browser();
    let resp = via_github(&down, &bd, &app).await;
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let consent = web::location(&down, &resp);
    let resp = web::decide(&down, &bd, &consent, "allow").await;
    assert!(param(&web::location(&down, &resp), "code").is_some());
    let (verifier, challenge) = web::pkce();
    let params = TestApp::code_request(&app, &challenge, "openid email account");
    let resp = bd.get(down.authorize_url(&params)).send().await.unwrap();
    let code = param(&web::location(&down, &resp), "code").unwrap();
    let tokens: serde_json::Value = web::exchange(&down, &app, &code, Some(&verifier))
        .await
        .json()
        .await
        .unwrap();
    let claims = id_claims(&down, &app, &tokens).await;
    assert_eq!(claims["email"], "octo@example.com");
    let linked = identities(&down, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(linked[0]["provider"], "github");
    // GitHub's numeric id is the subject.
    use portcullis::store::schema::federated_identities;
    let mut conn = down.db.get().unwrap();
    let subject: String = federated_identities::table
        .select(federated_identities::subject)
        .first(&mut *conn)
        .unwrap();
    assert_eq!(subject, "4242");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_with_an_unverified_primary_email_is_refused() {
    let (down, app) = with_github(Backend::Sqlite, octo(false), 10).await;
    let resp = via_github(&down, &browser(), &app).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(web::text(&html, "#error-message")
        .unwrap()
        .contains("did not confirm an email"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upstream_times_out_into_the_error_page() {
    let slow = crate::fakes::GithubBehaviour {
        token_delay: std::time::Duration::from_secs(4),
        ..octo(true)
    };
    let (down, app) = with_github(Backend::Sqlite, slow, 1).await;
    let started = std::time::Instant::now();
    let resp = via_github(&down, &browser(), &app).await;
    assert_eq!(resp.status(), 400);
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    let html = resp.text().await.unwrap();
    assert!(
        web::text(&html, "#error-message")
            .unwrap()
            .contains("GitHub could not complete"),
        "{html}"
    );
    assert!(web::attr(&html, "a[href^='/login']", "href").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_id_token_signature_or_a_dead_upstream_gives_the_error_page() {
    let keys = std::sync::Arc::new(
        portcullis::tokens::keys::ephemeral(&[portcullis::tokens::Alg::RS256], 0).unwrap(),
    );
    let evil = crate::fakes::oidc(
        keys,
        crate::fakes::OidcBehaviour {
            tamper: true,
            name: "Eve".into(),
        },
    );
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let down = spawn_app_with(Backend::Sqlite, |s| {
        for (name, issuer) in [("evil", &evil), ("dead", &dead)] {
            s.federation.oidc.insert(
                name.into(),
                OidcProviderSettings {
                    issuer: issuer.clone(),
                    client_id: Some("downstream".into()),
                    client_secret: Some("secret".into()),
                    display_name: None,
                    scopes: vec!["openid".into(), "email".into()],
                },
            );
        }
        s.federation.timeout_secs = 2;
    })
    .await;
    let app = down.code_client_with(|s| s.scopes = vec!["openid email account".into()]);
    let bd = browser();
    let html = login_page(&down, &bd, &app).await;
    let start = web::attr(&html, "a[href^='/federation/evil/start']", "href").unwrap();
    let resp = bd.get(down.url(&start)).send().await.unwrap();
    let upstream = resp.headers()["location"].to_str().unwrap().to_string();
    let resp = bd.get(&upstream).send().await.unwrap();
    let back = resp.headers()["location"].to_str().unwrap().to_string();
    let resp = bd.get(&back).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(
        web::text(&html, "#error-message")
            .unwrap()
            .contains("ID token is not valid"),
        "{html}"
    );
    use portcullis::store::schema::users;
    let mut conn = down.db.get().unwrap();
    let n: i64 = users::table.count().get_result(&mut *conn).unwrap();
    assert_eq!(n, 0, "no account from a forged token");

    // An upstream that is down: the start page says so.
    let login = login_page(&down, &bd, &app).await;
    let start = web::attr(&login, "a[href^='/federation/dead/start']", "href").unwrap();
    let resp = bd.get(down.url(&start)).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    assert!(
        web::text(&html, "#error-message")
            .unwrap()
            .contains("could not be reached"),
        "{html}"
    );
}

crate::both_backends!(hostile_upstream_claims_are_cleaned_not_stored_raw);

async fn hostile_upstream_claims_are_cleaned_not_stored_raw(backend: Backend) {
    let keys = std::sync::Arc::new(
        portcullis::tokens::keys::ephemeral(&[portcullis::tokens::Alg::RS256], 0).unwrap(),
    );
    let fake = crate::fakes::oidc(
        keys,
        crate::fakes::OidcBehaviour {
            tamper: false,
            name: "Eve\u{0}\u{1b}[31m Mallory".into(),
        },
    );
    let down = spawn_app_with(backend, |s| {
        s.federation.oidc.insert(
            "fake".into(),
            OidcProviderSettings {
                issuer: fake.clone(),
                client_id: Some("downstream".into()),
                client_secret: Some("secret".into()),
                display_name: None,
                scopes: vec!["openid".into(), "email".into()],
            },
        );
    })
    .await;
    let app = down.code_client_with(|s| s.scopes = vec!["openid email account".into()]);
    let bd = browser();
    let html = login_page(&down, &bd, &app).await;
    let start = web::attr(&html, "a[href^='/federation/fake/start']", "href").unwrap();
    let resp = bd.get(down.url(&start)).send().await.unwrap();
    let upstream = resp.headers()["location"].to_str().unwrap().to_string();
    let resp = bd.get(&upstream).send().await.unwrap();
    let back = resp.headers()["location"].to_str().unwrap().to_string();
    let resp = bd.get(&back).send().await.unwrap();
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    use portcullis::store::schema::users;
    let mut conn = down.db.get().unwrap();
    let name: Option<String> = users::table
        .filter(users::email_lower.eq("victim@example.com"))
        .select(users::name)
        .first(&mut *conn)
        .unwrap();
    assert_eq!(name.as_deref(), Some("Eve[31m Mallory"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_key_rotation_is_picked_up() {
    let p = pair(Backend::Sqlite).await;
    p.up.create_user("rot@example.com", "student").await;
    let (bd, bu) = (browser(), browser());
    let resp = via_upstream(&p, &bd, &bu, "acme", "rot@example.com").await;
    assert_eq!(resp.status(), 303);
    // The downstream has the upstream's JWKS cached; the upstream now signs with a new key.
    p.up.rotate_keys_now(portcullis::tokens::Alg::RS256);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (bd2, bu2) = (browser(), browser());
    let resp = via_upstream(&p, &bd2, &bu2, "acme", "rot@example.com").await;
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
}

crate::both_backends!(a_provider_already_linked_can_confirm_a_new_link);

async fn a_provider_already_linked_can_confirm_a_new_link(backend: Backend) {
    let p = pair(backend).await;
    p.up.create_user("nopass@example.com", "student").await;
    let (bd, bu) = (browser(), browser());
    // An account made through Acme: it has no password.
    let resp = via_upstream(&p, &bd, &bu, "acme", "nopass@example.com").await;
    finish_downstream(&p, &bd, resp).await;
    // The same email through "Google" in a new browser: the link page offers Acme instead.
    let (bd2, bu2) = (browser(), browser());
    let resp = via_upstream(&p, &bd2, &bu2, "google", "nopass@example.com").await;
    let link = web::location(&p.down, &resp);
    assert!(link.contains("/federation/link?token="), "{link}");
    let (_, _, html) = web::get(&bd2, &link).await;
    let confirm = web::attr(&html, "a[href^='/federation/acme/start?link=']", "href")
        .unwrap_or_else(|| panic!("a confirm-with-Acme button: {html}"));
    let resp = bd2.get(p.down.url(&confirm)).send().await.unwrap();
    let upstream = web::location(&p.down, &resp);
    // Signed in upstream already (bu2): straight back.
    let resp = bu2.get(&upstream).send().await.unwrap();
    let back = web::location(&p.up, &resp);
    assert!(
        back.starts_with(&p.down.url("/federation/acme/callback?")),
        "{back}"
    );
    let resp = bd2.get(&back).send().await.unwrap();
    let tokens = finish_downstream(&p, &bd2, resp).await;
    let access = tokens["access_token"].as_str().unwrap();
    let linked = identities(&p.down, access).await;
    let mut providers: Vec<&str> = linked
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["provider"].as_str().unwrap())
        .collect();
    providers.sort();
    assert_eq!(providers, ["acme", "google"]);
    // Two ways in: one may go; the last may not.
    let first = linked[0]["id"].as_str().unwrap();
    assert_eq!(unlink(&p.down, access, first).await.status(), 204);
    let last = linked[1]["id"].as_str().unwrap();
    assert_eq!(unlink(&p.down, access, last).await.status(), 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_upstream_answer_is_refused() {
    let huge = crate::fakes::GithubBehaviour {
        huge_user: true,
        ..octo(true)
    };
    let (down, app) = with_github(Backend::Sqlite, huge, 10).await;
    let resp = via_github(&down, &browser(), &app).await;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await.unwrap();
    let message = web::text(&html, "#error-message").unwrap();
    assert!(message.contains("GitHub could not complete"), "{message}");
}
