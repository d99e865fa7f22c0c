//! The HTTP server (health and the platform endpoints) and the background workers (outbox
//! delivery, reminders). `run` takes its listener and a shutdown future, so tests bind
//! `127.0.0.1:0` and stop it cleanly.

use std::future::Future;
use std::time::Duration;

use axum::routing::get;
use axum::Router;

use crate::app::App;

/// Largest request body accepted from a platform.
pub const MAX_BODY: usize = 1024 * 1024;

pub fn router(app: App) -> Router {
    Router::new().route("/healthz", get(|| async { "ok" })).with_state(app)
}

/// Serves until `shutdown` completes, running due work every minute.
pub async fn run(app: App, listener: tokio::net::TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let worker_app = app.clone();
    let worker = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(error) = worker_app.run_due().await {
                tracing::error!(error = %error, "due work failed");
            }
        }
    });
    axum::serve(listener, router(app)).with_graceful_shutdown(shutdown).await?;
    worker.abort();
    Ok(())
}
