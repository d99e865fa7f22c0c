//! Every request first reads the data versions (`cache.rs`): whether what it keeps in memory is
//! still the committed data. That read must see every change committed before the request
//! arrived, on any instance, yet it runs on every request, so it is kept off the pool:
//!
//! - **SQLite:** a connection of its own (rusqlite, synchronous: a few microseconds instead of a
//!   hop to one of sqlx's worker threads and back) asks `PRAGMA data_version`, which changes
//!   whenever any other connection, in this process or another, has committed. Only then are the
//!   versions read again, on the same connection. The same connection records the replay
//!   guard's request keys (`Watch::record`): a connection's own commits do not move its
//!   `data_version`, so the key every request writes does not make the next request read the
//!   versions again, and the write skips a hop to sqlx's worker thread. It never waits for
//!   SQLite's write lock: when another connection holds it (an import), the keys go through the
//!   pool instead, which waits on a thread of its own.
//! - **PostgreSQL** (and SQLite without a file): one query answers every request that arrived
//!   before it started. A request waits for a read that began after it arrived, so it never sees
//!   versions older than its arrival, and under load one query serves many requests.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::StoreResult;

/// Each kind of cached data's version (`data_versions`).
pub(crate) type Versions = HashMap<String, i64>;

const READ_ALL: &str = "SELECT name, version FROM data_versions";

/// Where a `Store` reads the versions from.
pub(crate) enum VersionSource {
    /// An async lock: a request that finds a grouped write under way yields its thread while
    /// it waits, and then takes the check the write made after it committed.
    File(tokio::sync::Mutex<Watch>),
    Coalesced(tokio::sync::Mutex<Option<(Instant, Arc<Versions>)>>),
}

/// A SQLite file's own read connection, and the versions as of its last `data_version`.
pub(crate) struct Watch {
    conn: rusqlite::Connection,
    seen: Option<(i64, Arc<Versions>)>,
    /// The last check, and when it began: a request that arrived before then takes it.
    checked: Option<(Instant, Arc<Versions>)>,
    /// Commits since the last checkpoint was asked for.
    commits: u32,
}

/// The size a write-ahead log is cut back to once it has been copied into the database.
pub(crate) const JOURNAL_SIZE_LIMIT: i64 = 64 << 20;

/// How many of its commits the version connection leaves in the write-ahead log before a
/// checkpoint is asked for on the pool (a few pages each).
const CHECKPOINT_EVERY: u32 = 256;

impl VersionSource {
    /// For a SQLite file at `path`; coalesced reads when it cannot be opened a second time.
    pub(crate) fn sqlite(path: &Path) -> VersionSource {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        match rusqlite::Connection::open_with_flags(path, flags) {
            Ok(conn) => {
                // A writer holds the lock for a moment; an import's commit can take longer, and
                // then the request waits as it would have for the pool.
                let _ = conn.busy_timeout(READ_BUSY);
                // Its own writes are small and frequent: copying the log back into the database
                // (and syncing it) is left to the pool's threads (`checkpoint_due`), not done
                // on the async threads this connection is used from.
                let _ = conn.pragma_update(None, "wal_autocheckpoint", 0);
                // As the pool's connections: in WAL mode a commit is not synced to disk (a
                // power cut may lose the last ones, never corrupt the database).
                let _ = conn.pragma_update(None, "synchronous", "NORMAL");
                // The first commit after a checkpoint starts the log again from its beginning,
                // and cuts a log grown by an import back to this size.
                let _ = conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT);
                VersionSource::File(tokio::sync::Mutex::new(Watch {
                    conn,
                    seen: None,
                    checked: None,
                    commits: 0,
                }))
            }
            Err(error) => {
                tracing::debug!(error = %error, "reading the data versions through the pool");
                VersionSource::coalesced()
            }
        }
    }

    pub(crate) fn coalesced() -> VersionSource {
        VersionSource::Coalesced(tokio::sync::Mutex::new(None))
    }
}

impl super::Store {
    /// Records request keys on the version connection (`Watch::record`): whether each was new.
    /// `None` when there is none (PostgreSQL, SQLite without a file), when SQLite's write lock is
    /// taken, or when the write failed (logged): the caller writes them through the pool.
    pub(crate) async fn record_on_watch(&self, keys: &[(&str, String)]) -> Option<Vec<bool>> {
        let VersionSource::File(watch) = &*self.versions else { return None };
        let (recorded, checkpoint) = {
            let mut watch = watch.lock().await;
            let recorded = watch.record(keys);
            // Checked once for every request that queued behind the write.
            let _ = watch.check_since(Instant::now());
            (recorded, watch.checkpoint_due())
        };
        if checkpoint {
            let pool = self.pool.clone();
            tokio::spawn(async move {
                // RESTART, not PASSIVE: it holds the write lock while it copies the log back,
                // so the log is copied whole and the next commit writes it again from its
                // start. Under steady load a passive checkpoint never catches the last commit
                // and the log grows without end (half a gigabyte in six seconds).
                if let Err(error) =
                    sqlx::query("PRAGMA wal_checkpoint(RESTART)").execute(&pool).await
                {
                    tracing::warn!(error = %error, "could not checkpoint the write-ahead log");
                }
            });
        }
        match recorded {
            Ok(new) => new,
            Err(error) => {
                tracing::warn!(error = %error, "could not record request keys on the version connection; using the pool");
                None
            }
        }
    }

    /// Every data version, as committed when this call began (or later).
    pub(crate) async fn versions(&self) -> StoreResult<Arc<Versions>> {
        match &*self.versions {
            VersionSource::File(watch) => {
                let arrived = Instant::now();
                let mut watch = watch.lock().await;
                watch.check_since(arrived).map_err(|e| super::StoreError::Failed(e.to_string()))
            }
            VersionSource::Coalesced(last) => {
                let arrived = Instant::now();
                let mut last = last.lock().await;
                if let Some((started, versions)) = last.as_ref() {
                    if *started >= arrived {
                        return Ok(versions.clone());
                    }
                }
                let started = Instant::now();
                let rows: Vec<(String, i64)> =
                    sqlx::query_as(READ_ALL).fetch_all(&self.pool).await?;
                let versions = Arc::new(rows.into_iter().collect::<Versions>());
                *last = Some((started, versions.clone()));
                Ok(versions)
            }
        }
    }
}

/// How long the version connection waits for anything SQLite has locked (a reader waits only
/// in rare cases, such as a checkpoint).
const READ_BUSY: std::time::Duration = std::time::Duration::from_secs(10);

impl Watch {
    /// The versions as of a check that began at `arrived` or later: the last one when it did,
    /// else a new one.
    fn check_since(&mut self, arrived: Instant) -> rusqlite::Result<Arc<Versions>> {
        if let Some((began, versions)) = &self.checked {
            if *began >= arrived {
                return Ok(versions.clone());
            }
        }
        let began = Instant::now();
        let versions = self.current()?;
        self.checked = Some((began, versions.clone()));
        Ok(versions)
    }

    /// Records request keys first seen at their times (`processed_events`), in one transaction:
    /// whether each was new. `Ok(None)` when another connection holds the write lock: nothing
    /// was written, and the caller writes them another way.
    pub(crate) fn record(
        &mut self,
        keys: &[(&str, String)],
    ) -> rusqlite::Result<Option<Vec<bool>>> {
        use rusqlite::ErrorCode;
        self.conn.busy_timeout(std::time::Duration::ZERO)?;
        let begun = self.conn.execute_batch("BEGIN IMMEDIATE");
        let restored = self.conn.busy_timeout(READ_BUSY);
        if begun.is_ok() && restored.is_err() {
            // Never leave the write lock taken.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        restored?;
        match begun {
            Ok(()) => {}
            Err(rusqlite::Error::SqliteFailure(failure, _))
                if failure.code == ErrorCode::DatabaseBusy =>
            {
                return Ok(None)
            }
            Err(error) => return Err(error),
        }
        let written = self.insert_keys(keys).and_then(|new| {
            self.conn.execute_batch("COMMIT")?;
            Ok(new)
        });
        if written.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        let new = written?;
        self.commits += 1;
        Ok(Some(new))
    }

    fn insert_keys(&self, keys: &[(&str, String)]) -> rusqlite::Result<Vec<bool>> {
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO processed_events (event_id, at) VALUES (?1, ?2) ON CONFLICT (event_id) DO NOTHING",
        )?;
        keys.iter().map(|(key, at)| Ok(insert.execute((key, at))? == 1)).collect()
    }

    /// Whether enough has been committed here since the last call to copy the log back into
    /// the database (this connection never does it itself: `wal_autocheckpoint` is off on it).
    pub(crate) fn checkpoint_due(&mut self) -> bool {
        let due = self.commits >= CHECKPOINT_EVERY;
        if due {
            self.commits = 0;
        }
        due
    }

    fn current(&mut self) -> rusqlite::Result<Arc<Versions>> {
        let changes: i64 =
            self.conn.prepare_cached("PRAGMA data_version")?.query_row([], |row| row.get(0))?;
        if let Some((at, versions)) = &self.seen {
            if *at == changes {
                return Ok(versions.clone());
            }
        }
        // Read after `data_version`: a commit in between only makes the next call read again.
        let mut statement = self.conn.prepare_cached(READ_ALL)?;
        let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get(1)?)))?;
        let versions = Arc::new(rows.collect::<rusqlite::Result<Versions>>()?);
        self.seen = Some((changes, versions.clone()));
        Ok(versions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &Path) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(dir.join("v.db")).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE data_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
             INSERT INTO data_versions VALUES ('capacity', 0), ('library', 0);",
        )
        .unwrap();
        conn
    }

    /// The version connection of the database in `dir`.
    fn watch(dir: &Path) -> Watch {
        let VersionSource::File(watch) = VersionSource::sqlite(&dir.join("v.db")) else {
            panic!("the file should open");
        };
        watch.into_inner()
    }

    #[test]
    fn request_keys_are_recorded_once_without_moving_the_versions_or_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let writer = database(dir.path());
        writer
            .execute_batch(
                "CREATE TABLE processed_events (event_id TEXT PRIMARY KEY, at TEXT NOT NULL)",
            )
            .unwrap();
        let mut watch = watch(dir.path());
        let versions = watch.current().unwrap();
        let synchronous: i64 =
            watch.conn.pragma_query_value(None, "synchronous", |row| row.get(0)).unwrap();
        assert_eq!(synchronous, 1, "NORMAL, as the pool's connections");
        let at = || "2026-11-30T12:00:00Z".to_string();
        let keys = [("k1", at()), ("k2", at()), ("k1", at())];
        assert_eq!(watch.record(&keys).unwrap(), Some(vec![true, true, false]));
        assert_eq!(watch.record(&[("k2", at()), ("k3", at())]).unwrap(), Some(vec![false, true]));
        // Its own commits leave the versions as read: not read again.
        assert!(Arc::ptr_eq(&versions, &watch.current().unwrap()));
        let count: i64 =
            writer.query_row("SELECT count(*) FROM processed_events", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 3, "committed, as another connection sees");

        // Another connection holds the write lock: nothing is written and nothing waits.
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        let started = Instant::now();
        assert_eq!(watch.record(&[("k4", at())]).unwrap(), None);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Reading still works while the writer holds its lock.
        assert_eq!(watch.current().unwrap()["capacity"], 0);
        writer.execute_batch("ROLLBACK").unwrap();
        assert_eq!(watch.record(&[("k4", at())]).unwrap(), Some(vec![true]));
    }

    #[test]
    fn a_check_is_shared_only_with_requests_that_arrived_before_it_began() {
        let dir = tempfile::tempdir().unwrap();
        let writer = database(dir.path());
        let mut watch = watch(dir.path());
        let arrived = Instant::now();
        assert_eq!(watch.check_since(Instant::now()).unwrap()["capacity"], 0);
        writer.execute("UPDATE data_versions SET version = 5 WHERE name = 'capacity'", []).unwrap();
        // Arrived before that check began: it may take it (the commit came after it arrived).
        assert_eq!(watch.check_since(arrived).unwrap()["capacity"], 0);
        // Arrived after the commit: checked again, and sees it.
        assert_eq!(watch.check_since(Instant::now()).unwrap()["capacity"], 5);
    }

    #[test]
    fn a_commit_by_any_other_connection_is_seen_and_nothing_else_reads_again() {
        let dir = tempfile::tempdir().unwrap();
        let writer = database(dir.path());
        let mut watch = watch(dir.path());
        let first = watch.current().unwrap();
        assert_eq!(first["capacity"], 0);
        // Unchanged: the same versions, not read again.
        assert!(Arc::ptr_eq(&first, &watch.current().unwrap()));
        writer.execute("UPDATE data_versions SET version = 3 WHERE name = 'capacity'", []).unwrap();
        let second = watch.current().unwrap();
        assert_eq!((second["capacity"], second["library"]), (3, 0));
        // A second process's connection is another connection too.
        let other = rusqlite::Connection::open(dir.path().join("v.db")).unwrap();
        other.execute("UPDATE data_versions SET version = 1 WHERE name = 'library'", []).unwrap();
        assert_eq!(watch.current().unwrap()["library"], 1);
    }
}
