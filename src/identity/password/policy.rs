//! The password policy: its rules, shown before anyone types, and each one a password breaks.
use serde::Serialize;

use crate::config::PasswordSettings;

/// One broken rule of the password policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub rule: &'static str,
    pub message: String,
}

/// The rules of the policy in force, to show before anyone types (`max_length` only shows when
/// broken).
pub fn policy_rules(s: &PasswordSettings) -> Vec<Violation> {
    let mut out = vec![Violation {
        rule: "min_length",
        message: format!("at least {} characters", s.min_length),
    }];
    let mut add = |on: bool, rule: &'static str, message: &str| {
        if on {
            out.push(Violation {
                rule,
                message: message.to_string(),
            });
        }
    };
    add(
        s.require_uppercase,
        "uppercase",
        "at least one upper-case letter",
    );
    add(
        s.require_lowercase,
        "lowercase",
        "at least one lower-case letter",
    );
    add(s.require_digit, "digit", "at least one digit");
    add(true, "not_email", "must not be your email address");
    out
}

/// Every rule `password` breaks (empty: acceptable).
pub fn check_policy(s: &PasswordSettings, password: &str, email: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let len = password.chars().count();
    let mut rule = |ok: bool, rule: &'static str, message: String| {
        if !ok {
            out.push(Violation { rule, message });
        }
    };
    rule(
        len >= s.min_length,
        "min_length",
        format!("at least {} characters", s.min_length),
    );
    rule(
        len <= s.max_length,
        "max_length",
        format!("at most {} characters", s.max_length),
    );
    rule(
        !s.require_uppercase || password.chars().any(char::is_uppercase),
        "uppercase",
        "at least one upper-case letter".into(),
    );
    rule(
        !s.require_lowercase || password.chars().any(char::is_lowercase),
        "lowercase",
        "at least one lower-case letter".into(),
    );
    rule(
        !s.require_digit || password.chars().any(|c| c.is_ascii_digit()),
        "digit",
        "at least one digit".into(),
    );
    rule(
        !password.trim().eq_ignore_ascii_case(email.trim()),
        "not_email",
        "must not be your email address".into(),
    );
    // Invisible characters that can't be typed back reliably (control characters are already
    // refused at the HTTP edge; this also covers the CLI).
    rule(
        !password.chars().any(|c| {
            crate::identity::text::is_refused_control(c)
                || crate::identity::text::is_bidi_control(c)
        }),
        "no_control_characters",
        "no control or bidi override characters".into(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_reports_each_rule() {
        let s = PasswordSettings::default();
        let rules: Vec<&str> = check_policy(&s, "abc", "a@b.c")
            .iter()
            .map(|v| v.rule)
            .collect();
        assert_eq!(rules, ["min_length", "uppercase", "digit"]);
        assert!(check_policy(&s, "Correct1Horse", "a@b.c").is_empty());
        let rules: Vec<&str> = check_policy(&s, "Ann@Example1.com", "ann@example1.com")
            .iter()
            .map(|v| v.rule)
            .collect();
        assert_eq!(rules, ["not_email"]);
        assert_eq!(
            check_policy(&s, &"Aa1".repeat(400), "x")[0].rule,
            "max_length"
        );
    }
}
