//! The browser's cookies: a binding cookie (which browser started an authorization request;
//! CSRF tokens derive from it) and the SSO session cookie. Both are opaque 256-bit values,
//! `HttpOnly`, `SameSite=Lax`, `Path=/`; with an https issuer they are `Secure` and carry the
//! `__Host-` prefix, which also stops a sibling subdomain from planting them.
//!
//! CSRF: a form carries HMAC-SHA256(server secret, "csrf:" + binding cookie), the secret kept in
//! the database so every instance agrees (`store::server_secrets`). A page elsewhere can read
//! neither the cookie nor the token, and can't compute a token for a cookie it plants. Because an
//! attacker can still fetch a token for a cookie of their own and toss that cookie into the
//! victim's browser (cookies ignore ports; `__Host-` needs https), form posts must also come from
//! the issuer's origin (`Origin`, else `Referer`; see `http::browser::Ctx`), and the binding
//! rotates at every sign-in, so a planted value never survives into a signed-in browser.
use actix_web::cookie::{Cookie, SameSite};
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::tokens::secret;

/// Cookie names and attributes for this issuer.
#[derive(Debug, Clone, Copy)]
pub struct CookieNames {
    secure: bool,
}

impl CookieNames {
    pub fn for_issuer(issuer: &str) -> CookieNames {
        CookieNames {
            secure: issuer.starts_with("https://"),
        }
    }

    pub fn browser(&self) -> &'static str {
        if self.secure {
            "__Host-portcullis_browser"
        } else {
            "portcullis_browser"
        }
    }

    pub fn session(&self) -> &'static str {
        if self.secure {
            "__Host-portcullis_session"
        } else {
            "portcullis_session"
        }
    }

    /// The device cookie: a browser that signed in to an account keeps a guess budget of its
    /// own for it (`identity::guesses`).
    pub fn device(&self) -> &'static str {
        if self.secure {
            "__Host-portcullis_device"
        } else {
            "portcullis_device"
        }
    }

    /// This browser's device value (from its cookie, or new) and whether it is new.
    pub fn device_value(&self, req: &HttpRequest) -> anyhow::Result<(String, bool)> {
        match req.cookie(self.device()).map(|c| c.value().to_string()) {
            Some(v) if plausible(&v) => Ok((v, false)),
            _ => Ok((secret::new_secret()?, true)),
        }
    }

    /// Sets the device cookie (`guesses::DEVICE_COOKIE_SECS`: 400 days, the longest browsers
    /// keep one).
    pub fn set_device(&self, resp: &mut HttpResponse, value: String) {
        let mut c = self.build(self.device(), value);
        c.set_max_age(actix_web::cookie::time::Duration::seconds(
            crate::identity::guesses::DEVICE_COOKIE_SECS,
        ));
        let _ = resp.add_cookie(&c);
    }

    fn build(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .finish()
    }

    pub fn session_cookie(&self, value: String) -> Cookie<'static> {
        self.build(self.session(), value)
    }

    /// Deletes the session cookie.
    pub fn clear_session(&self, resp: &mut HttpResponse) {
        let mut c = self.build(self.session(), String::new());
        c.make_removal();
        let _ = resp.add_cookie(&c);
    }

    pub fn read_session(&self, req: &HttpRequest) -> Option<String> {
        req.cookie(self.session())
            .map(|c| c.value().to_string())
            .filter(|v| plausible(v))
    }
}

/// Cookie values we issue are 43 base64url characters; anything else is ignored.
fn plausible(v: &str) -> bool {
    v.len() == 43
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The server secret CSRF tokens are bound with (shared by every instance through the database).
#[derive(Clone)]
pub struct CsrfKey(Arc<Vec<u8>>);

impl CsrfKey {
    pub fn new(secret: &str) -> CsrfKey {
        CsrfKey(Arc::new(secret.as_bytes().to_vec()))
    }

    fn token(&self, binding: &str) -> String {
        use base64::Engine;
        // HMAC accepts a key of any length.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(b"csrf:");
        mac.update(binding.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(REDACTED)")
    }
}

/// This browser's binding value (from its cookie, or new).
#[derive(Debug, Clone)]
pub struct Browser {
    value: String,
    /// New in this response: the cookie must be set.
    fresh: bool,
    names: CookieNames,
    key: CsrfKey,
}

impl Browser {
    pub fn from_request(
        req: &HttpRequest,
        names: CookieNames,
        key: &CsrfKey,
    ) -> anyhow::Result<Browser> {
        match req.cookie(names.browser()).map(|c| c.value().to_string()) {
            Some(value) if plausible(&value) => Ok(Browser {
                value,
                fresh: false,
                names,
                key: key.clone(),
            }),
            _ => Ok(Browser {
                value: secret::new_secret()?,
                fresh: true,
                names,
                key: key.clone(),
            }),
        }
    }

    /// A new binding for this browser (at sign-in): set with `set_cookie`.
    pub fn rotated(&self) -> anyhow::Result<Browser> {
        Ok(Browser {
            value: secret::new_secret()?,
            fresh: true,
            names: self.names,
            key: self.key.clone(),
        })
    }

    /// The request came without the cookie (a first visit, or a cross-site POST, which
    /// `SameSite=Lax` strips of cookies).
    pub fn is_new(&self) -> bool {
        self.fresh
    }

    /// What authorization requests store to know their browser.
    pub fn binding_hash(&self) -> String {
        secret::hash_secret(&self.value)
    }

    pub fn csrf_token(&self) -> String {
        self.key.token(&self.value)
    }

    /// Whether a submitted form carries this browser's token. A browser that arrived without
    /// the cookie cannot have a valid token.
    pub fn check_csrf(&self, presented: Option<&str>) -> bool {
        match presented {
            Some(token) if !self.fresh => {
                bool::from(token.as_bytes().ct_eq(self.csrf_token().as_bytes()))
            }
            _ => false,
        }
    }

    pub fn is_bound(&self, binding_hash: &str) -> bool {
        bool::from(
            binding_hash
                .as_bytes()
                .ct_eq(self.binding_hash().as_bytes()),
        )
    }

    /// Sets the cookie on `resp` if this browser did not have it.
    pub fn set_cookie(&self, resp: &mut HttpResponse) {
        if self.fresh {
            let _ = resp.add_cookie(&self.names.build(self.names.browser(), self.value.clone()));
        }
    }
}
