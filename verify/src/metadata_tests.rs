//! Unit tests of `metadata`: the document's URLs and the checks on what is configured.
use super::*;

const ISSUER: &str = "https://id.example.com";

#[test]
fn urls_of_the_document() {
    let cases = [
        (
            "https://api.example.com",
            "https://api.example.com/.well-known/oauth-protected-resource",
            vec!["/.well-known/oauth-protected-resource"],
        ),
        (
            "https://api.example.com/",
            "https://api.example.com/.well-known/oauth-protected-resource",
            vec!["/.well-known/oauth-protected-resource"],
        ),
        (
            "https://api.example.com:8443/mcp",
            "https://api.example.com:8443/.well-known/oauth-protected-resource/mcp",
            vec![
                "/.well-known/oauth-protected-resource/mcp",
                "/.well-known/oauth-protected-resource",
            ],
        ),
        (
            "http://127.0.0.1:3000/tenants/a/mcp/",
            "http://127.0.0.1:3000/.well-known/oauth-protected-resource/tenants/a/mcp/",
            vec![
                "/.well-known/oauth-protected-resource/tenants/a/mcp/",
                "/.well-known/oauth-protected-resource",
            ],
        ),
    ];
    for (resource, url, paths) in cases {
        let m = ResourceMetadata::new().resolve(ISSUER, resource).unwrap();
        assert_eq!(m.url(), url);
        assert_eq!(m.well_known_paths(), paths);
        assert_eq!(m.resource(), resource);
    }
    let m = ResourceMetadata::new()
        .serve_at_root(false)
        .resolve(ISSUER, "https://api.example.com/mcp")
        .unwrap();
    assert_eq!(
        m.well_known_paths(),
        ["/.well-known/oauth-protected-resource/mcp"]
    );
}

#[test]
fn bad_values_are_refused() {
    for audience in [
        "api",
        "urn:example:api",
        "ftp://api.example.com",
        "https://",
        "https://api.example.com/mcp?tenant=a",
        "https://api.example.com/#x",
        "https://user@api.example.com/",
        "https://api.example.com/a b",
        "https://api.example.com/{x}",
        "https://api.example.com/%zz",
    ] {
        let err = ResourceMetadata::new()
            .resolve(ISSUER, audience)
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{audience}: {err}");
    }
    let api = "https://api.example.com";
    let refused = [
        ResourceMetadata::new().authorization_servers(["https://other.example.com"]),
        ResourceMetadata::new().authorization_servers(Vec::<String>::new()),
        ResourceMetadata::new().authorization_servers([ISSUER, "id.example.org"]),
        ResourceMetadata::new().scopes_supported(["read", "a b"]),
        ResourceMetadata::new().scopes_supported(["say\"hi"]),
        ResourceMetadata::new().scopes_supported([""]),
        ResourceMetadata::new().resource_name(" "),
        ResourceMetadata::new().resource_documentation("docs.example.com"),
    ];
    for metadata in refused {
        assert!(
            metadata.resolve(ISSUER, api).is_err(),
            "{metadata:?} must be refused"
        );
    }
    // A percent-escape is fine.
    assert!(ResourceMetadata::new()
        .resolve(ISSUER, "https://api.example.com/a%20b")
        .is_ok());
}

#[test]
fn document() {
    let m = ResourceMetadata::new()
        .authorization_servers([ISSUER, "https://id2.example.com", ISSUER])
        .scopes_supported(["mcp:tools", "read", "mcp:tools"])
        .resource_name("Example \"tools\"")
        .resource_documentation("https://docs.example.com/tools")
        .max_age(Duration::from_secs(600))
        .resolve(ISSUER, "https://api.example.com/mcp")
        .unwrap();
    assert_eq!(
        m.json(),
        r#"{"resource":"https://api.example.com/mcp","authorization_servers":["https://id.example.com","https://id2.example.com"],"scopes_supported":["mcp:tools","read"],"bearer_methods_supported":["header"],"resource_name":"Example \"tools\"","resource_documentation":"https://docs.example.com/tools"}"#
    );
    assert_eq!(m.cache_control(), "public, max-age=600");

    let bare = ResourceMetadata::new()
        .resolve(ISSUER, "https://api.example.com")
        .unwrap();
    assert_eq!(
        bare.json(),
        r#"{"resource":"https://api.example.com","authorization_servers":["https://id.example.com"],"bearer_methods_supported":["header"]}"#
    );
    assert_eq!(bare.cache_control(), "public, max-age=3600");
}
