//! Slack: slash commands, interactivity and events over verified HTTP (and Socket Mode), and
//! outbox delivery to the Web API. Only translation lives here: a Slack payload becomes an
//! `(Actor, command text or action id)`, and a `Reply` becomes Block Kit.
//!
//! How a request flows: `http` (behind the server's body-size limit) checks the signature
//! (`verify`) and for replays (`replay`), then hands the payload to `commands`, `interactions`
//! or `events`; Socket Mode (`socket_mode`) hands its envelopes to the same functions. Replies
//! are rendered by `blocks` (messages), `charts` (a reply's chart, uploaded) and `modals` (views); `web_api` talks to Slack,
//! `delivery` drains the outbox through it, and `groups` resolves user-group membership for
//! approver checks.

mod blocks;
mod charts;
mod commands;
mod delivery;
mod events;
mod groups;
mod http;
mod interactions;
mod modals;
mod responses;
pub mod socket_mode;
pub mod verify;
mod web_api;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use secrecy::SecretString;
use tokio::task::JoinHandle;

use crate::app::{Actor, App};

pub use delivery::SlackDelivery;

/// Slack configuration, from the environment (secrets never come from the config file, and
/// never show in `Debug` output).
#[derive(Debug, Clone)]
pub struct SlackSettings {
    pub signing_secret: SecretString,
    pub bot_token: SecretString,
    /// Socket Mode token (`xapp-…`); when set, Socket Mode runs alongside HTTP.
    pub app_token: Option<SecretString>,
    /// Web API base URL, `https://slack.com/api/` unless overridden for tests.
    pub api_url: String,
    /// How long a handler may take before Slack is acknowledged without the answer, which then
    /// follows through the `response_url` (`SLACK_ACK_WITHIN_MS`).
    pub ack_within: Duration,
    /// `POST /slack/baseline` is served (`KEEPABLE_LOAD_BASELINE=1`): the load benchmark's
    /// yardstick, a signature check answering a constant. Off unless asked for.
    pub load_baseline: bool,
}

/// Slack allows 3 seconds for an acknowledgement; the rest is left for the network.
pub const DEFAULT_ACK_WITHIN: Duration = Duration::from_secs(2);

impl SlackSettings {
    /// `None` when `SLACK_SIGNING_SECRET` is not set.
    pub fn from_env(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<SlackSettings>> {
        let Some(signing_secret) = var("SLACK_SIGNING_SECRET") else { return Ok(None) };
        let ack_within = match var("SLACK_ACK_WITHIN_MS") {
            Some(ms) => Duration::from_millis(
                ms.trim()
                    .parse()
                    .context("SLACK_ACK_WITHIN_MS must be a whole number of milliseconds")?,
            ),
            None => DEFAULT_ACK_WITHIN,
        };
        let load_baseline = match var("KEEPABLE_LOAD_BASELINE").as_deref().map(str::trim) {
            None | Some("" | "0") => false,
            Some("1") => true,
            Some(other) => anyhow::bail!("KEEPABLE_LOAD_BASELINE must be 1 or 0, not '{other}'"),
        };
        Ok(Some(SlackSettings {
            signing_secret: signing_secret.into(),
            bot_token: var("SLACK_BOT_TOKEN").unwrap_or_default().into(),
            app_token: var("SLACK_APP_TOKEN").map(SecretString::from),
            api_url: var("SLACK_API_URL").unwrap_or_else(|| "https://slack.com/api/".into()),
            ack_within,
            load_baseline,
        }))
    }
}

/// The Slack endpoints: `POST /slack/commands`, `/slack/interactions` and `/slack/events`, and
/// `/slack/baseline` when `load_baseline` is set.
pub fn routes(app: App, settings: Arc<SlackSettings>) -> Router {
    http::router(Slack::new(app, settings))
}

/// Everything a handler needs: the app, the settings, the Web API client and the group cache,
/// shared. axum clones its state several times for every request, and so does a command for its
/// work: cloning every part (a dozen reference counts, the API's base URL and token copied, the
/// token's copy wiped again) was a twentieth of a served command; now it is one count.
#[derive(Clone)]
pub(crate) struct Slack(Arc<Parts>);

impl std::ops::Deref for Slack {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

pub(crate) struct Parts {
    pub app: App,
    pub settings: Arc<SlackSettings>,
    pub api: web_api::WebApi,
    groups: Arc<groups::GroupCache>,
    replays: Arc<crate::chat::replay::ReplayGuard>,
    /// The charts uploaded for answers, shown again by their file ids.
    charts: Arc<charts::ChartFiles>,
    /// Inline answers' responses, made once for each reply (`responses`).
    responses: Arc<responses::Responses>,
}

impl Slack {
    pub fn new(app: App, settings: Arc<SlackSettings>) -> Slack {
        let api = web_api::WebApi::new(&settings);
        let app = app.with_directory(Arc::new(People(api.clone()))).on_platform("slack");
        let groups = Arc::new(groups::GroupCache::new(api.clone(), groups::CACHE_FOR));
        Slack(Arc::new(Parts {
            app,
            settings,
            api,
            groups,
            replays: Arc::default(),
            charts: Arc::default(),
            responses: Arc::default(),
        }))
    }

    /// The acting user in `channel`, with the configured approver, presales and sales-lead groups
    /// they are in.
    pub async fn actor(&self, user: &str, channel: &str) -> Actor {
        let configured: Vec<&str> = [
            self.app.settings.approver_group.as_deref(),
            self.app.settings.presales_group.as_deref(),
            self.app.settings.sales_lead_group.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut actor = Actor::new(user, channel);
        actor.groups = self.groups.groups_of(user, &configured).await;
        actor
    }

    /// Runs `work` and waits for it up to the acknowledgement window
    /// (`SlackSettings::ack_within`); work that takes longer carries on in its own task. Work
    /// that is done at once (an answer from data already in memory, most of them) is run here
    /// without a task; a panic in it is caught as a failed task's would be.
    pub async fn within_ack<T, F>(&self, work: F) -> Timed<T>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        use futures_util::FutureExt;
        let mut work = Box::pin(work);
        let first = std::panic::AssertUnwindSafe(futures_util::future::poll_fn(|cx| {
            std::task::Poll::Ready(work.as_mut().poll(cx))
        }))
        .catch_unwind()
        .await;
        match first {
            Ok(std::task::Poll::Ready(output)) => return Timed::Ready(output),
            Ok(std::task::Poll::Pending) => {}
            Err(_) => {
                tracing::error!("Slack handler panicked");
                return Timed::Failed;
            }
        }
        let mut task = tokio::spawn(work);
        match tokio::time::timeout(self.settings.ack_within, &mut task).await {
            Ok(Ok(output)) => Timed::Ready(output),
            Ok(Err(error)) => {
                tracing::error!(error = %error, "Slack handler task failed");
                Timed::Failed
            }
            Err(_) => Timed::Late(task),
        }
    }
}

/// Slack's directory of people: `users.info` says whether a user id is a person.
struct People(web_api::WebApi);

#[async_trait::async_trait]
impl crate::app::Directory for People {
    async fn is_person(&self, user: &str) -> anyhow::Result<bool> {
        self.0.is_person(user).await.map_err(|error| anyhow::anyhow!("users.info: {error:?}"))
    }
}

/// What a handler answers Slack with: an empty 200 (or bare Socket Mode ack), a JSON body
/// (or Socket Mode ack payload), or a failure Slack will retry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ack {
    Empty,
    Json(serde_json::Value),
    /// A JSON body written out already (a command's answer, `responses`).
    Response(axum::body::Bytes),
    /// We could not take the request in (the store is down): Slack should retry it later.
    Failed,
}

/// Where a piece of work stands when Slack must be acknowledged.
pub(crate) enum Timed<T> {
    /// It finished within the acknowledgement window.
    Ready(T),
    /// It is still running; the caller follows up when it ends.
    Late(JoinHandle<T>),
    /// It panicked (already logged).
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(name: &str) -> Option<String> {
        let value = match name {
            "SLACK_SIGNING_SECRET" => "signing-secret-8f74",
            "SLACK_BOT_TOKEN" => "xoxb-bot-token-1234",
            "SLACK_APP_TOKEN" => "xapp-app-token-5678",
            "SLACK_ACK_WITHIN_MS" => "1500",
            _ => return None,
        };
        Some(value.to_string())
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let settings = SlackSettings::from_env(&environment).unwrap().unwrap();
        let shown = format!("{settings:?}");
        for secret in ["signing-secret-8f74", "xoxb-bot-token-1234", "xapp-app-token-5678"] {
            assert!(!shown.contains(secret), "{secret} shows in {shown}");
        }
        assert!(shown.contains("https://slack.com/api/"), "the rest still shows: {shown}");
    }

    #[test]
    fn the_acknowledgement_window_is_a_setting() {
        let settings = SlackSettings::from_env(&environment).unwrap().unwrap();
        assert_eq!(settings.ack_within, Duration::from_millis(1500));
        let defaults = SlackSettings::from_env(&|name| {
            (name == "SLACK_SIGNING_SECRET").then(|| "s".to_string())
        })
        .unwrap()
        .unwrap();
        assert_eq!(defaults.ack_within, DEFAULT_ACK_WITHIN);
        let wrong =
            |name: &str| Some(if name == "SLACK_ACK_WITHIN_MS" { "2s" } else { "s" }.to_string());
        assert!(SlackSettings::from_env(&wrong).is_err());
    }

    #[test]
    fn the_load_baseline_is_off_unless_set_to_one() {
        let with = |baseline: Option<&'static str>| {
            SlackSettings::from_env(&move |name: &str| match name {
                "SLACK_SIGNING_SECRET" => Some("s".to_string()),
                "KEEPABLE_LOAD_BASELINE" => baseline.map(str::to_string),
                _ => None,
            })
        };
        assert!(!with(None).unwrap().unwrap().load_baseline);
        assert!(!with(Some("0")).unwrap().unwrap().load_baseline);
        assert!(with(Some("1")).unwrap().unwrap().load_baseline);
        assert!(with(Some("yes")).is_err(), "a value meant as on is not silently off");
    }
}
