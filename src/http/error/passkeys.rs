//! Passkey failures: JSON answers of the ceremony endpoints, and what the pages say.
use actix_web::http::StatusCode;

use super::ApiError;
use crate::identity::passkeys::PasskeyError;

/// The status of each refusal (never 5xx for what the browser sent).
pub fn status(e: &PasskeyError) -> StatusCode {
    match e {
        PasskeyError::Unavailable | PasskeyError::NotFound => StatusCode::NOT_FOUND,
        PasskeyError::InvalidName(_) => StatusCode::UNPROCESSABLE_ENTITY,
        PasskeyError::Ceremony | PasskeyError::Rejected => StatusCode::BAD_REQUEST,
        PasskeyError::UnknownPasskey => StatusCode::UNAUTHORIZED,
        PasskeyError::Disabled | PasskeyError::Unverified | PasskeyError::Reauthenticate => {
            StatusCode::FORBIDDEN
        }
        PasskeyError::AlreadyRegistered => StatusCode::CONFLICT,
        PasskeyError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What a person is told (the pages).
pub fn message(e: &PasskeyError) -> &'static str {
    match e {
        PasskeyError::Unavailable => "Passkeys are not available on this server.",
        PasskeyError::NotFound => "That passkey does not exist (it may have been removed).",
        PasskeyError::InvalidName(_) => "Give the passkey a name of 1 to 60 characters.",
        PasskeyError::Ceremony => {
            "This passkey request expired, was already used, or was started in another \
             browser. Try again."
        }
        PasskeyError::Rejected => "Your passkey could not be verified. Try again.",
        PasskeyError::UnknownPasskey => {
            "This passkey is not registered here (it may have been removed). Sign in another way."
        }
        PasskeyError::Disabled => "This account is disabled.",
        PasskeyError::Unverified => {
            "Confirm your email address first: follow the link we sent to it."
        }
        PasskeyError::AlreadyRegistered => "This passkey is already registered.",
        PasskeyError::Reauthenticate => {
            "Removing a passkey needs a recent sign-in with your second factor: sign out, sign \
             in again, then remove it."
        }
        PasskeyError::Internal(_) => "Something went wrong. Please try again in a moment.",
    }
}

impl From<PasskeyError> for ApiError {
    fn from(e: PasskeyError) -> Self {
        let code = match &e {
            PasskeyError::Unavailable => "passkeys_unavailable",
            PasskeyError::NotFound => "not_found",
            PasskeyError::InvalidName(_) => "invalid_name",
            PasskeyError::Ceremony => "invalid_ceremony",
            PasskeyError::Rejected => "passkey_rejected",
            PasskeyError::UnknownPasskey => "unknown_passkey",
            PasskeyError::Disabled => "account_disabled",
            PasskeyError::Unverified => "email_not_verified",
            PasskeyError::AlreadyRegistered => "passkey_exists",
            PasskeyError::Reauthenticate => "reauthentication_required",
            PasskeyError::Internal(_) => "server_error",
        };
        match e {
            PasskeyError::Internal(cause) => ApiError::internal(cause),
            PasskeyError::InvalidName(why) => {
                ApiError::new(status(&PasskeyError::InvalidName(String::new())), code, why)
            }
            other => ApiError::new(status(&other), code, other.to_string()),
        }
    }
}
