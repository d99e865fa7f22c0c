//! The audit log: every state change and every refused attempt, with actor and time.

use anyhow::Context;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::Store;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: String,
}

impl Store {
    /// Records one entry inside the caller's transaction (or on its own connection).
    pub async fn audit(conn: &mut AnyConnection, at: &str, actor: &str, action: &str, subject: &str, details: &str) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO audit_log (at, actor, action, subject, details) VALUES ($1, $2, $3, $4, $5)")
            .bind(at)
            .bind(actor)
            .bind(action)
            .bind(subject)
            .bind(details)
            .execute(conn)
            .await
            .context("writing the audit log")?;
        Ok(())
    }

    /// Records one entry in its own transaction (refusals, imports).
    pub async fn audit_now(&self, at: &str, actor: &str, action: &str, subject: &str, details: &str) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        Self::audit(&mut conn, at, actor, action, subject, details).await
    }

    pub async fn audit_entries(&self) -> anyhow::Result<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT id, at, actor, action, subject, details FROM audit_log ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .context("reading the audit log")?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry { id: r.get(0), at: r.get(1), actor: r.get(2), action: r.get(3), subject: r.get(4), details: r.get(5) })
            .collect())
    }
}
