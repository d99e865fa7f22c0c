//! Slack: slash commands, interactivity and events over verified HTTP (and Socket Mode), and
//! outbox delivery to the Web API.

pub mod socket_mode;

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;

use crate::app::delivery::{Deliver, DeliveryError};
use crate::app::App;
use crate::store::outbox::OutboundMessage;

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

pub fn routes(_app: App, _settings: Arc<SlackSettings>) -> Router {
    Router::new()
}

pub struct SlackDelivery {
    _settings: Arc<SlackSettings>,
}

impl SlackDelivery {
    pub fn new(settings: Arc<SlackSettings>) -> Self {
        SlackDelivery { _settings: settings }
    }
}

#[async_trait]
impl Deliver for SlackDelivery {
    async fn deliver(&self, _message: &OutboundMessage, _replaces: Option<&str>) -> Result<String, DeliveryError> {
        Err(DeliveryError::Permanent("Slack delivery is not built yet".into()))
    }
}
