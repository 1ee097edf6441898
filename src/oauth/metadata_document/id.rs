//! Which `client_id` values are metadata document URLs, and which of those this server may fetch
//! (draft-ietf-oauth-client-id-metadata-document §3; `clients.metadata_documents`).
use url::{Host, Url};

use crate::config::{ClientSettings, MetadataDocumentPolicy};
use crate::oauth::registration::is_loopback_host;

/// Longest URL accepted as a client_id.
pub const MAX_URL_LEN: usize = 2000;

/// Whether `client_id` is meant as a URL (then it is a metadata document or nothing): it starts
/// with `https://` or `http://`. Generated client ids never do.
pub fn looks_like_url(client_id: &str) -> bool {
    let lower = client_id.get(..8).map(str::to_ascii_lowercase);
    lower
        .as_deref()
        .is_some_and(|p| p == "https://" || p.starts_with("http://"))
}

/// The URL of a client_id, or why it cannot name a metadata document: https (or http on a
/// loopback host when `allow_loopback`), a host, a path other than `/`, no fragment, no user
/// information and no `.`/`..` segment.
pub fn parse(client_id: &str, allow_loopback: bool) -> Result<Url, String> {
    if client_id.len() > MAX_URL_LEN {
        return Err(format!("the URL is longer than {MAX_URL_LEN} characters"));
    }
    if client_id.contains('\\') {
        return Err("the URL must not hold backslashes".into());
    }
    // Dot segments are checked on the text: parsing would remove them.
    let path_and_more = client_id
        .splitn(4, '/')
        .nth(3)
        .map(|rest| rest.split(['?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    if path_and_more.split('/').any(|s| {
        s == "." || s == ".." || s.eq_ignore_ascii_case("%2e") || s.eq_ignore_ascii_case("%2e%2e")
    }) {
        return Err("the URL must not hold . or .. path segments".into());
    }
    let url = Url::parse(client_id).map_err(|_| "it is not a valid URL".to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if allow_loopback && is_loopback_host(url.host()) => {}
        _ => return Err("the URL must use https".into()),
    }
    if url.host().is_none() {
        return Err("the URL has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not carry a user name or password".into());
    }
    if url.fragment().is_some() {
        return Err("the URL must not have a fragment".into());
    }
    if url.path() == "/" || url.path().is_empty() {
        return Err("the URL must have a path (https://example.com/client.json)".into());
    }
    Ok(url)
}

/// Whether the policy lets this server fetch `url`'s document.
pub fn allowed(url: &Url, rules: &ClientSettings) -> Result<(), String> {
    match rules.metadata_documents {
        MetadataDocumentPolicy::Off => {
            Err("this server does not accept applications identified by a URL".into())
        }
        MetadataDocumentPolicy::On => Ok(()),
        MetadataDocumentPolicy::Listed => {
            let host = match url.host() {
                Some(Host::Domain(d)) => d.to_ascii_lowercase(),
                _ => String::new(),
            };
            let listed = rules.metadata_document_domains.iter().any(|d| {
                let d = d.trim_start_matches('.').to_ascii_lowercase();
                host == d || host.ends_with(&format!(".{d}"))
            });
            if listed {
                Ok(())
            } else {
                Err(format!(
                    "this server accepts documents only from listed domains, and {} is not one",
                    url.host_str().unwrap_or("its host")
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_client_ids_are_recognised() {
        assert!(looks_like_url("https://app.example/client.json"));
        assert!(looks_like_url("HTTPS://app.example/c"));
        assert!(looks_like_url("http://127.0.0.1/c"));
        assert!(!looks_like_url("c_1234"));
        assert!(!looks_like_url("https"));
        assert!(!looks_like_url("ftp://x/y"));
    }

    #[test]
    fn url_rules() {
        let ok = parse("https://app.example/oauth/client.json", false).unwrap();
        assert_eq!(ok.host_str(), Some("app.example"));
        assert!(parse("https://app.example:8443/c?v=1", false).is_ok());
        let err = |u: &str, lo: bool| parse(u, lo).unwrap_err();
        assert_eq!(err("http://app.example/c", false), "the URL must use https");
        assert_eq!(err("http://127.0.0.1/c", false), "the URL must use https");
        assert!(parse("http://127.0.0.1:8/c", true).is_ok());
        assert!(parse("http://localhost/c", true).is_ok());
        assert_eq!(err("http://app.example/c", true), "the URL must use https");
        assert!(err("https://app.example", false).contains("must have a path"));
        assert!(err("https://app.example/", false).contains("must have a path"));
        assert!(err("https://app.example/c#x", false).contains("fragment"));
        assert!(err("https://u:p@app.example/c", false).contains("user name"));
        assert!(err("https://u@app.example/c", false).contains("user name"));
        assert!(err("https://app.example/a/../c", false).contains(". or .."));
        assert!(err("https://app.example/./c", false).contains(". or .."));
        assert!(err("https://app.example/a/%2E%2E/c", false).contains(". or .."));
        assert!(err("https://app.example/a/..", false).contains(". or .."));
        assert!(err("https://app.example/a\\..\\c", false).contains("backslashes"));
        assert!(err("https:///c", false).len() > 1);
        assert!(err(&format!("https://a.example/{}", "x".repeat(2000)), false).contains("longer"));
    }

    #[test]
    fn the_policy_decides() {
        let url = Url::parse("https://tools.example.com/c.json").unwrap();
        let mut rules = ClientSettings::default();
        assert!(allowed(&url, &rules).is_ok());
        rules.metadata_documents = MetadataDocumentPolicy::Off;
        assert!(allowed(&url, &rules)
            .unwrap_err()
            .contains("does not accept"));
        rules.metadata_documents = MetadataDocumentPolicy::Listed;
        rules.metadata_document_domains = vec!["example.org".into()];
        assert!(allowed(&url, &rules)
            .unwrap_err()
            .contains("tools.example.com is not one"));
        rules.metadata_document_domains = vec!["example.org".into(), "example.com".into()];
        assert!(allowed(&url, &rules).is_ok());
        rules.metadata_document_domains = vec!["tools.example.com".into()];
        assert!(allowed(&url, &rules).is_ok());
        rules.metadata_document_domains = vec!["ample.com".into()];
        assert!(allowed(&url, &rules).is_err());
        let ip = Url::parse("https://10.0.0.1/c").unwrap();
        rules.metadata_document_domains = vec!["10.0.0.1".into()];
        assert!(allowed(&ip, &rules).is_err());
    }
}
