//! Weekly digests (SPEC 5.7) in the database, for `app/workflows/digest.rs`: one row per ISO
//! week, claimed with `ON CONFLICT DO NOTHING` so only one instance posts it.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::decode::{json, opt_text, opt_time, text, time, timestamp};
use super::{Store, StoreError, StoreResult, Tx};
use crate::domain::digest::{Digest, DigestSignal};

const COLUMNS: &str = "week, posted_at, signals, message_id, acknowledged_by, acknowledged_at";

impl FromRow<'_, AnyRow> for Digest {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Digest {
            week: text(row, "week")?,
            posted_at: time(row, "posted_at")?,
            signals: json(row, "signals")?,
            message_id: row.try_get("message_id")?,
            acknowledged_by: opt_text(row, "acknowledged_by")?,
            acknowledged_at: opt_time(row, "acknowledged_at")?,
        })
    }
}

impl Store {
    /// The digest of `week`, when it was posted.
    pub async fn digest(&self, week: &str) -> StoreResult<Option<Digest>> {
        let sql = format!("SELECT {COLUMNS} FROM digests WHERE week = $1");
        Ok(sqlx::query_as(&sql).bind(week).fetch_optional(&self.pool).await?)
    }

    /// The latest digest of a week before `week`: what this week's is compared against.
    pub async fn digest_before(&self, week: &str) -> StoreResult<Option<Digest>> {
        let sql =
            format!("SELECT {COLUMNS} FROM digests WHERE week < $1 ORDER BY week DESC LIMIT 1");
        Ok(sqlx::query_as(&sql).bind(week).fetch_optional(&self.pool).await?)
    }
}

impl Tx {
    /// Claims `week` for this digest; false when another run already posted that week's.
    pub async fn insert_digest(
        &mut self,
        week: &str,
        posted_at: DateTime<Utc>,
        signals: &[DigestSignal],
    ) -> StoreResult<bool> {
        let signals =
            serde_json::to_string(signals).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let done = sqlx::query(
            "INSERT INTO digests (week, posted_at, signals) VALUES ($1, $2, $3) ON CONFLICT (week) DO NOTHING",
        )
        .bind(week)
        .bind(timestamp(posted_at))
        .bind(signals)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_digest_message(&mut self, week: &str, message_id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE digests SET message_id = $1 WHERE week = $2")
            .bind(message_id)
            .bind(week)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Records who acknowledged `week`'s digest; false when someone already had.
    pub async fn acknowledge_digest(
        &mut self,
        week: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE digests SET acknowledged_by = $1, acknowledged_at = $2 WHERE week = $3 AND acknowledged_by IS NULL",
        )
        .bind(by)
        .bind(timestamp(at))
        .bind(week)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
