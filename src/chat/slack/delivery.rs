//! Outbox delivery to Slack: a new message is posted with `chat.postMessage` (to a channel, or to
//! a user id, which Slack turns into the app's direct message with them); a message that replaces
//! an earlier one updates it in place with `chat.update`. Retries and back-off are the outbox
//! worker's job; this reports what Slack said, and after a 429 it keeps quiet towards that
//! channel for the whole `Retry-After` (the rest of the batch for that channel is put back for
//! then rather than sent into the limit; other channels go on). A message with a chart (the
//! weekly digest) uploads it first and shows it in an image block.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::blocks::Card;
use super::charts;
use super::web_api::{WebApi, OUTBOX_EVENT};
use super::SlackSettings;
use crate::app::delivery::{Deliver, DeliveryError};
use crate::app::reply::Target;
use crate::store::outbox::OutboundMessage;

/// The longest a channel is kept quiet after a 429.
const MAX_QUIET: Duration = Duration::from_secs(60);

/// Delivers outbox messages through the Slack Web API.
pub struct SlackDelivery {
    api: WebApi,
    /// Until when Slack asked us to wait (its last 429), per channel, on the worker's clock.
    quiet_until: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl SlackDelivery {
    pub fn new(settings: Arc<SlackSettings>) -> Self {
        SlackDelivery { api: WebApi::new(&settings), quiet_until: Mutex::new(HashMap::new()) }
    }

    /// How long we must still wait at `now` after a 429 on `channel`, if at all.
    fn must_wait(&self, channel: &str, now: DateTime<Utc>) -> Option<Duration> {
        let quiet = self.quiet_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let until = quiet.get(channel)?;
        (*until - now).to_std().ok().filter(|wait| !wait.is_zero())
    }

    fn remember(&self, channel: &str, outcome: &Result<String, DeliveryError>, now: DateTime<Utc>) {
        if let Err(DeliveryError::RateLimited(wait)) = outcome {
            // Quiet no longer than the outbox waits at once (`max_retry_after_seconds`'s
            // default): a wrong header cannot silence a channel for a day.
            let wait = (*wait).min(MAX_QUIET);
            let until =
                chrono::Duration::from_std(wait).ok().and_then(|wait| now.checked_add_signed(wait));
            let mut quiet =
                self.quiet_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            quiet.retain(|_, until| *until > now);
            if let Some(until) = until {
                quiet.insert(channel.to_string(), until);
            }
        }
    }

    async fn send(
        &self,
        message: &OutboundMessage,
        replaces: Option<&str>,
    ) -> Result<String, DeliveryError> {
        let mut body = Card::from(&message.reply).message();
        let chart = message.reply.chart.clone();
        if let Some((channel, ts)) = replaces.and_then(split_ref) {
            if let Some(chart) = chart {
                // Shown again in the updated message; not shared in the channel a second time.
                charts::add_chart(&self.api, &mut body, chart, None).await?;
            }
            return Ok(self.api.update_message(channel, ts, &body).await?.platform_ref());
        }
        if let Some(earlier) = replaces {
            // The earlier message's reference is not Slack's: post the new version instead of
            // losing it.
            tracing::warn!(
                id = message.id,
                earlier,
                "cannot update a message without a Slack reference; posting anew"
            );
        }
        let channel = channel_of(&message.target);
        if message.uncertain {
            // An earlier attempt may have posted it (its worker died mid-send, or Slack timed
            // out): adopt that message rather than post a second.
            if let Some(found) = self.api.find_posted(channel, &message.idempotency_key).await? {
                tracing::info!(id = message.id, "adopted a message an earlier attempt had posted");
                return Ok(found.platform_ref());
            }
        }
        if let Some(chart) = chart {
            // Uploaded only once the message is known not to be posted yet.
            let shared = matches!(message.target, Target::Channel(_)).then_some(channel);
            charts::add_chart(&self.api, &mut body, chart, shared).await?;
        }
        body["metadata"] = serde_json::json!({
            "event_type": OUTBOX_EVENT,
            "event_payload": { "outbox_key": message.idempotency_key },
        });
        Ok(self.api.post_message(channel, &body, None).await?.platform_ref())
    }
}

#[async_trait]
impl Deliver for SlackDelivery {
    async fn deliver(
        &self,
        message: &OutboundMessage,
        replaces: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<String, DeliveryError> {
        let channel = channel_of(&message.target);
        if let Some(wait) = self.must_wait(channel, now) {
            return Err(DeliveryError::RateLimited(wait));
        }
        let outcome = self.send(message, replaces).await;
        self.remember(channel, &outcome, now);
        outcome
    }
}

/// A channel and a user's direct messages both post to the id (`chat.postMessage` opens the DM).
fn channel_of(target: &Target) -> &str {
    match target {
        Target::Channel(id) | Target::User(id) => id,
    }
}

/// `C1:1700000000.000100` -> (`C1`, `1700000000.000100`).
fn split_ref(platform_ref: &str) -> Option<(&str, &str)> {
    platform_ref.split_once(':').filter(|(channel, ts)| !channel.is_empty() && !ts.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_references_are_read() {
        assert_eq!(channel_of(&Target::Channel("C1".into())), "C1");
        assert_eq!(channel_of(&Target::User("U1".into())), "U1");
        assert_eq!(split_ref("C1:17.1"), Some(("C1", "17.1")));
        assert_eq!(split_ref("nothing"), None);
    }
}
