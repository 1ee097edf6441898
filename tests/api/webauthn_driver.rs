//! The W3C WebAuthn WebDriver extension (§11 of WebAuthn Level 2) through fantoccini: a virtual
//! authenticator in Chromium (CTAP2, internal transport, resident keys, user verification that
//! always succeeds), and the credentials it holds.
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::Client;
use reqwest::Method;
use serde_json::{json, Value};
use url::Url;

/// A WebDriver extension command: `POST` (with a body) or `GET` under the session.
#[derive(Debug)]
struct Extension {
    path: String,
    body: Option<Value>,
}

impl WebDriverCompatibleCommand for Extension {
    fn endpoint(&self, base: &Url, session: Option<&str>) -> Result<Url, url::ParseError> {
        base.join(&format!("session/{}/{}", session.unwrap_or(""), self.path))
    }

    fn method_and_body(&self, _: &Url) -> (Method, Option<String>) {
        match &self.body {
            Some(body) => (Method::POST, Some(body.to_string())),
            None => (Method::GET, None),
        }
    }
}

/// Adds a virtual authenticator to the session; returns its id.
pub async fn add_authenticator(browser: &Client) -> String {
    let added = browser
        .issue_cmd(Extension {
            path: "webauthn/authenticator".into(),
            body: Some(json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserConsenting": true,
                "isUserVerified": true,
            })),
        })
        .await
        .expect("the WebAuthn WebDriver extension");
    added
        .as_str()
        .unwrap_or_else(|| panic!("no authenticator id in {added}"))
        .to_string()
}

/// The credentials the virtual authenticator holds.
pub async fn credentials(browser: &Client, authenticator: &str) -> Vec<Value> {
    let listed = browser
        .issue_cmd(Extension {
            path: format!("webauthn/authenticator/{authenticator}/credentials"),
            body: None,
        })
        .await
        .unwrap();
    listed.as_array().cloned().unwrap_or_default()
}
