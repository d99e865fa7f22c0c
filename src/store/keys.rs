//! The replay guard's request keys on a SQLite file, written by a thread of their own.
//!
//! Every request records one key (`processed_events`), so this is the write the server makes
//! most. The thread owns a connection and writes whatever keys are waiting in one transaction,
//! then the next group: while it writes, the async threads go on answering, and the keys that
//! arrive meanwhile make the next group. It never waits for SQLite's write lock: when another
//! connection holds it (an import), the group is handed back and its keys go through the pool
//! (`batch.rs`), which waits on a thread of its own. Every `CHECKPOINT_EVERY` keys it copies
//! the write-ahead log back into the database with a RESTART checkpoint, so the log is written
//! again from its start instead of growing for as long as requests keep coming.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

/// The size a write-ahead log is cut back to once it has been copied into the database.
pub(crate) const JOURNAL_SIZE_LIMIT: i64 = 64 << 20;

/// How many keys are committed between checkpoints. Keys land on pages all over the last
/// seconds' part of the index, and a page written many times between two checkpoints is copied
/// back once: fewer, larger checkpoints copy less in all.
const CHECKPOINT_EVERY: u32 = 8192;

/// How long a checkpoint waits for readers of the old log before it is left for the next one:
/// keys wait meanwhile, and a request gives the database only `replay::CHECK_WITHIN` (300 ms).
const CHECKPOINT_WAITS: Duration = Duration::from_millis(50);

/// At most this many keys in one transaction.
const MOST_KEYS: usize = 1000;

/// A key waiting to be written, and who waits for its outcome: whether it was new, or `None`
/// when it was not written (the write lock was taken, or the write failed).
type Waiting = (String, String, oneshot::Sender<Option<bool>>);

/// The writing thread's queue.
struct Queue {
    state: Mutex<State>,
    arrived: Condvar,
}

#[derive(Default)]
struct State {
    keys: Vec<Waiting>,
    /// The store is gone: the thread ends.
    closed: bool,
    /// The thread waits for keys: the next one must wake it.
    idle: bool,
}

/// The handle a `Store` keeps: when the last copy of the store goes, the thread ends.
pub(crate) struct KeyWriter {
    queue: Arc<Queue>,
}

impl KeyWriter {
    /// A writer for the SQLite file at `path`; `None` when it cannot be opened (the keys then go
    /// through the pool).
    pub(crate) fn start(path: &Path) -> Option<KeyWriter> {
        KeyWriter::checkpointing_every(path, CHECKPOINT_EVERY)
    }

    /// `start`, with a checkpoint every `keys` keys.
    fn checkpointing_every(path: &Path, keys: u32) -> Option<KeyWriter> {
        let conn = match open(path) {
            Ok(conn) => conn,
            Err(error) => {
                tracing::debug!(error = %error, "writing request keys through the pool");
                return None;
            }
        };
        let queue = Arc::new(Queue { state: Mutex::default(), arrived: Condvar::new() });
        let writing = queue.clone();
        let started = std::thread::Builder::new().name("keepable-keys".into()).spawn(move || {
            // However the thread ends (a panic included), no key waits for it any more.
            let _closing = Closing(writing.clone());
            Writer { conn, commits: 0, checkpoint_every: keys }.run(&writing)
        });
        match started {
            Ok(_) => Some(KeyWriter { queue }),
            Err(error) => {
                tracing::warn!(error = %error, "could not start the request-key writer");
                None
            }
        }
    }

    /// Records `key`, first seen at `at`: whether no one recorded it before; `None` when it was
    /// not written here and must be written another way.
    pub(crate) async fn record(&self, key: String, at: String) -> Option<bool> {
        let (tell, told) = oneshot::channel();
        let wake = {
            let mut state = self.queue.lock();
            if state.closed {
                return None;
            }
            state.keys.push((key, at, tell));
            std::mem::take(&mut state.idle)
        };
        if wake {
            self.queue.arrived.notify_one();
        }
        told.await.ok().flatten()
    }
}

impl Drop for KeyWriter {
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.arrived.notify_all();
    }
}

/// Closes the queue when the writing thread ends: keys still waiting are handed back (their
/// callers write them through the pool) and later ones go there at once.
struct Closing(Arc<Queue>);

impl Drop for Closing {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.closed = true;
        state.keys.clear();
    }
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The keys waiting, once there are any; `None` when the store is gone.
    fn next(&self) -> Option<Vec<Waiting>> {
        let mut state = self.lock();
        loop {
            if !state.keys.is_empty() {
                let take = state.keys.len().min(MOST_KEYS);
                return Some(state.keys.drain(..take).collect());
            }
            if state.closed {
                return None;
            }
            state.idle = true;
            state = self.arrived.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
            state.idle = false;
        }
    }
}

fn open(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = rusqlite::Connection::open_with_flags(path, flags)?;
    // It never waits for the write lock (`record`); a checkpoint waits a moment for readers.
    conn.busy_timeout(Duration::ZERO)?;
    // Checkpoints are this thread's own (`CHECKPOINT_EVERY`), never in the middle of a group.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // As the pool's connections: in WAL mode a commit is not synced to disk (a power cut may
    // lose the last ones, never corrupt the database).
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // The first commit after a checkpoint starts the log again from its beginning, and cuts a
    // log grown by an import back to this size.
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
    Ok(conn)
}

/// The writing thread's connection.
struct Writer {
    conn: rusqlite::Connection,
    /// Keys committed since the last checkpoint.
    commits: u32,
    checkpoint_every: u32,
}

impl Writer {
    fn run(mut self, queue: &Queue) {
        while let Some(group) = queue.next() {
            let keys: Vec<(&str, &str)> =
                group.iter().map(|(key, at, _)| (key.as_str(), at.as_str())).collect();
            let outcome = match self.record(&keys) {
                Ok(new) => new,
                Err(error) => {
                    tracing::warn!(error = %error, "could not record request keys; using the pool");
                    None
                }
            };
            drop(keys);
            match outcome {
                Some(new) => {
                    for ((_, _, tell), new) in group.into_iter().zip(new) {
                        let _ = tell.send(Some(new));
                    }
                }
                None => {
                    for (_, _, tell) in group {
                        let _ = tell.send(None);
                    }
                }
            }
            if self.commits >= self.checkpoint_every {
                self.checkpoint();
            }
        }
    }

    /// Records `keys` in one transaction: whether each was new. `Ok(None)` when another
    /// connection holds the write lock: nothing was written.
    fn record(&mut self, keys: &[(&str, &str)]) -> rusqlite::Result<Option<Vec<bool>>> {
        match self.conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {}
            Err(rusqlite::Error::SqliteFailure(failure, _))
                if failure.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                return Ok(None)
            }
            Err(error) => return Err(error),
        }
        // A COMMIT that fails after its pages reached the log (a rare I/O error) hands keys back
        // that the pool then finds recorded: those requests are refused as replays, never a
        // replay accepted.
        let written = self.insert(keys).and_then(|new| {
            self.conn.execute_batch("COMMIT")?;
            Ok(new)
        });
        if written.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        let new = written?;
        self.commits += keys.len() as u32;
        Ok(Some(new))
    }

    fn insert(&self, keys: &[(&str, &str)]) -> rusqlite::Result<Vec<bool>> {
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO processed_events (event_id, at) VALUES (?1, ?2) ON CONFLICT (event_id) DO NOTHING",
        )?;
        keys.iter().map(|(key, at)| Ok(insert.execute((key, at))? == 1)).collect()
    }

    /// Copies the log back into the database and has the next commit write it from its start;
    /// left for the next time when readers of the old log do not finish in a moment.
    fn checkpoint(&mut self) {
        self.commits = 0;
        let restart = self.conn.busy_timeout(CHECKPOINT_WAITS).and_then(|()| {
            self.conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |row| row.get::<_, i64>(0))
        });
        if let Err(error) = self.conn.busy_timeout(Duration::ZERO) {
            tracing::warn!(error = %error, "could not restore the key writer's busy timeout");
        }
        match restart {
            Ok(0) => {}
            Ok(_) => tracing::debug!("the write-ahead log is in use; checkpointed next time"),
            Err(error) => {
                tracing::warn!(error = %error, "could not checkpoint the write-ahead log")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &Path) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(dir.join("k.db")).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE processed_events (event_id TEXT PRIMARY KEY, at TEXT NOT NULL) WITHOUT ROWID;",
        )
        .unwrap();
        conn
    }

    fn at() -> String {
        "2026-12-01T12:00:00Z".to_string()
    }

    #[tokio::test]
    async fn keys_are_recorded_once_and_a_taken_write_lock_hands_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let other = database(dir.path());
        let writer = KeyWriter::start(&dir.path().join("k.db")).unwrap();
        assert_eq!(writer.record("k1".into(), at()).await, Some(true));
        assert_eq!(writer.record("k1".into(), at()).await, Some(false), "seen before");
        let (a, b) =
            tokio::join!(writer.record("k2".into(), at()), writer.record("k2".into(), at()));
        assert_eq!([a, b].iter().filter(|new| **new == Some(true)).count(), 1, "{a:?} {b:?}");
        let count: i64 =
            other.query_row("SELECT count(*) FROM processed_events", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 2, "committed, as another connection sees");

        // Another connection holds the write lock: handed back at once, nothing written.
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let started = std::time::Instant::now();
        assert_eq!(writer.record("k3".into(), at()).await, None);
        assert!(started.elapsed() < Duration::from_secs(1));
        other.execute_batch("ROLLBACK").unwrap();
        assert_eq!(writer.record("k3".into(), at()).await, Some(true));
    }

    #[tokio::test]
    async fn the_log_is_written_again_from_its_start_after_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let _schema = database(dir.path());
        let every = 64;
        let writer = KeyWriter::checkpointing_every(&dir.path().join("k.db"), every).unwrap();
        let wal = || std::fs::metadata(dir.path().join("k.db-wal")).unwrap().len();
        let mut sizes = Vec::new();
        for round in 0..6 {
            for n in 0..every {
                assert_eq!(writer.record(format!("key-{round}-{n}"), at()).await, Some(true));
            }
            sizes.push(wal());
        }
        // Each round's commits are written over the last round's: without the checkpoints the
        // log would hold all six rounds.
        let first = sizes[0];
        assert!(sizes.iter().all(|size| *size <= first * 2), "{sizes:?}");
        let other = rusqlite::Connection::open(dir.path().join("k.db")).unwrap();
        let count: i64 =
            other.query_row("SELECT count(*) FROM processed_events", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 6 * i64::from(every), "every key kept");
    }

    #[tokio::test]
    async fn the_thread_ends_with_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let _schema = database(dir.path());
        let writer = KeyWriter::start(&dir.path().join("k.db")).unwrap();
        let queue = Arc::downgrade(&writer.queue);
        drop(writer);
        for _ in 0..200 {
            if queue.upgrade().is_none() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("the writing thread still holds its queue");
    }
}
