//! JSON bodies of the JSON APIs (`/api/*`): read under `account::json_config` (16 KiB; a
//! malformed body is 400 `invalid_request`), then every string — keys included — checked
//! against the one rule for text from outside (`identity::text`) before the body is typed. So a
//! NUL never reaches PostgreSQL, and JSON answers as forms do (`oauth::Params`).
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use crate::identity::text;

/// A checked JSON body (use instead of `web::Json` on every JSON endpoint).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let raw = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = raw.await?.into_inner();
            if has_control(&value) {
                return Err(invalid("the request contains control characters").into());
            }
            serde_json::from_value(value)
                .map(Json)
                .map_err(|e| invalid(format!("invalid JSON body: {e}")).into())
        })
    }
}

fn invalid(description: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// Whether any string (or object key) in `value` holds a refused control character.
fn has_control(value: &Value) -> bool {
    match value {
        Value::String(s) => text::has_control(s),
        Value::Array(items) => items.iter().any(has_control),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| text::has_control(k) || has_control(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn control_characters_anywhere_are_found() {
        assert!(!has_control(
            &json!({ "name": "Ada\u{202E}", "scopes": ["read"], "n": 1 })
        ));
        for bad in [
            json!({ "name": "a\u{0}b" }),
            json!({ "scopes": ["read", "\u{1B}[2J"] }),
            json!({ "nested": { "x": "\u{85}" } }),
            json!({ "k\u{7F}": 1 }),
        ] {
            assert!(has_control(&bad), "{bad}");
        }
    }
}
