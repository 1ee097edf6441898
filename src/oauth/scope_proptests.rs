//! Property tests of scope parsing and granting (RFC 6749 §3.3), over generated requests.
use proptest::prelude::*;

use super::*;

/// A scope token: mostly from a small vocabulary (so requests and allowances overlap), else any
/// RFC 6749 §3.3 token.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "openid", "profile", "email", "address", "phone", "read", "write", "a", "b",
        ])
        .prop_map(String::from),
        1 => "[!#-\\[\\]-~]{1,6}",
    ]
}

fn tokens(max: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(token(), 0..max)
}

/// `tokens` written as a scope parameter: one or more spaces between, maybe around.
fn joined(tokens: &[String], gaps: &[usize]) -> String {
    let mut out = " ".repeat(gaps.first().copied().unwrap_or(0) % 2);
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            out.push_str(&" ".repeat(1 + gaps.get(i).copied().unwrap_or(0) % 3));
        }
        out.push_str(t);
    }
    out
}

/// The first occurrence of each token, in order.
fn distinct(tokens: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tokens {
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `parse` never panics; what it returns are RFC 6749 §3.3 tokens, distinct, in the order
    /// they first appear; it refuses (`invalid_scope`) exactly the input holding a bad token.
    #[test]
    fn parse_returns_only_valid_distinct_tokens_in_order(raw in "[ \t\"\\\\a-c!~\u{e9}\u{7f}\n]{0,24}|\\PC{0,24}") {
        let pieces: Vec<String> = raw.split(' ').filter(|t| !t.is_empty()).map(String::from).collect();
        match parse(&raw) {
            Ok(parsed) => {
                prop_assert!(parsed.iter().all(|t| is_valid_token(t)));
                prop_assert_eq!(parsed, distinct(&pieces));
            }
            Err(e) => {
                prop_assert_eq!(e.code(), ErrorCode::InvalidScope);
                prop_assert!(pieces.iter().any(|t| !is_valid_token(t)));
            }
        }
    }

    /// Valid tokens joined by any run of spaces parse back to themselves, de-duplicated.
    #[test]
    fn parse_round_trips_joined_tokens(ts in tokens(8), gaps in prop::collection::vec(0usize..6, 8)) {
        prop_assert_eq!(parse(&joined(&ts, &gaps)).unwrap(), distinct(&ts));
    }

    /// `grant`: absent or empty → every allowed scope; otherwise the requested ones
    /// (distinct, in order) when all are allowed, else `invalid_scope`. So granted ⊆ allowed,
    /// and granted ⊆ requested when something was requested.
    #[test]
    fn grant_narrows_to_the_allowed_set(
        requested in tokens(6),
        allowed in tokens(6),
        gaps in prop::collection::vec(0usize..6, 6),
        absent in any::<bool>(),
    ) {
        let raw = joined(&requested, &gaps);
        let result = grant(if absent { None } else { Some(raw.as_str()) }, &allowed);
        if absent || requested.is_empty() {
            prop_assert_eq!(result.unwrap(), allowed);
        } else if requested.iter().all(|t| allowed.contains(t)) {
            let granted = result.unwrap();
            prop_assert!(granted.iter().all(|t| allowed.contains(t) && requested.contains(t)));
            prop_assert_eq!(granted, distinct(&requested));
        } else {
            prop_assert_eq!(result.unwrap_err().code(), ErrorCode::InvalidScope);
        }
    }

    /// `grant_oidc` is `grant` unless `openid` is asked for; then the `address` and `phone`
    /// scopes the client is not registered for are left out, and any other scope outside the
    /// allowed set is still `invalid_scope`.
    #[test]
    fn grant_oidc_only_drops_unheld_claim_scopes(
        requested in tokens(6),
        allowed in tokens(6),
        gaps in prop::collection::vec(0usize..6, 6),
        absent in any::<bool>(),
    ) {
        let raw = joined(&requested, &gaps);
        let raw = if absent { None } else { Some(raw.as_str()) };
        let result = grant_oidc(raw, &allowed);
        if absent || !requested.iter().any(|t| t == "openid") {
            prop_assert_eq!(
                result.map_err(|e| e.code()),
                grant(raw, &allowed).map_err(|e| e.code())
            );
            return Ok(());
        }
        let kept: Vec<String> = distinct(&requested)
            .into_iter()
            .filter(|t| !UNHELD_CLAIM_SCOPES.contains(&t.as_str()) || allowed.contains(t))
            .collect();
        if kept.iter().all(|t| allowed.contains(t)) {
            let granted = result.unwrap();
            prop_assert!(granted.iter().all(|t| allowed.contains(t) && requested.contains(t)));
            prop_assert_eq!(granted, kept);
        } else {
            prop_assert_eq!(result.unwrap_err().code(), ErrorCode::InvalidScope);
        }
    }

    /// A malformed scope parameter is `invalid_scope` for both, whatever the client may have.
    #[test]
    fn malformed_scope_is_refused(
        ts in tokens(4),
        bad in "[\t\"\\\\\u{e9}\u{0}]",
        at in 0usize..5,
        allowed in tokens(6),
    ) {
        let mut ts = ts;
        let at = at.min(ts.len());
        ts.insert(at, format!("x{bad}"));
        let raw = ts.join(" ");
        prop_assert_eq!(grant(Some(&raw), &allowed).unwrap_err().code(), ErrorCode::InvalidScope);
        prop_assert_eq!(grant_oidc(Some(&raw), &allowed).unwrap_err().code(), ErrorCode::InvalidScope);
    }
}
