//! Slack Socket Mode: the same handlers over a websocket, for firms without a public URL.
//! `apps.connections.open` (with the `xapp-` token) gives a websocket URL; Slack sends envelopes
//! (`slash_commands`, `interactive`, `events_api`) and each is acknowledged with its
//! `envelope_id`, carrying the handler's answer as the ack `payload` where HTTP would have put it
//! in the response body. Slack asks us to reconnect now and then (`disconnect`); errors reconnect
//! with back-off.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::{commands, events, interactions, Ack, Slack, SlackSettings};
use crate::app::App;

/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    envelope_id: Option<String>,
    #[serde(default)]
    payload: Value,
}

/// Connects and serves until the task is stopped, reconnecting whenever the socket ends.
pub async fn run(app: App, settings: Arc<SlackSettings>) -> anyhow::Result<()> {
    let token = settings
        .app_token
        .clone()
        .filter(|t| !t.expose_secret().is_empty())
        .context("SLACK_APP_TOKEN is not set")?;
    let slack = Slack::new(app, settings);
    let mut backoff = Duration::from_secs(1);
    loop {
        match session(&slack, &token).await {
            Ok(()) => {
                tracing::info!("Slack Socket Mode connection ended; reconnecting");
                backoff = Duration::from_secs(1);
            }
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    wait_s = backoff.as_secs(),
                    "Slack Socket Mode connection failed"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// One websocket connection, until Slack closes it or asks us to reconnect.
async fn session(slack: &Slack, token: &SecretString) -> anyhow::Result<()> {
    let url = slack
        .api
        .open_socket_url(token)
        .await
        .map_err(|e| anyhow::anyhow!("apps.connections.open: {e:?}"))?;
    let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .context("connecting to the Socket Mode websocket")?;
    tracing::info!("Slack Socket Mode connected");
    let (mut sink, mut stream) = socket.split();
    // Handlers run in their own tasks and hand their acks back here to be written.
    let (acks, mut pending) = mpsc::channel::<String>(64);
    loop {
        tokio::select! {
            Some(ack) = pending.recv() => sink.send(Message::text(ack)).await.context("acknowledging an envelope")?,
            frame = stream.next() => match frame {
                None | Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Err(error)) => return Err(error).context("reading from the Socket Mode websocket"),
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<Envelope>(text.as_str()) {
                    Ok(envelope) if envelope.kind == "disconnect" => return Ok(()),
                    Ok(envelope) => {
                        let (slack, acks) = (slack.clone(), acks.clone());
                        tokio::spawn(async move {
                            if let Some(ack) = handle(&slack, envelope).await {
                                let _ = acks.send(ack.to_string()).await;
                            }
                        });
                    }
                    Err(error) => tracing::warn!(error = %error, "unreadable Socket Mode message"),
                },
                // Pings are answered by tungstenite itself.
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Runs an envelope through the HTTP handlers and returns its acknowledgement; `None` for
/// messages that need none (`hello`) and for failures Slack should redeliver.
async fn handle(slack: &Slack, envelope: Envelope) -> Option<Value> {
    let envelope_id = envelope.envelope_id?;
    let ack = match envelope.kind.as_str() {
        "slash_commands" => match commands::SlashCommand::deserialize(&envelope.payload) {
            Ok(command) => commands::command(slack, command).await,
            Err(error) => {
                tracing::warn!(error = %error, "unreadable Socket Mode slash command");
                Ack::Empty
            }
        },
        "interactive" => interactions::interaction(slack, envelope.payload).await,
        "events_api" => events::event(slack, envelope.payload).await,
        _ => Ack::Empty,
    };
    match ack {
        Ack::Empty => Some(json!({ "envelope_id": envelope_id })),
        Ack::Json(payload) => Some(json!({ "envelope_id": envelope_id, "payload": payload })),
        Ack::Response(json) => {
            let payload: Value = serde_json::from_slice(&json).unwrap_or_default();
            Some(json!({ "envelope_id": envelope_id, "payload": payload }))
        }
        Ack::Failed => None,
    }
}
