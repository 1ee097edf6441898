use super::*;
use crate::oauth::registration::{validate, ClientSpec};

fn client(id: &str, name: &str, scopes: &[&str]) -> Client {
    let mut c = validate(
        &ClientSpec {
            name: name.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..ClientSpec::default()
        },
        3600,
    )
    .unwrap();
    c.id = id.into();
    c.secret_hash = Some(secret::hash_secret("old"));
    c
}

fn want(line: usize, c: Client) -> Desired {
    let explicit_id = !c.id.is_empty();
    Desired {
        line,
        client: c,
        explicit_id,
        secret: None,
    }
}

fn lines(changes: &[Change]) -> Vec<String> {
    changes.iter().map(Change::to_string).collect()
}

#[test]
fn creates_updates_and_leaves_alone() {
    let stored = [
        client("1", "web-app", &["openid"]),
        client("2", "same", &[]),
    ];
    let desired = [
        want(1, client("", "declared-service", &["read"])),
        want(5, client("", "web-app", &["openid", "email"])),
        want(9, client("", "same", &[])),
    ];
    let changes = plan(&desired, &stored, false).unwrap();
    assert_eq!(
        lines(&changes),
        [
            "+ client declared-service",
            "~ client web-app: scopes [\"openid\"] → [\"openid\",\"email\"]",
        ]
    );
    let Change::Create { needs_secret, .. } = &changes[0] else {
        panic!("{changes:?}")
    };
    assert!(
        needs_secret,
        "a new confidential client without a secret gets one"
    );
    let Change::Update { after, .. } = &changes[1] else {
        panic!("{changes:?}")
    };
    assert_eq!(after.id, "1");
    assert_eq!(
        after.secret_hash, stored[0].secret_hash,
        "the secret is kept"
    );
}

#[test]
fn prune_deletes_only_operators_clients_not_named() {
    let mut dynamic = client("d", "self-registered", &[]);
    dynamic.dynamic = true;
    let mut document = client("https://app.example/meta", "metadata", &[]);
    document.metadata_document_expires_at = Some(100);
    let stored = [
        client("1", "kept", &[]),
        client("2", "old-app", &[]),
        dynamic,
        document,
    ];
    let desired = [want(1, client("", "kept", &[]))];
    assert!(plan(&desired, &stored, false).unwrap().is_empty());
    assert_eq!(
        lines(&plan(&desired, &stored, true).unwrap()),
        ["- client old-app"]
    );
}

#[test]
fn an_explicit_id_matches_by_id_and_may_rename() {
    let stored = [client("svc-1", "before", &[])];
    let desired = [want(3, client("svc-1", "after", &[]))];
    assert_eq!(
        lines(&plan(&desired, &stored, true).unwrap()),
        ["~ client before: name \"before\" → \"after\""]
    );
}

#[test]
fn a_given_secret_that_differs_is_a_change_without_its_value() {
    let stored = [client("1", "svc", &[])];
    let mut d = want(1, client("", "svc", &[]));
    d.secret = Some("new".into());
    assert_eq!(
        lines(&plan(std::slice::from_ref(&d), &stored, false).unwrap()),
        ["~ client svc: secret (changed)"]
    );
    d.secret = Some("old".into());
    assert!(plan(&[d], &stored, false).unwrap().is_empty());
}

#[test]
fn ambiguous_and_foreign_matches_are_errors_naming_the_line() {
    let mut dynamic = client("d", "dyn", &[]);
    dynamic.dynamic = true;
    let stored = [client("1", "twin", &[]), client("2", "twin", &[]), dynamic];
    let desired = [
        want(2, client("", "twin", &[])),
        want(7, client("d", "dyn", &[])),
        want(9, client("", "x", &[])),
        want(12, client("", "x", &[])),
    ];
    assert_eq!(
        plan(&desired, &stored, false).unwrap_err(),
        "2: client \"twin\": several clients have this name; give its client_id\n\
         7: client \"dyn\": d registered itself; apply manages only operators' clients\n\
         12: client \"x\": named again (first on line 9)"
    );
}

#[test]
fn a_confidential_client_made_public_loses_its_secret() {
    let stored = [client("1", "spa", &[])];
    let mut public = client("", "spa", &[]);
    public.public = true;
    public.grant_types = vec![crate::oauth::client::GrantType::DeviceCode];
    let changes = plan(&[want(4, public)], &stored, false).unwrap();
    assert_eq!(
        lines(&changes),
        ["~ client spa: public false → true; grant_types [\"client_credentials\"] → [\"device_code\"]"]
    );
    let Change::Update {
        after,
        needs_secret,
        ..
    } = &changes[0]
    else {
        panic!("{changes:?}")
    };
    assert_eq!((after.secret_hash.as_deref(), *needs_secret), (None, false));
}
