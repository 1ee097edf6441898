//! Roles and scope descriptions in the database: the default roles file on a fresh database,
//! `portcullis apply` / `export` with `[roles]` and `[scopes]` (TOML and YAML), a change seen by
//! another running instance, and stored descriptions on the consent page.
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::apply::{cli, stdout, write};
use crate::cli::{run_err, run_ok};
use crate::helpers::{spawn_app, spawn_app_with, spawn_sibling, Backend, TestApp};
use crate::web::{self, attr, browser, texts};

crate::both_backends!(
    a_fresh_database_gets_the_default_roles,
    roles_applied_twice_the_second_run_changes_nothing,
    prune_removes_an_unused_role_and_refuses_one_in_use,
    yaml_is_the_same_document_and_a_bad_one_names_the_line,
    a_role_changed_by_apply_is_honoured_by_another_instance,
    the_consent_pages_show_stored_descriptions_in_the_pages_language,
);

const ADMIN: &str = r#"["read","write","delete","manage_users","portcullis:admin"]"#;

/// The default roles plus an auditor, and the admin role requiring a second factor.
const ROLES: &str = r#"[roles.admin]
description = "Administers this server: clients, users and roles"
permissions = ["read", "write", "delete", "manage_users", "portcullis:admin"]
require_mfa = true

[roles.auditor]
description = "Reads the audit log"
permissions = ["read", "audit"]

[roles.guest]
description = "Reads only"
permissions = ["read"]

[roles.member]
description = "A regular user: reads and changes data"
permissions = ["read", "write"]

[scopes.audit]
description = "Read the audit log"
descriptions = { de = "Das Prüfprotokoll lesen" }
"#;

/// `ROLES` in YAML.
const ROLES_YAML: &str = r#"roles:
  admin:
    description: "Administers this server: clients, users and roles"
    permissions: [read, write, delete, manage_users, "portcullis:admin"]
    require_mfa: true
  auditor:
    description: Reads the audit log
    permissions: [read, audit]
  guest:
    description: Reads only
    permissions: [read]
  member:
    description: "A regular user: reads and changes data"
    permissions: [read, write]
scopes:
  audit:
    description: Read the audit log
    descriptions:
      de: Das Prüfprotokoll lesen
"#;

async fn neutral_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| s.users.roles_file = None).await
}

fn roles(app: &TestApp) -> Value {
    run_ok(&mut cli(app, &["roles", "list"]))
}

fn names(roles: &Value) -> Vec<String> {
    roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap().to_string())
        .collect()
}

async fn a_fresh_database_gets_the_default_roles(backend: Backend) {
    let app = neutral_app(backend).await;
    let listed = roles(&app);
    assert_eq!(names(&listed), ["admin", "guest", "member"]);
    assert_eq!(listed[0]["permissions"].to_string(), ADMIN);
    assert_eq!(listed[0]["default"], false);
    assert_eq!(listed[1]["permissions"], json!(["read"]));
    assert_eq!(listed[1]["default"], true);
    assert_eq!(listed[2]["permissions"], json!(["read", "write"]));
    assert_eq!(listed[2]["require_mfa"], false);
    assert_eq!(
        listed[2]["description"],
        "A regular user: reads and changes data"
    );
    // The default file's scope descriptions are stored too.
    let exported = stdout(&cli(&app, &["export"]).output().unwrap());
    assert!(
        exported.contains("[scopes.read]\ndescription = \"Read data on your behalf\""),
        "{exported}"
    );
}

async fn roles_applied_twice_the_second_run_changes_nothing(backend: Backend) {
    let app = neutral_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "roles.toml", ROLES);
    let dry = stdout(&cli(&app, &["apply", "--dry-run", &file]).output().unwrap());
    assert_eq!(
        dry,
        "~ role admin: require_mfa false → true\n+ role auditor\n+ scope audit\n"
    );
    assert_eq!(names(&roles(&app)), ["admin", "guest", "member"]);
    let applied = stdout(&cli(&app, &["apply", &file]).output().unwrap());
    assert_eq!(applied, dry);
    let again = stdout(&cli(&app, &["apply", &file]).output().unwrap());
    assert_eq!(again, "no changes\n");
    let listed = roles(&app);
    assert_eq!(names(&listed), ["admin", "auditor", "guest", "member"]);
    assert_eq!(listed[0]["require_mfa"], true);
    assert_eq!(listed[1]["permissions"], json!(["read", "audit"]));
    // Audited, naming the actor.
    let out = stdout(
        &cli(&app, &["audit", "list", "--kind", "role_created"])
            .output()
            .unwrap(),
    );
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Newest first: the auditor by apply, then the default roles seeded at start.
    let made: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["detail"]["role"].as_str().unwrap(),
                e["detail"]["actor"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        made,
        [
            ("auditor", "apply"),
            ("member", "roles_file"),
            ("guest", "roles_file"),
            ("admin", "roles_file"),
        ]
    );
    // A bad TOML file changes nothing and names the line.
    let bad = write(
        dir.path(),
        "bad.toml",
        "[roles.viewer]\npermissions = [\"read\"]\n\n[roles.ops]\npermissions = [\"deploy\"]\nmfa = true\n",
    );
    let err = run_err(&mut cli(&app, &["apply", &bad]));
    assert!(
        err.contains(&format!("{bad}:6: unknown field `mfa`")),
        "{err}"
    );
    assert_eq!(names(&roles(&app)), ["admin", "auditor", "guest", "member"]);
    // A permission edited: the diff shows both lists.
    let edited = ROLES.replace(r#"["read", "audit"]"#, r#"["audit"]"#);
    let file = write(dir.path(), "roles.toml", &edited);
    let dry = stdout(&cli(&app, &["apply", "--dry-run", &file]).output().unwrap());
    assert_eq!(
        dry,
        "~ role auditor: permissions [\"read\",\"audit\"] → [\"audit\"]\n"
    );
}

async fn prune_removes_an_unused_role_and_refuses_one_in_use(backend: Backend) {
    let app = neutral_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "roles.toml", ROLES);
    stdout(&cli(&app, &["apply", &file]).output().unwrap());
    app.create_user("member@example.com", "member").await;

    // Without the auditor: pruned. Without scopes: the descriptions stay.
    let no_auditor = ROLES.split("[roles.auditor]").next().unwrap().to_string()
        + &ROLES[ROLES.find("[roles.guest]").unwrap()..ROLES.find("[scopes.audit]").unwrap()];
    let file = write(dir.path(), "pruned.toml", &no_auditor);
    let out = stdout(&cli(&app, &["apply", "--prune", &file]).output().unwrap());
    assert_eq!(out, "- role auditor\n");
    assert_eq!(names(&roles(&app)), ["admin", "guest", "member"]);

    // Without the member role, which a user has: refused, and nothing else changes either.
    let no_member = no_auditor
        .split("[roles.member]")
        .next()
        .unwrap()
        .to_string()
        + "[roles.editor]\npermissions = [\"write\"]\n";
    let file = write(dir.path(), "in-use.toml", &no_member);
    let err = run_err(&mut cli(&app, &["apply", "--prune", &file]));
    assert!(
        err.contains(
            "role \"member\" is not in the document but 1 user(s) have it: give them another \
             role first"
        ),
        "{err}"
    );
    assert_eq!(names(&roles(&app)), ["admin", "guest", "member"]);

    // Nor the default role.
    let no_guest = no_auditor.replace("[roles.guest]", "[roles.visitor]");
    let file = write(dir.path(), "no-guest.toml", &no_guest);
    let err = run_err(&mut cli(&app, &["apply", "--prune", &file]));
    assert!(
        err.contains("role \"guest\" is users.default_role: the document must name it"),
        "{err}"
    );
    assert_eq!(names(&roles(&app)), ["admin", "guest", "member"]);
}

async fn yaml_is_the_same_document_and_a_bad_one_names_the_line(backend: Backend) {
    let app = neutral_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = write(dir.path(), "roles.yaml", ROLES_YAML);
    let out = stdout(&cli(&app, &["apply", &yaml]).output().unwrap());
    assert_eq!(
        out,
        "~ role admin: require_mfa false → true\n+ role auditor\n+ scope audit\n"
    );
    let toml = write(dir.path(), "roles.toml", ROLES);
    let out = stdout(&cli(&app, &["apply", &toml]).output().unwrap());
    assert_eq!(out, "no changes\n");
    // Exported as YAML and applied back: nothing to do.
    let exported = stdout(&cli(&app, &["export", "--format", "yaml"]).output().unwrap());
    assert!(exported.contains("roles:\n  admin:\n"), "{exported}");
    let back = write(dir.path(), "export.yml", &exported);
    let out = stdout(&cli(&app, &["apply", "--prune", &back]).output().unwrap());
    assert_eq!(out, "no changes\n");

    // A bad file changes nothing and names the line (and column, for a syntax error).
    let bad = "roles:\n  viewer:\n    permissions: [read]\n  ops:\n    permissions: [deploy]\n    mfa: true\n";
    let file = write(dir.path(), "bad.yaml", bad);
    let err = run_err(&mut cli(&app, &["apply", &file]));
    assert!(
        err.contains(&format!("{file}:6:")) && err.contains("unknown field `mfa`"),
        "{err}"
    );
    let bad =
        "roles:\n  viewer:\n    permissions: [read]\n  ops:\n    permissions: [\"bad scope\"]\n";
    let file = write(dir.path(), "bad.yaml", bad);
    let err = run_err(&mut cli(&app, &["apply", &file]));
    assert!(
        err.contains(&format!(
            "{file}:4: role \"ops\": permissions: invalid scope names: [\"bad scope\"]"
        )),
        "{err}"
    );
    let bad = "roles:\n  viewer:\n    permissions: [read\n";
    let file = write(dir.path(), "bad.yaml", bad);
    let err = run_err(&mut cli(&app, &["apply", &file]));
    assert!(err.contains(&format!("{file}:4:1: ")), "{err}");
    assert_eq!(names(&roles(&app)), ["admin", "auditor", "guest", "member"]);
}

async fn a_role_changed_by_apply_is_honoured_by_another_instance(backend: Backend) {
    let app = spawn_app(backend).await;
    let other = spawn_sibling(&app).await;
    let user = app.create_user("guest@example.com", "guest").await;
    let client = app.password_client();
    let granted = |resp: reqwest::Response| async move {
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        body["scope"].as_str().unwrap().to_string()
    };
    let scope = granted(
        other
            .password_grant_scoped(&client, &user.email, "read write")
            .await,
    )
    .await;
    assert_eq!(scope, "read");

    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "guest.toml",
        "[roles.guest]\ndescription = \"Reads only\"\npermissions = [\"read\", \"write\"]\n",
    );
    let out = stdout(&cli(&app, &["apply", &file]).output().unwrap());
    assert_eq!(
        out,
        "~ role guest: permissions [\"read\"] → [\"read\",\"write\"]\n"
    );
    let start = Instant::now();
    loop {
        let scope = granted(
            other
                .password_grant_scoped(&client, &user.email, "read write")
                .await,
        )
        .await;
        if scope == "read write" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the other instance still grants {scope:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn the_consent_pages_show_stored_descriptions_in_the_pages_language(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "scopes.toml",
        "[scopes.read]\ndescription = \"Read your courses\"\ndescriptions = { de = \"Ihre Kurse lesen\" }\n",
    );
    stdout(&cli(&app, &["apply", &file]).output().unwrap());
    let user = app.create_user("leser@example.com", "student").await;
    for (locale, read) in [("de", "Ihre Kurse lesen"), ("en", "Read your courses")] {
        let b = browser();
        let client = app.code_client();
        let (_, challenge) = web::pkce();
        let mut params = TestApp::code_request(&client, &challenge, "openid read");
        params.push(("ui_locales", locale));
        let resp = b.get(app.authorize_url(&params)).send().await.unwrap();
        assert_eq!(resp.status(), 302);
        let login = web::location(&app, &resp);
        let resp = web::sign_in(&app, &b, &login, &user.email, &user.password).await;
        assert_eq!(resp.status(), 303);
        let consent = web::location(&app, &resp);
        let (status, _, html) = web::get(&b, &consent).await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(attr(&html, "html", "lang").as_deref(), Some(locale));
        let openid = if locale == "de" {
            "Sie anmelden und wissen, wer Sie sind"
        } else {
            "Sign you in and know who you are"
        };
        assert_eq!(texts(&html, "ul.scopes li span"), [openid, read]);
    }
    // The device page (English) too.
    let client = crate::device::device_client(&app);
    let body = crate::device::start(&app, &client.id, "openid read").await;
    let code = body["user_code"].as_str().unwrap();
    let (b, page) =
        crate::device_page::signed_in_at_device(&app, &user.email, &user.password, code).await;
    let (status, confirm) = crate::device_page::enter(&app, &b, &page, code).await;
    assert_eq!(status, 200, "{confirm}");
    assert_eq!(
        texts(&confirm, "ul.scopes li span"),
        ["Sign you in and know who you are", "Read your courses"]
    );
}
