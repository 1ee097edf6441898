//! Property tests of the refresh policy a client's profile imposes (`refresh_policy`): the only
//! pure part of refresh-token rotation; reuse detection itself runs in the database transaction
//! (`identity::sessions::rotate`) and is covered by the integration tests.
use proptest::prelude::*;

use super::*;
use crate::oauth::client::account_client;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A fapi2 client's reuse grace is at least `FAPI2_REFRESH_RETRY_SECS` (a retry after a
    /// lost answer succeeds); any other client's is the configured one. Nothing else changes,
    /// and the grace is never lowered.
    #[test]
    fn only_a_fapi2_clients_grace_is_raised(
        grace in 0i64..100_000,
        idle in 1i64..10_000_000,
        ttl in 1i64..10_000_000,
        fapi2 in any::<bool>(),
    ) {
        let settings = SessionSettings {
            refresh_reuse_grace_secs: grace,
            refresh_token_idle_secs: idle,
            refresh_token_ttl_secs: ttl,
            ..SessionSettings::default()
        };
        let client = Client {
            profile: fapi2.then_some(Profile::Fapi2),
            ..account_client()
        };
        let policy = refresh_policy(&client, &settings);
        let expected = if fapi2 { grace.max(FAPI2_REFRESH_RETRY_SECS) } else { grace };
        prop_assert_eq!(policy.refresh_reuse_grace_secs, expected);
        prop_assert!(policy.refresh_reuse_grace_secs >= grace);
        prop_assert_eq!(
            SessionSettings { refresh_reuse_grace_secs: grace, ..policy.into_owned() },
            settings
        );
    }
}
