//! Unit tests of token exchange's rules: parsing, targets, scopes and the `act` chain.
use super::*;

fn client(audiences: &[&str], impersonation: bool) -> Client {
    let mut c = crate::oauth::client::account_client();
    c.id = "svc".into();
    c.public = false;
    c.scopes = vec!["read".into(), "write".into(), "chat".into()];
    c.exchange_audiences = audiences.iter().map(|a| a.to_string()).collect();
    c.exchange_impersonation = impersonation;
    c
}

fn params(pairs: &[(&str, &str)]) -> Params {
    Params::from_pairs(pairs.iter().copied(), crate::oauth::token::REPEATABLE).unwrap()
}

const BASE: [(&str, &str); 3] = [
    ("grant_type", crate::oauth::client::TOKEN_EXCHANGE_URN),
    ("subject_token", "a.b.c"),
    ("subject_token_type", ACCESS_TOKEN_TYPE),
];

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    BASE.iter().chain(extra).copied().collect()
}

fn code(r: Result<Request, OAuthError>) -> ErrorCode {
    r.unwrap_err().code()
}

#[test]
fn parses_a_request_and_its_targets() {
    let c = client(&["orders", "https://api.example/"], false);
    let p = params(&with(&[
        ("audience", "orders"),
        ("resource", "https://api.example/"),
        ("audience", "orders"),
        ("scope", "read"),
    ]));
    let r = parse(&p, &c).unwrap();
    assert_eq!(r.subject_token, "a.b.c");
    assert_eq!(r.subject_type, SubjectType::AccessToken);
    assert_eq!(r.actor_token, None);
    assert_eq!(r.targets, ["orders", "https://api.example/"]);
    assert_eq!(r.scope, Some(vec!["read".to_string()]));
    let p = params(&with(&[
        ("audience", "orders"),
        ("requested_token_type", ACCESS_TOKEN_TYPE),
        ("actor_token", "x.y.z"),
        ("actor_token_type", ACCESS_TOKEN_TYPE),
    ]));
    assert_eq!(parse(&p, &c).unwrap().actor_token, Some("x.y.z"));
}

#[test]
fn refuses_what_it_does_not_issue_or_understand() {
    let c = client(&["orders"], false);
    let bad = |extra: &[(&'static str, &'static str)]| code(parse(&params(&with(extra)), &c));
    let refresh = "urn:ietf:params:oauth:token-type:refresh_token";
    assert_eq!(
        bad(&[("audience", "orders"), ("requested_token_type", refresh)]),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        bad(&[("audience", "orders"), ("actor_token", "x.y.z")]),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        bad(&[
            ("audience", "orders"),
            ("actor_token_type", ACCESS_TOKEN_TYPE)
        ]),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        bad(&[
            ("audience", "orders"),
            ("actor_token", "x.y.z"),
            ("actor_token_type", ID_TOKEN_TYPE)
        ]),
        ErrorCode::InvalidRequest
    );
    assert_eq!(bad(&[]), ErrorCode::InvalidRequest);
    let saml = params(&[
        ("subject_token", "x"),
        (
            "subject_token_type",
            "urn:ietf:params:oauth:token-type:saml2",
        ),
        ("audience", "orders"),
    ]);
    assert_eq!(code(parse(&saml, &c)), ErrorCode::InvalidRequest);
    let missing = params(&[("subject_token", "x"), ("audience", "orders")]);
    assert_eq!(code(parse(&missing, &c)), ErrorCode::InvalidRequest);
}

#[test]
fn targets_must_be_in_the_policy() {
    let allowed = vec!["orders".to_string(), "https://api.example/".to_string()];
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(targets(&s(&["orders"]), &[], &allowed).unwrap(), ["orders"]);
    let err = |a: &[&str], r: &[&str]| targets(&s(a), &s(r), &allowed).unwrap_err().code();
    assert_eq!(err(&["billing"], &[]), ErrorCode::InvalidTarget);
    assert_eq!(err(&["orders", "billing"], &[]), ErrorCode::InvalidTarget);
    assert_eq!(
        err(&[], &["https://other.example/"]),
        ErrorCode::InvalidTarget
    );
    // A resource is a URI; an audience name is not one.
    assert_eq!(err(&[], &["orders"]), ErrorCode::InvalidTarget);
    assert_eq!(err(&[], &[]), ErrorCode::InvalidRequest);
}

#[test]
fn scopes_only_narrow() {
    let s = |v: &str| v.split(' ').map(String::from).collect::<Vec<_>>();
    let client = s("read write");
    assert_eq!(scopes(None, &s("read chat"), &client).unwrap(), ["read"]);
    assert_eq!(
        scopes(Some(s("read")), &s("read write"), &client).unwrap(),
        ["read"]
    );
    assert_eq!(
        scopes(Some(vec![]), &s("write"), &client).unwrap(),
        ["write"]
    );
    // Wider than the subject, or than the client: refused, never silently dropped.
    for (asked, subject) in [("read write", "read"), ("read chat", "read chat")] {
        assert_eq!(
            scopes(Some(s(asked)), &s(subject), &client)
                .unwrap_err()
                .code(),
            ErrorCode::InvalidScope
        );
    }
    // An ID token has no scope: nothing to ask for.
    assert!(scopes(None, &[], &client).unwrap().is_empty());
    assert_eq!(
        scopes(Some(s("read")), &[], &client).unwrap_err().code(),
        ErrorCode::InvalidScope
    );
}

fn actor(sub: &str, client_id: &str, act: Option<Actor>) -> Actor {
    Actor {
        sub: sub.into(),
        client_id: client_id.into(),
        act: act.map(Box::new),
    }
}

#[test]
fn delegation_names_the_actor_and_nests_the_chain() {
    let delegating = client(&["orders"], false);
    // No actor token: the client itself acts.
    assert_eq!(
        act(None, None, &delegating).unwrap(),
        Some(actor("svc", "svc", None))
    );
    // An earlier delegation nests inside (RFC 8693 §4.1).
    let earlier = actor("gateway", "gateway", None);
    assert_eq!(
        act(None, Some(earlier.clone()), &delegating).unwrap(),
        Some(actor("svc", "svc", Some(earlier.clone())))
    );
    // An actor token's subject acts through the client.
    assert_eq!(
        act(
            Some(actor("admin", "svc", None)),
            Some(earlier.clone()),
            &delegating
        )
        .unwrap(),
        Some(actor("admin", "svc", Some(earlier)))
    );
}

#[test]
fn impersonation_only_with_the_flag_and_without_an_actor_token() {
    let impersonating = client(&["orders"], true);
    assert_eq!(act(None, None, &impersonating).unwrap(), None);
    // A chain already there is not erased.
    let earlier = actor("gateway", "gateway", None);
    assert_eq!(
        act(None, Some(earlier.clone()), &impersonating).unwrap(),
        Some(earlier)
    );
    // With an actor token it is delegation.
    assert_eq!(
        act(Some(actor("admin", "svc", None)), None, &impersonating).unwrap(),
        Some(actor("admin", "svc", None))
    );
}

#[test]
fn chains_are_bounded() {
    let c = client(&["orders"], false);
    let mut chain = None;
    for _ in 0..MAX_ACT_DEPTH - 1 {
        chain = act(None, chain, &c).unwrap();
    }
    assert_eq!(depth(chain.as_ref()), MAX_ACT_DEPTH - 1);
    let full = act(None, chain, &c).unwrap();
    assert_eq!(depth(full.as_ref()), MAX_ACT_DEPTH);
    assert_eq!(
        act(None, full, &c).unwrap_err().code(),
        ErrorCode::InvalidGrant
    );
}

#[test]
fn act_claims_serialise_as_rfc_8693_shows() {
    let a = actor("svc", "svc", Some(actor("gateway", "gw", None)));
    assert_eq!(
        serde_json::to_value(&a).unwrap(),
        json!({ "sub": "svc", "client_id": "svc",
                "act": { "sub": "gateway", "client_id": "gw" } })
    );
}
