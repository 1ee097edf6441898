//! Property tests of the redirect URIs a client may register (`check_redirect_uri`).
use proptest::prelude::*;

use super::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Never panics on any string; what it accepts is an absolute URI without fragment, https,
    /// or http on a loopback host.
    #[test]
    fn accepted_uris_are_https_or_loopback_http(uri in "\\PC{0,40}|(https?|HTTP|ftp)://[a-z0-9.:\\[\\]/#?]{0,20}") {
        if check_redirect_uri(&uri).is_ok() {
            let url = Url::parse(&uri).unwrap();
            prop_assert!(url.fragment().is_none());
            prop_assert!(
                url.scheme() == "https" || (url.scheme() == "http" && is_loopback_host(url.host()))
            );
        }
    }

    /// For URIs built from parts: accepted exactly when there is no fragment and the scheme is
    /// https, or http on 127.0.0.0/8, [::1] or localhost.
    #[test]
    fn the_scheme_host_and_fragment_decide(
        scheme in prop::sample::select(vec!["https", "http", "HTTPS", "HTTP", "ftp", "com.example.app", "javascript"]),
        host in prop::sample::select(vec![
            ("app.example.com", false), ("localhost", true), ("LocalHost", true),
            ("127.0.0.1", true), ("127.9.9.9", true), ("[::1]", true), ("10.0.0.1", false),
            ("[::2]", false), ("localhost.example.com", false), ("128.0.0.1", false),
        ]),
        port in prop::option::of(1u16..),
        path in "(/[a-z0-9]{0,4}){0,3}",
        query in prop::option::of("[a-z]=[0-9]"),
        fragment in prop::option::of("[a-z]{0,3}"),
    ) {
        let (host, loopback) = host;
        let uri = format!(
            "{scheme}://{host}{}{path}{}{}",
            port.map(|p| format!(":{p}")).unwrap_or_default(),
            query.map(|q| format!("?{q}")).unwrap_or_default(),
            fragment.map(|f| format!("#{f}")).unwrap_or_default(),
        );
        let scheme = scheme.to_ascii_lowercase();
        let expected =
            fragment_free(&uri) && (scheme == "https" || (scheme == "http" && loopback));
        prop_assert_eq!(check_redirect_uri(&uri).is_ok(), expected, "{}", uri);
    }
}

fn fragment_free(uri: &str) -> bool {
    !uri.contains('#')
}
