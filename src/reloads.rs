//! What every instance re-reads while it runs, so a change made elsewhere (`portcullis apply`,
//! `keys rotate`, another instance, an edited theme) takes effect here without a restart:
//! the signing keys (every `keys.reload_interval_secs`, sooner when a key's status is due to
//! change, and on SIGHUP with the theme), the roles and the declared upstream providers.
use std::time::Duration;

use actix_web::web;

use crate::federation::book as provider_book;
use crate::identity::role_book;
use crate::state::AppState;

/// SIGHUP: reads the theme again; a broken one is logged and the look in force stays.
async fn reload_ui(state: &web::Data<AppState>) {
    let ui = state.ui.clone();
    match tokio::task::spawn_blocking(move || ui.reload()).await {
        Ok(Ok(())) => tracing::info!("theme reloaded"),
        Ok(Err(e)) => {
            tracing::error!(error = %format!("{e:#}"), "reloading the theme failed; keeping the current one")
        }
        Err(e) => tracing::error!(error = %e, "reloading the theme failed"),
    }
}

pub(crate) async fn reload_keys(state: web::Data<AppState>) {
    let period = Duration::from_secs(state.settings.keys.reload_interval_secs);
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        // Wake at the reload interval, or sooner when a key's status changes before then.
        let until_change = state
            .keys
            .current()
            .next_change()
            .map(|t| Duration::from_secs(t.saturating_sub(state.clock.now()).max(0) as u64));
        let wait = until_change.map_or(period, |d| d.min(period));
        let reason = tokio::select! {
            _ = tokio::time::sleep(wait) => "timer",
            Some(_) = async {
                match hangup.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            } => "SIGHUP",
        };
        if reason == "SIGHUP" {
            reload_ui(&state).await;
        }
        let (keys, now) = (state.keys.clone(), state.clock.now());
        match state.db.run(move |conn| keys.refresh(conn, now)).await {
            Ok(true) => {
                let signing = state.keys.current().signing_kids();
                tracing::info!(reason, ?signing, "signing keys changed")
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(reason, error = %format!("{e:#}"), "reloading keys failed; keeping the current keys")
            }
        }
    }
}

/// Re-reads the roles every `role_book::RELOAD_EVERY`: a change made elsewhere (`portcullis
/// apply`, another instance) takes effect here within that.
pub(crate) async fn reload_roles(state: web::Data<AppState>) {
    loop {
        tokio::time::sleep(role_book::RELOAD_EVERY).await;
        let book = state.roles.clone();
        match state.db.run(move |conn| book.reload(conn)).await {
            Ok(true) => tracing::info!("roles changed"),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "reloading roles failed; keeping the current roles")
            }
        }
    }
}

/// Re-reads the declared upstream providers every `provider_book::RELOAD_EVERY` (`portcullis
/// apply` runs elsewhere); the providers are swapped only when they changed.
pub(crate) async fn reload_providers(state: web::Data<AppState>) {
    loop {
        tokio::time::sleep(provider_book::RELOAD_EVERY).await;
        let book = state.federation.clone();
        match state.db.run(move |conn| book.reload(conn)).await {
            Ok(true) => {
                let names: Vec<String> = state
                    .federation
                    .current()
                    .enabled()
                    .iter()
                    .map(|p| p.name.clone())
                    .collect();
                tracing::info!(?names, "upstream providers changed")
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "reloading upstream providers failed; keeping the current ones")
            }
        }
    }
}
