//! The browser's cookies: a binding cookie (which browser started an authorization request;
//! CSRF tokens derive from it) and the SSO session cookie. Both are opaque 256-bit values,
//! `HttpOnly`, `SameSite=Lax`, `Path=/`; with an https issuer they are `Secure` and carry the
//! `__Host-` prefix, which also stops a sibling subdomain from planting them.
//!
//! CSRF: a form carries SHA-256("csrf:" + binding cookie). A page on another site can neither
//! read the cookie nor the token (a signed double-submit without a server secret: the cookie
//! itself is the secret, and the prefix keeps it from being injected).
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse};
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

    /// Sets the device cookie (400 days, the longest browsers keep one).
    pub fn set_device(&self, resp: &mut HttpResponse, value: String) {
        let mut c = self.build(self.device(), value);
        c.set_max_age(actix_web::cookie::time::Duration::days(400));
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

/// This browser's binding value (from its cookie, or new).
#[derive(Debug, Clone)]
pub struct Browser {
    value: String,
    /// New in this response: the cookie must be set.
    fresh: bool,
    names: CookieNames,
}

impl Browser {
    pub fn from_request(req: &HttpRequest, names: CookieNames) -> anyhow::Result<Browser> {
        match req.cookie(names.browser()).map(|c| c.value().to_string()) {
            Some(value) if plausible(&value) => Ok(Browser {
                value,
                fresh: false,
                names,
            }),
            _ => Ok(Browser {
                value: secret::new_secret()?,
                fresh: true,
                names,
            }),
        }
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
        secret::hash_secret(&format!("csrf:{}", self.value))
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
