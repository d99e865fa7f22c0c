//! Slack: slash commands, interactivity and events over verified HTTP (and Socket Mode), and
//! outbox delivery to the Web API. Only translation lives here: a Slack payload becomes an
//! `(Actor, command text or action id)`, and a `Reply` becomes Block Kit.
//!
//! How a request flows: `http` (behind the server's body-size limit) checks the signature
//! (`verify`) and for replays (`replay`), then hands the payload to `commands`, `interactions`
//! or `events`; Socket Mode (`socket_mode`) hands its envelopes to the same functions. Replies
//! are rendered by `blocks` (messages) and `modals` (views); `web_api` talks to Slack,
//! `delivery` drains the outbox through it, and `groups` resolves user-group membership for
//! approver checks.

mod blocks;
mod commands;
mod delivery;
mod events;
mod groups;
mod http;
mod interactions;
mod modals;
mod replay;
pub mod socket_mode;
pub mod verify;
mod web_api;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::task::JoinHandle;

use crate::app::{Actor, App};

pub use delivery::SlackDelivery;

/// Slack configuration, from the environment (secrets never come from the config file).
#[derive(Debug, Clone)]
pub struct SlackSettings {
    pub signing_secret: String,
    pub bot_token: String,
    /// Socket Mode token (`xapp-…`); when set, Socket Mode runs alongside HTTP.
    pub app_token: Option<String>,
    /// Web API base URL, `https://slack.com/api/` unless overridden for tests.
    pub api_url: String,
}

impl SlackSettings {
    /// `None` when `SLACK_SIGNING_SECRET` is not set.
    pub fn from_env(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<SlackSettings>> {
        let Some(signing_secret) = var("SLACK_SIGNING_SECRET") else { return Ok(None) };
        Ok(Some(SlackSettings {
            signing_secret,
            bot_token: var("SLACK_BOT_TOKEN").unwrap_or_default(),
            app_token: var("SLACK_APP_TOKEN"),
            api_url: var("SLACK_API_URL").unwrap_or_else(|| "https://slack.com/api/".into()),
        }))
    }
}

/// The Slack endpoints: `POST /slack/commands`, `/slack/interactions` and `/slack/events`.
pub fn routes(app: App, settings: Arc<SlackSettings>) -> Router {
    http::router(Slack::new(app, settings))
}

/// How long a handler may take before Slack is acknowledged without the answer (Slack allows 3 s;
/// the rest is left for the network). Work that takes longer carries on in its own task.
const ACK_WITHIN: Duration = Duration::from_secs(2);

/// Everything a handler needs: the app, the settings, the Web API client and the group cache.
#[derive(Clone)]
pub(crate) struct Slack {
    pub app: App,
    pub settings: Arc<SlackSettings>,
    pub api: web_api::WebApi,
    groups: Arc<groups::GroupCache>,
    replays: Arc<replay::ReplayGuard>,
}

impl Slack {
    pub fn new(app: App, settings: Arc<SlackSettings>) -> Slack {
        let api = web_api::WebApi::new(&settings);
        let groups = Arc::new(groups::GroupCache::new(api.clone(), groups::CACHE_FOR));
        Slack { app, settings, api, groups, replays: Arc::default() }
    }

    /// The acting user in `channel`, with the configured approver / presales groups they are in.
    pub async fn actor(&self, user: &str, channel: &str) -> Actor {
        let configured: Vec<&str> =
            [self.app.settings.approver_group.as_deref(), self.app.settings.presales_group.as_deref()].into_iter().flatten().collect();
        let mut actor = Actor::new(user, channel);
        actor.groups = self.groups.groups_of(user, &configured).await;
        actor
    }
}

/// What a handler answers Slack with: an empty 200 (or bare Socket Mode ack), a JSON body
/// (or Socket Mode ack payload), or a failure Slack will retry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ack {
    Empty,
    Json(serde_json::Value),
    /// We could not take the request in (the store is down): Slack should retry it later.
    Failed,
}

/// Where a piece of work stands when Slack must be acknowledged.
pub(crate) enum Timed<T> {
    /// It finished within `ACK_WITHIN`.
    Ready(T),
    /// It is still running; the caller follows up when it ends.
    Late(JoinHandle<T>),
    /// It panicked (already logged).
    Failed,
}

/// Runs `work` in its own task and waits up to `ACK_WITHIN` for it.
pub(crate) async fn within_ack<T, F>(work: F) -> Timed<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let mut task = tokio::spawn(work);
    match tokio::time::timeout(ACK_WITHIN, &mut task).await {
        Ok(Ok(output)) => Timed::Ready(output),
        Ok(Err(error)) => {
            tracing::error!(error = %error, "Slack handler task failed");
            Timed::Failed
        }
        Err(_) => Timed::Late(task),
    }
}
