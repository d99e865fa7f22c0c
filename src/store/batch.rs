//! Group commit for the writes every request makes: the replay guard's request keys
//! (`processed_events`: on PostgreSQL, on SQLite without a file, and when the key writer of a
//! SQLite file has stopped, `keys.rs`), platform event ids, and the offers behind an answer's
//! buttons. Each request still waits until its own row is committed, but requests that arrive
//! while a write is under way are written together by the next one, in one statement: under
//! load, one round trip to the database serves many requests instead of each queueing on
//! SQLite's single writer.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::{timestamp, Store, StoreError, StoreResult};
use crate::domain::offer::Offer;

/// At most this many rows in one statement (SQLite allows 32,766 bound values).
const MOST_ROWS: usize = 500;

/// A kind of row written in batches.
pub(crate) trait Rows: Send + 'static {
    type Out: Send + 'static;
    /// Writes `rows` together: one outcome per row, in order.
    fn write(
        store: &Store,
        rows: Vec<Self>,
    ) -> impl Future<Output = Vec<StoreResult<Self::Out>>> + Send
    where
        Self: Sized;
    /// Where `Store` keeps this kind's queue.
    fn queue(store: &Store) -> &Arc<Queue<Self>>
    where
        Self: Sized;
}

/// Rows waiting for the next write, and whether a writer is running.
pub(crate) struct Queue<R: Rows> {
    state: Mutex<Waiting<R>>,
}

type Waiter<R> = (R, oneshot::Sender<StoreResult<<R as Rows>::Out>>);

struct Waiting<R: Rows> {
    rows: Vec<Waiter<R>>,
    writing: bool,
}

impl<R: Rows> Default for Queue<R> {
    fn default() -> Self {
        Queue { state: Mutex::new(Waiting { rows: Vec::new(), writing: false }) }
    }
}

impl<R: Rows> Queue<R> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting<R>> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store {
    /// Writes `row` with whatever else is waiting, and gives its outcome once committed. The
    /// write runs in a task of its own, so a caller that stops waiting loses nothing.
    pub(crate) async fn batched<R: Rows>(&self, row: R) -> StoreResult<R::Out> {
        let (tell, told) = oneshot::channel();
        let start = {
            let mut waiting = R::queue(self).lock();
            waiting.rows.push((row, tell));
            !std::mem::replace(&mut waiting.writing, true)
        };
        if start {
            let store = self.clone();
            tokio::spawn(async move { store.write_waiting::<R>().await });
        }
        told.await.map_err(|_| StoreError::Failed("the grouped write stopped".into()))?
    }

    /// Writes what is waiting until nothing is.
    async fn write_waiting<R: Rows>(self) {
        loop {
            // Requests already running on this runtime get to join the batch first.
            tokio::task::yield_now().await;
            let batch: Vec<Waiter<R>> = {
                let mut waiting = R::queue(&self).lock();
                if waiting.rows.is_empty() {
                    waiting.writing = false;
                    return;
                }
                let take = waiting.rows.len().min(MOST_ROWS);
                waiting.rows.drain(..take).collect()
            };
            let (rows, tells): (Vec<R>, Vec<_>) = batch.into_iter().unzip();
            let outcomes = R::write(&self, rows).await;
            for (tell, outcome) in tells.into_iter().zip(outcomes) {
                let _ = tell.send(outcome);
            }
        }
    }
}

/// A request key for the replay guard, or a platform's event id, first seen at `.1`.
pub(crate) struct Sighting(pub String, pub DateTime<Utc>);

impl Rows for Sighting {
    /// Whether no one recorded the key before.
    type Out = bool;

    async fn write(store: &Store, rows: Vec<Sighting>) -> Vec<StoreResult<bool>> {
        // A key twice in one batch: only its first copy can be new.
        let mut first: HashMap<&str, usize> = HashMap::new();
        let unique: Vec<&Sighting> = rows
            .iter()
            .enumerate()
            .filter(|(i, s)| *first.entry(&s.0).or_insert(*i) == *i)
            .map(|(_, s)| s)
            .collect();
        let sql = format!(
            "INSERT INTO processed_events (event_id, at) VALUES {} ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            super::value_rows(store.backend, unique.len(), 2)
        );
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for sighting in &unique {
            query = query.bind(sighting.0.clone()).bind(timestamp(sighting.1));
        }
        match query.fetch_all(&store.pool).await {
            Ok(inserted) => {
                let inserted: std::collections::HashSet<String> = inserted.into_iter().collect();
                rows.iter()
                    .enumerate()
                    .map(
                        |(i, s)| Ok(first.get(s.0.as_str()) == Some(&i) && inserted.contains(&s.0)),
                    )
                    .collect()
            }
            Err(error) => {
                let error = error.to_string();
                rows.iter().map(|_| Err(StoreError::Failed(error.clone()))).collect()
            }
        }
    }

    fn queue(store: &Store) -> &Arc<Queue<Sighting>> {
        &store.batches.sightings
    }
}

impl Rows for Offer {
    type Out = ();

    async fn write(store: &Store, rows: Vec<Offer>) -> Vec<StoreResult<()>> {
        let mut outcomes = Vec::with_capacity(rows.len());
        match store.insert_offers(&rows).await {
            Ok(()) => outcomes.extend(rows.iter().map(|_| Ok(()))),
            // One bad row (an id drawn twice) must not fail the others: each alone.
            Err(_) => {
                for offer in &rows {
                    outcomes.push(store.insert_offers(std::slice::from_ref(offer)).await);
                }
            }
        }
        outcomes
    }

    fn queue(store: &Store) -> &Arc<Queue<Offer>> {
        &store.batches.offers
    }
}

/// The queues of a `Store`.
#[derive(Default)]
pub(crate) struct Batches {
    sightings: Arc<Queue<Sighting>>,
    offers: Arc<Queue<Offer>>,
}
