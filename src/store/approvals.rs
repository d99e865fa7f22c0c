//! Approvals (SPEC 5.2) in the database, for `app/workflows/approvals.rs`. A decision is a
//! conditional `UPDATE … WHERE state = 'pending'`, so the first valid click wins even across
//! processes.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, FromRow, Row};

use super::decode::{opt_date, opt_text, opt_time, parsed, text, time, timestamp};
use super::{Store, StoreError, StoreResult, Tx};
use crate::domain::approval::{Approval, ApprovalKind, ApprovalState, ApprovalTimer, Evidence};

const COLUMNS: &str = "id, kind, deal_id, package, requester, channel, requested_date, start_date, evidence, state, \
    decided_by, decided_at, reason, message_id, created_at, remind_at, escalate_at, expires_at, offer_id";

impl FromRow<'_, AnyRow> for Approval {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let kind: ApprovalKind = parsed(row, "kind")?;
        let evidence = text(row, "evidence")?;
        let evidence = match kind {
            ApprovalKind::Deadline => serde_json::from_str(&evidence).map(Evidence::Deadline),
            ApprovalKind::EarlyStart => serde_json::from_str(&evidence).map(Evidence::EarlyStart),
        }
        .map_err(|e| sqlx::Error::ColumnDecode { index: "evidence".into(), source: e.into() })?;
        Ok(Approval {
            id: text(row, "id")?,
            deal_id: opt_text(row, "deal_id")?,
            package: text(row, "package")?,
            requester: text(row, "requester")?,
            channel: text(row, "channel")?,
            requested_date: parsed(row, "requested_date")?,
            start_date: opt_date(row, "start_date")?,
            evidence,
            state: parsed(row, "state")?,
            decided_by: opt_text(row, "decided_by")?,
            decided_at: opt_time(row, "decided_at")?,
            reason: opt_text(row, "reason")?,
            message_id: row.try_get("message_id")?,
            created_at: time(row, "created_at")?,
            remind_at: opt_time(row, "remind_at")?,
            escalate_at: opt_time(row, "escalate_at")?,
            expires_at: time(row, "expires_at")?,
            offer_id: opt_text(row, "offer_id")?,
        })
    }
}

fn column(timer: ApprovalTimer) -> &'static str {
    match timer {
        ApprovalTimer::Reminder => "remind_at",
        ApprovalTimer::Escalation => "escalate_at",
        ApprovalTimer::Expiry => "expires_at",
    }
}

async fn approval_by_id<'e>(
    e: impl Executor<'e, Database = Any>,
    id: &str,
) -> StoreResult<Option<Approval>> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM approvals WHERE id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?)
}

impl Store {
    pub async fn approval(&self, id: &str) -> StoreResult<Option<Approval>> {
        approval_by_id(&self.pool, id).await
    }

    /// The approval a button's offer asked for, if it was pressed before.
    pub async fn approval_for_offer(&self, offer_id: &str) -> StoreResult<Option<Approval>> {
        let sql = format!("SELECT {COLUMNS} FROM approvals WHERE offer_id = $1");
        Ok(sqlx::query_as(&sql).bind(offer_id).fetch_optional(&self.pool).await?)
    }

    /// The deal's pending request of `kind`, if any.
    pub async fn pending_approval(
        &self,
        deal_id: &str,
        kind: ApprovalKind,
    ) -> StoreResult<Option<Approval>> {
        let sql = format!("SELECT {COLUMNS} FROM approvals WHERE deal_id = $1 AND kind = $2 AND state = 'pending'");
        Ok(sqlx::query_as(&sql)
            .bind(deal_id)
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Pending approvals whose `timer` is due at `now`.
    pub async fn approvals_due(
        &self,
        timer: ApprovalTimer,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Approval>> {
        let column = column(timer);
        let sql =
            format!("SELECT {COLUMNS} FROM approvals WHERE state = 'pending' AND {column} IS NOT NULL AND {column} <= $1 ORDER BY id");
        Ok(sqlx::query_as(&sql).bind(timestamp(now)).fetch_all(&self.pool).await?)
    }
}

impl Tx {
    /// The approval, read inside this transaction.
    pub async fn approval(&mut self, id: &str) -> StoreResult<Approval> {
        approval_by_id(self.conn(), id)
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "approval", id: id.into() })
    }

    pub async fn insert_approval(&mut self, a: &Approval) -> StoreResult<()> {
        let evidence =
            serde_json::to_string(&a.evidence).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(&format!(
            "INSERT INTO approvals ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        ))
        .bind(a.id.clone())
        .bind(a.kind().as_str())
        .bind(a.deal_id.clone())
        .bind(a.package.clone())
        .bind(a.requester.clone())
        .bind(a.channel.clone())
        .bind(a.requested_date.to_string())
        .bind(a.start_date.map(|d| d.to_string()))
        .bind(evidence)
        .bind(a.state.as_str())
        .bind(a.decided_by.clone())
        .bind(a.decided_at.map(timestamp))
        .bind(a.reason.clone())
        .bind(a.message_id)
        .bind(timestamp(a.created_at))
        .bind(a.remind_at.map(timestamp))
        .bind(a.escalate_at.map(timestamp))
        .bind(timestamp(a.expires_at))
        .bind(a.offer_id.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Decides a pending approval; false when someone else decided first.
    pub async fn decide_approval(
        &mut self,
        id: &str,
        state: ApprovalState,
        by: &str,
        at: DateTime<Utc>,
        reason: Option<&str>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE approvals SET state = $1, decided_by = $2, decided_at = $3, reason = $4 WHERE id = $5 AND state = 'pending'",
        )
        .bind(state.as_str())
        .bind(by)
        .bind(timestamp(at))
        .bind(reason)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_approval_message(&mut self, id: &str, message_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE approvals SET message_id = $1 WHERE id = $2")
            .bind(message_id)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Clears a due reminder or escalation so it happens once; false when another worker did.
    pub async fn clear_approval_timer(
        &mut self,
        id: &str,
        timer: ApprovalTimer,
    ) -> StoreResult<bool> {
        let column = column(timer);
        let sql = format!("UPDATE approvals SET {column} = NULL WHERE id = $1 AND {column} IS NOT NULL AND state = 'pending'");
        let done = sqlx::query(&sql).bind(id).execute(self.conn()).await?;
        Ok(done.rows_affected() == 1)
    }
}
