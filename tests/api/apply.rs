//! `portcullis apply` / `export` as an operator runs them (the real binary), and
//! `apply_on_start`.
use std::path::Path;
use std::process::{Command, Output};

use portcullis::oauth::registration::ClientSpec;
use portcullis::store::clients::{self, ClientRow};
use serde_json::Value;

use crate::both_backends;
use crate::cli::run_ok;
use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp, TestClient};
use crate::keys::portcullis;

both_backends!(
    applied_twice_the_second_run_changes_nothing,
    dry_run_prints_the_diff_and_prune_removes,
    a_bad_file_changes_nothing_and_names_the_line,
    export_then_apply_makes_no_change,
    secrets_come_from_the_environment_never_the_document,
    apply_on_start_creates_clients_that_get_tokens,
);

const FIRST: &str = r#"[[clients]]
name = "declared-service"
grant_types = ["client_credentials"]
scopes = ["read"]

[[clients]]
name = "web-app"
public = true
grant_types = ["authorization_code", "refresh_token"]
scopes = ["openid"]
redirect_uris = ["https://app.example.com/cb"]
"#;

pub(crate) fn cli(app: &TestApp, args: &[&str]) -> Command {
    let mut c = portcullis();
    c.args(args)
        .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
        .env("PORTCULLIS_KEYS_DIR", &app.settings.keys_dir);
    c
}

pub(crate) fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

pub(crate) fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn rows(app: &TestApp) -> Vec<ClientRow> {
    clients::list(&mut app.db.get().unwrap()).unwrap()
}

fn named<'a>(rows: &'a [ClientRow], name: &str) -> &'a ClientRow {
    rows.iter().find(|r| r.name == name).unwrap()
}

async fn applied_twice_the_second_run_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "clients.toml", FIRST);
    let first = stdout(&cli(&app, &["apply", &file]).output().unwrap());
    let lines: Vec<&str> = first.lines().collect();
    assert_eq!(
        lines[..2],
        ["+ client declared-service", "+ client web-app"]
    );
    assert_eq!(lines.len(), 3, "{first}");
    let made: Value = serde_json::from_str(lines[2]).unwrap();
    let stored = rows(&app);
    let service = named(&stored, "declared-service");
    assert_eq!(made["client_id"], service.id.as_str());
    assert_eq!(made["name"], "declared-service");
    // The secret shown works, once given.
    let client = TestClient {
        id: service.id.clone(),
        secret: made["client_secret"].as_str().unwrap().to_string(),
    };
    let token = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(token.status(), 200);
    let web = named(&stored, "web-app");
    assert!(web.is_public && web.secret_hash.is_none());
    assert_eq!(web.scopes, r#"["openid"]"#);

    let second = stdout(&cli(&app, &["apply", &file]).output().unwrap());
    assert_eq!(second, "no changes\n");
    assert_eq!(format!("{:?}", rows(&app)), format!("{stored:?}"));
    // Each creation was audited once, naming the actor; the second run recorded nothing.
    let audit = cli(&app, &["audit", "list", "--kind", "client_created"]).output();
    let events: Vec<Value> = stdout(&audit.unwrap())
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut audited: Vec<(String, Value)> = events
        .iter()
        .map(|e| (e["client_id"].as_str().unwrap().into(), e["detail"].clone()))
        .collect();
    audited.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected: Vec<(String, Value)> = stored
        .iter()
        .map(|r| (r.id.clone(), serde_json::json!({ "actor": "apply" })))
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(audited, expected);
}

async fn dry_run_prints_the_diff_and_prune_removes(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "clients.toml", FIRST);
    stdout(&cli(&app, &["apply", &file]).output().unwrap());
    // A client that registered itself is never pruned.
    app.create_client(ClientSpec {
        name: "self-registered".into(),
        dynamic: true,
        ..ClientSpec::default()
    });
    let before = rows(&app);
    let second = FIRST
        .replace("name = \"declared-service\"", "name = \"new-service\"")
        .replace(r#"scopes = ["openid"]"#, r#"scopes = ["openid", "email"]"#);
    write(dir.path(), "clients.toml", &second);
    let expected = "+ client new-service\n\
                    ~ client web-app: scopes [\"openid\"] → [\"openid\",\"email\"]\n\
                    - client declared-service\n";
    let dry = cli(&app, &["apply", "--dry-run", "--prune", &file]).output();
    assert_eq!(stdout(&dry.unwrap()), expected);
    assert_eq!(format!("{:?}", rows(&app)), format!("{before:?}"));

    let without_prune = cli(&app, &["apply", "--dry-run", &file]).output().unwrap();
    assert_eq!(
        stdout(&without_prune),
        "+ client new-service\n~ client web-app: scopes [\"openid\"] → [\"openid\",\"email\"]\n"
    );

    let applied = stdout(&cli(&app, &["apply", "--prune", &file]).output().unwrap());
    assert!(applied.starts_with(expected), "{applied}");
    let mut names: Vec<String> = rows(&app).into_iter().map(|r| r.name).collect();
    names.sort();
    assert_eq!(names, ["new-service", "self-registered", "web-app"]);
    let again = cli(&app, &["apply", "--dry-run", "--prune", &file]).output();
    assert_eq!(stdout(&again.unwrap()), "no changes\n");
}

async fn a_bad_file_changes_nothing_and_names_the_line(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let bad_value = format!(
        "{FIRST}\n[[clients]]\nname = \"bad\"\ngrant_types = [\"authorization_code\"]\n\
         redirect_uris = [\"http://app.example.com/cb\"]\n"
    );
    let file = write(dir.path(), "bad.toml", &bad_value);
    let out = cli(&app, &["apply", &file]).output().unwrap();
    assert!(!out.status.success() && out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "error: {file}:13: client \"bad\": invalid client: redirect URI \
             http://app.example.com/cb must use https"
        )),
        "{stderr}"
    );
    assert!(rows(&app).is_empty(), "the valid clients were not created");

    let twice =
        format!("{FIRST}\n[[clients]]\nname = \"web-app\"\ngrant_types = [\"device_code\"]\n");
    let file = write(dir.path(), "twice.toml", &twice);
    let out = cli(&app, &["apply", &file]).output().unwrap();
    assert!(!out.status.success() && out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "error: {file}:13: client \"web-app\": named again (first on line 6)"
        )),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(rows(&app).is_empty());

    let unknown = FIRST.replace("scopes = [\"openid\"]", "scope = [\"openid\"]");
    let file = write(dir.path(), "unknown.toml", &unknown);
    let out = cli(&app, &["apply", &file]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "error: {file}:10: client \"web-app\": unknown field `scope`"
        )),
        "{stderr}"
    );
    assert!(rows(&app).is_empty());
}

async fn export_then_apply_makes_no_change(backend: Backend) {
    let app = spawn_app(backend).await;
    run_ok(&mut cli(
        &app,
        &[
            "client",
            "create",
            "--name",
            "web",
            "--grant",
            "authorization_code,refresh_token",
            "--scope",
            "openid profile",
            "--redirect-uri",
            "https://web.example/cb",
            "--post-logout-redirect-uri",
            "https://web.example/bye",
            "--audience",
            "https://api.example/",
            "--access-token-ttl",
            "600",
            "--introspect",
            "--pkce-optional",
            "--web-origin",
            "https://other.example",
            "--require-mfa",
            "--exchange-audience",
            "orders",
            "--exchange-impersonation",
            "--skip-consent",
        ],
    ));
    run_ok(&mut cli(
        &app,
        &[
            "client",
            "create",
            "--name",
            "tv",
            "--public",
            "--grant",
            "device_code",
        ],
    ));
    app.create_client(ClientSpec {
        name: "self-registered".into(),
        dynamic: true,
        ..ClientSpec::default()
    });
    let exported = stdout(&cli(&app, &["export"]).output().unwrap());
    assert!(!exported.contains("self-registered"), "{exported}");
    assert!(!exported.contains("secret"), "{exported}");
    assert!(
        exported.contains("public = true\ngrant_types = [\"device_code\"]"),
        "{exported}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "exported.toml", &exported);
    let before = rows(&app);
    let applied = cli(&app, &["apply", "--prune", &file]).output().unwrap();
    assert_eq!(stdout(&applied), "no changes\n");
    assert_eq!(format!("{:?}", rows(&app)), format!("{before:?}"));
}

async fn secrets_come_from_the_environment_never_the_document(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let doc = "[[clients]]\nname = \"svc\"\nscopes = [\"read\"]\nsecret_env = \"SVC_SECRET\"\n";
    let file = write(dir.path(), "svc.toml", doc);
    let mut run = cli(&app, &["apply", &file]);
    run.env("SVC_SECRET", "from-the-environment-0123456789");
    assert_eq!(stdout(&run.output().unwrap()), "+ client svc\n");
    let client = TestClient {
        id: named(&rows(&app), "svc").id.clone(),
        secret: "from-the-environment-0123456789".into(),
    };
    let token = app
        .token_basic(&client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(token.status(), 200);
    // A new value in the environment is a change, shown without either value.
    let mut rotated = cli(&app, &["apply", &file]);
    rotated.env("SVC_SECRET", "rotated-0123456789");
    assert_eq!(
        stdout(&rotated.output().unwrap()),
        "~ client svc: secret (changed)\n"
    );

    let inline = write(
        dir.path(),
        "inline.toml",
        "[[clients]]\nname = \"leaky\"\nclient_secret = \"s3cret\"\n",
    );
    let out = cli(&app, &["apply", &inline]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "error: {inline}:1: client \"leaky\": a secret never goes in the document"
        )),
        "{stderr}"
    );
}

async fn apply_on_start_creates_clients_that_get_tokens(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = write(dir.path(), "svc.secret", "start-up-secret-0123456789\n");
    let doc = format!(
        "[[clients]]\nname = \"gitops-service\"\nscopes = [\"read\"]\nsecret_file = {secret_file:?}\n"
    );
    let file = write(dir.path(), "clients.toml", &doc);
    let app = spawn_app_with(backend, |s| s.apply_on_start = Some(file.clone().into())).await;
    let client = TestClient {
        id: named(&rows(&app), "gitops-service").id.clone(),
        secret: "start-up-secret-0123456789".into(),
    };
    let token = app
        .token_basic(
            &client,
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
        .await;
    assert_eq!(token.status(), 200);
    // Two instances starting together with a document that adds a client create it once.
    let more =
        format!("{doc}\n[[clients]]\nname = \"second-service\"\nsecret_file = {secret_file:?}\n");
    let more = write(dir.path(), "more.toml", &more);
    let tweak = |s: &mut portcullis::config::Settings, _: &Path| {
        s.apply_on_start = Some(more.clone().into());
    };
    let (a, b) = tokio::join!(
        crate::helpers::spawn_sibling_with(&app, tweak),
        crate::helpers::spawn_sibling_with(&app, tweak)
    );
    let mut names: Vec<String> = rows(&a).into_iter().map(|r| r.name).collect();
    names.sort();
    assert_eq!(names, ["gitops-service", "second-service"]);
    let dry = cli(&b, &["apply", "--dry-run", &more]).output().unwrap();
    assert_eq!(stdout(&dry), "no changes\n");
    // A document that would make up a secret no one sees stops the start, naming the client.
    let unsourced = write(
        dir.path(),
        "unsourced.toml",
        "[[clients]]\nname = \"svc\"\n",
    );
    let mut settings = app.settings.clone();
    settings.issuer = "http://127.0.0.1:0".into();
    settings.bind = None;
    settings.apply_on_start = Some(unsourced.clone().into());
    let Err(err) = portcullis::startup::Application::build(settings).await else {
        panic!("the start goes on with a bad apply_on_start file");
    };
    assert_eq!(
        format!("{err:#}"),
        format!(
            "apply_on_start {unsourced}: client \"svc\" is confidential and needs secret_env or \
             secret_file here (a secret made now would be shown to no one)"
        )
    );
    assert_eq!(rows(&app).len(), 2);
}
