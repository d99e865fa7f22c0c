//! Keys already handled: platform event ids (platforms retry deliveries, and a retry must change
//! nothing) and the replay guard's request keys (a signed request seen before is a copy).

use chrono::{DateTime, Utc};

use super::decode::timestamp;
use super::{Store, StoreResult};

impl Store {
    /// Records a platform event id; false when it was seen before (a retry). Committed before
    /// it returns, so every instance sharing the database sees it at once.
    pub async fn first_delivery_of_event(
        &self,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.batched(super::batch::Sighting(event_id.to_string(), at)).await
    }

    /// Records a signed request's key for the replay guard; false when an instance sharing the
    /// database recorded it before. On a SQLite file (one instance) the key is known in memory
    /// and written moments later, without the request waiting for its commit (`keys.rs`);
    /// elsewhere it is committed before this returns, as an event id is.
    pub async fn first_request(&self, key: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        if let Some(new) = self.first_request_remembered(key, super::fingerprint(key), at) {
            return Ok(new);
        }
        self.first_delivery_of_event(key, at).await
    }

    /// `first_request` decided in memory, without waiting, where this store remembers the
    /// request keys itself (a SQLite file, served by one instance at a time): from the keys this
    /// process and the one before it accepted in the last minutes. `fingerprint` is the key's
    /// (`fingerprint`, worked out once by the caller). `None` where the key must be recorded in
    /// the database first (PostgreSQL, or the writer's thread is gone).
    pub(crate) fn first_request_remembered(
        &self,
        key: &str,
        fingerprint: u128,
        at: DateTime<Utc>,
    ) -> Option<bool> {
        self.keys.as_ref()?.first(key, fingerprint, at)
    }

    /// Waits until every request key recorded so far is in the database (at shutdown: the next
    /// start, or another instance, refuses their replays).
    pub async fn flush_request_keys(&self) {
        if let Some(keys) = &self.keys {
            keys.flush().await;
        }
    }

    /// Forgets the event ids recorded before `before`: platforms retry and replay within minutes,
    /// so a day's memory is plenty. Returns how many were forgotten.
    pub async fn forget_events_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let before = timestamp(before);
        let mut forgotten = sqlx::query("DELETE FROM processed_events WHERE at < $1")
            .bind(&before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if self.backend == super::Backend::Sqlite {
            // The key writer's journal (`keys.rs`).
            forgotten += sqlx::query("DELETE FROM request_keys WHERE at < $1")
                .bind(&before)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(forgotten)
    }
}
