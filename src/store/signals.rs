//! What the radar and the track record read (SPEC 4.6, 4.8), for `app/signals.rs`: every history
//! row, the deals' current promises, and the emails a platform user is known by.

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::decode::{date, opt_text, parsed, text};
use super::{Store, StoreResult};
use crate::domain::firm::HistoryRow;
use crate::domain::track_record::Promise;

impl FromRow<'_, AnyRow> for Promise {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Promise {
            deal: text(row, "deal_id")?,
            seller: text(row, "seller")?,
            package: text(row, "package")?,
            kind: parsed(row, "kind")?,
            date: date(row, "value")?,
            exception: row.try_get::<String, _>("kind")? == "deadline"
                && opt_text(row, "approval_id")?.is_some(),
        })
    }
}

impl Store {
    /// Every history row, of every package (from memory while history is unchanged).
    pub async fn all_history(&self) -> anyhow::Result<Vec<HistoryRow>> {
        let all =
            self.versioned(&self.caches.history, |snapshot| self.load_history(snapshot)).await?;
        let mut rows: Vec<HistoryRow> =
            all.values().flat_map(|rows| rows.iter().cloned()).collect();
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(rows)
    }

    /// Every deal's current committed start and deadline, with the deal's seller and package; a
    /// deadline committed from an approval is an approved exception.
    pub async fn promises(&self) -> StoreResult<Vec<Promise>> {
        Ok(sqlx::query_as(
            "SELECT c.deal_id, d.seller, d.package, c.kind, c.value, c.approval_id \
             FROM commitments c JOIN deals d ON d.id = c.deal_id \
             WHERE c.current = 1 AND c.kind IN ('start', 'deadline') ORDER BY c.deal_id, c.kind",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The emails people.csv gives for the person with platform user id `user`: a seller may be
    /// named by email in history.
    pub async fn emails_of(&self, user: &str) -> StoreResult<Vec<String>> {
        let rows: Vec<(Option<String>,)> = sqlx::query_as(
            "SELECT email FROM people WHERE slack_user_id = $1 OR discord_user_id = $1",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().filter_map(|(email,)| email).filter(|e| !e.is_empty()).collect())
    }
}
