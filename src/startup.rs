//! Building and running the server. `Application::build` binds the listener first (port 0 picks
//! a free port; an issuer with port 0 then takes the bound port), so tests can start the real
//! server and learn its address.
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::http;
use crate::identity::client_ip::TrustedProxies;
use crate::identity::password::Hasher;
use crate::identity::roles::Roles;
use crate::oidc;
use crate::state::AppState;
use crate::store::Db;
use crate::tokens::KeyStore;

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    /// The separate `/metrics` server (`metrics.bind`) and its port.
    metrics_server: Option<(Server, u16)>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        mut settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        settings.validate()?;
        let addr = settings.bind_addr()?;
        let listener = TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
        let port = listener.local_addr()?.port();
        let metrics_listener = http::metrics::bind(&settings)?;
        let mut issuer = settings.issuer_url()?;
        if issuer.port() == Some(0) {
            let _ = issuer.set_port(Some(port));
            settings.issuer = issuer.as_str().trim_end_matches('/').to_string();
        }

        let (url, limits) = (settings.database_url.clone(), settings.db_limits());
        let secret_now = clock.now();
        let (db, csrf_secret) =
            tokio::task::spawn_blocking(move || -> anyhow::Result<(Db, String)> {
                let db = Db::open_with(&url, limits)?;
                db.migrate()?;
                let fresh = crate::tokens::secret::new_secret()?;
                let mut conn = db.get()?;
                let secret = crate::store::server_secrets::get_or_create(
                    &mut conn, "csrf", &fresh, secret_now,
                )?;
                Ok((db, secret))
            })
            .await??;
        let metrics = crate::metrics::Metrics::new(settings.metrics.enabled)?;
        let db = db.observe_waits(metrics.db_wait_histogram());
        let (dir, bits, max_ttl, now) = (
            settings.keys_dir.clone(),
            settings.keys.rsa_bits,
            settings.tokens.max_access_token_ttl_secs,
            clock.now(),
        );
        let keys =
            tokio::task::spawn_blocking(move || KeyStore::open(&dir, bits, max_ttl, now)).await??;

        let hasher = Hasher::new(&settings.password)?;
        let roles = Roles::load(settings.users.roles_file.as_deref())?;
        if !roles.exists(&settings.users.default_role) {
            anyhow::bail!(
                "users.default_role {:?} is not a role",
                settings.users.default_role
            );
        }
        let proxies = TrustedProxies::new(&settings.trusted_proxies, settings.proxy_header)?;
        let federation = crate::federation::Providers::from_settings(&settings.federation)?;
        let discovery_json = serde_json::to_string(&oidc::discovery::metadata(&settings.issuer))?;
        let workers = settings.worker_count();
        let state = web::Data::new(AppState {
            db,
            keys: Arc::new(keys),
            settings: Arc::new(settings),
            clock,
            hasher,
            roles: Arc::new(roles),
            proxies,
            federation: Arc::new(federation),
            discovery_json,
            known_origins: http::cors::KnownOrigins::default(),
            csrf_key: http::browser::cookies::CsrfKey::new(&csrf_secret),
            metrics,
        });
        let app_state = state.clone();
        let metrics_here = http::metrics::on_main_listener(&state.settings);
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(http::body_deadline))
                .wrap(DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
                .wrap(from_fn(http::access_log::middleware))
                .app_data(app_state.clone())
                .configure(http::configure)
                .configure(|cfg| http::metrics::configure(cfg, metrics_here))
                .default_service(web::to(http::not_found))
        })
        .workers(workers)
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        let metrics_server = metrics_listener
            .map(|l| http::metrics::server(l, state.clone()))
            .transpose()?;
        Ok(Application {
            port,
            server,
            state,
            metrics_server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate `/metrics` server (`metrics.bind`), if there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(_, port)| *port)
    }

    /// The database handle the server uses (tests reach its hooks through it).
    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// The issuer in force (with the bound port filled in).
    pub fn issuer(&self) -> &str {
        &self.state.settings.issuer
    }

    /// Serves until SIGINT/SIGTERM (graceful: in-flight requests finish). Meanwhile re-reads the
    /// keys directory on SIGHUP and every `keys.reload_interval_secs`.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let reloader = tokio::spawn(reload_keys(self.state.clone()));
        let metrics = self.metrics_server.map(|(server, _)| server);
        let result = http::metrics::run_beside(self.server, metrics).await;
        reloader.abort();
        result.context("the HTTP server failed")
    }
}

async fn reload_keys(state: web::Data<AppState>) {
    let period = Duration::from_secs(state.settings.keys.reload_interval_secs);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        let reason = tokio::select! {
            _ = ticker.tick() => "timer",
            Some(_) = async {
                match hangup.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            } => "SIGHUP",
        };
        let (keys, now) = (state.keys.clone(), state.clock.now());
        match tokio::task::spawn_blocking(move || keys.reload(now)).await {
            Ok(Ok(true)) => {
                tracing::info!(reason, kid = %state.keys.current().signing.kid, "signing keys reloaded")
            }
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                tracing::error!(reason, error = %format!("{e:#}"), "reloading keys failed; keeping the current keys")
            }
            Err(e) => tracing::error!(error = %e, "the key reload task failed"),
        }
    }
}
