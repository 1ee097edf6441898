//! Helpers for the browser-facing tests: a "browser" (reqwest with its own cookie store and no
//! redirects), HTML form scraping, PKCE, and walking the authorization flow.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis::oauth::registration::ClientSpec;
use reqwest::header::LOCATION;
use scraper::{Html, Selector};
use sha2::{Digest, Sha256};
use url::Url;

use crate::helpers::{TestApp, TestClient};

/// Where test clients "live": never contacted (redirects are not followed).
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
pub const POST_LOGOUT_URI: &str = "http://127.0.0.1:9/signed-out";

/// A browser: its own cookies, redirects not followed.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

/// A server the tests talk to over HTTP: a [`TestApp`] in this process, or a `portcullis serve`
/// child process ([`Remote`]).
pub trait Site {
    fn url(&self, path: &str) -> String;
}

impl Site for TestApp {
    fn url(&self, path: &str) -> String {
        TestApp::url(self, path)
    }
}

/// A server in another process, by its base URL.
pub struct Remote {
    pub address: String,
}

impl Site for Remote {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }
}

/// `/authorize?…` on `site` with these parameters (in order).
pub fn authorize_url(site: &dyn Site, params: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&site.url("/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.into()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

impl TestApp {
    /// A confidential code-flow client (with refresh) for `openid profile email offline_access read`.
    pub fn code_client(&self) -> TestClient {
        self.code_client_with(|_| {})
    }

    pub fn code_client_with(&self, tweak: impl FnOnce(&mut ClientSpec)) -> TestClient {
        let mut spec = ClientSpec {
            name: "Example App".into(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            scopes: vec!["openid profile email offline_access read".into()],
            redirect_uris: vec![REDIRECT_URI.into()],
            post_logout_redirect_uris: vec![POST_LOGOUT_URI.into()],
            ..ClientSpec::default()
        };
        tweak(&mut spec);
        self.create_client(spec)
    }

    /// `/authorize?…` with these parameters (in order).
    pub fn authorize_url(&self, params: &[(&str, &str)]) -> String {
        authorize_url(self, params)
    }

    /// The usual parameters of a code request by `client` with PKCE `challenge`.
    pub fn code_request<'a>(
        client: &'a TestClient,
        challenge: &'a str,
        scope: &'a str,
    ) -> Vec<(&'static str, &'a str)> {
        vec![
            ("response_type", "code"),
            ("client_id", &client.id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", scope),
            ("state", "st-123"),
            ("nonce", "n-456"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]
    }
}

/// The `Location` of a redirect, resolved against the server.
pub fn location(app: &dyn Site, resp: &reqwest::Response) -> String {
    let loc = resp
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location on a {} answer", resp.status()))
        .to_str()
        .unwrap();
    Url::parse(&app.url("/")).unwrap().join(loc).unwrap().into()
}

/// The query parameters of a URL.
pub fn query(url: &str) -> Vec<(String, String)> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn param(url: &str, name: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The inputs of the form matching `selector` (name, value), hidden and filled-in alike.
pub fn form_fields(html: &str, selector: &str) -> Vec<(String, String)> {
    let doc = Html::parse_document(html);
    let form = doc
        .select(&Selector::parse(selector).unwrap())
        .next()
        .unwrap_or_else(|| panic!("no {selector} in the page:\n{html}"));
    form.select(&Selector::parse("input").unwrap())
        .filter_map(|i| {
            let name = i.value().attr("name")?;
            Some((
                name.to_string(),
                i.value().attr("value").unwrap_or("").to_string(),
            ))
        })
        .collect()
}

/// The text of the first element matching `selector`.
pub fn text(html: &str, selector: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let el = doc.select(&Selector::parse(selector).unwrap()).next()?;
    Some(el.text().collect::<String>().trim().to_string())
}

/// The texts of every element matching `selector`.
pub fn texts(html: &str, selector: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    doc.select(&Selector::parse(selector).unwrap())
        .map(|el| el.text().collect::<String>().trim().to_string())
        .collect()
}

/// An attribute of the first element matching `selector`.
pub fn attr(html: &str, selector: &str, name: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let el = doc.select(&Selector::parse(selector).unwrap()).next()?;
    el.value().attr(name).map(str::to_string)
}

/// Fills `fields` into a form's inputs (replacing or adding), keeping the hidden ones.
pub fn fill(mut form: Vec<(String, String)>, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    for (name, value) in fields {
        match form.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.to_string(),
            None => form.push((name.to_string(), value.to_string())),
        }
    }
    form
}

/// A page fetched with its status and body.
pub async fn get(
    browser: &reqwest::Client,
    url: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = browser.get(url).send().await.unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.text().await.unwrap())
}

pub async fn post_form(
    browser: &reqwest::Client,
    url: &str,
    form: &[(String, String)],
) -> reqwest::Response {
    browser.post(url).form(form).send().await.unwrap()
}

/// Signs in on the login page at `login_url`; returns the answer to the form.
pub async fn sign_in(
    app: &dyn Site,
    browser: &reqwest::Client,
    login_url: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let (status, _, html) = get(browser, login_url).await;
    assert_eq!(status, 200, "{html}");
    let form = fill(
        form_fields(&html, "#login-form"),
        &[("username", email), ("password", password)],
    );
    post_form(browser, &app.url("/login"), &form).await
}

/// Answers the consent page at `consent_url` with `decision`.
pub async fn decide(
    app: &dyn Site,
    browser: &reqwest::Client,
    consent_url: &str,
    decision: &str,
) -> reqwest::Response {
    let (status, _, html) = get(browser, consent_url).await;
    assert_eq!(status, 200, "{html}");
    let form = fill(
        form_fields(&html, "#consent-form"),
        &[("decision", decision)],
    );
    post_form(browser, &app.url("/consent"), &form).await
}

/// Runs the whole browser part for a fresh browser: authorize → login → consent (allow) →
/// the client's redirect URI; returns that URI.
pub async fn authorize_through(
    app: &TestApp,
    browser: &reqwest::Client,
    params: &[(&str, &str)],
    email: &str,
    password: &str,
) -> String {
    let resp = browser.get(app.authorize_url(params)).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let mut next = location(app, &resp);
    if next.contains("/login?") {
        let resp = sign_in(app, browser, &next, email, password).await;
        assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
        next = location(app, &resp);
    }
    if next.contains("/consent?") {
        let resp = decide(app, browser, &next, "allow").await;
        assert_eq!(resp.status(), 303);
        next = location(app, &resp);
    }
    assert!(next.starts_with(REDIRECT_URI), "{next}");
    next
}

/// Exchanges a code at `/token` (HTTP Basic) with `verifier`.
pub async fn exchange(
    app: &dyn Site,
    client: &TestClient,
    code: &str,
    verifier: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The inputs of the form matching `selector`, or `None` when the page has no such form.
pub fn form_fields_opt(html: &str, selector: &str) -> Option<Vec<(String, String)>> {
    let doc = Html::parse_document(html);
    doc.select(&Selector::parse(selector).unwrap()).next()?;
    Some(form_fields(html, selector))
}
