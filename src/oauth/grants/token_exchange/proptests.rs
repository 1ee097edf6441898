//! Property tests of token exchange's scope narrowing (`scopes`).
use proptest::prelude::*;

use super::*;

fn tokens() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop::sample::select(vec!["read", "write", "chat", "openid", "admin"])
            .prop_map(String::from),
        0..5,
    )
}

fn distinct(tokens: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tokens {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The result is at most the subject token's scopes ∩ the client's: nothing asked (absent or
    /// empty) → all of that, in the subject's order; asked → exactly what was asked when it is
    /// all within, else `invalid_scope`.
    #[test]
    fn exchanged_scopes_only_narrow(
        requested in tokens(),
        subject in tokens(),
        client in tokens(),
        absent in any::<bool>(),
    ) {
        // As `scope::parse` hands them over: distinct.
        let requested = distinct(requested);
        let available: Vec<String> =
            subject.iter().filter(|s| client.contains(s)).cloned().collect();
        let result = scopes((!absent).then(|| requested.clone()), &subject, &client);
        if absent || requested.is_empty() {
            prop_assert_eq!(result.unwrap(), available);
        } else if requested.iter().all(|s| available.contains(s)) {
            let granted = result.unwrap();
            prop_assert!(granted.iter().all(|s| subject.contains(s) && client.contains(s)));
            prop_assert_eq!(granted, requested);
        } else {
            prop_assert_eq!(result.unwrap_err().code(), ErrorCode::InvalidScope);
        }
    }
}
