//! Every request first reads the data versions (`cache.rs`): whether what it keeps in memory is
//! still the committed data. That read must see every change committed before the request
//! arrived, on any instance, yet it runs on every request, so it is kept off the pool:
//!
//! - **SQLite:** a connection of its own (rusqlite, synchronous: a few microseconds instead of a
//!   hop to one of sqlx's worker threads and back) asks `PRAGMA data_version`, which changes
//!   whenever any other connection, in this process or another, has committed. Only then are the
//!   versions read again, on the same connection.
//! - **PostgreSQL** (and SQLite without a file): one query answers every request that arrived
//!   before it started. A request waits for a read that began after it arrived, so it never sees
//!   versions older than its arrival, and under load one query serves many requests.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::StoreResult;

/// Each kind of cached data's version (`data_versions`).
pub(crate) type Versions = HashMap<String, i64>;

const READ_ALL: &str = "SELECT name, version FROM data_versions";

/// Where a `Store` reads the versions from.
pub(crate) enum VersionSource {
    File(Mutex<Watch>),
    Coalesced(tokio::sync::Mutex<Option<(Instant, Arc<Versions>)>>),
}

/// A SQLite file's own read connection, and the versions as of its last `data_version`.
pub(crate) struct Watch {
    conn: rusqlite::Connection,
    seen: Option<(i64, Arc<Versions>)>,
}

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
                let _ = conn.busy_timeout(std::time::Duration::from_secs(10));
                VersionSource::File(Mutex::new(Watch { conn, seen: None }))
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
    /// Every data version, as committed when this call began (or later).
    pub(crate) async fn versions(&self) -> StoreResult<Arc<Versions>> {
        match &*self.versions {
            VersionSource::File(watch) => {
                let mut watch = watch.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                watch.current().map_err(|e| super::StoreError::Failed(e.to_string()))
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

impl Watch {
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

    #[test]
    fn a_commit_by_any_other_connection_is_seen_and_nothing_else_reads_again() {
        let dir = tempfile::tempdir().unwrap();
        let writer = database(dir.path());
        let VersionSource::File(watch) = VersionSource::sqlite(&dir.path().join("v.db")) else {
            panic!("the file should open");
        };
        let mut watch = watch.into_inner().unwrap();
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
