//! The polling state machine of RFC 8628 §3.5, free of storage: given what is stored about a
//! device request and the time, what a poll of `/token` answers and what it records.
use crate::oauth::ErrorCode;

/// RFC 8628 §3.5: each `slow_down` adds this much to the interval, for good.
pub const SLOW_DOWN_STEP_SECS: i64 = 5;

/// The user's side of a request, as stored (`status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Approved,
    Denied,
    /// A poll got the tokens already.
    Used,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Denied => "denied",
            Status::Used => "used",
        }
    }

    /// A stored status; anything unknown reads as used (it never issues tokens).
    pub fn parse(s: &str) -> Status {
        match s {
            "pending" => Status::Pending,
            "approved" => Status::Approved,
            "denied" => Status::Denied,
            _ => Status::Used,
        }
    }
}

/// What a poll sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollState {
    pub status: Status,
    pub interval_secs: i64,
    pub last_polled_at: Option<i64>,
    pub expires_at: i64,
}

/// What a poll answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Issue the tokens (after claiming the request, which one poll wins).
    Issue,
    /// An RFC 8628 §3.5 (or RFC 6749) error.
    Refuse(ErrorCode),
}

/// A poll's outcome: the answer, and the interval to record with the poll (`None`: nothing is
/// recorded, the request is over).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub answer: Answer,
    pub record_interval: Option<i64>,
}

/// Decides a poll at `now`. Expiry first (an expired request answers nothing else); then the
/// pace: a poll sooner than `interval` after the previous one is `slow_down` and the interval
/// grows; then the user's decision.
pub fn decide(state: &PollState, now: i64) -> Outcome {
    if now >= state.expires_at {
        return Outcome {
            answer: Answer::Refuse(ErrorCode::ExpiredToken),
            record_interval: None,
        };
    }
    if state.status == Status::Used {
        return Outcome {
            answer: Answer::Refuse(ErrorCode::InvalidGrant),
            record_interval: None,
        };
    }
    if state
        .last_polled_at
        .is_some_and(|last| now - last < state.interval_secs)
    {
        return Outcome {
            answer: Answer::Refuse(ErrorCode::SlowDown),
            record_interval: Some(state.interval_secs + SLOW_DOWN_STEP_SECS),
        };
    }
    let answer = match state.status {
        Status::Pending => Answer::Refuse(ErrorCode::AuthorizationPending),
        Status::Denied => Answer::Refuse(ErrorCode::AccessDenied),
        Status::Approved => Answer::Issue,
        Status::Used => Answer::Refuse(ErrorCode::InvalidGrant),
    };
    Outcome {
        answer,
        record_interval: Some(state.interval_secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: Status, last: Option<i64>) -> PollState {
        PollState {
            status,
            interval_secs: 5,
            last_polled_at: last,
            expires_at: 1_600,
        }
    }

    fn refused(code: ErrorCode, interval: Option<i64>) -> Outcome {
        Outcome {
            answer: Answer::Refuse(code),
            record_interval: interval,
        }
    }

    #[test]
    fn the_first_poll_and_polls_at_the_interval_see_the_decision() {
        let pending = state(Status::Pending, None);
        assert_eq!(
            decide(&pending, 1_000),
            refused(ErrorCode::AuthorizationPending, Some(5))
        );
        let pending = state(Status::Pending, Some(1_000));
        assert_eq!(
            decide(&pending, 1_005),
            refused(ErrorCode::AuthorizationPending, Some(5))
        );
        assert_eq!(
            decide(&state(Status::Denied, Some(1_000)), 1_005),
            refused(ErrorCode::AccessDenied, Some(5))
        );
        assert_eq!(
            decide(&state(Status::Approved, Some(1_000)), 1_005),
            Outcome {
                answer: Answer::Issue,
                record_interval: Some(5)
            }
        );
    }

    #[test]
    fn polling_too_fast_is_slow_down_and_the_interval_grows_for_good() {
        let s = state(Status::Pending, Some(1_000));
        assert_eq!(decide(&s, 1_004), refused(ErrorCode::SlowDown, Some(10)));
        // Even an approved request answers slow_down to a poll that came too soon.
        let s = state(Status::Approved, Some(1_000));
        assert_eq!(decide(&s, 1_000), refused(ErrorCode::SlowDown, Some(10)));
        // With the grown interval stored, 5 s is too soon, 10 s is fine.
        let grown = PollState {
            interval_secs: 10,
            ..state(Status::Pending, Some(1_004))
        };
        assert_eq!(
            decide(&grown, 1_009),
            refused(ErrorCode::SlowDown, Some(15))
        );
        assert_eq!(
            decide(&grown, 1_014),
            refused(ErrorCode::AuthorizationPending, Some(10))
        );
    }

    #[test]
    fn expired_and_used_requests_answer_nothing_else() {
        for status in [
            Status::Pending,
            Status::Approved,
            Status::Denied,
            Status::Used,
        ] {
            assert_eq!(
                decide(&state(status, Some(1_599)), 1_600),
                refused(ErrorCode::ExpiredToken, None),
                "{status:?}"
            );
        }
        assert_eq!(
            decide(&state(Status::Used, Some(1_000)), 1_001),
            refused(ErrorCode::InvalidGrant, None)
        );
    }

    #[test]
    fn statuses_round_trip_and_unknown_ones_never_issue() {
        for s in [
            Status::Pending,
            Status::Approved,
            Status::Denied,
            Status::Used,
        ] {
            assert_eq!(Status::parse(s.as_str()), s);
        }
        assert_eq!(Status::parse("approved "), Status::Used);
    }
}
