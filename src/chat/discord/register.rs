//! `keepable discord register`: bulk-overwrites the application commands with one PUT, so
//! re-running it is safe (commands no longer defined are removed, not duplicated).

use anyhow::Context;
use reqwest::Method;

use super::commands::definitions;
use super::rest::DiscordRest;
use super::DiscordSettings;

/// Registers every command globally, or in `guild` (instant; global ones take up to an hour);
/// returns how many Discord now has.
pub async fn register_commands(
    settings: &DiscordSettings,
    guild: Option<&str>,
) -> anyhow::Result<usize> {
    let application = settings.application_id.as_deref().context("set DISCORD_APPLICATION_ID")?;
    settings.bot_token.as_ref().context("set DISCORD_BOT_TOKEN")?;
    let path = match guild {
        Some(guild) => format!("/applications/{application}/guilds/{guild}/commands"),
        None => format!("/applications/{application}/commands"),
    };
    let commands = definitions();
    let registered: Vec<serde::de::IgnoredAny> = DiscordRest::new(settings)
        .send_for(Method::PUT, &path, &commands, true)
        .await
        .map_err(|error| anyhow::anyhow!("{error:?}"))
        .with_context(|| format!("registering commands at {path}"))?;
    Ok(registered.len())
}
