//! Builds the application (database, schema, router) and serves it until a shutdown signal.

use std::{future::Future, net::SocketAddr, time::Duration};

use tokio::net::TcpListener;

use crate::{
    auth::Authenticator,
    config::Settings,
    db::{self, Db, reference_data, refusals::RefusalLog},
    graphql::schema::{PerRequest, build_schema},
    http::{AppState, router},
};

pub type StartupError = Box<dyn std::error::Error + Send + Sync>;

/// Connects, migrates and loads the reference data: everything a database needs before serving.
pub async fn prepare_database(url: &str) -> Result<Db, StartupError> {
    prepare_database_with(url, &db::Pool::default()).await
}

/// [`prepare_database`] with a pool of the given size and acquire timeout.
pub async fn prepare_database_with(url: &str, pool: &db::Pool) -> Result<Db, StartupError> {
    db::validate_url(url)?;
    let open = |pool: db::Pool| async move {
        Db::connect_with(url, &pool).await.map_err(|e| format!("cannot open the database: {e}"))
    };
    // The preparation runs on a pool of one connection, closed before serving: sqlx hands a
    // connection back to its pool a moment after use, so a run of statements on the serving
    // pool would leave it with several idle connections (on SQLite about half a MiB each).
    let setup = open(db::Pool { max_connections: Some(1), ..*pool }).await?;
    setup.migrate().await.map_err(|e| format!("cannot migrate the database: {e}"))?;
    match reference_data::load(&setup).await.map_err(|e| format!("cannot load the reference data: {e}"))? {
        reference_data::Outcome::Loaded => {
            tracing::info!(version = reference_data::VERSION, "loaded the reference data")
        }
        reference_data::Outcome::AlreadyLoaded => {
            tracing::debug!(version = reference_data::VERSION, "reference data already loaded")
        }
    }
    setup.close().await.map_err(|e| format!("cannot close the preparing connection: {e}"))?;
    Ok(open(*pool).await?)
}

/// The known documents (bundled, and the operator's directory), checked, with the setting that
/// restricts the public to them; `validate` them against the schema before serving.
fn known_documents(
    settings: &crate::config::DocumentSettings,
) -> Result<crate::graphql::persisted::Persisted, StartupError> {
    let known = crate::graphql::persisted::KnownDocuments::load(settings.documents_dir.as_deref())?;
    tracing::debug!(documents = known.len(), trusted = settings.trusted_documents, "known documents");
    if settings.trusted_documents {
        tracing::info!(
            documents = known.len(),
            "trusted documents: callers without a token may run only the known documents"
        );
    }
    Ok(crate::graphql::persisted::Persisted::new(known, settings.trusted_documents))
}

/// A hub bound to its port, ready to serve.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    limits: crate::http::serve::ConnectionLimits,
    shutting_down: tokio::sync::watch::Sender<bool>,
}

impl Application {
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let pool = db::Pool {
            max_connections: settings.db_max_connections,
            acquire_timeout: Duration::from_millis(settings.db_acquire_timeout_ms.max(1)),
        };
        let db = prepare_database_with(&settings.database_url, &pool).await?;
        let events = crate::events::spawn_relay(db.clone());
        // Rounds whose closing time passed while no hub ran close before the first request.
        let closer = crate::rounds_closer::RoundsCloser::new(&db);
        closer.close_due().await;
        let listener = TcpListener::bind(settings.bind)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
        let notifier = crate::notify::Notifier::start(&db, &settings.mail, listener.local_addr()?).await?;
        let authenticator = Authenticator::new(db.clone());
        let refusals = RefusalLog::new(db.clone());
        refusals.spawn_flusher();
        let webhooks =
            crate::notify::webhook::Guard { allow_private: settings.webhooks_allow_private_addresses };
        if webhooks.allow_private {
            tracing::warn!(
                "webhooks may reach private and loopback addresses (--webhooks-allow-private-addresses)"
            );
        }
        let metrics = std::sync::Arc::new(crate::http::Metrics::default());
        let workers = crate::notify::worker::Workers::new(
            &db,
            notifier.clone(),
            crate::notify::webhook::Deliverer::new(webhooks, crate::notify::webhook::TIMEOUT)?,
            metrics.clone(),
            crate::notify::worker::Timing {
                poll: Duration::from_millis(settings.notify_poll_ms.max(10)),
                lease: Duration::from_secs(settings.notify_lease_secs.max(1)),
            },
        );
        let bus = events.clone();
        let exports = crate::graphql::export::ExportLinks {
            key: notifier.key.clone(),
            base: notifier.links.base().to_owned(),
        };
        let persisted = std::sync::Arc::new(known_documents(&settings.documents)?);
        let schemas = build_schema(
            db.clone(),
            authenticator.clone(),
            refusals.clone(),
            events,
            webhooks,
            exports,
            persisted.clone(),
        );
        // Every known document is validated before the first request: a bad one stops the start.
        persisted.known().validate(&schemas.any).await?;
        let per_request = PerRequest::new(db.clone());
        let allowed_origins = std::sync::Arc::new(
            settings.allowed_origins.iter().map(|o| o.trim().trim_end_matches('/').to_lowercase()).collect(),
        );
        let (shutting_down, shutdown) = tokio::sync::watch::channel(false);
        crate::periodic::spawn_every(
            Duration::from_secs(settings.round_check_secs.max(1)),
            shutdown.clone(),
            closer,
        );
        if crate::db::needs::tallies_have_slots(&db) {
            let folder = crate::periodic::TallyFolder::new(&db);
            crate::periodic::spawn_every(crate::periodic::FOLD_EVERY, shutdown.clone(), folder);
        }
        if settings.notify_workers {
            workers.spawn(&bus, shutdown.clone());
        } else {
            tracing::info!("notification workers are off on this instance (--notify-workers false)");
        }
        let state = AppState {
            schema: schemas.any,
            known_schema: schemas.known,
            persisted,
            db,
            per_request,
            authenticator,
            allowed_origins,
            websocket: crate::http::websocket::Timing {
                init_timeout: Duration::from_secs(settings.ws_init_timeout_secs),
                ping_interval: Duration::from_secs(settings.ws_ping_secs.max(1)),
                send_timeout: Duration::from_secs(settings.ws_send_timeout_secs.max(1)),
            },
            shutdown,
            max_response_bytes: settings.max_response_bytes,
            metrics,
            rate_limiter: std::sync::Arc::new(crate::rate_limit::RateLimiter::new(
                settings.rate_limit,
                settings.public_rate_limit,
            )),
            fanout: std::sync::Arc::default(),
            refusals,
            notifier,
        };
        let limits = crate::http::serve::ConnectionLimits {
            header_timeout: Duration::from_secs(settings.header_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(settings.idle_timeout_secs.max(1)),
            max_connections: settings.max_connections.unwrap_or_else(|| {
                crate::http::serve::default_max_connections(pool.max_connections.unwrap_or(16))
            }),
        };
        tracing::debug!(?limits, "connection limits");
        if limits.idle_timeout <= Duration::from_secs(settings.ws_ping_secs.max(1)) {
            tracing::warn!(
                idle_timeout_secs = settings.idle_timeout_secs,
                ws_ping_secs = settings.ws_ping_secs,
                "the idle timeout is not above the WebSocket ping interval: quiet sockets will be cut"
            );
        }
        Ok(Self { listener, state, limits, shutting_down })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// The mailer (when e-mail is on), the links' base and the signing key.
    pub fn notifier(&self) -> &crate::notify::Notifier {
        &self.state.notifier
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let db = self.state.db.clone();
        let refusals = self.state.refusals.clone();
        let app = router(self.state);
        let shutting_down = self.shutting_down;
        let shutdown = async move {
            shutdown.await;
            // Open WebSockets close with "going away"; HTTP requests in flight finish.
            shutting_down.send_replace(true);
        };
        crate::http::serve::serve(self.listener, app, self.limits, shutdown).await;
        // Repeats counted since the last flush are written before the pool closes.
        refusals.flush().await;
        if let Err(err) = db.close().await {
            tracing::warn!(error = %err, "closing the database pool");
        }
        Ok(())
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled, so a signal that arrives right after start-up is not lost.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down");
    })
}
