//! The SMTP server mail is handed to (`email.smtp_url`), and delivery of one message to it with
//! lettre's blocking transport (on the mail thread, never on the async executor).
use std::net::IpAddr;
use std::time::Duration;

use anyhow::{bail, Context};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use percent_encoding::percent_decode_str;

use super::queue::{Deliver, Failure};
use super::Mail;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: no TLS (a relay on loopback or a private network).
    Plain,
    /// `smtp://…?tls=starttls`: STARTTLS, required (a server that doesn't offer it is refused).
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// `email.smtp_url`, parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    password: Option<String>,
}

impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "REDACTED"))
            .finish()
    }
}

impl SmtpTarget {
    /// Parses `smtp://[user:pass@]host[:port][?tls=starttls]` or `smtps://…`. Errors never
    /// repeat the URL (it may hold a password).
    pub fn parse(raw: &str) -> anyhow::Result<SmtpTarget> {
        let url = url::Url::parse(raw).map_err(|e| {
            anyhow::anyhow!("email.smtp_url is not a URL ({e}); expected smtp://host:port")
        })?;
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => bail!("email.smtp_url has no host"),
        };
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            bail!("email.smtp_url must have no path or fragment");
        }
        let mut tls = None;
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), tls) {
                ("tls", None) => tls = Some(value.to_ascii_lowercase()),
                _ => bail!("email.smtp_url: the only query parameter is tls=starttls"),
            }
        }
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtp", None | Some("none")) => Security::Plain,
            ("smtp", Some("starttls" | "required")) => Security::StartTls,
            ("smtps", None) => Security::Implicit,
            ("smtp" | "smtps", Some(other)) => {
                bail!("email.smtp_url: tls={other} is not supported (smtp://…?tls=starttls, or smtps://)")
            }
            (scheme, _) => bail!("email.smtp_url must be smtp:// or smtps://, not {scheme}://"),
        };
        let port = url.port().unwrap_or(match security {
            Security::Plain => 25,
            Security::StartTls => 587,
            Security::Implicit => 465,
        });
        let decode = |s: &str| -> anyhow::Result<String> {
            Ok(percent_decode_str(s)
                .decode_utf8()
                .context("email.smtp_url: the credentials are not UTF-8")?
                .into_owned())
        };
        let username = match url.username() {
            "" => None,
            u => Some(decode(u)?),
        };
        let password = url.password().map(decode).transpose()?;
        if password.is_some() && username.is_none() {
            bail!("email.smtp_url has a password but no user name");
        }
        Ok(SmtpTarget {
            host,
            port,
            security,
            username,
            password,
        })
    }

    /// A password would cross the network unencrypted.
    pub fn credentials_in_clear(&self) -> bool {
        let loopback = self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        self.security == Security::Plain && self.password.is_some() && !loopback
    }

    /// A blocking transport to this server (one connection per message).
    pub fn transport(&self, timeout: Duration) -> anyhow::Result<SmtpTransport> {
        let mut builder = SmtpTransport::builder_dangerous(self.host.as_str())
            .port(self.port)
            .timeout(Some(timeout));
        let tls = || TlsParameters::new(self.host.clone()).context("email.smtp_url: TLS setup");
        builder = match self.security {
            Security::Plain => builder.tls(Tls::None),
            Security::StartTls => builder.tls(Tls::Required(tls()?)),
            Security::Implicit => builder.tls(Tls::Wrapper(tls()?)),
        };
        if let Some(user) = &self.username {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                self.password.clone().unwrap_or_default(),
            ));
        }
        Ok(builder.build())
    }
}

/// `email.from` (`addr@example.com` or `Name <addr@example.com>`).
pub fn parse_mailbox(raw: &str) -> Result<Mailbox, lettre::address::AddressError> {
    raw.trim().parse()
}

/// Delivers over SMTP from `from`.
pub struct SmtpDelivery {
    pub transport: SmtpTransport,
    pub from: Mailbox,
}

impl Deliver for SmtpDelivery {
    fn deliver(&self, mail: &Mail) -> Result<(), Failure> {
        let to: Mailbox = mail.to.parse().map_err(|e| Failure {
            permanent: true,
            reason: format!("the recipient address is not usable: {e}"),
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.as_str())
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html.clone()),
                    ),
            )
            .map_err(|e| Failure {
                permanent: true,
                reason: format!("the message could not be built: {e}"),
            })?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| Failure {
                permanent: e.is_permanent(),
                reason: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_their_security() {
        let t = SmtpTarget::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.security),
            ("127.0.0.1", 2525, Security::Plain)
        );
        let t = SmtpTarget::parse("smtp://mail.example.com?tls=starttls").unwrap();
        assert_eq!((t.port, t.security), (587, Security::StartTls));
        let t = SmtpTarget::parse("smtp://mail.example.com:2587?tls=required").unwrap();
        assert_eq!((t.port, t.security), (2587, Security::StartTls));
        let t = SmtpTarget::parse("smtps://ap%40ikey:p%2Fss@mail.example.com").unwrap();
        assert_eq!((t.port, t.security), (465, Security::Implicit));
        assert_eq!(t.username.as_deref(), Some("ap@ikey"));
        assert_eq!(t.password.as_deref(), Some("p/ss"));
        assert!(!format!("{t:?}").contains("p/ss"));
        assert!(!t.credentials_in_clear());
        let t = SmtpTarget::parse("smtp://[::1]").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 25));

        assert!(SmtpTarget::parse("smtp://u:pw@relay.internal")
            .unwrap()
            .credentials_in_clear());
        assert!(!SmtpTarget::parse("smtp://u:pw@localhost:25")
            .unwrap()
            .credentials_in_clear());
        for bad in [
            "http://mail.example.com",
            "smtp://",
            "smtp://mail.example.com/ehlo",
            "smtps://mail.example.com?tls=starttls",
            "smtp://mail.example.com?tls=maybe",
            "smtp://mail.example.com?port=1",
            "smtp://:secret@mail.example.com",
            "not a url with hunter2",
        ] {
            let err = SmtpTarget::parse(bad).unwrap_err().to_string();
            assert!(!err.contains("secret") && !err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn from_addresses() {
        assert!(parse_mailbox("no-reply@example.com").is_ok());
        assert!(parse_mailbox("Portcullis <no-reply@example.com>").is_ok());
        assert!(parse_mailbox("not an address").is_err());
    }
}
