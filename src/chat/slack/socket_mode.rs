//! Slack Socket Mode: the same handlers over a websocket, for firms without a public URL.

use std::sync::Arc;

use super::SlackSettings;
use crate::app::App;

pub async fn run(_app: App, _settings: Arc<SlackSettings>) -> anyhow::Result<()> {
    anyhow::bail!("Socket Mode is not built yet")
}
