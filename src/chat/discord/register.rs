//! `keepable discord register`: bulk-overwrites the application commands (safe to re-run).

use super::DiscordSettings;

/// Registers every command globally, or in `guild`; returns how many were registered.
pub async fn register_commands(_settings: &DiscordSettings, _guild: Option<&str>) -> anyhow::Result<usize> {
    anyhow::bail!("command registration is not built yet")
}
