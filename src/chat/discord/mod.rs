//! Discord: application commands with typed options and autocomplete, buttons and modals over a
//! verified interactions endpoint (and the gateway), and outbox delivery to the REST API.

pub mod gateway;
pub mod register;

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;

use crate::app::delivery::{Deliver, DeliveryError};
use crate::app::App;
use crate::store::outbox::OutboundMessage;

/// Discord configuration, from the environment.
#[derive(Debug, Clone)]
pub struct DiscordSettings {
    /// The application's Ed25519 public key, hex.
    pub public_key: String,
    pub application_id: Option<String>,
    pub bot_token: Option<String>,
    /// REST base URL, `https://discord.com/api/v10` unless overridden for tests.
    pub api_url: String,
    /// Run the gateway client as well as (or instead of) the HTTP endpoint.
    pub gateway: bool,
}

impl DiscordSettings {
    /// `None` when `DISCORD_PUBLIC_KEY` is not set.
    pub fn from_env(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<DiscordSettings>> {
        let Some(public_key) = var("DISCORD_PUBLIC_KEY") else { return Ok(None) };
        Ok(Some(DiscordSettings {
            public_key,
            application_id: var("DISCORD_APPLICATION_ID"),
            bot_token: var("DISCORD_BOT_TOKEN"),
            api_url: var("DISCORD_API_URL").unwrap_or_else(|| "https://discord.com/api/v10".into()),
            gateway: var("DISCORD_GATEWAY").is_some_and(|v| v == "1" || v == "true"),
        }))
    }
}

pub fn routes(_app: App, _settings: Arc<DiscordSettings>) -> Router {
    Router::new()
}

pub struct DiscordDelivery {
    _settings: Arc<DiscordSettings>,
}

impl DiscordDelivery {
    pub fn new(settings: Arc<DiscordSettings>) -> Self {
        DiscordDelivery { _settings: settings }
    }
}

#[async_trait]
impl Deliver for DiscordDelivery {
    async fn deliver(&self, _message: &OutboundMessage, _replaces: Option<&str>) -> Result<String, DeliveryError> {
        Err(DeliveryError::Permanent("Discord delivery is not built yet".into()))
    }
}
