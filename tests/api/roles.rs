//! Roles as stored: `users.roles_file` applied at every start, and the use cases that change a
//! role (`identity::roles_admin`) with their refusals.
use portcullis::identity::admin_users::Actor;
use portcullis::identity::roles::{Role, Roles};
use portcullis::identity::roles_admin::{self, RoleError};
use portcullis::store::audit;
use serde_json::Value;

use crate::apply::{cli, write};
use crate::cli::run_ok;
use crate::helpers::{spawn_app, spawn_app_with, spawn_sibling, Backend, TestApp};

crate::both_backends!(
    the_roles_file_is_applied_at_every_start,
    role_use_cases_audit_and_refuse_what_would_break,
    an_upgraded_database_keeps_the_former_built_in_roles,
);

/// Each role's name and permissions, from `portcullis roles list`.
fn listed(app: &TestApp) -> Vec<(String, Vec<String>)> {
    let roles = run_ok(&mut cli(app, &["roles", "list"]));
    roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let perms = r["permissions"].as_array().unwrap();
            (
                r["role"].as_str().unwrap().to_string(),
                perms
                    .iter()
                    .map(|p| p.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    expected
        .iter()
        .map(|(n, p)| (n.to_string(), p.iter().map(|s| s.to_string()).collect()))
        .collect()
}

async fn the_roles_file_is_applied_at_every_start(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    // The short form of the roles file still reads.
    let file = write(
        dir.path(),
        "roles.toml",
        "[roles]\nguest = [\"read\"]\nops = [\"read\", \"deploy\"]\n",
    );
    let path: std::path::PathBuf = file.clone().into();
    let app = spawn_app_with(backend, |s| s.users.roles_file = Some(path)).await;
    assert_eq!(
        listed(&app),
        pairs(&[("guest", &["read"]), ("ops", &["read", "deploy"])])
    );
    app.create_user("ops@example.com", "ops").await;

    // Edited: the next instance to start makes the database say it.
    write(
        dir.path(),
        "roles.toml",
        "[roles]\nguest = [\"read\"]\nops = [\"deploy\"]\n[roles.viewer]\npermissions = [\"read\"]\n",
    );
    let _other = spawn_sibling(&app).await;
    assert_eq!(
        listed(&app),
        pairs(&[
            ("guest", &["read"]),
            ("ops", &["deploy"]),
            ("viewer", &["read"])
        ])
    );

    // Dropping a role a user has stops the start, naming it; nothing changes.
    write(dir.path(), "roles.toml", "[roles]\nguest = [\"read\"]\n");
    let mut settings = app.settings.clone();
    settings.issuer = "http://127.0.0.1:0".into();
    settings.bind = None;
    let Err(err) = portcullis::startup::Application::build(settings).await else {
        panic!("the start goes on without a role users have");
    };
    assert_eq!(
        format!("{err:#}"),
        format!(
            "users.roles_file {file}: {file}: role \"ops\" is not in the document but 1 user(s) \
             have it: give them another role first"
        )
    );
    assert_eq!(listed(&app).len(), 3);
}

fn role(name: &str, perms: &[&str]) -> Role {
    Role {
        name: name.into(),
        permissions: perms.iter().map(|p| p.to_string()).collect(),
        require_mfa: false,
        description: Some(format!("The {name} role")),
    }
}

async fn role_use_cases_audit_and_refuse_what_would_break(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut conn = app.db.get().unwrap();
    let now = app.clock_now();
    let actor = Actor {
        name: "admin:u-1",
        meta: None,
    };
    roles_admin::create(&mut conn, &role("auditor", &["read"]), actor, now).unwrap();
    let again = roles_admin::create(&mut conn, &role("auditor", &[]), actor, now);
    assert!(matches!(again, Err(RoleError::Exists(n)) if n == "auditor"));
    let bad = roles_admin::create(&mut conn, &role("bad name", &[]), actor, now).unwrap_err();
    assert_eq!(
        bad.to_string(),
        "role name \"bad name\" must be 1 to 64 letters, digits, '_', '-' or '.'"
    );

    let before =
        roles_admin::update(&mut conn, &role("auditor", &["read", "audit"]), actor, now).unwrap();
    assert_eq!(before.permissions, ["read"]);
    let roles = Roles::read(&mut conn).unwrap();
    assert_eq!(roles.permissions("auditor"), ["read", "audit"]);
    let missing = roles_admin::update(&mut conn, &role("nobody", &[]), actor, now);
    assert!(matches!(missing, Err(RoleError::NoSuchRole(n)) if n == "nobody"));

    drop(conn);
    app.create_user("audit@example.com", "auditor").await;
    let mut conn = app.db.get().unwrap();
    let in_use = roles_admin::delete(&mut conn, "auditor", "guest", actor, now).unwrap_err();
    assert_eq!(
        in_use.to_string(),
        "role \"auditor\" is still the role of 1 user(s): give them another role first"
    );
    let default = roles_admin::delete(&mut conn, "guest", "guest", actor, now).unwrap_err();
    assert_eq!(
        default.to_string(),
        "role \"guest\" is users.default_role (the role of new users): it can't be deleted"
    );
    roles_admin::delete(&mut conn, "instructor", "guest", actor, now).unwrap();
    let gone = roles_admin::delete(&mut conn, "instructor", "guest", actor, now);
    assert!(matches!(gone, Err(RoleError::NoSuchRole(_))));

    // Each change is audited with its actor.
    let mut kinds = Vec::new();
    for kind in ["role_created", "role_changed", "role_deleted"] {
        for row in audit::list(&mut conn, None, Some(kind), None, 100).unwrap() {
            let detail: Value = serde_json::from_str(row.detail.as_deref().unwrap()).unwrap();
            if detail["actor"] == "admin:u-1" {
                kinds.push((row.kind, detail["role"].as_str().unwrap().to_string()));
            }
        }
    }
    let expected = [
        ("role_created", "auditor"),
        ("role_changed", "auditor"),
        ("role_deleted", "instructor"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, r)| (k.to_string(), r.to_string()))
        .collect();
    assert_eq!(kinds, expected);
}

/// A database from before roles were stored (users, no roles) gets the former built-in roles
/// from `portcullis migrate`, so no one's permissions change.
async fn an_upgraded_database_keeps_the_former_built_in_roles(backend: Backend) {
    use diesel::RunQueryDsl;
    let app = spawn_app_with(backend, |s| s.users.roles_file = None).await;
    app.create_user("old@example.com", "guest").await;
    diesel::delete(portcullis::store::schema::roles::table)
        .execute(&mut *app.db.get().unwrap())
        .unwrap();
    let migrated = run_ok(&mut cli(&app, &["migrate"]));
    assert_eq!(
        migrated["roles"],
        serde_json::json!([
            "+ role admin",
            "+ role guest",
            "+ role instructor",
            "+ role student",
            "+ scope chat",
            "+ scope manage_content",
            "+ scope save_progress"
        ])
    );
    assert_eq!(
        listed(&app)
            .into_iter()
            .map(|(name, _)| name)
            .collect::<Vec<_>>(),
        ["admin", "guest", "instructor", "student"]
    );
}

/// `config check` reads `users.roles_file`: a bad one is an error naming its line.
#[test]
fn config_check_names_a_bad_roles_file() {
    let dir = tempfile::tempdir().unwrap();
    let check = |file: &str| {
        let mut c = crate::keys::portcullis();
        c.args(["config", "check"])
            .env("PORTCULLIS_USERS__ROLES_FILE", file);
        c
    };
    let good = write(dir.path(), "good.toml", "[roles]\nguest = [\"read\"]\n");
    run_ok(&mut check(&good));
    let bad = write(
        dir.path(),
        "bad.toml",
        "[roles]\nguest = [\"read\"]\nops = [\"no good\"]\n",
    );
    let err = crate::cli::run_err(&mut check(&bad));
    assert!(
        err.contains(&format!(
            "error: {bad}:3: role \"ops\": permissions: invalid scope names: [\"no good\"]"
        )),
        "{err}"
    );
    let no_guest = write(dir.path(), "no-guest.yaml", "roles:\n  ops: [deploy]\n");
    let err = crate::cli::run_err(&mut check(&no_guest));
    assert!(
        err.contains(&format!(
            "error: users.roles_file: {no_guest} does not name users.default_role \"guest\""
        )),
        "{err}"
    );
}
