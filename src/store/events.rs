//! Platform event ids already handled: platforms retry deliveries, and a retry must change nothing.

use chrono::{DateTime, Utc};

use super::decode::timestamp;
use super::{Store, StoreResult};

impl Store {
    /// Records a platform event id; false when it was seen before (a retry).
    pub async fn first_delivery_of_event(
        &self,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // On a SQLite file, the key writer's thread; through the pool when it hands it back.
        if let Some(keys) = &self.keys {
            if let Some(new) = keys.record(event_id.to_string(), timestamp(at)).await {
                return Ok(new);
            }
        }
        self.batched(super::batch::Sighting(event_id.to_string(), at)).await
    }

    /// Forgets the event ids recorded before `before`: platforms retry and replay within minutes,
    /// so a day's memory is plenty. Returns how many were forgotten.
    pub async fn forget_events_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM processed_events WHERE at < $1")
            .bind(timestamp(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
