//! The messages we send, each a plain-text and an HTML body from askama templates
//! (`templates/email/`; `.txt` templates are not HTML-escaped, `.html` ones are). Links point at
//! the issuer, so they work behind any proxy that serves it.
use askama::Template;

use super::Mail;

/// Everything a message template may show.
struct Content {
    /// The product's name at the top (`ui.product_name` of the server whose request sends it).
    product: String,
    /// Where the mail comes from, as people know it: the issuer's host.
    site: String,
    to: String,
    name: Option<String>,
    link: String,
    /// How long the link works, in words.
    valid_for: String,
    /// When it happened, in words (UTC).
    when: String,
    /// Every session ended (a reset), or every other one (a change while signed in).
    everywhere: bool,
    /// How many are left (recovery codes).
    remaining: i64,
    /// The account's new address (a notice to the old one).
    new_address: String,
    /// What changed, as a sentence's subject ("An authenticator app was turned on").
    change: String,
}

#[derive(Template)]
#[template(path = "email/verify_email.txt")]
struct VerifyText<'a> {
    c: &'a Content,
}

#[derive(Template)]
#[template(path = "email/verify_email.html")]
struct VerifyHtml<'a> {
    c: &'a Content,
}

#[derive(Template)]
#[template(path = "email/password_reset.txt")]
struct ResetText<'a> {
    c: &'a Content,
}

#[derive(Template)]
#[template(path = "email/password_reset.html")]
struct ResetHtml<'a> {
    c: &'a Content,
}

#[derive(Template)]
#[template(path = "email/password_changed.txt")]
struct ChangedText<'a> {
    c: &'a Content,
}

#[derive(Template)]
#[template(path = "email/password_changed.html")]
struct ChangedHtml<'a> {
    c: &'a Content,
}

#[derive(Template)]
#[template(path = "email/recovery_code_used.txt")]
struct RecoveryText<'a> {
    c: &'a Content,
}

#[derive(Template)]
#[template(path = "email/email_changed.txt")]
struct AddressText<'a> {
    c: &'a Content,
}

#[derive(Template)]
#[template(path = "email/recovery_code_used.html")]
struct RecoveryHtml<'a> {
    c: &'a Content,
}

#[derive(Template)]
#[template(path = "email/second_factor_changed.txt")]
struct FactorText<'a> {
    c: &'a Content,
}

#[derive(Template)]
#[template(path = "email/second_factor_changed.html")]
struct FactorHtml<'a> {
    c: &'a Content,
}

#[derive(Template)]
#[template(path = "email/email_changed.html")]
struct AddressHtml<'a> {
    c: &'a Content,
}

fn content(issuer: &str, to: &str) -> Content {
    let site = url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| issuer.to_string());
    Content {
        product: crate::ui::product_name(),
        site,
        to: to.to_string(),
        name: None,
        link: String::new(),
        valid_for: String::new(),
        when: String::new(),
        everywhere: false,
        remaining: 0,
        new_address: String::new(),
        change: String::new(),
    }
}

/// `issuer` + `path` + `?token=…`.
fn link(issuer: &str, path: &str, token: &str) -> String {
    format!("{issuer}{path}?token={token}")
}

fn duration_words(secs: i64) -> String {
    match secs {
        s if s % 3600 == 0 && s >= 3600 => plural(s / 3600, "hour"),
        s => plural((s + 59) / 60, "minute"),
    }
}

fn plural(n: i64, unit: &str) -> String {
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A verification link for `to`.
pub fn verify_email(
    issuer: &str,
    to: &str,
    name: Option<&str>,
    token: &str,
    valid_secs: i64,
) -> anyhow::Result<Mail> {
    let c = Content {
        name: name.map(str::to_string),
        link: link(issuer, "/email/verify", token),
        valid_for: duration_words(valid_secs),
        ..content(issuer, to)
    };
    Ok(Mail {
        kind: "verify_email",
        to: to.to_string(),
        subject: "Confirm your email address".into(),
        text: VerifyText { c: &c }.render()?,
        html: VerifyHtml { c: &c }.render()?,
    })
}

/// A password-reset link for `to`.
pub fn password_reset(
    issuer: &str,
    to: &str,
    token: &str,
    valid_secs: i64,
) -> anyhow::Result<Mail> {
    let c = Content {
        link: link(issuer, "/password/reset", token),
        valid_for: duration_words(valid_secs),
        ..content(issuer, to)
    };
    Ok(Mail {
        kind: "password_reset",
        to: to.to_string(),
        subject: "Reset your password".into(),
        text: ResetText { c: &c }.render()?,
        html: ResetHtml { c: &c }.render()?,
    })
}

/// "Your password was changed" (at `now`), with a way to take the account back.
pub fn password_changed(
    issuer: &str,
    to: &str,
    now: i64,
    everywhere: bool,
) -> anyhow::Result<Mail> {
    let format = time::macros::format_description!("[year]-[month]-[day] at [hour]:[minute] UTC");
    let when = time::OffsetDateTime::from_unix_timestamp(now)?.format(&format)?;
    let c = Content {
        link: format!("{issuer}/password/forgot"),
        when,
        everywhere,
        ..content(issuer, to)
    };
    Ok(Mail {
        kind: "password_changed",
        to: to.to_string(),
        subject: "Your password was changed".into(),
        text: ChangedText { c: &c }.render()?,
        html: ChangedHtml { c: &c }.render()?,
    })
}

/// "A recovery code was used" (at `now`; `remaining` left), with a way to take the account
/// back.
pub fn recovery_code_used(
    issuer: &str,
    to: &str,
    now: i64,
    remaining: i64,
) -> anyhow::Result<Mail> {
    let c = Content {
        link: format!("{issuer}/account/mfa"),
        when: when_words(now)?,
        remaining,
        ..content(issuer, to)
    };
    Ok(Mail {
        kind: "recovery_code_used",
        to: to.to_string(),
        subject: "A recovery code was used".into(),
        text: RecoveryText { c: &c }.render()?,
        html: RecoveryHtml { c: &c }.render()?,
    })
}

/// "Your two-step sign-in changed": `change` (a sentence without its full stop, e.g. "An
/// authenticator app was turned on") at `now`, with a way to check the account.
pub fn second_factor_changed(
    issuer: &str,
    to: &str,
    change: &str,
    now: i64,
) -> anyhow::Result<Mail> {
    let c = Content {
        link: format!("{issuer}/account/mfa"),
        when: when_words(now)?,
        change: change.to_string(),
        ..content(issuer, to)
    };
    Ok(Mail {
        kind: "second_factor_changed",
        to: to.to_string(),
        subject: "Your two-step sign-in changed".into(),
        text: FactorText { c: &c }.render()?,
        html: FactorHtml { c: &c }.render()?,
    })
}

fn when_words(now: i64) -> anyhow::Result<String> {
    let format = time::macros::format_description!("[year]-[month]-[day] at [hour]:[minute] UTC");
    Ok(time::OffsetDateTime::from_unix_timestamp(now)?.format(&format)?)
}

/// To the old address: "The email address of your account was changed" (to `new_address`, at
/// `now`): the one warning its owner gets if someone else did it.
pub fn email_changed(issuer: &str, to: &str, new_address: &str, now: i64) -> anyhow::Result<Mail> {
    let format = time::macros::format_description!("[year]-[month]-[day] at [hour]:[minute] UTC");
    let when = time::OffsetDateTime::from_unix_timestamp(now)?.format(&format)?;
    let c = Content {
        new_address: new_address.to_string(),
        when,
        ..content(issuer, to)
    };
    Ok(Mail {
        kind: "email_changed",
        to: to.to_string(),
        subject: "Your account's email address was changed".into(),
        text: AddressText { c: &c }.render()?,
        html: AddressHtml { c: &c }.render()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_the_link_and_escape_html() {
        let m = verify_email(
            "https://id.example.com",
            "ada@example.com",
            Some("Ada <script>"),
            "tok-123",
            86_400,
        )
        .unwrap();
        let link = "https://id.example.com/email/verify?token=tok-123";
        assert!(m.text.contains(link) && m.html.contains(link), "{}", m.text);
        assert!(m.text.contains("Ada <script>") && m.text.contains("24 hours"));
        assert!(!m.html.contains("<script>"), "{}", m.html);
        assert!(m.html.contains("id.example.com"));

        let m = password_reset("https://id.example.com", "a@example.com", "t", 1800).unwrap();
        assert!(m.text.contains("/password/reset?token=t") && m.text.contains("30 minutes"));
        let m = password_changed("https://id.example.com", "a@example.com", 0, true).unwrap();
        assert!(m.text.contains("1970-01-01 at 00:00 UTC"), "{}", m.text);
        assert!(m.text.contains("Every device"));
        assert_eq!(format!("{m:?}"), "Mail { kind: \"password_changed\", .. }");
        let m = recovery_code_used("https://id.example.com", "a@example.com", 60, 1).unwrap();
        assert!(m.text.contains("1970-01-01 at 00:01 UTC"), "{}", m.text);
        assert!(m.text.contains("1 recovery code left"), "{}", m.text);
        assert!(
            m.html.contains("https://id.example.com/account/mfa"),
            "{}",
            m.html
        );
        let m = email_changed("https://id.example.com", "a@example.com", "b@<x>.com", 0).unwrap();
        assert!(m
            .text
            .contains("was changed to b@<x>.com on 1970-01-01 at 00:00 UTC"));
        assert!(m.html.contains("b@&#60;x&#62;.com"), "{}", m.html);
    }
}
