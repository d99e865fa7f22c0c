//! The Discord gateway (serenity client): for firms without a public URL. Interactions arrive
//! over the websocket as serenity `Interaction`s and go through the same `Handler` as the HTTP
//! endpoint; the response goes back through serenity's HTTP client, pointed at `DISCORD_API_URL`
//! like every other REST call.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use secrecy::ExposeSecret;
use serenity::all::{
    Client, ClientBuilder, Context, EventHandler, GatewayIntents, Http, HttpBuilder, Interaction,
    Ready,
};

use super::incoming;
use super::{DiscordSettings, Handler, DEFAULT_API_URL};
use crate::app::App;

/// The API version serenity 0.12 writes into every route (`https://discord.com/api/v10/…`).
const SERENITY_API_PATH: &str = "/api/v10";

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

/// Where serenity should send its REST calls instead of `https://discord.com`: `None` for
/// Discord itself, else the origin (and any path prefix) of `api_url` before `/api/v10`.
/// serenity replaces only the origin of its routes, so an `api_url` that does not end in its API
/// version cannot be honoured and is refused rather than half-followed.
pub fn serenity_proxy(api_url: &str) -> anyhow::Result<Option<String>> {
    let api_url = api_url.trim_end_matches('/');
    if api_url == DEFAULT_API_URL {
        return Ok(None);
    }
    match api_url.strip_suffix(SERENITY_API_PATH) {
        Some(origin) if origin.starts_with("http://") || origin.starts_with("https://") => {
            Ok(Some(origin.to_string()))
        }
        _ => anyhow::bail!(
            "DISCORD_API_URL must be an http(s) URL ending in {SERENITY_API_PATH} for the gateway (got {api_url})"
        ),
    }
}

/// serenity's HTTP client for `api_url`. serenity sends its own `User-Agent`,
/// `DiscordBot (https://github.com/serenity-rs/serenity, <version>)`, the form Discord requires.
/// Its rate limiter builds requests for discord.com whatever the proxy, so with a proxy it is off
/// and the rate limits are the proxy's (or the fake's) to enforce; the gateway's own REST calls
/// are the gateway URL and interaction callbacks, which Discord does not count against the bot.
fn http_client(token: &str, api_url: &str) -> anyhow::Result<Http> {
    let builder = HttpBuilder::new(token);
    Ok(match serenity_proxy(api_url)? {
        None => builder.build(),
        Some(origin) => builder.proxy(origin).ratelimiter_disabled(true).build(),
    })
}

/// Connects with `DISCORD_BOT_TOKEN` and serves interactions until the connection ends or
/// `shutdown` completes; then the session is closed with code 1000, as Discord asks of a bot
/// that logs off.
pub async fn run(
    app: App,
    settings: Arc<DiscordSettings>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let token = settings.bot_token.clone().context("DISCORD_GATEWAY=1 needs DISCORD_BOT_TOKEN")?;
    let http = http_client(token.expose_secret(), &settings.api_url)?;
    // Interactions reach every gateway connection; no privileged intent is needed.
    let mut client: Client = ClientBuilder::new_with_http(http, GatewayIntents::empty())
        .event_handler(Gateway { handler: Handler::new(app, settings) })
        .await
        .context("building the Discord gateway client")?;
    let shards = client.shard_manager.clone();
    tokio::select! {
        ended = client.start() => ended.context("running the Discord gateway"),
        () = shutdown => {
            shards.shutdown_all().await;
            tracing::info!("closed the Discord gateway session");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_itself_needs_no_proxy() {
        assert_eq!(serenity_proxy(DEFAULT_API_URL).unwrap(), None);
        assert_eq!(serenity_proxy("https://discord.com/api/v10/").unwrap(), None);
    }

    #[test]
    fn another_api_url_becomes_the_origin_serenity_calls_instead_of_discord() {
        assert_eq!(
            serenity_proxy("http://127.0.0.1:4000/api/v10").unwrap().as_deref(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(
            serenity_proxy("https://proxy.example/discord/api/v10/").unwrap().as_deref(),
            Some("https://proxy.example/discord")
        );
    }

    #[test]
    fn an_api_url_serenity_cannot_follow_is_refused() {
        for url in ["http://127.0.0.1:4000/api/v9", "http://127.0.0.1:4000", "ftp://x/api/v10"] {
            let error = serenity_proxy(url).unwrap_err().to_string();
            assert!(error.contains("/api/v10"), "{url}: {error}");
        }
    }
}
