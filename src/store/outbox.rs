//! The outbox: outbound messages written in the transaction of the state change that causes
//! them, then claimed and delivered by workers. Claiming is the one backend-specific query:
//! PostgreSQL uses `FOR UPDATE SKIP LOCKED` so several instances share the table; SQLite has one
//! writer at a time and claims in a single `UPDATE … RETURNING`. A claim is a lease: if its
//! instance dies, the message becomes claimable again when the lease ends.

use anyhow::Context;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Backend, Store};

/// One message in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboundMessage {
    pub id: i64,
    pub idempotency_key: String,
    /// `channel:ID` or `user:ID`.
    pub target: String,
    pub text: String,
    /// The reply model as JSON, for adapters that render blocks or embeds.
    pub reply: serde_json::Value,
    /// The message this one replaces in place.
    pub updates: Option<i64>,
    /// `pending`, `sent` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Where the platform put it (Slack `channel:ts`, Discord `channel:message`).
    pub platform_ref: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

const COLUMNS: &str = "id, idempotency_key, target, text, reply, updates, state, attempts, last_error, platform_ref, created_at, sent_at";

fn from_row(row: &AnyRow) -> OutboundMessage {
    OutboundMessage {
        id: row.get(0),
        idempotency_key: row.get(1),
        target: row.get(2),
        text: row.get(3),
        reply: serde_json::from_str(&row.get::<String, _>(4)).unwrap_or(serde_json::Value::Null),
        updates: row.get(5),
        state: row.get(6),
        attempts: row.get(7),
        last_error: row.get(8),
        platform_ref: row.get(9),
        created_at: row.get(10),
        sent_at: row.get(11),
    }
}

/// What a state change wants sent.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub idempotency_key: String,
    pub target: String,
    pub text: String,
    pub reply: &'a serde_json::Value,
    pub updates: Option<i64>,
}

impl Store {
    /// Adds a message inside the caller's transaction; the same idempotency key yields the same id.
    pub async fn enqueue(conn: &mut AnyConnection, message: NewMessage<'_>, now: &str) -> anyhow::Result<i64> {
        sqlx::query(
            "INSERT INTO outbox (idempotency_key, target, text, reply, updates, state, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(message.idempotency_key.clone())
        .bind(message.target)
        .bind(message.text)
        .bind(message.reply.to_string())
        .bind(message.updates)
        .bind(now)
        .execute(&mut *conn)
        .await
        .context("writing to the outbox")?;
        let row =
            sqlx::query("SELECT id FROM outbox WHERE idempotency_key = $1").bind(message.idempotency_key).fetch_one(&mut *conn).await?;
        Ok(row.get(0))
    }

    /// Claims up to `limit` due messages for `worker` until `lease_until`. An update waits until
    /// the message it replaces has been sent.
    pub async fn claim_due(&self, worker: &str, now: &str, lease_until: &str, limit: i64) -> anyhow::Result<Vec<OutboundMessage>> {
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
        let mut rows: Vec<OutboundMessage> = sqlx::query(&sql)
            .bind(worker)
            .bind(now)
            .bind(lease_until)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .context("claiming outbox messages")?
            .iter()
            .map(from_row)
            .collect();
        rows.sort_by_key(|m| m.id);
        Ok(rows)
    }

    /// Extends `worker`'s lease on a message to `lease_until`, just before sending it; false when
    /// the lease ran out (or another worker holds it), and the message must not be sent.
    pub async fn renew_lease(&self, id: i64, worker: &str, now: &str, lease_until: &str) -> anyhow::Result<bool> {
        let done =
            sqlx::query("UPDATE outbox SET lease_until = $1 WHERE id = $2 AND claimed_by = $3 AND state = 'pending' AND lease_until > $4")
                .bind(lease_until)
                .bind(id)
                .bind(worker)
                .bind(now)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a claimed message delivered; only the worker holding the lease can.
    pub async fn mark_sent(&self, id: i64, worker: &str, platform_ref: &str, now: &str) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'sent', platform_ref = $1, sent_at = $2, attempts = attempts + 1, lease_until = NULL \
             WHERE id = $3 AND claimed_by = $4 AND state = 'pending'",
        )
        .bind(platform_ref)
        .bind(now)
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts a claimed message back for another attempt at `next_attempt_at`, or fails it for good.
    pub async fn mark_retry(&self, id: i64, worker: &str, error: &str, next_attempt_at: Option<&str>) -> anyhow::Result<()> {
        let state = if next_attempt_at.is_some() { "pending" } else { "failed" };
        sqlx::query(
            "UPDATE outbox SET state = $1, last_error = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
             attempts = attempts + 1, lease_until = NULL WHERE id = $4 AND claimed_by = $5 AND state = 'pending'",
        )
        .bind(state)
        .bind(error)
        .bind(next_attempt_at)
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn outbox_messages(&self) -> anyhow::Result<Vec<OutboundMessage>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM outbox ORDER BY id")).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(from_row).collect())
    }

    pub async fn outbox_message(&self, id: i64) -> anyhow::Result<Option<OutboundMessage>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM outbox WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(from_row))
    }
}
