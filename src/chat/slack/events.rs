//! The Events API: `url_verification` is answered with its challenge, and event callbacks are
//! de-duplicated by `event_id` so Slack's retries (`X-Slack-Retry-Num`) never act twice. An
//! `app_mention` is answered with the help text, in a thread under the mention.

use serde::Deserialize;
use serde_json::{json, Value};

use super::blocks::Card;
use super::{Ack, Slack};

/// An Events API body, as far as Keepable reads it.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum EventBody {
    UrlVerification {
        challenge: String,
    },
    EventCallback {
        #[serde(default)]
        event_id: Option<String>,
        #[serde(default)]
        event: Event,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    user: String,
    channel: String,
    ts: Option<String>,
    thread_ts: Option<String>,
}

/// Handles one Events API body (HTTP) or `events_api` payload (Socket Mode).
pub(crate) async fn event(slack: &Slack, body: Value) -> Ack {
    match serde_json::from_value::<EventBody>(body) {
        Ok(EventBody::UrlVerification { challenge }) => {
            Ack::Json(json!({ "challenge": challenge }))
        }
        Ok(EventBody::EventCallback { event_id, event }) => callback(slack, event_id, event).await,
        Ok(EventBody::Other) => Ack::Empty,
        Err(error) => {
            tracing::warn!(error = %error, "unreadable Slack event");
            Ack::Empty
        }
    }
}

async fn callback(slack: &Slack, event_id: Option<String>, event: Event) -> Ack {
    if let Some(event_id) = event_id.as_deref() {
        match slack.app.store.first_delivery_of_event(event_id, slack.app.clock.now()).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(event_id, "Slack event already handled; acknowledging the retry");
                return Ack::Empty;
            }
            Err(error) => {
                tracing::error!(
                    event_id,
                    error = format!("{error:#}"),
                    "could not record a Slack event; Slack will retry it"
                );
                return Ack::Failed;
            }
        }
    }
    if event.kind == "app_mention" {
        answer_mention(slack, event).await;
    }
    Ack::Empty
}

/// Posts the help text under the mention.
async fn answer_mention(slack: &Slack, event: Event) {
    let Event { user, channel, ts, thread_ts, .. } = event;
    if channel.is_empty() {
        return;
    }
    let thread = thread_ts.filter(|t| !t.is_empty()).or(ts.filter(|t| !t.is_empty()));
    let worker = slack.clone();
    let work = async move {
        let actor = worker.actor(&user, &channel).await;
        let help = Card::from(&worker.app.ask(&actor, "/keepable help").await);
        if let Err(error) =
            worker.api.post_message(&channel, &help.message(), thread.as_deref()).await
        {
            tracing::warn!(channel, error = ?error, "could not answer an app mention");
        }
    };
    // Slack is acknowledged once the help is posted, or after the acknowledgement window with it
    // still on its way.
    let _ = slack.within_ack(work).await;
}
