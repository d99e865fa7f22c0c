//! Draining the outbox: claim due messages, hand them to a platform's `Deliver`, and record the
//! outcome with back-off, honouring rate limits. Several instances can run this at once.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Timelike, Utc};

use super::reply::{Reply, Target};
use super::{text, Clock};
use crate::store::outbox::{NewMessage, OutboundMessage};
#[cfg(test)]
use crate::store::timestamp;
use crate::store::Store;

/// Why a delivery did not happen.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryError {
    /// The platform asked us to wait (HTTP 429 `Retry-After`).
    RateLimited(StdDuration),
    /// Worth retrying (5xx, network).
    Transient(String),
    /// Retrying cannot help (bad channel, revoked token).
    Permanent(String),
}

/// A platform's way of posting and updating messages.
#[async_trait]
pub trait Deliver: Send + Sync {
    /// Posts `message` (or, when `replaces` is given, updates that earlier platform message) and
    /// returns where the platform put it. `now` is the worker's clock: a platform that keeps quiet
    /// after a rate limit measures the wait against it, not against the wall clock.
    async fn deliver(
        &self,
        message: &OutboundMessage,
        replaces: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<String, DeliveryError>;
}

/// How a worker claims and retries: a few messages at a time, under a short lease renewed while
/// a message is being sent, so a crashed instance's messages are taken over within the lease and
/// several instances share a backlog; and the longest `Retry-After` honoured at once.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryPolicy {
    pub lease: Duration,
    pub batch: i64,
    pub max_retry_after: Duration,
    /// Where operations hears about messages that failed for good.
    pub ops_channel: Option<String>,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            lease: Duration::seconds(30),
            batch: 5,
            max_retry_after: Duration::seconds(60),
            ops_channel: None,
        }
    }
}

impl DeliveryPolicy {
    pub fn from_settings(settings: &crate::config::Settings) -> DeliveryPolicy {
        DeliveryPolicy {
            lease: Duration::seconds(settings.lease_seconds),
            batch: 5,
            max_retry_after: Duration::seconds(settings.max_retry_after_seconds),
            ops_channel: settings.ops_channel.clone(),
        }
    }

    /// How often a lease is renewed while its message is being sent.
    fn renew_every(&self) -> StdDuration {
        (self.lease / 3)
            .to_std()
            .unwrap_or(StdDuration::from_secs(10))
            .max(StdDuration::from_secs(1))
    }
}

/// Attempts before a message is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;

/// Back-off after `attempts` failures: 2, 4, 8 … seconds, at most 10 minutes.
pub fn backoff(attempts: i64) -> Duration {
    Duration::seconds((2i64 << attempts.clamp(0, 9)).min(600))
}

/// Delivers every message due at `clock`'s time once; returns how many were sent. This is one
/// step of the outbox worker: the server calls it on an interval with the app's clock, tests call
/// it themselves and move their clock to let a wait (a `Retry-After`, a back-off, a lease) pass.
pub async fn deliver_due(
    store: &Store,
    deliverer: &dyn Deliver,
    worker: &str,
    clock: &Clock,
) -> anyhow::Result<usize> {
    deliver_due_with(store, deliverer, worker, clock, &DeliveryPolicy::default()).await
}

/// `deliver_due` under `policy`; a worker keeps claiming batches until nothing is due.
pub async fn deliver_due_with(
    store: &Store,
    deliverer: &dyn Deliver,
    worker: &str,
    clock: &Clock,
    policy: &DeliveryPolicy,
) -> anyhow::Result<usize> {
    let mut sent = 0;
    loop {
        let (claimed, delivered) = deliver_batch(store, deliverer, worker, clock, policy).await?;
        sent += delivered;
        if claimed < policy.batch as usize {
            return Ok(sent);
        }
    }
}

/// Claims one batch and delivers it; gives how many were claimed and how many sent.
async fn deliver_batch(
    store: &Store,
    deliverer: &dyn Deliver,
    worker: &str,
    clock: &Clock,
    policy: &DeliveryPolicy,
) -> anyhow::Result<(usize, usize)> {
    let now = clock.now();
    let lease = policy.lease;
    let batch = store.claim_due(worker, now, now + lease, policy.batch).await?;
    let claimed = batch.len();
    let mut sent = 0;
    for message in batch {
        // Each message's lease is renewed before it is sent and while it is being sent; if it
        // ran out, another worker has it now.
        let now = clock.now();
        if !store.renew_lease(message.id, worker, now, now + lease).await? {
            tracing::warn!(
                id = message.id,
                "outbox lease ran out before sending; left to another worker"
            );
            continue;
        }
        let replaces = match message.updates {
            Some(id) => store.outbox_message(id).await?.and_then(|m| m.platform_ref),
            None => None,
        };
        let delivery = deliverer.deliver(&message, replaces.as_deref(), now);
        tokio::pin!(delivery);
        let outcome = loop {
            tokio::select! {
                outcome = &mut delivery => break outcome,
                _ = tokio::time::sleep(policy.renew_every()) => {
                    let now = clock.now();
                    if !store.renew_lease(message.id, worker, now, now + lease).await? {
                        tracing::warn!(id = message.id, "outbox lease lost while sending");
                    }
                }
            }
        };
        match outcome {
            Ok(platform_ref) => {
                store.mark_sent(message.id, worker, &platform_ref, clock.now()).await?;
                crate::metrics::delivery("sent");
                sent += 1;
            }
            Err(error) => {
                let (text, next) = retry_plan(&error, message.attempts, clock.now(), policy);
                crate::metrics::delivery(match (&error, next) {
                    (DeliveryError::RateLimited(_), _) => "rate_limited",
                    (_, Some(_)) => "retry",
                    (_, None) => "failed",
                });
                tracing::warn!(id = message.id, target = %message.target, error = text, "delivery failed");
                let uncertain = matches!(error, DeliveryError::Transient(_));
                store.mark_retry(message.id, worker, &text, next, uncertain).await?;
                if next.is_none() {
                    tell_of_failure(store, &message, &text, clock.now(), policy).await?;
                }
            }
        }
    }
    Ok((claimed, sent))
}

/// A message that will not be delivered: the person whose action caused it is told what failed
/// and what to do, and so is `ops_channel`, each by a message of their own (never one about a
/// failed notice, so a failure cannot cascade).
async fn tell_of_failure(
    store: &Store,
    failed: &OutboundMessage,
    error: &str,
    now: DateTime<Utc>,
    policy: &DeliveryPolicy,
) -> anyhow::Result<()> {
    if failed.idempotency_key.starts_with("failed:") {
        return Ok(());
    }
    let place = match &failed.target {
        Target::Channel(channel) => format!("channel {channel}"),
        Target::User(user) => format!("<@{user}> (a direct message)"),
    };
    let what = failed.reply.headline.chars().take(120).collect::<String>();
    let mut tx = store.begin().await?;
    let causer = failed.caused_by.as_deref().filter(|by| *by != "keepable");
    if let Some(causer) = causer.filter(|by| failed.target != Target::User(by.to_string())) {
        let mut notice = Reply::new("delivery_failed");
        notice.headline = format!("A message you caused could not be delivered to {place}.");
        notice.body = format!(
            "It was: {}\nSlack or Discord said: {}\nWhat to do: invite the bot to the channel (or ask the person to allow its direct messages), then ask operations to run keepable outbox retry {}.",
            text::user(&what),
            text::user(error),
            failed.id
        );
        let message = NewMessage {
            idempotency_key: format!("failed:{}:requester", failed.id),
            target: Target::User(causer.to_string()),
            reply: &notice,
            updates: None,
            caused_by: Some("keepable".into()),
        };
        tx.enqueue(message, now).await?;
    }
    if let Some(ops) = &policy.ops_channel {
        // Operations hears on the platform the message was for.
        let (Target::Channel(id) | Target::User(id)) = &failed.target;
        let ops = crate::config::pick_channel(ops, Some(crate::config::platform_of(id)));
        let mut alert = Reply::new("delivery_failed");
        alert.headline = format!("Outbox message {} to {place} failed for good.", failed.id);
        alert.body = format!(
            "{}\nError: {}\nAfter fixing it: keepable outbox retry {}",
            text::user(&what),
            text::user(error),
            failed.id
        );
        let message = NewMessage {
            idempotency_key: format!("failed:{}:ops", failed.id),
            target: Target::Channel(ops),
            reply: &alert,
            updates: None,
            caused_by: Some("keepable".into()),
        };
        tx.enqueue(message, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What a failed delivery records, and when it is tried again (`None`: never, it failed).
fn retry_plan(
    error: &DeliveryError,
    attempts: i64,
    now: DateTime<Utc>,
    policy: &DeliveryPolicy,
) -> (String, Option<DateTime<Utc>>) {
    let later = |wait: Duration| {
        not_before(now.checked_add_signed(wait).unwrap_or(now + Duration::days(1)))
    };
    match error {
        DeliveryError::RateLimited(wait) => {
            // However long the platform asks for, no more than `max_retry_after` at once: a
            // wrong or hostile header cannot park a message for ever.
            let wait = Duration::from_std(*wait)
                .unwrap_or(policy.max_retry_after)
                .clamp(Duration::seconds(1), policy.max_retry_after);
            (format!("rate limited for {}s", wait.num_seconds()), Some(later(wait)))
        }
        DeliveryError::Transient(e) if attempts + 1 < MAX_ATTEMPTS => {
            (e.clone(), Some(later(backoff(attempts))))
        }
        DeliveryError::Transient(e) | DeliveryError::Permanent(e) => (e.clone(), None),
    }
}

/// `at` rounded up to a whole second: stored timestamps have whole seconds, and a retry must not
/// become due before its wait (a `Retry-After`, a back-off) is over.
fn not_before(at: DateTime<Utc>) -> DateTime<Utc> {
    let whole = at.with_nanosecond(0).unwrap_or(at);
    if whole < at {
        whole + Duration::seconds(1)
    } else {
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::seconds(2));
        assert_eq!(backoff(1), Duration::seconds(4));
        assert_eq!(backoff(20), Duration::seconds(600));
    }

    #[test]
    fn a_huge_retry_after_is_clamped() {
        let now: DateTime<Utc> = "2026-11-25T15:00:00Z".parse().unwrap();
        let policy = DeliveryPolicy::default();
        for wait in [StdDuration::from_secs(1_000_000_000_000), StdDuration::MAX] {
            let (text, next) = retry_plan(&DeliveryError::RateLimited(wait), 0, now, &policy);
            assert_eq!(next, Some(now + Duration::seconds(60)), "{text}");
        }
        let (_, next) = retry_plan(&DeliveryError::RateLimited(StdDuration::ZERO), 0, now, &policy);
        assert_eq!(next, Some(now + Duration::seconds(1)));
    }

    #[test]
    fn a_retry_time_is_rounded_up_to_the_second() {
        let at: DateTime<Utc> = "2026-11-25T15:00:00.100Z".parse().unwrap();
        assert_eq!(timestamp(not_before(at)), "2026-11-25T15:00:01Z");
        let whole: DateTime<Utc> = "2026-11-25T15:00:00Z".parse().unwrap();
        assert_eq!(not_before(whole), whole);
    }
}
