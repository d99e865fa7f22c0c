//! Discord: application commands with typed options and autocomplete, buttons and modals over a
//! verified interactions endpoint (or the gateway), and outbox delivery to the REST API.
//!
//! A request flows `verify` (Ed25519, 5-minute window) → `incoming` (payload → `Incoming`, each
//! interaction id accepted once) → `interactions::Handler` (→ `App::ask` / `App::act`) → `render`
//! (`Reply` → embeds, buttons, modals). The gateway feeds serenity's `Interaction` into the same
//! handler.

mod commands;
mod forms;
mod incoming;
mod interactions;
mod render;
mod rest;
mod verify;

pub mod gateway;
pub mod register;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::routing::post;
use axum::Router;
use secrecy::SecretString;

use crate::app::App;

pub use interactions::Handler;
pub use rest::DiscordDelivery;

/// Discord's REST API, unless `DISCORD_API_URL` points elsewhere (a local fake in tests).
pub const DEFAULT_API_URL: &str = "https://discord.com/api/v10";

/// How long an answer may take before the interaction is deferred; Discord allows 3 seconds.
pub const DEFAULT_DEFER_AFTER: Duration = Duration::from_secs(2);

/// Discord configuration, from the environment (the bot token never shows in `Debug` output).
#[derive(Debug, Clone)]
pub struct DiscordSettings {
    /// The application's Ed25519 public key, hex. Public by design (it can only verify), so it is
    /// not held as a secret.
    pub public_key: String,
    pub application_id: Option<String>,
    pub bot_token: Option<SecretString>,
    /// REST base URL, `https://discord.com/api/v10` unless overridden for tests.
    pub api_url: String,
    /// Run the gateway client as well as (or instead of) the HTTP endpoint.
    pub gateway: bool,
    /// Answers not ready after this long are deferred (type 5) and edited in later; zero
    /// defers every command and click.
    pub defer_after: Duration,
}

impl DiscordSettings {
    /// Settings with `public_key` and Discord's defaults for everything else.
    pub fn new(public_key: impl Into<String>) -> DiscordSettings {
        DiscordSettings {
            public_key: public_key.into(),
            application_id: None,
            bot_token: None,
            api_url: DEFAULT_API_URL.into(),
            gateway: false,
            defer_after: DEFAULT_DEFER_AFTER,
        }
    }

    /// `None` when `DISCORD_PUBLIC_KEY` is not set; an error when it is not a valid key.
    pub fn from_env(
        var: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Option<DiscordSettings>> {
        let Some(public_key) = var("DISCORD_PUBLIC_KEY") else { return Ok(None) };
        verify::SignatureVerifier::from_hex(&public_key).context(
            "DISCORD_PUBLIC_KEY must be the application's public key: 64 hex characters",
        )?;
        let settings = DiscordSettings {
            application_id: var("DISCORD_APPLICATION_ID"),
            bot_token: var("DISCORD_BOT_TOKEN").map(SecretString::from),
            api_url: var("DISCORD_API_URL")
                .unwrap_or_else(|| DEFAULT_API_URL.into())
                .trim_end_matches('/')
                .to_string(),
            gateway: var("DISCORD_GATEWAY").is_some_and(|v| v == "1" || v == "true"),
            ..DiscordSettings::new(public_key)
        };
        if settings.gateway {
            // Checked at start-up, not when the gateway task would fail on its own.
            gateway::serenity_proxy(&settings.api_url)?;
        }
        Ok(Some(settings))
    }
}

/// `POST /discord/interactions` (the server caps the body size).
pub fn routes(app: App, settings: Arc<DiscordSettings>) -> Router {
    let handler = Handler::new(app, settings);
    Router::new().route("/discord/interactions", post(interactions::endpoint)).with_state(handler)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bot_token_never_shows_in_debug_output() {
        // RFC 8032's first test key.
        let public_key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let environment = |name: &str| match name {
            "DISCORD_PUBLIC_KEY" => Some(public_key.to_string()),
            "DISCORD_BOT_TOKEN" => Some("discord-bot-token-1234".to_string()),
            _ => None,
        };
        let settings = DiscordSettings::from_env(&environment).unwrap().unwrap();
        let shown = format!("{settings:?}");
        assert!(!shown.contains("discord-bot-token-1234"), "{shown}");
        assert!(shown.contains(public_key), "the public key is not a secret: {shown}");
    }

    #[test]
    fn the_gateway_with_an_api_url_it_cannot_follow_is_refused_at_start_up() {
        let public_key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let environment = |api_url: &'static str| {
            move |name: &str| match name {
                "DISCORD_PUBLIC_KEY" => Some(public_key.to_string()),
                "DISCORD_GATEWAY" => Some("1".to_string()),
                "DISCORD_API_URL" => Some(api_url.to_string()),
                _ => None,
            }
        };
        let refused = DiscordSettings::from_env(&environment("http://127.0.0.1:4000/api/v9"));
        assert!(refused.is_err(), "{refused:?}");
        let settings = DiscordSettings::from_env(&environment("http://127.0.0.1:4000/api/v10/"));
        assert_eq!(settings.unwrap().unwrap().api_url, "http://127.0.0.1:4000/api/v10");
    }
}
