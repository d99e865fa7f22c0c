//! The HTTP server (health and the platform endpoints) and the background workers: outbox
//! delivery and due work (reminders, escalations, expiries, hold releases). `run` takes its
//! listener and a shutdown future, so tests bind `127.0.0.1:0` and stop it cleanly.

use crate::app::refresh::DropFolder;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;

use crate::app::delivery::{deliver_due, Deliver};
use crate::app::App;
use crate::chat::{discord, slack};

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

    /// Who delivers the outbox: Slack when configured, else Discord. The configured channels and
    /// approvers are one platform's ids, so an instance delivers to one platform.
    pub fn deliverer(&self) -> Option<Arc<dyn Deliver>> {
        if self.slack.is_some() && self.discord.is_some() {
            tracing::warn!("both Slack and Discord are configured: outbound messages go to Slack; run one instance per platform");
        }
        if let Some(settings) = &self.slack {
            return Some(Arc::new(slack::SlackDelivery::new(settings.clone())));
        }
        if let Some(settings) = &self.discord {
            return Some(Arc::new(discord::DiscordDelivery::new(settings.clone())));
        }
        None
    }
}

/// `/healthz` and the endpoints of the configured platforms, whose bodies share one size limit
/// (`MAX_BODY`, in place of axum's default).
pub fn router(app: App, platforms: &Platforms) -> Router {
    let mut endpoints = Router::new();
    if let Some(settings) = &platforms.slack {
        endpoints = endpoints.merge(slack::routes(app.clone(), settings.clone()));
    }
    if let Some(settings) = &platforms.discord {
        endpoints = endpoints.merge(discord::routes(app.clone(), settings.clone()));
    }
    let endpoints =
        endpoints.layer(DefaultBodyLimit::disable()).layer(RequestBodyLimitLayer::new(MAX_BODY));
    Router::new().route("/healthz", get(|| async { "ok" })).merge(endpoints)
}

/// How often the workers look for work; `None` runs no such worker, for a caller (a test) that
/// steps it itself (`deliver_due`, `App::run_due`). A worker's first step is at start-up.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    pub outbox: Option<Duration>,
    pub due: Option<Duration>,
    /// How often the drop folder (`import_dir`) is looked at.
    pub drop_folder: Option<Duration>,
}

impl Intervals {
    /// No background workers: the caller steps the outbox and the due work.
    pub const STEPPED: Intervals = Intervals { outbox: None, due: None, drop_folder: None };

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
        }
    }
}

/// Serves until `shutdown` completes, with the outbox and due-work workers alongside.
pub async fn run(
    app: App,
    platforms: Platforms,
    listener: tokio::net::TcpListener,
    intervals: Intervals,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut workers = Vec::new();
    if let Some(every) = intervals.due {
        let due_app = app.clone();
        workers.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(error) = due_app.run_due().await {
                    tracing::error!(error = %error, "due work failed");
                }
            }
        }));
    }
    if let Some(every) = intervals.outbox {
        match platforms.deliverer() {
            Some(deliverer) => {
                let (store, clock) = (app.store.clone(), app.clock);
                let worker_id = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
                workers.push(tokio::spawn(async move {
                    let mut tick = tokio::time::interval(every);
                    loop {
                        tick.tick().await;
                        if let Err(error) =
                            deliver_due(&store, deliverer.as_ref(), &worker_id, &clock).await
                        {
                            tracing::error!(error = format!("{error:#}"), "outbox delivery failed");
                        }
                    }
                }));
            }
            None => {
                tracing::warn!("no chat platform configured: outbound messages stay in the outbox")
            }
        }
    }
    if let (Some(every), Some(dir)) = (intervals.drop_folder, app.settings.import_dir.clone()) {
        let drop_app = app.clone();
        workers.push(tokio::spawn(async move {
            tracing::info!(dir = %dir.display(), every = ?every, "watching the drop folder");
            let mut folder = DropFolder::new(dir);
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                match folder.step(&drop_app).await {
                    Ok(outcome) => tracing::debug!(?outcome, "drop folder looked at"),
                    Err(error) => {
                        tracing::error!(error = format!("{error:#}"), "drop folder import failed")
                    }
                }
            }
        }));
    }
    if let Some(settings) = platforms.slack.clone().filter(|s| s.app_token.is_some()) {
        let socket_app = app.clone();
        workers.push(tokio::spawn(async move {
            if let Err(error) = slack::socket_mode::run(socket_app, settings).await {
                tracing::error!(error = format!("{error:#}"), "Slack Socket Mode stopped");
            }
        }));
    }
    if let Some(settings) = platforms.discord.clone().filter(|s| s.gateway) {
        let gateway_app = app.clone();
        workers.push(tokio::spawn(async move {
            if let Err(error) = discord::gateway::run(gateway_app, settings).await {
                tracing::error!(error = format!("{error:#}"), "Discord gateway stopped");
            }
        }));
    }
    let served =
        axum::serve(listener, router(app, &platforms)).with_graceful_shutdown(shutdown).await;
    for worker in workers {
        worker.abort();
    }
    Ok(served?)
}
