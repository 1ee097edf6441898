//! Property tests of redirect URI matching: exact, but for the port of a loopback IP literal
//! (RFC 8252 §7.3).
use proptest::prelude::*;

use super::*;

/// A redirect URI from small parts, so that two generated ones often differ in one part only.
#[derive(Debug, Clone)]
struct Parts {
    scheme: &'static str,
    host: &'static str,
    port: Option<u16>,
    path: String,
    query: Option<String>,
}

impl Parts {
    fn uri(&self) -> String {
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        let query = self
            .query
            .as_ref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        format!("{}://{}{port}{}{query}", self.scheme, self.host, self.path)
    }

    /// Whether the loopback rule applies: http on a literal loopback IP, written canonically
    /// (no default port: `url` would drop it).
    fn is_loopback_literal(&self) -> bool {
        self.scheme == "http" && matches!(self.host, "127.0.0.1" | "[::1]") && self.port != Some(80)
    }
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        // `HTTP`, `127.1`, `[0::1]` and `:80` are loopback too, but not written canonically:
        // they keep the exact match.
        prop::sample::select(vec!["http", "https", "http", "HTTP"]),
        prop::sample::select(vec![
            "127.0.0.1",
            "[::1]",
            "localhost",
            "127.0.0.2",
            "app.example.com",
            "127.1",
            "[0::1]",
        ]),
        prop_oneof![
            Just(None),
            Just(Some(80)),
            Just(Some(8080)),
            (1u16..).prop_map(Some)
        ],
        prop::sample::select(vec!["/cb", "/cb/", "/other", "/a/cb", "/"]).prop_map(String::from),
        prop::option::of(prop::sample::select(vec!["x=1", "x=2", "y=1"]).prop_map(String::from)),
    )
        .prop_map(|(scheme, host, port, path, query)| Parts {
            scheme,
            host,
            port,
            path,
            query,
        })
}

/// A canonical http loopback literal (the loopback rule applies).
fn loopback_parts() -> impl Strategy<Value = Parts> {
    (parts(), prop::sample::select(vec!["127.0.0.1", "[::1]"])).prop_map(|(mut p, host)| {
        p.scheme = "http";
        p.host = host;
        if p.port == Some(80) {
            p.port = None;
        }
        p
    })
}

/// One character replaced, removed or inserted at `at` (a char boundary within `s`).
fn edit(s: &str, at: usize, kind: u8, c: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    let at = at % (chars.len() + 1);
    let mut out = chars.clone();
    match kind % 3 {
        0 if at < chars.len() => out[at] = c,
        1 if at < chars.len() => {
            out.remove(at);
        }
        _ => out.insert(at, c),
    }
    out.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Matching never panics, and any string matches itself.
    #[test]
    fn matching_is_total_and_reflexive(a in "\\PC{0,40}", b in "\\PC{0,40}") {
        let _ = matches(&a, &b);
        prop_assert!(matches(&a, &a));
    }

    /// Two URIs built from parts match exactly when they are the same string, or both are
    /// canonical http loopback literals differing in the port at most.
    #[test]
    fn only_a_loopback_literals_port_may_differ(
        a in prop_oneof![parts(), loopback_parts()],
        b in prop_oneof![parts(), loopback_parts()],
    ) {
        let (ua, ub) = (a.uri(), b.uri());
        let loopback = a.is_loopback_literal()
            && b.is_loopback_literal()
            && a.host == b.host
            && a.path == b.path
            && a.query == b.query;
        prop_assert_eq!(matches(&ua, &ub), ua == ub || loopback, "{} vs {}", ua, ub);
    }

    /// A registered URI outside the loopback rule matches only itself, character for character:
    /// any one-character edit breaks the match.
    #[test]
    fn a_non_loopback_uri_matches_only_itself(
        a in parts(),
        at in any::<usize>(),
        kind in any::<u8>(),
        c in prop_oneof![Just('/'), Just(':'), Just('A'), Just('1'), Just('.'), Just('#'), any::<char>()],
    ) {
        prop_assume!(!a.is_loopback_literal());
        let registered = a.uri();
        let edited = edit(&registered, at, kind, c);
        prop_assume!(edited != registered);
        prop_assert!(!matches(&registered, &edited), "{} matched {}", registered, edited);
    }

    /// A loopback literal edited anywhere but in its port matches nothing: the one-character
    /// edits that keep a match are exactly those that leave a URI equal but for the port.
    #[test]
    fn a_loopback_uri_edited_outside_its_port_does_not_match(
        a in loopback_parts(),
        at in any::<usize>(),
        kind in any::<u8>(),
        c in prop_oneof![Just('/'), Just(':'), Just('A'), Just('1'), Just('.'), Just('#'), any::<char>()],
    ) {
        prop_assert!(a.is_loopback_literal());
        let registered = a.uri();
        let edited = edit(&registered, at, kind, c);
        prop_assume!(edited != registered);
        let without_port = |s: &str| {
            loopback_url(s).map(|mut u| {
                let _ = u.set_port(None);
                u
            })
        };
        let same_but_port = without_port(&edited).is_some()
            && without_port(&edited) == without_port(&registered);
        prop_assert_eq!(matches(&registered, &edited), same_but_port, "{} vs {}", registered, edited);
    }

    /// A client's redirect URI is registered when one of its URIs matches it, and only then.
    #[test]
    fn registered_means_one_registered_uri_matches(
        uris in prop::collection::vec(parts(), 0..4),
        requested in parts(),
    ) {
        let mut client = crate::oauth::client::account_client();
        client.redirect_uris = uris.iter().map(Parts::uri).collect();
        let requested = requested.uri();
        prop_assert_eq!(
            is_registered(&client, &requested),
            client.redirect_uris.iter().any(|r| matches(r, &requested))
        );
        for uri in &client.redirect_uris {
            prop_assert!(is_registered(&client, uri));
        }
    }
}
