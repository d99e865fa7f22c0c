//! Handovers (SPEC 5.4) in the database, for the handover in `app/workflows/deals.rs`.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::decode::{opt_time, parsed, text, time, timestamp};
use super::{Store, StoreResult, Tx};
use crate::domain::handover::Handover;

const COLUMNS: &str = "id, deal_id, pm, state, message_id, created_at, remind_at, acknowledged_at";

impl FromRow<'_, AnyRow> for Handover {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Handover {
            id: text(row, "id")?,
            deal_id: text(row, "deal_id")?,
            pm: text(row, "pm")?,
            state: parsed(row, "state")?,
            message_id: row.try_get("message_id")?,
            created_at: time(row, "created_at")?,
            remind_at: opt_time(row, "remind_at")?,
            acknowledged_at: opt_time(row, "acknowledged_at")?,
        })
    }
}

impl Store {
    pub async fn handover(&self, id: &str) -> StoreResult<Option<Handover>> {
        let sql = format!("SELECT {COLUMNS} FROM handovers WHERE id = $1");
        Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?)
    }

    pub async fn handovers_to_remind(&self, now: DateTime<Utc>) -> StoreResult<Vec<Handover>> {
        let sql = format!("SELECT {COLUMNS} FROM handovers WHERE state = 'sent' AND remind_at IS NOT NULL AND remind_at <= $1 ORDER BY id");
        Ok(sqlx::query_as(&sql).bind(timestamp(now)).fetch_all(&self.pool).await?)
    }
}

impl Tx {
    pub async fn insert_handover(&mut self, h: &Handover) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO handovers ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(h.id.clone())
        .bind(h.deal_id.clone())
        .bind(h.pm.clone())
        .bind(h.state.as_str())
        .bind(h.message_id)
        .bind(timestamp(h.created_at))
        .bind(h.remind_at.map(timestamp))
        .bind(h.acknowledged_at.map(timestamp))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn set_handover_message(&mut self, id: &str, message_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE handovers SET message_id = $1 WHERE id = $2")
            .bind(message_id)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Acknowledges a sent handover; false when it already was.
    pub async fn acknowledge_handover(&mut self, id: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE handovers SET state = 'acknowledged', acknowledged_at = $1, remind_at = NULL WHERE id = $2 AND state = 'sent'",
        )
        .bind(timestamp(at))
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves a handover's reminder from `due` to `next`; false when another worker already did.
    pub async fn reschedule_handover_reminder(
        &mut self,
        id: &str,
        due: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE handovers SET remind_at = $1 WHERE id = $2 AND remind_at = $3 AND state = 'sent'")
            .bind(timestamp(next))
            .bind(id)
            .bind(timestamp(due))
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
