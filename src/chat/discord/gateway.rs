//! The Discord gateway (serenity client): the same handlers without a public endpoint.

use std::sync::Arc;

use super::DiscordSettings;
use crate::app::App;

pub async fn run(_app: App, _settings: Arc<DiscordSettings>) -> anyhow::Result<()> {
    anyhow::bail!("the gateway is not built yet")
}
