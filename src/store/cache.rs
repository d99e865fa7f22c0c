//! Data the answer engines read on every question, kept in memory between questions.
//!
//! Each kind of data has a row in `data_versions` that triggers bump in the same transaction as any
//! change to its tables (an import, a hold, a release), on whichever instance made it. A read
//! checks that version with one small query and loads the data again only when it moved, so an
//! answer never uses data older than the last committed change.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use sqlx::Row;

use super::Store;

/// The last load of one kind of data, with the version it was loaded at.
pub(crate) struct Versioned<T> {
    name: &'static str,
    slot: tokio::sync::Mutex<Option<(i64, Arc<T>)>>,
}

impl<T> Versioned<T> {
    /// A cache of the data whose version is the `name` row of `data_versions`.
    pub(crate) fn new(name: &'static str) -> Self {
        Versioned { name, slot: tokio::sync::Mutex::new(None) }
    }
}

impl Store {
    /// The data of `cache`, from memory when its version has not moved since `load` last ran.
    pub(crate) async fn versioned<T, F, Fut>(&self, cache: &Versioned<T>, load: F) -> anyhow::Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<T>>,
    {
        let version: i64 = sqlx::query("SELECT version FROM data_versions WHERE name = $1")
            .bind(cache.name)
            .fetch_one(&self.pool)
            .await
            .with_context(|| format!("reading the {} data version", cache.name))?
            .get(0);
        // Held while loading, so concurrent questions wait for one load instead of each loading.
        let mut slot = cache.slot.lock().await;
        if let Some((at, data)) = slot.as_ref() {
            if *at == version {
                return Ok(data.clone());
            }
        }
        // Loaded after the version was read: a change in between makes the next read load again.
        let data = Arc::new(load().await?);
        *slot = Some((version, data.clone()));
        Ok(data)
    }
}
