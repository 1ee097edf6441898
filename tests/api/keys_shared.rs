//! Keys in the database: two instances with separate keys directories agree through a rotation;
//! no private key is in the database in clear; the key-encryption key is required, checked and
//! replaceable; key files of earlier versions are imported.
use std::time::Duration;

use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jwk::alg::ed::EdKeyPair;
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jwk::KeyPair;
use portcullis::oauth::registration::ClientSpec;
use portcullis::store::signing_keys;
use portcullis::tokens::keys::{kek, ops};
use portcullis::tokens::Alg;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{spawn_app_with, spawn_sibling_with, Backend, TestApp};
use crate::key_helpers::TEST_KEK;
use crate::keys::{cli_json, jwks_kids, portcullis, token_kid};

both_backends!(
    two_instances_with_their_own_keys_dirs_agree_through_a_rotation,
    the_database_holds_no_private_key_in_clear
);

async fn introspect_active(on: &TestApp, rs: &crate::helpers::TestClient, token: &str) -> bool {
    let body: Value = on
        .api
        .post(on.url("/introspect"))
        .basic_auth(&rs.id, Some(&rs.secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["active"] == true
}

/// 60 s of server time at 4× speed (the injected clock moves 1 s every 250 ms; each instance
/// re-reads the keys every real second, i.e. every 4 s of server time, under a publish-ahead of
/// 10 s). Every step: a token from each instance, each token's kid in both JWKS, and each
/// instance's `/introspect` accepting the other's token. `keys rotate` runs at 10 s.
async fn two_instances_with_their_own_keys_dirs_agree_through_a_rotation(backend: Backend) {
    let a = spawn_app_with(backend, |s| {
        s.keys.reload_interval_secs = 1;
        s.keys.jwks_max_age_secs = 1;
        s.keys.publish_ahead_secs = 10;
        s.keys.encryption_key = Some(TEST_KEK.into());
    })
    .await;
    // Behind one load balancer: the same issuer, each with a keys directory of its own.
    let issuer = a.address.clone();
    let b = spawn_sibling_with(&a, |s, dir| {
        s.keys_dir = dir.to_path_buf();
        s.issuer = issuer;
        s.bind = Some("127.0.0.1:0".into());
    })
    .await;
    assert_ne!(a.settings.keys_dir, b.settings.keys_dir);
    assert_eq!(a.jwks().await, b.jwks().await);
    let client = a.service_client();
    let rs = a.create_client(ClientSpec {
        name: "resource server".into(),
        can_introspect: true,
        ..ClientSpec::default()
    });
    let mut new_kid = None;
    let mut signed_by_new = [false, false];
    for step in 0..60 {
        if step == 10 {
            // In process, at the injected time (the CLI would read the wall clock).
            match a.rotate_keys(Alg::RS256, false) {
                ops::Rotation::Scheduled(info) => new_kid = Some(info.kid),
                other => panic!("{other:?}"),
            }
        }
        let (ta, ka) = token_kid(&a, &client).await;
        let (tb, kb) = token_kid(&b, &client).await;
        let (ja, jb) = (jwks_kids(&a.jwks().await), jwks_kids(&b.jwks().await));
        for (who, kid) in [("a", &ka), ("b", &kb)] {
            assert!(
                ja.contains(kid) && jb.contains(kid),
                "step {step}: {who}'s kid {kid} missing from a {ja:?} or b {jb:?}"
            );
        }
        assert!(
            introspect_active(&b, &rs, &ta).await,
            "step {step}: b refused a's token"
        );
        assert!(
            introspect_active(&a, &rs, &tb).await,
            "step {step}: a refused b's token"
        );
        for (i, kid) in [ka, kb].iter().enumerate() {
            signed_by_new[i] |= Some(kid) == new_kid.as_ref();
        }
        a.clock.advance(1);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        signed_by_new,
        [true, true],
        "both instances moved to the new key"
    );
}

/// Every private key (RS256, ES256, EdDSA) opened with the key-encryption key; then the whole
/// database (the SQLite file and its WAL; `pg_dump` of PostgreSQL) searched for the PEM, its
/// base64 body, the JWK `d` (base64url) and `d`'s raw bytes.
async fn the_database_holds_no_private_key_in_clear(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.keys.algorithms = vec![Alg::RS256, Alg::ES256, Alg::EdDSA];
    })
    .await;
    let kek = kek::resolve(&app.settings, false).unwrap();
    let rows = signing_keys::all(&mut app.db.get().unwrap()).unwrap();
    assert_eq!(rows.len(), 3);
    let mut needles: Vec<Vec<u8>> = vec![b"PRIVATE KEY".to_vec()];
    for row in &rows {
        assert_eq!(row.kek_id, kek.id());
        let alg: Alg = row.alg.parse().unwrap();
        let pem = kek
            .open(&row.private_key, &ops::seal_context(&row.kid, alg))
            .unwrap();
        let private = match alg {
            Alg::RS256 => RsaKeyPair::from_pem(&pem).unwrap().to_jwk_private_key(),
            Alg::PS256 => josekit::jws::PS256
                .key_pair_from_pem(&pem)
                .unwrap()
                .to_jwk_private_key(),
            Alg::ES256 => EcKeyPair::from_pem(&pem, Some(EcCurve::P256))
                .unwrap()
                .to_jwk_private_key(),
            Alg::EdDSA => EdKeyPair::from_pem(&pem).unwrap().to_jwk_private_key(),
        };
        let d = private
            .parameter("d")
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&d)
            .unwrap();
        let body = String::from_utf8(pem.clone()).unwrap();
        let body_line = body.lines().nth(1).unwrap().to_string();
        needles.extend([d.into_bytes(), raw, body_line.into_bytes()]);
        assert!(!row.public_jwk.contains("\"d\""));
    }
    let dump: Vec<u8> = match backend {
        Backend::Sqlite => {
            let path = app.settings.database_url.trim_start_matches("sqlite://");
            let mut all = std::fs::read(path).unwrap();
            if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
                all.extend(wal);
            }
            all
        }
        Backend::Postgres => {
            let out = std::process::Command::new("pg_dump")
                .arg(&app.settings.database_url)
                .output()
                .expect("pg_dump runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        }
    };
    assert!(dump.len() > 10_000, "the dump has the database in it");
    assert!(
        dump.windows(rows[0].kid.len())
            .any(|w| w == rows[0].kid.as_bytes()),
        "the dump holds the keys' rows"
    );
    for needle in &needles {
        assert!(
            !dump.windows(needle.len()).any(|w| w == needle.as_slice()),
            "private material in the dump: {}",
            String::from_utf8_lossy(needle)
        );
    }
}

both_backends!(the_key_encryption_key_is_required_checked_and_replaceable);

async fn the_key_encryption_key_is_required_checked_and_replaceable(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.keys.encryption_key = Some(TEST_KEK.into())).await;
    let client = app.service_client();
    let (_, kid) = token_kid(&app, &client).await;
    let mut settings = app.settings.clone();
    settings.issuer = "http://127.0.0.1:0".into();
    settings.bind = None;

    // Another key-encryption key cannot open the keys: the server refuses to start, saying so.
    let mut wrong = settings.clone();
    wrong.keys.encryption_key = Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into());
    let err = portcullis::startup::Application::build(wrong)
        .await
        .err()
        .expect("refused");
    let err = format!("{err:#}");
    assert!(err.contains("key-encryption key"), "{err}");

    // PostgreSQL without one is refused outright; `config check` says so for production.
    if backend == Backend::Postgres {
        let mut none = settings.clone();
        none.keys.encryption_key = None;
        let err = portcullis::startup::Application::build(none)
            .await
            .err()
            .unwrap();
        assert!(
            format!("{err:#}").contains("keys.encryption_key"),
            "{err:#}"
        );
        let out = portcullis()
            .args(["config", "check"])
            .env("PORTCULLIS_DATABASE_URL", &app.settings.database_url)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("keys.encryption_key")
                || String::from_utf8_lossy(&out.stderr).contains("keys.encryption_key")
        );
    }

    // Re-encrypt under a new key: the old one no longer opens them, the new one does.
    let dir = tempfile::tempdir().unwrap();
    let new_key = "bmV3LWtleS1mb3ItcG9ydGN1bGxpcy10ZXN0cy0xMjM=";
    std::fs::write(dir.path().join("new.key"), new_key).unwrap();
    let out = cli_json(
        &app,
        &[
            "keys",
            "rewrap",
            "--new-key-file",
            dir.path().join("new.key").to_str().unwrap(),
        ],
    );
    assert_eq!(out["rewrapped"], 1, "{out}");
    let old_err = portcullis::startup::Application::build(settings.clone())
        .await
        .err()
        .unwrap();
    assert!(
        format!("{old_err:#}").contains("key-encryption key"),
        "{old_err:#}"
    );
    let mut renewed = settings.clone();
    renewed.keys.encryption_key = Some(new_key.into());
    let app2 = portcullis::startup::Application::build(renewed)
        .await
        .unwrap();
    let port = app2.port();
    let server = tokio::spawn(app2.run_until_stopped());
    let jwks: Value = reqwest::get(format!("http://127.0.0.1:{port}/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks_kids(&jwks), [kid]);
    server.abort();
}

both_backends!(key_files_of_an_earlier_version_are_imported_on_first_start);

/// An upgrade from file keys: the old directory's keys move into the database at the first
/// start; the newest one keeps signing, the older one stays published.
async fn key_files_of_an_earlier_version_are_imported_on_first_start(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    std::fs::create_dir(&keys_dir).unwrap();
    let now = portcullis::clock::Clock::now(&portcullis::clock::SystemClock);
    let mut file_kids = Vec::new();
    for (i, created) in [now - 1_000, now - 100].iter().enumerate() {
        let pair = josekit::jws::RS256.generate_key_pair(2048).unwrap();
        let kid = portcullis::tokens::keys::thumbprint(&pair.to_jwk_public_key()).unwrap();
        let path = keys_dir.join(format!("{}-{kid}.pem", created * 1000 + i as i64));
        std::fs::write(&path, pair.to_pem_private_key()).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        file_kids.push(kid);
    }
    let kd = keys_dir.clone();
    let app = spawn_app_with(backend, move |s| s.keys_dir = kd).await;
    let client = app.service_client();
    assert_eq!(token_kid(&app, &client).await.1, file_kids[1]);
    let published = jwks_kids(&app.jwks().await);
    assert!(
        file_kids.iter().all(|k| published.contains(k)),
        "{published:?}"
    );
    // Importing again (by hand) is harmless.
    let again = cli_json(&app, &["keys", "import", keys_dir.to_str().unwrap()]);
    assert_eq!(again["imported"], serde_json::json!([]));
}
