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
use crate::federation::ProviderBook;
use crate::http;
use crate::identity::client_ip::TrustedProxies;
use crate::identity::password::Hasher;
use crate::identity::role_book::RoleBook;
use crate::identity::roles::Roles;
use crate::oidc;
use crate::purge;
use crate::reloads;
use crate::state::AppState;
use crate::store::Db;
use crate::tokens::keys::Policy;
use crate::tokens::KeyStore;

/// What the start reads from the database: the pool, the CSRF and passkey-handle secrets,
/// the signing keys, the roles and the upstream providers.
type Loaded = (Db, (String, String, String), KeyStore, Roles, ProviderBook);

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
        let kek = crate::tokens::keys::kek::resolve(&settings, true)?;
        let (policy, legacy_dir) = (Policy::from_settings(&settings), settings.keys_dir.clone());
        let now = clock.now();
        let apply_on_start = settings.apply_on_start.clone();
        let client_limits = crate::oauth::admin_clients::Limits::from_settings(&settings);
        let seed_settings = settings.clone();
        let (db, (csrf_secret, handle_secret, nonce_secret), keys, roles, federation) =
            tokio::task::spawn_blocking(move || -> anyhow::Result<Loaded> {
                let db = Db::open_with(&url, limits)?;
                db.migrate()?;
                for change in
                    crate::identity::role_seed::seed(&mut *db.get()?, &seed_settings, now)?
                {
                    tracing::info!("roles: {change}");
                }
                if let Some(path) = &apply_on_start {
                    let default_role = &seed_settings.users.default_role;
                    let configured = seed_settings.federation.configured_names();
                    apply_on_start_file(
                        &mut *db.get()?,
                        path,
                        &client_limits,
                        default_role,
                        &configured,
                        now,
                    )?;
                }
                let roles = Roles::read(&mut *db.get()?)?;
                let federation = ProviderBook::load(
                    &seed_settings.federation,
                    Box::new(|name: &str| std::env::var(name).ok()),
                    &mut *db.get()?,
                )?;
                let fresh = crate::tokens::secret::new_secret()?;
                let mut conn = db.get()?;
                let secret =
                    crate::store::server_secrets::get_or_create(&mut conn, "csrf", &fresh, now)?;
                let handle_secret = crate::store::server_secrets::get_or_create(
                    &mut conn,
                    crate::identity::passkeys::HANDLE_SECRET,
                    &crate::tokens::secret::new_secret()?,
                    now,
                )?;
                let nonce_secret = crate::store::server_secrets::get_or_create(
                    &mut conn,
                    crate::oauth::dpop::nonce::SECRET_NAME,
                    &crate::tokens::secret::new_secret()?,
                    now,
                )?;
                let keys = KeyStore::open(&mut conn, kek, policy, Some(&legacy_dir), now)
                    .context("loading the signing keys")?;
                Ok((
                    db,
                    (secret, handle_secret, nonce_secret),
                    keys,
                    roles,
                    federation,
                ))
            })
            .await??;
        let metrics = crate::metrics::Metrics::new(settings.metrics.enabled)?;
        let db = db.observe_waits(metrics.db_wait_histogram());

        let hasher = Hasher::new(&settings.password)?;
        if !roles.exists(&settings.users.default_role) {
            anyhow::bail!(
                "users.default_role {:?} is not a role",
                settings.users.default_role
            );
        }
        let proxies = TrustedProxies::new(&settings.trusted_proxies, settings.proxy_header)?;
        let mailer = crate::email::Mailer::start(&settings.email)?;
        let mut discovery = oidc::discovery::metadata(
            &settings.issuer,
            &settings.keys.algorithms,
            settings.clients.registration != crate::config::RegistrationPolicy::Disabled,
            settings.clients.metadata_documents != crate::config::MetadataDocumentPolicy::Off,
        );
        discovery.require_pushed_authorization_requests =
            settings.clients.require_pushed_authorization_requests;
        let discovery_json = serde_json::to_string(&discovery)?;
        let passkeys =
            crate::identity::passkeys::RelyingParty::for_issuer(&settings.issuer, &handle_secret)?
                .map(Arc::new);
        let metadata_documents = Arc::new(crate::oauth::metadata_document::Resolver::new(
            &settings.clients,
        )?);
        let client_keys = Arc::new(crate::oauth::client_keys::ClientKeys::new(
            &settings.clients,
        )?);
        // A broken message catalog stops the start (rather than pages showing message ids).
        crate::i18n::check()?;
        // So does a broken theme (naming the file and line).
        let ui = Arc::new(crate::ui::UiHandle::load(&settings.ui)?);
        let workers = settings.worker_count();
        let clients = Arc::new(crate::oauth::client_cache::ClientCache::new(
            settings.clients.cache_refresh_ms,
        ));
        let signing = crate::workers::Workers::new(
            "portcullis-sign",
            std::thread::available_parallelism().map_or(2, |n| n.get()),
            Some((settings.database_queue as usize).max(1)),
        )?;
        let shutdown_secs = settings.shutdown_timeout_secs;
        let state = web::Data::new(AppState {
            db,
            keys: Arc::new(keys),
            settings: Arc::new(settings),
            clock,
            hasher,
            roles: Arc::new(RoleBook::new(roles)),
            proxies,
            federation: Arc::new(federation),
            mailer,
            discovery_json,
            clients,
            signing,
            liveness: Arc::default(),
            known_origins: http::cors::KnownOrigins::default(),
            csrf_key: http::browser::cookies::CsrfKey::new(&csrf_secret),
            dpop_nonces: crate::oauth::dpop::NonceKey::new(&nonce_secret),
            purge: Arc::new(crate::purge::Totals::default()),
            lease_holder: crate::purge::holder_id("serve")?,
            draining: std::sync::atomic::AtomicBool::new(false),
            passkeys,
            metadata_documents,
            client_keys,
            metrics,
            ui,
        });
        let app_state = state.clone();
        let metrics_here = http::metrics::on_main_listener(&state.settings);
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(http::error::localize::pages))
                .wrap(from_fn(http::drain))
                .wrap(from_fn(http::dpop_nonce))
                .wrap(from_fn(http::body_deadline))
                .wrap(DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
                .wrap(from_fn(http::access_log::middleware))
                // Outermost: every page, error pages included, sees the server's look.
                .wrap(from_fn(crate::ui::middleware))
                .app_data(app_state.clone())
                .configure(http::configure)
                .configure(|cfg| http::metrics::configure(cfg, metrics_here))
                .default_service(web::to(http::not_found))
        })
        .workers(workers)
        // Signals are ours (`run_until_stopped`): draining starts before the listener closes.
        .disable_signals()
        .shutdown_timeout(shutdown_secs)
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

    /// What this server's purges deleted (the task runs every `purge.interval_secs`).
    pub fn purge_totals(&self) -> Arc<crate::purge::Totals> {
        self.state.purge.clone()
    }

    /// Serves until SIGINT/SIGTERM, then drains: the listener closes, every request already
    /// read is answered (with `Connection: close`, so keep-alive clients go elsewhere), and the
    /// process goes on for at most `shutdown_timeout_secs`. Meanwhile re-reads the keys on SIGHUP
    /// and every `keys.reload_interval_secs`, the roles every `role_book::RELOAD_EVERY`, the
    /// declared upstream providers every `provider_book::RELOAD_EVERY`, sends the queued
    /// back-channel logout tokens (`oidc::backchannel`), and purges dead rows every
    /// `purge.interval_secs` (0: never).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let reloader = tokio::spawn(reloads::reload_keys(self.state.clone()));
        let role_reloader = tokio::spawn(reloads::reload_roles(self.state.clone()));
        let provider_reloader = tokio::spawn(reloads::reload_providers(self.state.clone()));
        let client_watcher = tokio::spawn(crate::oauth::client_cache::watch(
            self.state.clients.clone(),
            self.state.db.clone(),
        ));
        let stopper = tokio::spawn(stop_on_signal(self.state.clone(), self.server.handle()));
        let logout_sender = tokio::spawn(crate::oidc::backchannel::run(
            crate::oidc::backchannel::Deliverer {
                db: self.state.db.clone(),
                keys: self.state.keys.clone(),
                clock: self.state.clock.clone(),
                issuer: self.state.settings.issuer.clone(),
                http: crate::oidc::backchannel::http_client()?,
            },
        ));
        let purger = match self.state.settings.purge.interval_secs {
            0 => None,
            secs => Some(tokio::spawn(purge::task::every(
                Duration::from_secs(secs),
                purge::task::Purger {
                    db: self.state.db.clone(),
                    clock: self.state.clock.clone(),
                    policy: purge::Policy::from_settings(&self.state.settings),
                    holder: self.state.lease_holder.clone(),
                    totals: self.state.purge.clone(),
                    metrics: self.state.metrics.clone(),
                },
            ))),
        };
        let metrics = self.metrics_server.map(|(server, _)| server);
        let result = http::metrics::run_beside(self.server, metrics).await;
        reloader.abort();
        client_watcher.abort();
        role_reloader.abort();
        provider_reloader.abort();
        stopper.abort();
        logout_sender.abort();
        if let Some(p) = purger {
            p.abort();
        }
        result.context("the HTTP server failed")
    }
}

/// How long a stopping server keeps accepting while telling every client to close.
const DRAIN_NOTICE: Duration = Duration::from_secs(1);

async fn stop_on_signal(state: web::Data<AppState>, handle: actix_web::dev::ServerHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot listen for SIGTERM/SIGINT; stop the server with SIGKILL");
        return;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    // First a short notice: still accepting, but every answer says `Connection: close` and
    // `/readyz` says 503, so keep-alive clients and load balancers move away while nothing is
    // cut. Then the listener closes and connections still idle are closed; requests already
    // read are answered within `shutdown_timeout_secs`.
    state
        .draining
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let notice = DRAIN_NOTICE.min(Duration::from_secs(state.settings.shutdown_timeout_secs) / 2);
    tracing::info!(
        signal = name,
        notice_ms = notice.as_millis() as u64,
        drain_secs = state.settings.shutdown_timeout_secs,
        "stopping: answering with Connection: close, then no new connections"
    );
    tokio::time::sleep(notice).await;
    handle.stop(true).await;
}

/// `apply_on_start`: applies the document (never pruning; a new confidential client must name
/// its secret's source, since no one would see a secret made here); a bad one stops the start.
fn apply_on_start_file(
    conn: &mut crate::store::DbConnection,
    path: &std::path::Path,
    limits: &crate::oauth::admin_clients::Limits,
    default_role: &str,
    configured: &[(String, String)],
    now: i64,
) -> anyhow::Result<()> {
    let options = crate::declarative::Options {
        prune: false,
        dry_run: false,
        require_secret_source: true,
        default_role: default_role.to_string(),
        roles_only: false,
        configured_providers: configured.to_vec(),
    };
    let env = |name: &str| std::env::var(name).ok();
    let outcome = crate::declarative::apply_file(conn, path, options, limits, &env, now)
        .with_context(|| format!("apply_on_start {}", path.display()))?;
    for change in &outcome.changes {
        tracing::info!(file = %path.display(), "apply_on_start: {change}");
    }
    Ok(())
}
