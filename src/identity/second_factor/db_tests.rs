//! The second-factor domain functions on a real (SQLite) database with a fixed clock.
use std::sync::Arc;

use totp_rs::{Builder, Secret};

use super::CodeOutcome::{Accepted, Replayed, Throttled, Wrong};
use super::*;
use crate::identity::totp::TotpError;
use crate::store::totp as store;
use crate::store::users::{self as users, UserRow};
use crate::tokens::keys::Policy;

/// A fixed "now", mid-step.
const T: i64 = 1_700_000_010;

fn code_at(secret: &str, t: i64) -> String {
    Builder::new()
        .with_secret(Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap()
        .generate(t as u64)
        .to_string()
}

fn wrong_code_at(secret: &str, t: i64) -> String {
    let near: Vec<String> = [t - 30, t, t + 30]
        .iter()
        .map(|&s| code_at(secret, s))
        .collect();
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .unwrap()
}

fn database() -> (tempfile::TempDir, Db, User) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let db = Db::open(&url, 2).unwrap();
    db.migrate().unwrap();
    let row = UserRow {
        id: "u1".into(),
        email: "ada@example.com".into(),
        email_lower: "ada@example.com".into(),
        name: None,
        password_hash: None,
        role: "student".into(),
        email_verified: true,
        disabled: false,
        failed_logins: 0,
        lockouts: 0,
        locked_until: None,
        created_at: T,
        updated_at: T,
    };
    assert!(users::insert(&mut db.get().unwrap(), &row).unwrap());
    (dir, db, User::from(&row))
}

#[test]
fn an_app_is_confirmed_by_a_first_code_then_each_step_counts_once() {
    let (_dir, db, user) = database();
    let mut conn = db.get().unwrap();
    let c = &mut *conn;
    let (kek, meta) = (Kek::generate().unwrap(), RequestMeta::default());
    let issuer = "https://id.example.com";
    assert!(matches!(
        totp::confirm(c, &kek, &user.id, "123456", &meta, T),
        Err(TotpError::NotStarted)
    ));
    let first = totp::start(c, &kek, issuer, &user, T).unwrap();
    // Starting again replaces the unconfirmed secret.
    let e = totp::start(c, &kek, issuer, &user, T).unwrap();
    assert_ne!(e.secret, first.secret);
    assert_eq!(
        totp::pending(c, &kek, issuer, &user).unwrap(),
        Some(e.clone())
    );
    let wrong = wrong_code_at(&e.secret, T);
    assert!(matches!(
        totp::confirm(c, &kek, &user.id, &wrong, &meta, T),
        Err(TotpError::WrongCode)
    ));
    assert!(!totp::enabled(c, &user.id).unwrap());
    let code = code_at(&e.secret, T);
    totp::confirm(c, &kek, &user.id, &code, &meta, T).unwrap();
    assert!(totp::enabled(c, &user.id).unwrap());
    assert_eq!(totp::pending(c, &kek, issuer, &user).unwrap(), None);
    assert!(matches!(
        totp::start(c, &kek, issuer, &user, T),
        Err(TotpError::AlreadyEnabled)
    ));

    // The confirming code's step is used; the next step's code works once; an older step's
    // code, still inside the skew, is a replay too.
    assert_eq!(
        totp::verify(c, &kek, &user.id, &code, T).unwrap(),
        Checked::Replayed
    );
    let next = code_at(&e.secret, T + 30);
    assert_eq!(
        totp::verify(c, &kek, &user.id, &next, T + 30).unwrap(),
        Checked::Accepted
    );
    assert_eq!(
        totp::verify(c, &kek, &user.id, &next, T + 30).unwrap(),
        Checked::Replayed
    );
    assert_eq!(
        totp::verify(c, &kek, &user.id, &code, T + 30).unwrap(),
        Checked::Replayed
    );
    let wrong = wrong_code_at(&e.secret, T + 60);
    assert_eq!(
        totp::verify(c, &kek, &user.id, &wrong, T + 60).unwrap(),
        Checked::Wrong
    );
    // Of two uses of one step, one wins (one conditional UPDATE).
    let step = (T + 90) / totp::STEP_SECS;
    assert!(store::use_step(c, &user.id, step).unwrap());
    assert!(!store::use_step(c, &user.id, step).unwrap());

    // A new key-encryption key: the secret is re-sealed, the old key no longer opens it.
    let new = Kek::generate().unwrap();
    assert_eq!(totp::rewrap(c, &kek, &new).unwrap(), 1);
    let later = code_at(&e.secret, T + 150);
    assert!(totp::verify(c, &kek, &user.id, &later, T + 150).is_err());
    assert_eq!(
        totp::verify(c, &new, &user.id, &later, T + 150).unwrap(),
        Checked::Accepted
    );

    totp::disable(c, &user.id, &meta, T + 200).unwrap();
    assert!(matches!(
        totp::disable(c, &user.id, &meta, T + 200),
        Err(TotpError::NotEnabled)
    ));
    let now = code_at(&e.secret, T + 210);
    assert_eq!(
        totp::verify(c, &new, &user.id, &now, T + 210).unwrap(),
        Checked::NotEnabled
    );
}

#[test]
fn recovery_codes_are_redeemed_once_and_replaced_by_a_new_set() {
    let (_dir, db, user) = database();
    let mut conn = db.get().unwrap();
    let c = &mut *conn;
    let meta = RequestMeta::default();
    let codes = recovery_codes::generate(c, &user.id, &meta, T).unwrap();
    assert_eq!(codes.len(), recovery_codes::COUNT);
    assert_eq!(recovery_codes::remaining(c, &user.id).unwrap(), 10);
    let first = recovery_codes::normalise(&codes[0]).unwrap();
    assert_eq!(
        recovery_codes::redeem(c, &user.id, &first, T).unwrap(),
        Some(9)
    );
    assert_eq!(
        recovery_codes::redeem(c, &user.id, &first, T).unwrap(),
        None
    );
    assert_eq!(
        recovery_codes::redeem(c, "someone-else", &first, T).unwrap(),
        None
    );
    let again = recovery_codes::generate(c, &user.id, &meta, T + 1).unwrap();
    let old = recovery_codes::normalise(&codes[1]).unwrap();
    assert_eq!(
        recovery_codes::redeem(c, &user.id, &old, T + 1).unwrap(),
        None
    );
    assert_eq!(recovery_codes::remaining(c, &user.id).unwrap(), 10);
    let fresh = recovery_codes::normalise(&again[9]).unwrap();
    assert_eq!(
        recovery_codes::redeem(c, &user.id, &fresh, T + 1).unwrap(),
        Some(9)
    );
}

#[tokio::test]
async fn check_code_accepts_each_kind_once_and_throttles_wrong_guesses() {
    let (_dir, db, user) = database();
    let mut settings = Settings::default();
    settings.lockout.account_max_failures = 2;
    settings.lockout.ip_max_failures = 100;
    let keys = {
        let mut conn = db.get().unwrap();
        let policy = Policy::from_settings(&settings);
        Arc::new(KeyStore::open(&mut conn, Kek::generate().unwrap(), policy, None, T).unwrap())
    };
    let mailer = Mailer::disabled();
    let f = Factors {
        db: &db,
        mailer: &mailer,
        settings: &settings,
        keys: &keys,
    };
    let meta = RequestMeta {
        ip: Some("203.0.113.9".into()),
        user_agent: None,
    };
    let e = start_totp(f, &user, T).await.unwrap();
    confirm_totp(f, &user, &code_at(&e.secret, T), &meta, T)
        .await
        .unwrap();
    let codes = new_recovery_codes(f, &user, &meta, T).await.unwrap();
    let enrolled = status(f, &user.id).await.unwrap();
    assert_eq!(
        enrolled,
        Enrolled {
            totp: true,
            recovery_codes_left: 10
        }
    );

    let totp = Accepted {
        method: CodeMethod::Totp,
    };
    let next = code_at(&e.secret, T + 30);
    assert_eq!(
        check_code(f, &user, &next, &meta, T + 30).await.unwrap(),
        totp
    );
    // A right guess cleared the budget; a replay and a wrong code fill it (limit 2).
    assert_eq!(
        check_code(f, &user, &next, &meta, T + 30).await.unwrap(),
        Replayed
    );
    assert_eq!(
        check_code(f, &user, "nonsense", &meta, T + 30)
            .await
            .unwrap(),
        Wrong
    );
    let later = code_at(&e.secret, T + 60);
    // Locked at T + 30, for `account_lock_secs`.
    let throttled = Throttled {
        retry_after: settings.lockout.account_lock_secs - 30,
    };
    assert_eq!(
        check_code(f, &user, &later, &meta, T + 60).await.unwrap(),
        throttled
    );
    // After the lock, a recovery code (as typed, with spaces) is accepted once.
    let at = T + 30 + settings.lockout.account_lock_secs;
    let typed = codes[4].replace('-', " ").to_lowercase();
    let recovery = Accepted {
        method: CodeMethod::RecoveryCode,
    };
    assert_eq!(
        check_code(f, &user, &typed, &meta, at).await.unwrap(),
        recovery
    );
    assert_eq!(
        check_code(f, &user, &typed, &meta, at).await.unwrap(),
        Wrong
    );
    assert_eq!(status(f, &user.id).await.unwrap().recovery_codes_left, 9);

    let mut conn = db.get().unwrap();
    let kinds: Vec<(String, String)> =
        crate::store::audit::list(&mut conn, Some(&user.id), None, None, 50)
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.outcome))
            .collect();
    for expected in [
        ("second_factor", "success"),
        ("second_factor", "failure"),
        ("lockout", "success"),
        ("recovery_code_used", "success"),
        ("totp_enabled", "success"),
        ("recovery_codes_generated", "success"),
    ] {
        let expected = (expected.0.to_string(), expected.1.to_string());
        assert!(kinds.contains(&expected), "{expected:?} not in {kinds:?}");
    }
}
