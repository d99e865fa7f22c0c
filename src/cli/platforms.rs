//! `serve` and `discord register`: the bot on Slack and Discord.

use std::process::ExitCode;

use anyhow::Context;
use keepable::server::{self, Platforms};

use super::Globals;

/// Serves the platform endpoints and runs the workers until Ctrl-C.
pub(super) async fn serve(globals: &Globals, listen: &str) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let store = app.store.clone();
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    eprintln!("keepable listening on http://{}", listener.local_addr()?);
    let platforms = Platforms::from_env()?;
    server::run(app, platforms, listener, Default::default(), shutdown_signal()).await?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Registers the Discord slash commands, globally or in `guild`; needs no database.
pub(super) async fn discord_register(guild: Option<&str>) -> anyhow::Result<ExitCode> {
    let platforms = Platforms::from_env()?;
    let discord = platforms.discord.context("set DISCORD_PUBLIC_KEY, DISCORD_APPLICATION_ID and DISCORD_BOT_TOKEN first")?;
    let count = keepable::chat::discord::register::register_commands(&discord, guild).await?;
    out!("registered {count} commands{}", guild.map(|g| format!(" in guild {g}")).unwrap_or_default());
    Ok(ExitCode::SUCCESS)
}
