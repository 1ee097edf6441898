//! OIDC UserInfo claims (OIDC Core §5.3), by the scopes the access token carries.
use serde_json::{json, Map, Value};

use crate::identity::users::User;

/// The audience an access token needs for `/userinfo` when it is not for this server itself
/// (`aud` = the issuer): the userinfo endpoint's URL.
pub fn audience(issuer: &str) -> String {
    format!("{issuer}/userinfo")
}

/// Whether `aud` lets a token be used at `/userinfo`: the issuer or the userinfo audience.
pub fn accepts_audience(issuer: &str, aud: &str) -> bool {
    aud == issuer || aud.strip_prefix(issuer) == Some("/userinfo")
}

/// `sub` always; `name` with `profile`; `email` and `email_verified` with `email`.
pub fn claims(user: &User, scopes: &[&str]) -> Value {
    let mut out = Map::new();
    out.insert("sub".into(), json!(user.id));
    if scopes.contains(&"profile") {
        if let Some(name) = &user.name {
            out.insert("name".into(), json!(name));
        }
        out.insert("updated_at".into(), json!(user.updated_at));
    }
    if scopes.contains(&"email") {
        out.insert("email".into(), json!(user.email));
        out.insert("email_verified".into(), json!(user.email_verified));
    }
    Value::Object(out)
}
