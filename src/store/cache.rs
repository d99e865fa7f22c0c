//! Data the answer engines read on every question, kept in memory between questions.
//!
//! Each kind of data has a row in `data_versions` that triggers bump in the same transaction as any
//! change to its tables (an import, a hold, a release), on whichever instance made it. A read
//! checks that version with one small query and loads the data again only when it moved, so an
//! answer never uses data older than the last committed change. A load reads the version and every
//! table in one snapshot (`Snapshot`), so it never mixes data from before and after a change.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use sqlx::{Any, Row, Transaction};

use super::versions::Versions;
use super::{Backend, Store, StoreResult};

tokio::task_local! {
    /// Every data version as one request first read them (see `one_request`).
    static REQUEST_VERSIONS: RefCell<Option<Arc<Versions>>>;
}

/// Runs `request` reading the data versions once, with one query, however many kinds of cached
/// data it uses: it sees the data as they were when it first asked, and its own commits
/// (`forget_request_versions`) make it ask again.
pub async fn one_request<F: Future>(request: F) -> F::Output {
    REQUEST_VERSIONS.scope(RefCell::new(None), request).await
}

/// After a commit, the request reads the versions again.
pub fn forget_request_versions() {
    let _ = REQUEST_VERSIONS.try_with(|seen| seen.borrow_mut().take());
}

/// The last load of one kind of data, with the version it was loaded at.
pub(crate) struct Versioned<T> {
    name: &'static str,
    /// Held while loading, across the load's awaits, so concurrent questions wait for one load
    /// instead of each loading.
    loading: tokio::sync::Mutex<()>,
    /// The last load, behind a lock never held across an await: an answer whose data has not
    /// moved takes it without waiting on the load's lock (an async lock another thread holds
    /// for a moment would move the request to a task of its own).
    latest: std::sync::Mutex<Option<(i64, Arc<T>)>>,
}

impl<T> Versioned<T> {
    /// A cache of the data whose version is the `name` row of `data_versions`.
    pub(crate) fn new(name: &'static str) -> Self {
        Versioned {
            name,
            loading: tokio::sync::Mutex::new(()),
            latest: std::sync::Mutex::new(None),
        }
    }

    fn latest(&self) -> std::sync::MutexGuard<'_, Option<(i64, Arc<T>)>> {
        self.latest.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A read-only transaction that sees one committed state of the database throughout (repeatable
/// read on PostgreSQL; on SQLite in WAL mode every read transaction does), with the data version
/// as of that state.
pub(crate) struct Snapshot {
    pub tx: Transaction<'static, Any>,
    pub version: i64,
}

impl Store {
    /// The data of `cache`, from memory when its version has not moved since `load` last ran.
    pub(crate) async fn versioned<T, F, Fut>(
        &self,
        cache: &Versioned<T>,
        load: F,
    ) -> anyhow::Result<Arc<T>>
    where
        F: FnOnce(Snapshot) -> Fut,
        Fut: Future<Output = anyhow::Result<T>>,
    {
        self.versioned_with(cache, |_, snapshot| async { Ok(Err(snapshot)) }, load).await
    }

    /// `versioned`, where a moved version is first offered to `update` with the data held: it
    /// brings them up to the snapshot's version, or hands the snapshot back for `load`.
    pub(crate) async fn versioned_with<T, U, UpdateFut, F, Fut>(
        &self,
        cache: &Versioned<T>,
        update: U,
        load: F,
    ) -> anyhow::Result<Arc<T>>
    where
        U: FnOnce(Arc<T>, Snapshot) -> UpdateFut,
        UpdateFut: Future<Output = anyhow::Result<Result<T, Snapshot>>>,
        F: FnOnce(Snapshot) -> Fut,
        Fut: Future<Output = anyhow::Result<T>>,
    {
        let version = self.request_version(cache.name).await?;
        // Versions only grow: a load at this version or newer is good enough.
        let held = || match cache.latest().as_ref() {
            Some((at, data)) if *at >= version => Ok(data.clone()),
            other => Err(other.as_ref().map(|(_, data)| data.clone())),
        };
        if let Ok(data) = held() {
            return Ok(data);
        }
        let _loading = cache.loading.lock().await;
        // Loaded meanwhile by someone we waited for, or the data to bring up to date.
        let held = match held() {
            Ok(data) => return Ok(data),
            Err(held) => held,
        };
        let snapshot = self.snapshot(cache.name).await?;
        let loaded_at = snapshot.version;
        let data = match held {
            Some(held) => match update(held, snapshot).await? {
                Ok(data) => data,
                Err(snapshot) => load(snapshot).await?,
            },
            None => load(snapshot).await?,
        };
        let data = Arc::new(data);
        *cache.latest() = Some((loaded_at, data.clone()));
        Ok(data)
    }

    /// Marks the capacity data as changed, so every instance reads it again on its next answer
    /// (what an import or a hold does through the triggers).
    pub async fn touch_capacity(&self) -> StoreResult<()> {
        sqlx::query("UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'")
            .execute(&self.pool)
            .await?;
        forget_request_versions();
        Ok(())
    }

    /// `name`'s version as this request first read it (`one_request`), or read now outside a
    /// request: the first read in a request takes every version at once (`Store::versions`).
    pub(super) async fn request_version(&self, name: &str) -> StoreResult<i64> {
        // `None`: outside a request; `Some(None)`: in one that has not read the versions yet;
        // `Some(Some(known))`: read, with `known` this kind's version if it has a row.
        let seen = REQUEST_VERSIONS
            .try_with(|seen| seen.borrow().as_ref().map(|all| all.get(name).copied()))
            .ok();
        let known = match seen {
            None => return current_version(&self.pool, name).await,
            Some(Some(known)) => known,
            Some(None) => {
                let all = self.versions().await?;
                let known = all.get(name).copied();
                let _ = REQUEST_VERSIONS.try_with(|seen| *seen.borrow_mut() = Some(all));
                known
            }
        };
        match known {
            Some(version) => Ok(version),
            None => current_version(&self.pool, name).await,
        }
    }

    async fn snapshot(&self, name: &str) -> anyhow::Result<Snapshot> {
        let mut tx = self.pool.begin().await.context("starting a read snapshot")?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let version = current_version(&mut *tx, name).await?;
        Ok(Snapshot { tx, version })
    }
}

async fn current_version<'c>(
    executor: impl sqlx::Executor<'c, Database = Any>,
    name: &str,
) -> StoreResult<i64> {
    let row = sqlx::query("SELECT version FROM data_versions WHERE name = $1")
        .bind(name)
        .fetch_one(executor)
        .await?;
    Ok(row.try_get("version")?)
}

/// Locks the `name` version row for the rest of `conn`'s transaction and returns the version:
/// a read-then-write (placing a hold on what capacity showed) checks nothing changed since.
pub(crate) async fn lock_version(conn: &mut sqlx::AnyConnection, name: &str) -> StoreResult<i64> {
    sqlx::query("UPDATE data_versions SET version = version WHERE name = $1")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    current_version(&mut *conn, name).await
}
