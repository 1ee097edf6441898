//! A fetched document as a client (draft-ietf-oauth-client-id-metadata-document §4).
//!
//! The document is RFC 7591 client metadata, so it goes through the same limits as a dynamic
//! client's (`dynamic::check`: grants `authorization_code`/`refresh_token`, response type
//! `code`, redirect URIs registered exactly, scopes within `clients.registration_scopes`) and
//! then the CLI's rules; before that, what only a document must satisfy: its `client_id` is the
//! URL it was fetched from, character for character, and it holds no secret. The client is
//! public (`token_endpoint_auth_method` `none`, PKCE always): `private_key_jwt` is refused
//! (a document's `jwks` / `jwks_uri` are not taken; operators' clients can use it).
use serde_json::Value;

use crate::config::ClientSettings;
use crate::oauth::dynamic::{self, DcrError, Metadata};
use crate::oauth::registration;
use crate::oauth::Client;

/// The client `body` (fetched from `client_id`) defines, or why it can't be used. `expires_at`:
/// until when the document stands for the client.
pub fn to_client(
    client_id: &str,
    host: &str,
    body: &[u8],
    rules: &ClientSettings,
    max_ttl_secs: i64,
    now: i64,
    expires_at: i64,
) -> Result<Client, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_| "it is not valid JSON".to_string())?;
    let Value::Object(fields) = &value else {
        return Err("it is not a JSON object".into());
    };
    match fields.get("client_id") {
        Some(Value::String(id)) if id == client_id => {}
        Some(Value::String(_)) => {
            return Err("its client_id does not match the URL it was fetched from".into())
        }
        _ => return Err("it has no client_id".into()),
    }
    for secret in ["client_secret", "client_secret_expires_at"] {
        if fields.contains_key(secret) {
            return Err(format!(
                "it holds a {secret}, which a metadata document must not"
            ));
        }
    }
    match fields.get("token_endpoint_auth_method") {
        None => {}
        Some(Value::String(m)) if m == "none" => {}
        Some(Value::String(m)) if m == "private_key_jwt" => {
            return Err(
                "it asks for token_endpoint_auth_method private_key_jwt, which this server does \
                 not support for metadata documents (use none, with PKCE)"
                    .into(),
            )
        }
        Some(Value::String(m)) if m.starts_with("client_secret") => {
            return Err(format!(
                "it asks for token_endpoint_auth_method {m}: a metadata document cannot use a \
                 client secret"
            ))
        }
        Some(other) => {
            return Err(format!(
                "its token_endpoint_auth_method {other} is not supported (none)"
            ))
        }
    }
    match fields.get("redirect_uris") {
        Some(Value::Array(uris)) if !uris.is_empty() => {}
        _ => return Err("it lists no redirect_uris".into()),
    }
    let mut meta = Metadata::from_json(value.clone()).map_err(reason)?;
    meta.client_id = None;
    meta.token_endpoint_auth_method = Some("none".into());
    if meta
        .client_name
        .as_deref()
        .is_none_or(|n| n.trim().is_empty())
    {
        meta.client_name = Some(host.to_string());
    }
    let (spec, _extras) = dynamic::check(&meta, rules, max_ttl_secs).map_err(reason)?;
    let mut client = registration::validate(&spec, max_ttl_secs).map_err(|e| e.0.join("; "))?;
    client.id = client_id.to_string();
    client.dynamic = false;
    client.metadata_document_expires_at = Some(expires_at);
    client.created_at = now;
    client.updated_at = now;
    Ok(client)
}

fn reason(e: DcrError) -> String {
    match e {
        DcrError::InvalidMetadata(why) | DcrError::InvalidRedirectUri(why) => why,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::oauth::GrantType;

    const ID: &str = "https://tool.example/oauth/client.json";

    fn doc(extra: Value) -> Vec<u8> {
        let mut d = json!({
            "client_id": ID,
            "client_name": "Tool",
            "redirect_uris": ["http://127.0.0.1:33418/callback", "https://tool.example/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                d.as_object_mut().unwrap().remove(k);
            } else {
                d[k] = v.clone();
            }
        }
        serde_json::to_vec(&d).unwrap()
    }

    fn client(body: &[u8]) -> Result<Client, String> {
        to_client(
            ID,
            "tool.example",
            body,
            &ClientSettings::default(),
            86400,
            1000,
            1300,
        )
    }

    #[test]
    fn a_good_document_is_a_public_pkce_client() {
        let c = client(&doc(json!({}))).unwrap();
        assert_eq!(c.id, ID);
        assert_eq!(c.name, "Tool");
        assert!(c.public && c.pkce_required && !c.skip_consent && !c.dynamic);
        assert_eq!(c.secret_hash, None);
        assert_eq!(
            c.grant_types,
            [GrantType::AuthorizationCode, GrantType::RefreshToken]
        );
        assert_eq!(c.redirect_uris.len(), 2);
        assert_eq!(c.scopes, ClientSettings::default().registration_scopes);
        assert_eq!(c.metadata_document_expires_at, Some(1300));
        assert_eq!((c.created_at, c.updated_at), (1000, 1000));
        let unnamed = client(&doc(
            json!({"client_name": null, "token_endpoint_auth_method": null}),
        ))
        .unwrap();
        assert_eq!(unnamed.name, "tool.example");
    }

    #[test]
    fn bad_documents_say_why() {
        let err = |extra: Value| client(&doc(extra)).unwrap_err();
        assert!(client(b"<html>").unwrap_err().contains("not valid JSON"));
        assert!(client(b"[]").unwrap_err().contains("not a JSON object"));
        assert!(err(json!({"client_id": "https://tool.example/other.json"}))
            .contains("client_id does not match"));
        assert!(err(json!({"client_id": format!("{ID}/")})).contains("does not match"));
        assert!(err(json!({"client_id": null})).contains("no client_id"));
        assert!(err(json!({"client_secret": "s"})).contains("client_secret"));
        assert!(err(json!({"client_secret_expires_at": 0})).contains("client_secret_expires_at"));
        assert!(
            err(json!({"token_endpoint_auth_method": "private_key_jwt"}))
                .contains("private_key_jwt, which this server does not support")
        );
        assert!(
            err(json!({"token_endpoint_auth_method": "client_secret_basic"}))
                .contains("cannot use a client secret")
        );
        assert!(err(json!({"redirect_uris": []})).contains("no redirect_uris"));
        assert!(err(json!({"redirect_uris": null})).contains("no redirect_uris"));
        assert!(err(json!({"redirect_uris": ["https://*.tool.example/cb"]})).contains("wildcard"));
        assert!(err(json!({"redirect_uris": ["http://tool.example/cb"]})).contains("https"));
        assert!(err(json!({"grant_types": ["client_credentials"]})).contains("public client"));
        assert!(err(json!({"grant_types": ["password"]})).contains("not available"));
        assert!(err(json!({"response_types": ["token"]})).contains("not supported"));
        assert!(err(json!({"scope": "admin"})).contains("not available"));
    }
}
