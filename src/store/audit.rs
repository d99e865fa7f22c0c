//! The audit log (SPEC 5.5): every state change and every refused attempt, with actor and time.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::decode::{text, time, timestamp};
use super::{Store, StoreResult, Tx};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: String,
}

impl FromRow<'_, AnyRow> for AuditEntry {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(AuditEntry {
            id: row.try_get("id")?,
            at: time(row, "at")?,
            actor: text(row, "actor")?,
            action: text(row, "action")?,
            subject: text(row, "subject")?,
            details: text(row, "details")?,
        })
    }
}

/// One entry to record.
#[derive(Debug, Clone, Copy)]
pub struct Audit<'a> {
    pub at: DateTime<Utc>,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub details: &'a str,
}

impl Tx {
    /// Records one entry inside this transaction.
    pub async fn audit(&mut self, entry: Audit<'_>) -> StoreResult<()> {
        sqlx::query("INSERT INTO audit_log (at, actor, action, subject, details) VALUES ($1, $2, $3, $4, $5)")
            .bind(timestamp(entry.at))
            .bind(entry.actor)
            .bind(entry.action)
            .bind(entry.subject)
            .bind(entry.details)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

impl Store {
    /// Records one entry on its own (refusals, imports).
    pub async fn audit(&self, entry: Audit<'_>) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.audit(entry).await?;
        tx.commit().await
    }

    pub async fn audit_entries(&self) -> StoreResult<Vec<AuditEntry>> {
        let sql = "SELECT id, at, actor, action, subject, details FROM audit_log ORDER BY id";
        Ok(sqlx::query_as(sql).fetch_all(&self.pool).await?)
    }
}
