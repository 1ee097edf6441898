//! Property tests of the lockout schedule: the delays after full windows, the budgets a guess
//! draws on, the keys of sources.
use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;

/// Any policy `config::validate` accepts: every limit and duration at least 1.
fn policy() -> impl Strategy<Value = LockoutSettings> {
    let secs = prop_oneof![1i64..=100_000, 1i64..=i64::MAX];
    (
        1i32..=i32::MAX,
        secs.clone(),
        1i32..=i32::MAX,
        secs.clone(),
        secs,
    )
        .prop_map(
            |(
                ip_max_failures,
                ip_window_secs,
                account_max_failures,
                account_lock_secs,
                account_relock_secs,
            )| {
                LockoutSettings {
                    ip_max_failures,
                    ip_window_secs,
                    account_max_failures,
                    account_lock_secs,
                    account_relock_secs,
                }
            },
        )
}

/// The account budget's (base, cap), as `Guess::plan` sets it.
fn lock_of(policy: &LockoutSettings) -> (i64, i64) {
    let guess = Guess::second_factor(policy, None, "u1");
    guess.budgets[0].lock.unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The delay after a full window is never less than the previous one, never more than the
    /// cap, and always a real delay (positive) when the base is.
    #[test]
    fn delays_never_shrink_and_stay_under_the_cap(
        base in 1i64..=i64::MAX,
        cap in 1i64..=i64::MAX,
        strikes in -5i32..100,
    ) {
        let d = delay(base, cap, strikes);
        prop_assert!(d >= 1);
        prop_assert!(d <= cap);
        prop_assert!(d <= delay(base, cap, strikes.saturating_add(1)));
        prop_assert_eq!(delay(base, cap, 0), base.min(cap));
    }

    /// "`base` doubling each time, at most `cap`": each strike doubles the delay until the cap.
    #[test]
    fn delays_double_until_the_cap(base in 1i64..=1_000_000, cap in 1i64..=i64::MAX, strikes in 0i32..20) {
        prop_assert_eq!(
            delay(base, cap, strikes + 1),
            delay(base, cap, strikes).saturating_mul(2).min(cap)
        );
    }

    /// For any valid policy, an account lock starts at exactly `account_lock_secs` (the cap is
    /// never below it), and every later lock is at most `max(lock, relock) × 8`.
    #[test]
    fn a_policys_first_lock_is_its_lock_secs(policy in policy(), strikes in 0i32..100) {
        let (base, cap) = lock_of(&policy);
        prop_assert_eq!(base, policy.account_lock_secs);
        prop_assert!(cap >= base);
        prop_assert_eq!(delay(base, cap, 0), policy.account_lock_secs);
        let d = delay(base, cap, strikes);
        prop_assert!(d >= policy.account_lock_secs);
        prop_assert!(d <= policy.account_relock_secs.max(policy.account_lock_secs).saturating_mul(8));
    }

    /// Every kind of guess draws on the same source budget (no lock, limit ≥ 1) and one account
    /// budget under the same rule (limit ≥ 1, the relock window).
    #[test]
    fn every_guess_shares_the_source_budget_and_the_account_rule(
        policy in policy(),
        ip in prop::option::of(prop_oneof![
            any::<Ipv4Addr>().prop_map(|ip| ip.to_string()),
            any::<Ipv6Addr>().prop_map(|ip| ip.to_string()),
            "\\PC{0,10}",
        ]),
        email in "\\PC{0,20}",
        trusted in prop::option::of(("[a-z0-9]{1,8}", "[0-9a-f]{64}")),
    ) {
        let guesses = [
            Guess::plan(&policy, GuessFrom {
                ip: ip.as_deref(),
                email: &email,
                trusted_device: trusted.as_ref().map(|(u, d)| (u.as_str(), d.as_str())),
            }),
            Guess::second_factor(&policy, ip.as_deref(), "u1"),
            Guess::user_code(&policy, ip.as_deref(), "u1"),
        ];
        for g in &guesses {
            prop_assert_eq!(g.budgets.len(), 1 + usize::from(ip.is_some()));
            let account = g.budgets.last().unwrap();
            prop_assert_eq!(account.limit, policy.account_max_failures);
            prop_assert_eq!(account.window, policy.account_relock_secs);
            prop_assert_eq!(account.lock, Some(lock_of(&policy)));
            if ip.is_some() {
                prop_assert_eq!(&g.budgets[0], &guesses[0].budgets[0]);
                prop_assert_eq!(g.budgets[0].lock, None);
                prop_assert_eq!(g.budgets[0].limit, policy.ip_max_failures);
            }
        }
    }

    /// Sources: an IPv4 address and its IPv4-mapped IPv6 form are one source, every IPv6
    /// address of a /64 is one source, and two /64s are two.
    #[test]
    fn sources_are_addresses_and_ipv6_slash_64s(v4 in any::<Ipv4Addr>(), a in any::<u128>(), b in any::<u128>()) {
        prop_assert_eq!(source_key(&v4.to_string()), source_key(&v4.to_ipv6_mapped().to_string()));
        let (a6, b6) = (Ipv6Addr::from(a), Ipv6Addr::from(b));
        prop_assume!(a6.to_ipv4_mapped().is_none() && b6.to_ipv4_mapped().is_none());
        prop_assert_eq!(
            source_key(&a6.to_string()) == source_key(&b6.to_string()),
            a >> 64 == b >> 64
        );
        let same_64 = Ipv6Addr::from((a & !u128::from(u64::MAX)) | (b & u128::from(u64::MAX)));
        prop_assume!(same_64.to_ipv4_mapped().is_none());
        prop_assert_eq!(source_key(&a6.to_string()), source_key(&same_64.to_string()));
    }
}
