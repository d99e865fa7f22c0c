//! The Events API: `url_verification` is answered with its challenge, and event callbacks are
//! de-duplicated by `event_id` so Slack's retries (`X-Slack-Retry-Num`) never act twice. An
//! `app_mention` is answered with the help text, in a thread under the mention.

use serde_json::{json, Value};

use super::blocks::Card;
use super::{within_ack, Ack, Slack};
use crate::store::timestamp;

/// Handles one Events API body (HTTP) or `events_api` payload (Socket Mode).
pub(crate) async fn event(slack: &Slack, body: Value) -> Ack {
    match body.get("type").and_then(Value::as_str) {
        Some("url_verification") => Ack::Json(json!({ "challenge": body.get("challenge").cloned().unwrap_or(Value::Null) })),
        Some("event_callback") => callback(slack, body).await,
        _ => Ack::Empty,
    }
}

async fn callback(slack: &Slack, body: Value) -> Ack {
    if let Some(event_id) = body.get("event_id").and_then(Value::as_str) {
        let at = timestamp(slack.app.clock.now());
        match slack.app.store.first_delivery_of_event(event_id, &at).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(event_id, "Slack event already handled; acknowledging the retry");
                return Ack::Empty;
            }
            Err(error) => {
                tracing::error!(event_id, error = format!("{error:#}"), "could not record a Slack event; Slack will retry it");
                return Ack::Failed;
            }
        }
    }
    let event = body.get("event").cloned().unwrap_or(Value::Null);
    if event.get("type").and_then(Value::as_str) == Some("app_mention") {
        answer_mention(slack, &event).await;
    }
    Ack::Empty
}

/// Posts the help text under the mention.
async fn answer_mention(slack: &Slack, event: &Value) {
    let text = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    let (user, channel) = (text("user"), text("channel"));
    if channel.is_empty() {
        return;
    }
    let thread = Some(text("thread_ts")).filter(|t| !t.is_empty()).or_else(|| Some(text("ts")).filter(|t| !t.is_empty()));
    let worker = slack.clone();
    let work = async move {
        let actor = worker.actor(&user, &channel).await;
        let help = Card::from(&worker.app.ask(&actor, "/keepable help").await);
        if let Err(error) = worker.api.post_message(&channel, &help.message(), thread.as_deref()).await {
            tracing::warn!(channel, error = ?error, "could not answer an app mention");
        }
    };
    // Slack is acknowledged once the help is posted, or after ACK_WITHIN with it still on its way.
    let _ = within_ack(work).await;
}
