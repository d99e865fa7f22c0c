//! The Discord gateway (serenity client): for firms without a public URL. Interactions arrive
//! over the websocket as serenity `Interaction`s and go through the same `Handler` as the HTTP
//! endpoint; the response goes back through serenity's HTTP client.

use std::sync::Arc;

use anyhow::Context as _;
use secrecy::ExposeSecret;
use serenity::all::{Client, Context, EventHandler, GatewayIntents, Interaction, Ready};

use super::incoming;
use super::{DiscordSettings, Handler};
use crate::app::App;

struct Gateway {
    handler: Handler,
}

#[serenity::async_trait]
impl EventHandler for Gateway {
    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let Some(incoming) = incoming::from_serenity(&interaction) else {
            tracing::debug!(kind = ?interaction.kind(), "ignored a gateway interaction");
            return;
        };
        if !self.handler.serves(&incoming).await {
            tracing::warn!(
                guild = incoming.guild_id.as_deref().unwrap_or("direct message"),
                "ignored an interaction from outside the firm's Discord server"
            );
            return;
        }
        let response = self.handler.respond(incoming).await;
        if let Err(error) = ctx
            .http
            .create_interaction_response(
                interaction.id(),
                interaction.token(),
                &response,
                Vec::new(),
            )
            .await
        {
            tracing::error!(error = %error, "could not answer a Discord interaction over the gateway");
        }
    }

    async fn ready(&self, _ctx: Context, ready: Ready) {
        tracing::info!(user = %ready.user.name, "connected to the Discord gateway");
    }
}

/// Connects with `DISCORD_BOT_TOKEN` and serves interactions until the connection ends.
pub async fn run(app: App, settings: Arc<DiscordSettings>) -> anyhow::Result<()> {
    let token = settings.bot_token.clone().context("DISCORD_GATEWAY=1 needs DISCORD_BOT_TOKEN")?;
    // Interactions reach every gateway connection; no privileged intent is needed.
    let mut client = Client::builder(token.expose_secret(), GatewayIntents::empty())
        .event_handler(Gateway { handler: Handler::new(app, settings) })
        .await
        .context("building the Discord gateway client")?;
    client.start().await.context("running the Discord gateway")
}
