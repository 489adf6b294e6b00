//! The Consult clinic server: accounts and sessions behind the clinic API
//! (`shared/spec/clinic-api.md`).
//!
//! [`serve`] starts it in-process and returns once it is listening, which is what the binary and
//! the tests both use.

pub mod account;
pub mod admin;
pub mod app;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod calls;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod device_commands;
pub mod enrolment;
pub mod error;
pub mod extract;
pub mod fleet;
pub mod ids;
pub mod jitsi;
pub mod join_requests;
pub mod kiosk_exit;
pub mod notifications;
pub mod openapi;
pub mod push;
pub mod rate_limit;
pub mod reminders;
pub mod tls;
pub mod users;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

pub use config::{Cli, Command, ServerConfig};
pub use error::{ApiError, ServerError};

use crate::app::AppState;
use crate::auth::access_token::AccessTokens;
use crate::auth::password::Passwords;
use crate::auth::signing_key;
use crate::auth::AuthState;
use crate::clock::Clock;
use crate::db::{Backend, Db};
use crate::jitsi::JitsiTokens;
use crate::push::EventHub;
use crate::rate_limit::RateLimits;

/// A started server.
pub struct RunningServer {
    local_addr: SocketAddr,
    /// Serving HTTPS (`[tls]`) rather than plain HTTP.
    https: bool,
    clock: Clock,
    shutdown: ShutdownHandle,
    task: JoinHandle<Result<(), ServerError>>,
}

impl RunningServer {
    /// The bound address; with port 0 configured, the port the OS picked.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://<local_addr>`, or `https://` with `[tls]`.
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr)
    }

    /// The clock the server reads "now" from; tests advance it instead of sleeping.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// A handle that can stop the server from elsewhere (a signal handler, a test).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Stops accepting, lets in-flight requests finish, closes the database, and waits.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        self.shutdown.trigger();
        self.wait().await
    }

    /// Waits until the server stops (after a shutdown was triggered, or on a fatal error).
    pub async fn wait(self) -> Result<(), ServerError> {
        self.task.await?
    }
}

/// Asks a running server to shut down gracefully; cheap to clone.
#[derive(Clone)]
pub struct ShutdownHandle(Arc<Notify>);

impl ShutdownHandle {
    pub fn trigger(&self) {
        // notify_one stores a permit, so a trigger before the server waits is not lost.
        self.0.notify_one();
    }
}

/// Prepares storage and keys, binds `config.bind`, and serves in a background task.
/// Returns once the socket is listening.
pub async fn serve(config: ServerConfig) -> Result<RunningServer, ServerError> {
    serve_with_clock(config, Clock::system()).await
}

/// [`serve`] on a given clock: tests pass one they advance, and the same one again when they
/// restart the server.
pub async fn serve_with_clock(
    config: ServerConfig,
    clock: Clock,
) -> Result<RunningServer, ServerError> {
    config.validate()?;
    auth::install_crypto_provider();
    // Before anything is created: a wrong file is the first thing an administrator hears of.
    let tls = config.tls.as_ref().map(tls::TlsConfig::load).transpose()?;
    create_private_dir(&config.data_dir)?;
    let key = signing_key::load_or_create(config.jwt_signing_key.as_deref(), &config.data_dir)?;
    let db = Db::open(&config).await?;
    let passwords = Passwords::new().await?;
    if config.demo {
        demo::seed(&db, &passwords, clock.now_unix()).await?;
        if config.demo_appointments {
            demo::seed_appointments(&db, clock.now_unix()).await?;
        }
    } else {
        demo::refuse_leftovers(&db).await?;
    }
    let jitsi = match &config.jitsi {
        Some(jitsi) => Some(Arc::new(JitsiTokens::from_config(jitsi)?)),
        None => {
            tracing::warn!("no [jitsi] configuration: meeting tokens cannot be issued");
            None
        }
    };
    let hub = Arc::new(EventHub::default());
    let reminders_poke = Arc::new(Notify::new());
    let (stopping_tx, stopping) = watch::channel(false);
    let rate_limits = Arc::new(RateLimits::per_minute(
        config.login_attempts_per_minute_per_ip,
        config.login_attempts_per_minute_per_account,
        &clock,
    ));
    RateLimits::spawn_sweeper(&rate_limits);
    let auth = AuthState {
        db: db.clone(),
        passwords,
        access_tokens: Arc::new(AccessTokens::new(&key, config.access_token_ttl_secs)),
        // Validated to at most ten years, so it fits.
        refresh_ttl_secs: i64::try_from(config.refresh_token_ttl_secs).unwrap_or(i64::MAX),
        max_session_secs: i64::try_from(config.max_session_secs).unwrap_or(i64::MAX),
        rate_limits,
        demo: config.demo,
        clock: clock.clone(),
    };
    let state = AppState {
        db: db.clone(),
        auth,
        hub: hub.clone(),
        jitsi,
        reminders: reminders_poke.clone(),
        sse_heartbeat_secs: config.sse_heartbeat_secs,
        stopping,
        clock: clock.clone(),
        trusted_proxies: client_ip::TrustedProxies::new(&config.trusted_proxies),
        kiosk_exit_lockout_secs: config.kiosk_exit_lockout_secs,
    };
    let mut background = vec![reminders::spawn(
        db.clone(),
        hub.clone(),
        reminders_poke,
        Duration::from_secs(config.reminder_poll_secs),
        clock.clone(),
    )];
    background.push(fleet::spawn_sweeper(
        db.clone(),
        hub.clone(),
        Duration::from_secs(config.device_check_secs),
        clock.clone(),
    ));
    if db.backend() == Backend::Postgres {
        if let Some(url) = &config.database_url {
            background.push(push::listener::spawn(url.clone(), hub));
        }
    }

    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.bind,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.bind,
        source,
    })?;
    let shutdown = ShutdownHandle(Arc::new(Notify::new()));
    let signal = shutdown.0.clone();
    let app = app::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let graceful = async move {
        signal.notified().await;
        // Event streams never end by themselves; tell them to, so shutdown can finish.
        let _ = stopping_tx.send(true);
    };
    let https = tls.is_some();
    let listener = match tls {
        Some(tls) => Listening::Https(tls::TlsListener::new(listener, tls).map_err(|source| {
            ServerError::Bind {
                addr: config.bind,
                source,
            }
        })?),
        None => Listening::Http(listener),
    };
    let task = tokio::spawn(async move {
        let served = match listener {
            Listening::Http(listener) => {
                axum::serve(listener, app)
                    .with_graceful_shutdown(graceful)
                    .await
            }
            // tap_io: axum gives a custom listener's peer address as ConnectInfo only this way.
            Listening::Https(listener) => {
                axum::serve(listener.tap_io(|_| ()), app)
                    .with_graceful_shutdown(graceful)
                    .await
            }
        };
        for task in background {
            task.abort();
        }
        db.close().await;
        tracing::info!("server stopped");
        served.map_err(ServerError::Serve)
    });
    tracing::info!(%local_addr, https, demo = config.demo, "listening");
    Ok(RunningServer {
        local_addr,
        https,
        clock,
        shutdown,
        task,
    })
}

enum Listening {
    Http(TcpListener),
    Https(tls::TlsListener),
}

/// The data directory holds the database and the signing key: owner-only on Unix.
fn create_private_dir(path: &Path) -> Result<(), ServerError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path).map_err(|source| ServerError::DataDir {
        path: path.to_owned(),
        source,
    })
}
