//! Upstream identity providers declared by `portcullis apply` (`[providers.NAME]`): the running
//! server offers them beside the configured ones, with the client secret read from ITS
//! environment; a full upstream sign-in through one; dry-run, idempotence, export, prune; and
//! documents refused whole (a secret in the document, a variable not set, a configured name).
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::apply::{cli, stdout, write};
use crate::cli::{run_err, run_ok};
use crate::federation_flow::{
    allow_callbacks, finish_downstream, login_page, upstream, via_upstream, Pair,
};
use crate::helpers::{spawn_app, Backend, TestApp, TestClient};
use crate::web::{attr, browser};

crate::both_backends!(
    a_declared_provider_signs_in_and_prune_takes_it_away,
    a_bad_provider_document_changes_nothing_and_says_why,
    a_provider_whose_secret_is_not_here_stays_off,
);

/// A variable name no other test uses (the in-process server reads this process's
/// environment; the CLI inherits it).
fn unique_var(what: &str) -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    format!("FEDTEST_{what}_{:016x}", u64::from_le_bytes(bytes))
}

fn corp(issuer: &str, client_id: &str, var: &str, display: &str) -> String {
    format!(
        "[providers.corp]\nkind = \"oidc\"\ndisplay_name = \"{display}\"\nissuer = \"{issuer}\"\n\
         client_id = \"{client_id}\"\nsecret_env = \"{var}\"\n"
    )
}

/// Whether the downstream login page (fresh browser) has the `corp` button.
async fn has_button(down: &TestApp, app: &TestClient) -> bool {
    let html = login_page(down, &browser(), app).await;
    attr(&html, "a[href^='/federation/corp/start']", "href").is_some()
}

/// Waits (a bounded while: the server re-reads every 2 s) until the button is `shown` or not.
async fn until_button(down: &TestApp, app: &TestClient, shown: bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while has_button(down, app).await != shown {
        assert!(
            Instant::now() < deadline,
            "the corp button never became shown={shown}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The error line (stderr first says which database).
fn last_line(err: &str) -> &str {
    err.trim_end().lines().last().unwrap_or_default()
}

fn audit(app: &TestApp, kind: &str) -> Vec<Value> {
    let out = stdout(
        &cli(app, &["audit", "list", "--kind", kind])
            .output()
            .unwrap(),
    );
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn a_declared_provider_signs_in_and_prune_takes_it_away(backend: Backend) {
    let (up, upstream_client) = upstream(backend).await;
    let down = spawn_app(backend).await;
    allow_callbacks(
        &up,
        &upstream_client,
        &[down.url("/federation/corp/callback")],
    );
    let app = down.code_client_with(|s| s.scopes = vec!["openid profile email account".into()]);
    assert!(!has_button(&down, &app).await);

    let var = unique_var("CORP");
    std::env::set_var(&var, &upstream_client.secret);
    let dir = tempfile::tempdir().unwrap();
    let doc = corp(&up.address, &upstream_client.id, &var, "Corp SSO");
    let file = write(dir.path(), "providers.toml", &doc);
    let dry = stdout(&cli(&down, &["apply", "--dry-run", &file]).output().unwrap());
    assert_eq!(dry, "+ provider corp\n");
    let applied = stdout(&cli(&down, &["apply", &file]).output().unwrap());
    assert_eq!(applied, "+ provider corp\n");
    let again = stdout(&cli(&down, &["apply", &file]).output().unwrap());
    assert_eq!(again, "no changes\n");

    // Exported with where the secret is, never the secret.
    let exported = stdout(&cli(&down, &["export"]).output().unwrap());
    let expected = format!(
        "[providers.corp]\nkind = \"oidc\"\ndisplay_name = \"Corp SSO\"\nissuer = \"{}\"\n\
         client_id = \"{}\"\nscopes = [\"openid\", \"email\", \"profile\"]\n\
         secret_env = \"{var}\"\n",
        up.address, upstream_client.id
    );
    assert!(exported.contains(&expected), "{exported}");
    assert!(!exported.contains(&upstream_client.secret));
    let yaml = stdout(
        &cli(&down, &["export", "--format", "yaml"])
            .output()
            .unwrap(),
    );
    assert!(
        yaml.contains("providers:\n  corp:\n    kind: oidc\n    display_name: Corp SSO\n"),
        "{yaml}"
    );

    // Audited, naming the actor and where the secret is.
    let made = audit(&down, "provider_created");
    assert_eq!(made.len(), 1);
    assert_eq!(made[0]["detail"]["provider"], "corp");
    assert_eq!(made[0]["detail"]["actor"], "apply");
    assert_eq!(made[0]["detail"]["secret"], format!("secret_env {var}"));

    // The running server offers it (within its reload interval), and a sign-in works.
    until_button(&down, &app, true).await;
    let html = login_page(&down, &browser(), &app).await;
    assert!(html.contains("Continue with Corp SSO"), "{html}");
    up.create_user("corp@example.com", "student").await;
    let p = Pair { up, down, app };
    let (bd, bu) = (browser(), browser());
    let resp = via_upstream(&p, &bd, &bu, "corp", "corp@example.com").await;
    let tokens = finish_downstream(&p, &bd, resp).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["id_token"].is_string());
    let Pair { down, app, .. } = p;

    // A change is one line naming the setting; then applied.
    let renamed = write(dir.path(), "renamed.toml", &doc.replace("Corp SSO", "Corp"));
    let dry = stdout(
        &cli(&down, &["apply", "--dry-run", &renamed])
            .output()
            .unwrap(),
    );
    assert_eq!(
        dry,
        "~ provider corp: display_name \"Corp SSO\" → \"Corp\"\n"
    );
    assert_eq!(
        stdout(&cli(&down, &["apply", &renamed]).output().unwrap()),
        dry
    );
    assert_eq!(
        audit(&down, "provider_changed")[0]["detail"]["changed"][0],
        "display_name"
    );

    // The rest of the state, as exported: without a [providers] section, prune leaves the
    // provider alone; with an empty one, prune deletes it.
    let rest = exported
        .split("[providers.corp]")
        .next()
        .unwrap()
        .to_string();
    let none = write(dir.path(), "none.toml", &rest);
    let out = stdout(&cli(&down, &["apply", "--prune", &none]).output().unwrap());
    assert_eq!(out, "no changes\n");
    let empty = write(dir.path(), "empty.toml", &(rest + "[providers]\n"));
    let dry = stdout(
        &cli(&down, &["apply", "--prune", "--dry-run", &empty])
            .output()
            .unwrap(),
    );
    assert_eq!(dry, "- provider corp\n");
    let out = stdout(&cli(&down, &["apply", "--prune", &empty]).output().unwrap());
    assert_eq!(out, dry);
    assert_eq!(
        audit(&down, "provider_deleted")[0]["detail"]["provider"],
        "corp"
    );
    until_button(&down, &app, false).await;
    std::env::remove_var(&var);
}

async fn a_bad_provider_document_changes_nothing_and_says_why(backend: Backend) {
    let down = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let var = unique_var("BAD");
    let roles_before = run_ok(&mut cli(&down, &["roles", "list"]));

    // A secret in the document: refused, naming the line; the role before it isn't made.
    let leak = write(
        dir.path(),
        "leak.toml",
        "[roles.viewer]\npermissions = [\"read\"]\n\n[providers.corp]\nissuer = \
         \"https://sso.example.com\"\nclient_id = \"abc\"\nclient_secret = \"s3cret-value\"\n",
    );
    let err = run_err(cli(&down, &["apply", &leak]).env(&var, "x"));
    assert_eq!(
        last_line(&err),
        format!(
            "error: {leak}:4: provider \"corp\": a secret never goes in the document: name the \
             environment variable (secret_env) or the file (secret_file) that holds it"
        )
    );
    assert!(!err.contains("s3cret-value"));
    // The same in YAML names the provider's line.
    let leak_yaml = write(
        dir.path(),
        "leak.yaml",
        "providers:\n  corp:\n    issuer: https://sso.example.com\n    client_id: abc\n    secret: s3cret-value\n",
    );
    let err = run_err(&mut cli(&down, &["apply", &leak_yaml]));
    assert!(
        err.contains(&format!(
            "{leak_yaml}:2: provider \"corp\": a secret never goes in the document"
        )),
        "{err}"
    );

    // secret_env naming a variable not set where apply runs.
    let unset = write(
        dir.path(),
        "unset.toml",
        &corp("https://sso.example.com", "abc", &var, "Corp"),
    );
    let err = run_err(&mut cli(&down, &["apply", &unset]));
    assert_eq!(
        last_line(&err),
        format!(
            "error: {unset}:1: provider \"corp\": secret_env: {var} is not set on this machine"
        )
    );
    // A secret_file that can't be read.
    let missing = dir.path().join("no-such-secret");
    let no_file = write(
        dir.path(),
        "nofile.toml",
        &format!(
            "[providers.corp]\nissuer = \"https://sso.example.com\"\nclient_id = \"abc\"\n\
             secret_file = \"{}\"\n",
            missing.display()
        ),
    );
    let err = run_err(&mut cli(&down, &["apply", &no_file]));
    assert!(
        err.contains(&format!(
            "{no_file}:1: provider \"corp\": secret_file: reading {}: ",
            missing.display()
        )),
        "{err}"
    );

    // A name [federation] configures (here for the CLI, by its environment).
    let clash = write(
        dir.path(),
        "clash.toml",
        &corp("https://sso.example.com", "abc", &var, "Corp").replace("corp", "acme"),
    );
    let err = run_err(
        cli(&down, &["apply", &clash])
            .env(&var, "x")
            .env(
                "PORTCULLIS_FEDERATION__OIDC__ACME__ISSUER",
                "https://acme.example.com",
            )
            .env("PORTCULLIS_FEDERATION__OIDC__ACME__CLIENT_ID", "acme-id"),
    );
    assert_eq!(
        last_line(&err),
        format!(
            "error: {clash}:1: provider \"acme\": [federation] already configures a provider of \
             this name (federation.oidc.acme): rename one of them"
        )
    );

    // Nothing changed: no provider, no role, no audit event.
    let exported = stdout(&cli(&down, &["export"]).output().unwrap());
    assert!(!exported.contains("[providers"), "{exported}");
    assert_eq!(run_ok(&mut cli(&down, &["roles", "list"])), roles_before);
    assert!(audit(&down, "provider_created").is_empty());
}

async fn a_provider_whose_secret_is_not_here_stays_off(backend: Backend) {
    let (up, upstream_client) = upstream(backend).await;
    let down = spawn_app(backend).await;
    let app = down.code_client_with(|s| s.scopes = vec!["openid profile email account".into()]);
    let var = unique_var("ELSEWHERE");
    let dir = tempfile::tempdir().unwrap();
    let doc = corp(&up.address, &upstream_client.id, &var, "Corp SSO");
    let file = write(dir.path(), "providers.toml", &doc);
    // The machine running apply has the secret; the server's environment doesn't.
    let out = stdout(
        &cli(&down, &["apply", &file])
            .env(&var, &upstream_client.secret)
            .output()
            .unwrap(),
    );
    assert_eq!(out, "+ provider corp\n");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!has_button(&down, &app).await);
    // Once the server's environment has it, the next reload offers it.
    std::env::set_var(&var, &upstream_client.secret);
    until_button(&down, &app, true).await;
    std::env::remove_var(&var);
}
