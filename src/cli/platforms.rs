//! `serve` and `discord register`: the bot on Slack and Discord.

use std::process::ExitCode;

use anyhow::Context;
use keepable::server::{self, Platforms};

use super::Globals;

/// Serves the platform endpoints and runs the workers until SIGINT or SIGTERM.
pub(super) async fn serve(globals: &Globals, listen: &str) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let store = app.store.clone();
    let platforms = Platforms::from_env()?;
    one_firm(&app.settings, &platforms)?;
    let stopped = shutdown_signal()?;
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    eprintln!("keepable listening on http://{}", listener.local_addr()?);
    let intervals = server::Intervals::for_settings(&app.settings)?;
    if let Some(dir) = &app.settings.import_dir {
        eprintln!("importing the drop folder {} when its files change", dir.display());
    }
    server::run(app, platforms, listener, intervals, stopped).await?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// SIGINT (Ctrl-C) or SIGTERM (systemd, Docker): stop accepting, finish what is in hand. The
/// handlers are installed at once, before `serve` says it is listening, so no early signal is
/// lost to the default action.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{signal, SignalKind};
        (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?)
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("keepable: stopping; finishing the requests and deliveries in hand");
    })
}

/// Registers the Discord slash commands, globally or in `guild`; needs no database.
pub(super) async fn discord_register(guild: Option<&str>) -> anyhow::Result<ExitCode> {
    let platforms = Platforms::from_env()?;
    let discord = platforms
        .discord
        .context("set DISCORD_PUBLIC_KEY, DISCORD_APPLICATION_ID and DISCORD_BOT_TOKEN first")?;
    let count = keepable::chat::discord::register::register_commands(&discord, guild).await?;
    out!(
        "registered {count} commands{}",
        guild.map(|g| format!(" in guild {g}")).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// The bot serves one firm (SPEC 7): with a platform configured, the one workspace or server it
/// serves must be named, so the first one that reaches it is never trusted silently.
fn one_firm(settings: &keepable::config::Settings, platforms: &Platforms) -> anyhow::Result<()> {
    if platforms.slack.is_some() && settings.slack_team_id.is_none() {
        anyhow::bail!(
            "Slack is configured but slack_team_id is not set: set KEEPABLE_SLACK_TEAM_ID (or slack_team_id in the \
             config file) to your workspace's id, the T… in the address of https://app.slack.com/client/T…/, so requests \
             from any other workspace are refused"
        );
    }
    if platforms.discord.is_some() && settings.discord_guild_id.is_none() {
        anyhow::bail!(
            "Discord is configured but discord_guild_id is not set: set KEEPABLE_DISCORD_GUILD_ID (or discord_guild_id in \
             the config file) to your server's id (Discord: User Settings → Advanced → Developer Mode, then right-click the \
             server → Copy Server ID), so interactions from any other server are refused"
        );
    }
    Ok(())
}
