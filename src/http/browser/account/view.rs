//! The account page: what every section shows, read in one database job, and how the page is
//! rendered with a notice (after a redirect) or a section's error (4xx).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::super::pages::{self, RuleView};
use super::super::{login::PORTAL_CLIENT_ID, Ctx};
use super::{require_signed_in, PATH};
use crate::http::error::PageError;
use crate::identity::browser::SignedIn;
use crate::identity::password::Violation;
use crate::identity::security_events;
use crate::oauth::client::ACCOUNT_CLIENT_ID;
use crate::oauth::ClientStore;
use crate::state::AppState;
use crate::store::users as user_store;
use crate::store::{api_keys as key_store, federation as id_store, sessions as session_store};

/// The notices a redirect back to the page may name (`?done=`): fixed texts, never input.
pub const NOTICES: &[(&str, &str)] = &[
    ("name", "Your name was saved."),
    (
        "email",
        "Your email address was changed. We've sent a link to the new address: follow it to \
         confirm it.",
    ),
    (
        "resent",
        "We've sent a new confirmation link to your address.",
    ),
    (
        "password",
        "Your password was changed. Your other sessions were signed out.",
    ),
    ("session", "The session was ended."),
    ("others", "Your other sessions were ended."),
    ("unlinked", "The provider was unlinked."),
    ("key_revoked", "The API key was revoked."),
];

/// What the page shows besides the account's data: a notice, or an error in one section.
#[derive(Debug, Default)]
pub struct Flash {
    pub notice: Option<String>,
    /// The section (`profile`, `email`, `password`, …) and the message.
    pub error: Option<(&'static str, String)>,
    /// The password rules the last attempt broke.
    pub broken: Vec<Violation>,
    /// A key just created: shown once.
    pub new_key: Option<String>,
    /// What was typed into the failed form (never a password).
    pub typed: Option<String>,
    /// The error asks to sign in again (`/login?reauth=1`): the sign-in is too old, or lacks
    /// the second factor, for a sensitive action.
    pub reauth: bool,
}

impl Flash {
    pub fn error(section: &'static str, message: impl Into<String>) -> Flash {
        Flash {
            error: Some((section, message.into())),
            ..Flash::default()
        }
    }
}

pub struct SessionView {
    pub id: String,
    pub client: String,
    pub created: String,
    pub last_seen: String,
    pub ip: String,
    pub user_agent: String,
    pub current: bool,
}

pub struct IdentityView {
    pub id: String,
    pub provider: String,
    pub email: String,
    pub linked: String,
}

pub struct KeyView {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
}

pub struct EventView {
    pub at: String,
    pub what: String,
    pub success: bool,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub csrf_token: String,
    pub notice: Option<String>,
    pub error: Option<(&'static str, String)>,
    pub name: String,
    pub email: String,
    /// The address typed into a refused change.
    pub new_email: String,
    pub email_verified: bool,
    pub mail_enabled: bool,
    pub has_password: bool,
    pub rules: Vec<RuleView>,
    pub sessions: Vec<SessionView>,
    pub identities: Vec<IdentityView>,
    /// Enabled upstream providers not linked yet (display names).
    pub unlinked_providers: Vec<String>,
    pub keys: Vec<KeyView>,
    pub new_key: Option<String>,
    pub events: Vec<EventView>,
    /// The error asks to sign in again.
    pub reauth: bool,
}

impl AccountPage {
    /// The error of `section`, if the last form of that section failed.
    pub fn error_for(&self, section: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(s, _)| *s == section)
            .map(|(_, m)| m.as_str())
    }
}

/// `GET /account`.
pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::new(&req, &state)?;
    let me = match require_signed_in(&state, &ctx, PATH).await {
        Ok(me) => me,
        Err(resp) => return Ok(resp),
    };
    let query = crate::oauth::Params::parse_form(req.query_string().as_bytes(), &[])?;
    let notice = query.get("done").and_then(|code| {
        NOTICES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, text)| text.to_string())
    });
    let flash = Flash {
        notice,
        ..Flash::default()
    };
    render(&state, &ctx, &me, StatusCode::OK, flash).await
}

/// Renders the page for `me` with `status` and `flash`.
pub async fn render(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    me: &SignedIn,
    status: StatusCode,
    flash: Flash,
) -> Result<HttpResponse, PageError> {
    let page = load(state, ctx, me, flash).await?;
    let mut resp = pages::render(status, &page);
    ctx.browser.set_cookie(&mut resp);
    Ok(resp)
}

async fn load(
    state: &web::Data<AppState>,
    ctx: &Ctx,
    me: &SignedIn,
    flash: Flash,
) -> Result<AccountPage, PageError> {
    let (user_id, current, now) = (me.user.id.clone(), me.session.id.clone(), ctx.now);
    let (row, sessions, identities, keys, events) = state
        .db
        .run(move |c| {
            let row = user_store::find(c, &user_id)?;
            let mut sessions = Vec::new();
            for s in session_store::active_sessions(c, &user_id, now)? {
                let client = client_label(c, &s.client_id)?;
                sessions.push(SessionView {
                    current: s.id == current,
                    client,
                    created: when(s.created_at),
                    last_seen: when(
                        s.cookie_seen_at
                            .unwrap_or(s.last_seen_at)
                            .max(s.last_seen_at),
                    ),
                    ip: s.ip.unwrap_or_else(|| "unknown".into()),
                    user_agent: s.user_agent.unwrap_or_else(|| "unknown".into()),
                    id: s.id,
                });
            }
            // The current session first, then newest first.
            sessions.reverse();
            sessions.sort_by_key(|s| !s.current);
            let identities = id_store::user_identities(c, &user_id)?;
            let keys: Vec<_> = key_store::list(c, Some(&user_id))?
                .into_iter()
                .filter(|k| k.revoked_at.is_none() && k.expires_at.is_none_or(|e| e > now))
                .collect();
            let events = security_events::recent(c, &user_id)?;
            Ok::<_, PageError>((row, sessions, identities, keys, events))
        })
        .await?;
    let row = row.ok_or_else(|| PageError::internal(anyhow::anyhow!("signed-in user is gone")))?;
    let failed_in = flash.error.as_ref().map(|(s, _)| *s);
    let typed_in = |section: &str| flash.typed.clone().filter(|_| failed_in == Some(section));
    let linked: Vec<String> = identities.iter().map(|i| i.provider.clone()).collect();
    let display = |name: &str| {
        state
            .federation
            .current()
            .get(name)
            .map_or_else(|| name.to_string(), |p| p.display_name.clone())
    };
    Ok(AccountPage {
        csrf_token: ctx.browser.csrf_token(),
        notice: flash.notice,
        error: flash.error,
        name: typed_in("profile").unwrap_or_else(|| row.name.clone().unwrap_or_default()),
        new_email: typed_in("email").unwrap_or_default(),
        email: row.email.clone(),
        email_verified: row.email_verified,
        mail_enabled: state.mailer.enabled(),
        has_password: row.password_hash.is_some(),
        rules: pages::rule_views(
            &state.settings.password,
            &flash.broken,
            pages::Tr::english(),
        ),
        sessions,
        identities: identities
            .iter()
            .map(|i| IdentityView {
                id: i.id.clone(),
                provider: display(&i.provider),
                email: i.email.clone().unwrap_or_default(),
                linked: when(i.created_at),
            })
            .collect(),
        unlinked_providers: state
            .federation
            .current()
            .enabled()
            .iter()
            .filter(|p| !linked.contains(&p.name))
            .map(|p| p.display_name.clone())
            .collect(),
        keys: keys
            .iter()
            .map(|k| KeyView {
                id: k.id.clone(),
                name: k.name.clone(),
                prefix: format!("pc_{}_…", k.prefix),
                scopes: k.scope.clone(),
                created: when(k.created_at),
                expires: k.expires_at.map_or_else(|| "never".into(), when),
                last_used: k.last_used_at.map_or_else(|| "never".into(), when),
            })
            .collect(),
        new_key: flash.new_key,
        reauth: flash.reauth,
        events: events
            .into_iter()
            .map(|e| EventView {
                at: when(e.at),
                what: e.what,
                success: e.success,
                ip: e.ip.unwrap_or_else(|| "unknown".into()),
            })
            .collect(),
    })
}

/// Which application a session is for, in words.
fn client_label(c: &mut crate::store::DbConnection, client_id: &str) -> anyhow::Result<String> {
    Ok(match client_id {
        PORTAL_CLIENT_ID => "This site (browser sign-in)".to_string(),
        ACCOUNT_CLIENT_ID => "Account API".to_string(),
        id => c
            .find_client(id)?
            .map_or_else(|| format!("Application {id}"), |client| client.name),
    })
}

/// A time as the page shows it: `2026-12-06 10:56 UTC`.
pub fn when(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute()),
        Err(_) => unix.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_as_utc_minutes() {
        assert_eq!(super::when(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::when(1_796_554_560), "2026-12-06 10:56 UTC");
    }
}
