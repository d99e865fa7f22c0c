//! The outbox: outbound messages written in the transaction of the state change that causes
//! them, then claimed and delivered by workers. Claiming is the one backend-specific query:
//! PostgreSQL uses `FOR UPDATE SKIP LOCKED` so several instances share the table; SQLite has one
//! writer at a time and claims in a single `UPDATE … RETURNING`. A claim is a lease: if its
//! instance dies, the message becomes claimable again when the lease ends.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::decode::{json, opt_text, opt_time, parsed, text, time, timestamp};
use super::{Backend, Store, StoreError, StoreResult, Tx};
use crate::app::reply::{Reply, Target};
use crate::domain::text_enum;

text_enum! {
    pub enum OutboxState {
        Pending = "pending",
        Sent = "sent",
        Failed = "failed",
    }
}

/// One message in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboundMessage {
    pub id: i64,
    pub idempotency_key: String,
    pub target: Target,
    /// The reply as readable text (the console, logs, the CLI).
    pub text: String,
    /// The reply model, for adapters that render blocks or embeds.
    pub reply: Reply,
    /// The message this one replaces in place.
    pub updates: Option<i64>,
    pub state: OutboxState,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Where the platform put it (Slack `channel:ts`, Discord `channel:message`).
    pub platform_ref: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Who caused it (`keepable` for timed work), when known.
    pub caused_by: Option<String>,
    /// An earlier attempt may have reached the platform (its worker died mid-send, or it ended
    /// in a timeout or a 5xx): look for the message before posting it again.
    pub uncertain: bool,
}

const COLUMNS: &str = "id, idempotency_key, target, text, reply, updates, state, attempts, last_error, platform_ref, created_at, sent_at, caused_by, sending";

impl FromRow<'_, AnyRow> for OutboundMessage {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(OutboundMessage {
            id: row.try_get("id")?,
            idempotency_key: text(row, "idempotency_key")?,
            target: parsed(row, "target")?,
            text: text(row, "text")?,
            reply: json(row, "reply")?,
            updates: row.try_get("updates")?,
            state: parsed(row, "state")?,
            attempts: row.try_get("attempts")?,
            last_error: opt_text(row, "last_error")?,
            platform_ref: opt_text(row, "platform_ref")?,
            created_at: time(row, "created_at")?,
            sent_at: opt_time(row, "sent_at")?,
            caused_by: opt_text(row, "caused_by")?,
            uncertain: row.try_get::<i64, _>("sending")? != 0,
        })
    }
}

/// What a state change wants sent.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// The same key is the same message: a retried state change sends nothing twice.
    pub idempotency_key: String,
    pub target: Target,
    pub reply: &'a Reply,
    /// The earlier message this one replaces in place (a decided card).
    pub updates: Option<i64>,
    /// Who caused it: told, with operations, if it cannot be delivered.
    pub caused_by: Option<String>,
}

impl Tx {
    /// Adds a message inside this transaction; the same idempotency key yields the same id.
    pub async fn enqueue(
        &mut self,
        message: NewMessage<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let reply =
            serde_json::to_string(message.reply).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO outbox (idempotency_key, target, text, reply, updates, state, attempts, next_attempt_at, created_at, caused_by) \
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(message.idempotency_key.clone())
        .bind(message.target.to_string())
        .bind(message.reply.to_text())
        .bind(reply)
        .bind(message.updates)
        .bind(timestamp(now))
        .bind(message.caused_by)
        .execute(self.conn())
        .await?;
        let row = sqlx::query("SELECT id FROM outbox WHERE idempotency_key = $1")
            .bind(message.idempotency_key)
            .fetch_one(self.conn())
            .await?;
        Ok(row.try_get("id")?)
    }
}

impl Tx {
    /// The ids of the messages queued under keys starting with `prefix`, oldest first.
    pub async fn outbox_ids_with_prefix(&mut self, prefix: &str) -> StoreResult<Vec<i64>> {
        let pattern =
            format!("{}%", prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let ids = sqlx::query_scalar(
            "SELECT id FROM outbox WHERE idempotency_key LIKE $1 ESCAPE '\\' ORDER BY id",
        )
        .bind(pattern)
        .fetch_all(self.conn())
        .await?;
        Ok(ids)
    }

    /// Where message `id` was addressed.
    pub async fn outbox_target(&mut self, id: i64) -> StoreResult<Option<Target>> {
        let target: Option<String> = sqlx::query_scalar("SELECT target FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        target
            .map(|t| {
                t.parse()
                    .map_err(|e: crate::domain::UnknownValue| StoreError::Corrupt(e.to_string()))
            })
            .transpose()
    }

    /// The id of the message queued under `key`, if one was.
    pub async fn outbox_id(&mut self, key: &str) -> StoreResult<Option<i64>> {
        let row = sqlx::query("SELECT id FROM outbox WHERE idempotency_key = $1")
            .bind(key)
            .fetch_optional(self.conn())
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }
}

impl Store {
    /// Puts a failed message back to be delivered at `now` (`keepable outbox retry`); false when
    /// there is no such failed message.
    pub async fn retry_failed(&self, id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'pending', next_attempt_at = $1, attempts = 0, lease_until = NULL \
             WHERE id = $2 AND state = 'failed'",
        )
        .bind(timestamp(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// When the oldest pending message that is due at `now` became due, if any.
    pub async fn oldest_due(&self, now: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
        let oldest: Option<String> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1",
        )
        .bind(timestamp(now))
        .fetch_one(&self.pool)
        .await?;
        oldest
            .map(|at| {
                at.parse().map_err(|e: chrono::ParseError| StoreError::Corrupt(e.to_string()))
            })
            .transpose()
    }

    /// Claims up to `limit` due messages for `worker` until `lease_until`. An update waits until
    /// the message it replaces has been sent.
    pub async fn claim_due(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<OutboundMessage>> {
        let due = "o.state = 'pending' AND o.next_attempt_at <= $2 AND (o.lease_until IS NULL OR o.lease_until <= $2) \
                   AND (o.updates IS NULL OR EXISTS (SELECT 1 FROM outbox u WHERE u.id = o.updates AND u.state <> 'pending'))";
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE OF o SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET claimed_by = $1, lease_until = $3 WHERE id IN \
             (SELECT o.id FROM outbox o WHERE {due} ORDER BY o.id LIMIT $4 {lock}) RETURNING {COLUMNS}"
        );
        let mut messages: Vec<OutboundMessage> = sqlx::query_as(&sql)
            .bind(worker)
            .bind(timestamp(now))
            .bind(timestamp(lease_until))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        messages.sort_by_key(|m| m.id);
        Ok(messages)
    }

    /// Extends `worker`'s lease on a message to `lease_until`, just before sending it; false when
    /// the lease ran out (or another worker holds it), and the message must not be sent.
    pub async fn renew_lease(
        &self,
        id: i64,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE outbox SET lease_until = $1, sending = 1 WHERE id = $2 AND claimed_by = $3 AND state = 'pending' AND lease_until > $4")
                .bind(timestamp(lease_until))
                .bind(id)
                .bind(worker)
                .bind(timestamp(now))
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a claimed message delivered; only the worker holding the lease can.
    pub async fn mark_sent(
        &self,
        id: i64,
        worker: &str,
        platform_ref: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'sent', platform_ref = $1, sent_at = $2, attempts = attempts + 1, lease_until = NULL, sending = 0 \
             WHERE id = $3 AND claimed_by = $4 AND state = 'pending'",
        )
        .bind(platform_ref)
        .bind(timestamp(now))
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts a claimed message back for another attempt at `next_attempt_at`, or fails it for good.
    /// `uncertain`: the platform may have the message anyway (a timeout, a 5xx), so the next
    /// attempt looks for it first.
    pub async fn mark_retry(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        next_attempt_at: Option<DateTime<Utc>>,
        uncertain: bool,
    ) -> StoreResult<()> {
        let state =
            if next_attempt_at.is_some() { OutboxState::Pending } else { OutboxState::Failed };
        sqlx::query(
            "UPDATE outbox SET state = $1, last_error = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
             attempts = attempts + 1, lease_until = NULL, sending = $6 WHERE id = $4 AND claimed_by = $5 AND state = 'pending'",
        )
        .bind(state.as_str())
        .bind(error)
        .bind(next_attempt_at.map(timestamp))
        .bind(id)
        .bind(worker)
        .bind(i64::from(uncertain))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn outbox_messages(&self) -> StoreResult<Vec<OutboundMessage>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox ORDER BY id"))
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn outbox_message(&self, id: i64) -> StoreResult<Option<OutboundMessage>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }
}
