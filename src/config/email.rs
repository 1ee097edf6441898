//! `[email]`: outgoing mail. Without `smtp_url` no mail is sent, and the features that need it
//! (password reset, email verification) are not offered.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EmailSettings {
    /// `smtp://host[:port]` (plain; port 25), `smtp://host[:port]?tls=starttls` (STARTTLS
    /// required; port 587), `smtps://host[:port]` (implicit TLS; port 465); optional
    /// `user:password@` (percent-encoded). Unset: no mail.
    pub smtp_url: Option<String>,
    /// The `From:` of every message: `no-reply@example.com` or `Example <no-reply@example.com>`.
    /// Required with `smtp_url`.
    pub from: Option<String>,
    /// Messages waiting to be sent (retries included); beyond it a new one is dropped, logged
    /// and counted, and the request that caused it still succeeds.
    pub queue_size: usize,
    /// Attempts per message (transient failures only; a permanent refusal is not retried).
    pub max_attempts: u32,
    /// Connect and per-command timeout of the SMTP conversation.
    pub timeout_secs: u64,
    /// Mail requests (reset links, new verification links) per source (IPv4 address or IPv6
    /// /64) per `send_limit_window_secs`; beyond it 429.
    pub send_limit_per_ip: i32,
    /// Mails per address per window; beyond it requests get the usual answer and nothing is
    /// sent (so nobody can flood an inbox, nor learn whether the address has an account).
    pub send_limit_per_address: i32,
    pub send_limit_window_secs: i64,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            smtp_url: None,
            from: None,
            queue_size: 256,
            max_attempts: 5,
            timeout_secs: 10,
            send_limit_per_ip: 10,
            send_limit_per_address: 3,
            send_limit_window_secs: 3600,
        }
    }
}

impl EmailSettings {
    /// Whether mail can be sent.
    pub fn enabled(&self) -> bool {
        self.smtp_url.is_some()
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.smtp_url {
            crate::email::smtp::SmtpTarget::parse(url)?;
            let Some(from) = &self.from else {
                anyhow::bail!("email.from is required when email.smtp_url is set");
            };
            crate::email::smtp::parse_mailbox(from)
                .map_err(|e| anyhow::anyhow!("email.from {from:?} is not an address: {e}"))?;
        }
        if !(1..=100_000).contains(&self.queue_size) {
            anyhow::bail!("email.queue_size must be between 1 and 100000");
        }
        if !(1..=20).contains(&self.max_attempts) {
            anyhow::bail!("email.max_attempts must be between 1 and 20");
        }
        if !(1..=300).contains(&self.timeout_secs) {
            anyhow::bail!("email.timeout_secs must be between 1 and 300");
        }
        if self.send_limit_per_ip < 1
            || self.send_limit_per_address < 1
            || self.send_limit_window_secs < 1
        {
            anyhow::bail!("email.send_limit_* must be at least 1");
        }
        Ok(())
    }

    /// `smtp_url` with its password replaced, for `config show`.
    pub fn redact(&mut self) {
        if let Some(url) = &self.smtp_url {
            self.smtp_url = Some(super::redact_url_password(url));
        }
    }

    /// What `config check` refuses about mail.
    pub fn problems(&self, require_verified_email: bool) -> Vec<String> {
        let mut problems = Vec::new();
        match self
            .smtp_url
            .as_deref()
            .map(crate::email::smtp::SmtpTarget::parse)
        {
            None if require_verified_email => problems.push(
                "users.require_verified_email is set but email.smtp_url is not: no verification \
                 link can be sent, so new accounts could never sign in"
                    .to_string(),
            ),
            Some(Ok(target)) if target.credentials_in_clear() => problems.push(format!(
                "email.smtp_url sends a password to {} without TLS: use smtps:// or \
                 ?tls=starttls",
                target.host
            )),
            _ => {}
        }
        problems
    }

    /// What `config check` says about mail without refusing.
    pub fn notes(&self) -> Vec<String> {
        if self.enabled() {
            return Vec::new();
        }
        vec![
            "email.smtp_url is not set: no mail is sent, so password reset (\"Forgot password?\") \
             and email verification links are off; set email.smtp_url and email.from to offer them"
                .to_string(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    #[test]
    fn from_the_environment_validated_and_redacted() {
        let env = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Settings::from_sources(None, pairs).unwrap().settings
        };
        let mut s = env(&[
            (
                "PORTCULLIS_EMAIL__SMTP_URL",
                "smtps://mailer:hunter2@mail.example.com",
            ),
            ("PORTCULLIS_EMAIL__FROM", "Example <no-reply@example.com>"),
        ]);
        s.validate().unwrap();
        // No note about mail (the default IP issuer has one about passkeys).
        assert!(s.email.enabled() && s.email.notes().is_empty());
        let shown = s.redacted().to_string();
        assert!(
            !shown.contains("hunter2") && shown.contains("mail.example.com"),
            "{shown}"
        );

        s.email.from = None;
        assert!(s.validate().unwrap_err().to_string().contains("email.from"));
        s.email.from = Some("nobody".into());
        assert!(s.validate().is_err());

        let s = env(&[]);
        assert!(!s.email.enabled());
        assert!(s.notes()[0].contains("password reset"), "{:?}", s.notes());
        assert!(s.production_problems().is_empty());
        let mut s = env(&[("PORTCULLIS_USERS__REQUIRE_VERIFIED_EMAIL", "true")]);
        assert!(s.production_problems()[0].contains("require_verified_email"));
        s.email.smtp_url = Some("smtp://u:pw@relay.internal".into());
        s.email.from = Some("a@example.com".into());
        assert!(s.production_problems()[0].contains("without TLS"));
        s.email.smtp_url = Some("smtp://u:pw@relay.internal?tls=starttls".into());
        assert!(s.production_problems().is_empty());
    }
}
