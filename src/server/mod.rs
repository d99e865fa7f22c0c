//! The HTTP server (health and the platform endpoints) and the background workers: outbox
//! delivery and due work (reminders, escalations, expiries, hold releases). `run` takes its
//! listener and a shutdown future, so tests bind `127.0.0.1:0` and stop it cleanly.

mod listener;

use crate::app::refresh::DropFolder;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;

use crate::app::delivery::{deliver_due_with, Deliver, DeliveryError, DeliveryPolicy};
use crate::app::reply::Target;
use crate::app::App;
use crate::chat::{discord, slack};
use crate::store::outbox::OutboundMessage;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use tokio::sync::watch;

/// Largest request body accepted from a platform: a larger declared length gets 413 before
/// anything is read, and a streamed body gets 413 as soon as it grows past the limit.
pub const MAX_BODY: usize = 1024 * 1024;

/// The chat platforms this instance serves, configured from the environment.
#[derive(Clone, Default)]
pub struct Platforms {
    pub slack: Option<Arc<slack::SlackSettings>>,
    pub discord: Option<Arc<discord::DiscordSettings>>,
}

impl Platforms {
    pub fn from_env() -> anyhow::Result<Platforms> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Ok(Platforms {
            slack: slack::SlackSettings::from_env(&var)?.map(Arc::new),
            discord: discord::DiscordSettings::from_env(&var)?.map(Arc::new),
        })
    }

    /// Who delivers the outbox: each message to its platform (a `slack:`/`discord:` prefix, else
    /// the shape of its channel or user id), so one instance serves Slack and Discord together.
    pub fn deliverer(&self) -> Option<Arc<dyn Deliver>> {
        let slack: Option<Arc<dyn Deliver>> = self
            .slack
            .as_ref()
            .map(|s| Arc::new(slack::SlackDelivery::new(s.clone())) as Arc<dyn Deliver>);
        let discord: Option<Arc<dyn Deliver>> = self
            .discord
            .as_ref()
            .map(|s| Arc::new(discord::DiscordDelivery::new(s.clone())) as Arc<dyn Deliver>);
        if slack.is_none() && discord.is_none() {
            return None;
        }
        Some(Arc::new(Routed { slack, discord }))
    }
}

/// Delivery to whichever platform a message is for.
struct Routed {
    slack: Option<Arc<dyn Deliver>>,
    discord: Option<Arc<dyn Deliver>>,
}

#[async_trait::async_trait]
impl Deliver for Routed {
    async fn deliver(
        &self,
        message: &OutboundMessage,
        replaces: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, DeliveryError> {
        let (Target::Channel(id) | Target::User(id)) = &message.target;
        let platform = crate::config::platform_of(id);
        let bare = id.split_once(':').map(|(_, rest)| rest).unwrap_or(id).to_string();
        let deliverer = match (platform, &self.slack, &self.discord) {
            ("slack", Some(slack), _) => slack,
            ("discord", _, Some(discord)) => discord,
            // The only platform configured takes what names no other.
            (_, Some(only), None) | (_, None, Some(only)) => only,
            _ => {
                return Err(DeliveryError::Permanent(format!(
                    "{} is a {platform} id, and {platform} is not configured",
                    message.target
                )))
            }
        };
        let mut routed = message.clone();
        routed.target = match &message.target {
            Target::Channel(_) => Target::Channel(bare),
            Target::User(_) => Target::User(bare),
        };
        deliverer.deliver(&routed, replaces, now).await
    }
}

/// `/healthz` and the endpoints of the configured platforms, whose bodies share one size limit
/// (`MAX_BODY`, in place of axum's default).
pub fn router(app: App, platforms: &Platforms, health: Health) -> Router {
    let mut endpoints = Router::new();
    if let Some(settings) = &platforms.slack {
        endpoints = endpoints.merge(slack::routes(app.clone(), settings.clone()));
    }
    if let Some(settings) = &platforms.discord {
        endpoints = endpoints.merge(discord::routes(app.clone(), settings.clone()));
    }
    let endpoints =
        endpoints.layer(DefaultBodyLimit::disable()).layer(RequestBodyLimitLayer::new(MAX_BODY));
    let metrics_app = app.clone();
    crate::metrics::handle();
    Router::new()
        .route("/healthz", get(move || async move { health.report().await }))
        .route(
            "/metrics",
            get(move || async move {
                let text =
                    crate::metrics::render(&metrics_app.store, metrics_app.clock.now()).await;
                ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
            }),
        )
        .merge(endpoints)
}

/// How often the workers look for work; `None` runs no such worker, for a caller (a test) that
/// steps it itself (`deliver_due`, `App::run_due`). A worker's first step is at start-up.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    pub outbox: Option<Duration>,
    pub due: Option<Duration>,
    /// How often the drop folder (`import_dir`) is looked at.
    pub drop_folder: Option<Duration>,
    /// How long a connection may stay silent before it is dropped.
    pub connection_timeout: Duration,
}

impl Intervals {
    /// No background workers: the caller steps the outbox and the due work.
    pub const STEPPED: Intervals = Intervals {
        outbox: None,
        due: None,
        drop_folder: None,
        connection_timeout: listener::CONNECTION_TIMEOUT,
    };

    /// The default intervals, with the drop folder looked at every `import_every` when
    /// `import_dir` is set.
    pub fn for_settings(settings: &crate::config::Settings) -> anyhow::Result<Intervals> {
        let drop_folder = match settings.import_dir {
            Some(_) => Some(settings.import_interval()?),
            None => None,
        };
        Ok(Intervals { drop_folder, ..Intervals::default() })
    }
}

impl Default for Intervals {
    fn default() -> Self {
        Intervals {
            outbox: Some(Duration::from_millis(500)),
            due: Some(Duration::from_secs(30)),
            drop_folder: None,
            connection_timeout: listener::CONNECTION_TIMEOUT,
        }
    }
}

/// Serves until `shutdown` completes, with the outbox and due-work workers alongside. On
/// shutdown the server stops accepting and finishes the requests in hand; each worker finishes
/// the step in hand (a delivery is never cut off half-way) and stops; the Discord gateway closes
/// its session.
pub async fn run(
    app: App,
    platforms: Platforms,
    listener: tokio::net::TcpListener,
    intervals: Intervals,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop, stopping) = watch::channel(false);
    let delivers = platforms.slack.is_some() || platforms.discord.is_some();
    let health = Health::new(app.clone(), delivers);
    let workers = spawn_workers(&app, &platforms, intervals, &health, &stopping);
    let connections = connect_platforms(&app, &platforms, &stopping);
    let store = app.store.clone();
    let listener = listener::GuardedListener::new(
        listener,
        listener::MAX_CONNECTIONS,
        intervals.connection_timeout,
    );
    let served = axum::serve(listener, router(app, &platforms, health))
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop.send(true);
    // The gateway closes its session and a worker finishes the step in hand; a task stuck past
    // the grace period is cut off.
    for task in connections.into_iter().chain(workers) {
        let abort = task.abort_handle();
        if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
            abort.abort();
        }
    }
    // The last requests' keys are in the database before the process ends: a restart refuses
    // their replays.
    if tokio::time::timeout(SHUTDOWN_GRACE, store.flush_request_keys()).await.is_err() {
        tracing::warn!("some request keys were not written before shutdown");
    }
    Ok(served?)
}

/// The timed workers: due work, outbox delivery, the drop folder, as `intervals` asks.
fn spawn_workers(
    app: &App,
    platforms: &Platforms,
    intervals: Intervals,
    health: &Health,
    stopping: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut workers = Vec::new();
    if let Some(every) = intervals.due {
        let due_app = app.clone();
        workers.push(health.spawn("due work", every, stopping.clone(), move || {
            let app = due_app.clone();
            async move { app.run_due().await.map(|_| ()).map_err(|e| anyhow::anyhow!("{e}")) }
        }));
    }
    if let Some(every) = intervals.outbox {
        match platforms.deliverer() {
            Some(deliverer) => {
                let (store, clock) = (app.store.clone(), app.clock);
                let policy = Arc::new(DeliveryPolicy::from_settings(&app.settings));
                let worker_id =
                    Arc::new(format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()));
                workers.push(health.spawn("outbox", every, stopping.clone(), move || {
                    let (store, deliverer, worker_id, policy) =
                        (store.clone(), deliverer.clone(), worker_id.clone(), policy.clone());
                    async move {
                        deliver_due_with(&store, deliverer.as_ref(), &worker_id, &clock, &policy)
                            .await
                            .map(|_| ())
                    }
                }));
            }
            None => {
                tracing::warn!("no chat platform configured: outbound messages stay in the outbox")
            }
        }
    }
    if let (Some(every), Some(dir)) = (intervals.drop_folder, app.settings.import_dir.clone()) {
        tracing::info!(dir = %dir.display(), every = ?every, "watching the drop folder");
        let folder = Arc::new(tokio::sync::Mutex::new(DropFolder::new(dir)));
        let drop_app = app.clone();
        workers.push(health.spawn("drop folder", every, stopping.clone(), move || {
            let (folder, app) = (folder.clone(), drop_app.clone());
            async move {
                let outcome = folder.lock().await.step(&app).await?;
                tracing::debug!(?outcome, "drop folder looked at");
                Ok(())
            }
        }));
    }
    workers
}

/// Slack Socket Mode and the Discord gateway, for firms without a public URL. Each ends when
/// `stopping` says so: Socket Mode is dropped, the gateway closes its session first.
fn connect_platforms(
    app: &App,
    platforms: &Platforms,
    stopping: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut connections = Vec::new();
    if let Some(settings) = platforms.slack.clone().filter(|s| s.app_token.is_some()) {
        let (socket_app, stopping) = (app.clone(), stopping.clone());
        connections.push(tokio::spawn(async move {
            tokio::select! {
                ended = slack::socket_mode::run(socket_app, settings) => if let Err(error) = ended {
                    tracing::error!(error = format!("{error:#}"), "Slack Socket Mode stopped");
                },
                () = stopped(stopping) => {}
            }
        }));
    }
    if let Some(settings) = platforms.discord.clone().filter(|s| s.gateway) {
        let (gateway_app, stopping) = (app.clone(), stopping.clone());
        connections.push(tokio::spawn(async move {
            let ended = discord::gateway::run(gateway_app, settings, stopped(stopping)).await;
            if let Err(error) = ended {
                tracing::error!(error = format!("{error:#}"), "Discord gateway stopped");
            }
        }));
    }
    connections
}

/// Completes once the server is stopping.
async fn stopped(mut stopping: watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// How long a worker may take to finish its step at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// The workers' liveness and the outbox's age, for `/healthz`.
#[derive(Clone)]
pub struct Health {
    app: App,
    delivers: bool,
    workers: Arc<std::sync::Mutex<Vec<(&'static str, tokio::task::AbortHandle)>>>,
}

impl Health {
    pub fn new(app: App, delivers: bool) -> Health {
        Health { app, delivers, workers: Default::default() }
    }

    /// Runs `step` every `every` until `stopping` says so. A step that fails or panics is
    /// logged and the worker carries on: it cannot die silently.
    fn spawn<F, Fut>(
        &self,
        name: &'static str,
        every: Duration,
        mut stopping: watch::Receiver<bool>,
        step: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let handle = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopping.changed() => return,
                }
                if *stopping.borrow() {
                    return;
                }
                match AssertUnwindSafe(step()).catch_unwind().await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::error!(
                        worker = name,
                        error = format!("{error:#}"),
                        "worker step failed"
                    ),
                    Err(panic) => tracing::error!(
                        worker = name,
                        panic = panic_text(&panic),
                        "worker step panicked; carrying on"
                    ),
                }
            }
        });
        let mut workers = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        workers.push((name, handle.abort_handle()));
        handle
    }

    /// `200` and `{"status":"ok",…}`, or `503` saying which worker is down or how long the
    /// oldest due message has waited.
    async fn report(&self) -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
        let mut problems = Vec::new();
        let workers: Vec<serde_json::Value> = {
            let workers = self.workers.lock().unwrap_or_else(|p| p.into_inner());
            workers
                .iter()
                .map(|(name, handle)| {
                    let alive = !handle.is_finished();
                    if !alive {
                        problems.push(format!("the {name} worker is down"));
                    }
                    serde_json::json!({"name": name, "alive": alive})
                })
                .collect()
        };
        let now = self.app.clock.now();
        let oldest = match self.app.store.oldest_due(now).await {
            Ok(oldest) => oldest.map(|at| (now - at).num_seconds().max(0)),
            Err(error) => {
                problems.push(format!("the database cannot be read: {error}"));
                None
            }
        };
        if let Some(age) = oldest.filter(|_| self.delivers) {
            if age > self.app.settings.health_max_backlog_seconds {
                problems.push(format!("the oldest undelivered message has been due for {age} s"));
            }
        }
        let status = if problems.is_empty() { "ok" } else { "unhealthy" };
        let code = if problems.is_empty() {
            axum::http::StatusCode::OK
        } else {
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        };
        let body = serde_json::json!({
            "status": status, "problems": problems, "workers": workers,
            "oldest_due_seconds": oldest,
        });
        (code, axum::Json(body))
    }
}

/// What a panic said, for the log.
fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}
