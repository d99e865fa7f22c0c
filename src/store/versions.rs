//! Every request first reads the data versions (`cache.rs`): whether what it keeps in memory is
//! still the committed data. That read must see every change committed before the request
//! arrived, on any instance, yet it runs on every request, so it is kept off the pool:
//!
//! - **SQLite:** a connection of its own (rusqlite, synchronous: a few microseconds instead of a
//!   hop to one of sqlx's worker threads and back) asks `PRAGMA data_version`, which changes
//!   whenever any other connection, in this process or another, has committed. Only then are the
//!   versions read again, on the same connection (the replay guard's keys, written on a thread of
//!   their own, `keys.rs`, move it too: a small read, at most once for each commit of keys, a
//!   few hundred a second under load). On Linux even the pragma (a read transaction, with its
//!   file locks) is asked only when the database's files were written since the last check
//!   (`Writes`): every commit, by any process, writes them, and the kernel queues the inotify
//!   event inside that write, before the commit returns, so a request that arrives after a
//!   commit finds its event waiting.
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
    /// A lock held for a check, never across an await (`lock_watch`): an async lock cost a
    /// served command 3 to 5 µs more (measured side by side, `benches/load.rs`), as a request
    /// that waits for one is no longer answered in its first poll (it moves to a task of its
    /// own, `Slack::within_ack`, woken from the other thread).
    File(std::sync::Mutex<Watch>),
    Coalesced(tokio::sync::Mutex<Option<(Instant, Arc<Versions>)>>),
}

/// A SQLite file's own read connection, and the versions as of its last `data_version`.
pub(crate) struct Watch {
    conn: rusqlite::Connection,
    /// Whether the database's files were written since the last check; `None` where inotify
    /// is not to be had (then every check asks the pragma).
    writes: Option<Writes>,
    /// How many times the pragma was asked (the tests' view of what the watch saves).
    asked: u64,
    seen: Option<(i64, Arc<Versions>)>,
    /// The last check, and when it began: a request that arrived before then takes it.
    checked: Option<(Instant, Arc<Versions>)>,
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
                let _ = conn.busy_timeout(READ_BUSY);
                VersionSource::File(std::sync::Mutex::new(Watch {
                    conn,
                    writes: Writes::watch(path),
                    asked: 0,
                    seen: None,
                    checked: None,
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
    /// Every data version, as committed when this call began (or later).
    pub(crate) async fn versions(&self) -> StoreResult<Arc<Versions>> {
        match &*self.versions {
            VersionSource::File(watch) => {
                let arrived = Instant::now();
                let mut watch = lock_watch(watch);
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

    fn current(&mut self) -> rusqlite::Result<Arc<Versions>> {
        // Nothing written since the pragma last ran: nothing committed either. The events are
        // taken before the pragma runs, so a commit after it leaves one for the next check.
        if let (Some(writes), Some((_, versions))) = (&mut self.writes, &self.seen) {
            if !writes.since_last() {
                return Ok(versions.clone());
            }
        }
        self.asked += 1;
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
        let read = rows.collect::<rusqlite::Result<Versions>>()?;
        // Most commits change no version (the replay guard's keys): the same versions, kept.
        let versions = match self.seen.take() {
            Some((_, seen)) if *seen == read => seen,
            _ => Arc::new(read),
        };
        self.seen = Some((changes, versions.clone()));
        Ok(versions)
    }
}

/// How many times `lock_watch` tries the lock before it waits: about two microseconds of
/// spinning, the time a check that finds nothing written holds it (an inotify read).
const LOCK_TRIES: u32 = 64;

/// `lock`, taken at once when free or freed within a moment (another thread's check
/// finishing). Otherwise a check holds it that waits on SQLite (a recovery: up to
/// `READ_BUSY`), and it is waited for off the runtime's worker (`block_in_place`: another
/// thread takes over this one's other tasks), so that the wait holds up only the requests that
/// need the versions, never the runtime's threads.
fn lock_watch<T>(lock: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    use std::sync::TryLockError;
    for _ in 0..LOCK_TRIES {
        match lock.try_lock() {
            Ok(taken) => return taken,
            Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => std::hint::spin_loop(),
        }
    }
    let wait = || lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let flavor = tokio::runtime::Handle::try_current().map(|handle| handle.runtime_flavor());
    match flavor {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
        // A single thread (the tests' runtime) has no other worker to hand its tasks to.
        _ => wait(),
    }
}

/// The writes to a SQLite database's files (the database, its `-wal` and `-journal`), as
/// inotify reports them on the directory that holds them (a `-wal` file comes and goes).
#[cfg(target_os = "linux")]
pub(crate) struct Writes {
    inotify: rustix::fd::OwnedFd,
    /// The database's file name: events for other files in its directory are passed by.
    name: Vec<u8>,
    /// The watch is gone (its directory removed, or its file system unmounted): nothing more
    /// will be reported, so every check asks the pragma from then on.
    lost: bool,
}

#[cfg(target_os = "linux")]
impl Writes {
    /// Watches the directory of the database at `path`; `None` when inotify cannot (no
    /// instance left, a directory it may not read): every check then asks the pragma.
    fn watch(path: &Path) -> Option<Writes> {
        use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
        // SQLite follows a symbolic link to the database, and keeps its journal beside the file
        // itself: that directory is the one written.
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let name = path.file_name()?.as_encoded_bytes().to_vec();
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let watched = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK).and_then(|fd| {
            let events = WatchFlags::MODIFY
                | WatchFlags::CREATE
                | WatchFlags::DELETE
                | WatchFlags::MOVED_FROM
                | WatchFlags::MOVED_TO
                | WatchFlags::DELETE_SELF
                | WatchFlags::MOVE_SELF;
            inotify::add_watch(&fd, dir, events).map(|_| fd)
        });
        match watched {
            Ok(inotify) => Some(Writes { inotify, name, lost: false }),
            Err(error) => {
                tracing::debug!(%error, "no inotify watch on the database: every check asks SQLite");
                None
            }
        }
    }

    /// Whether one of the database's files was written (or made, removed, renamed) since the
    /// last call; also true whenever it cannot be sure (a full event queue, a failed read).
    fn since_last(&mut self) -> bool {
        use rustix::fs::inotify::{ReadFlags, Reader};
        use std::mem::MaybeUninit;
        if self.lost {
            return true;
        }
        let mut buffer = [MaybeUninit::<u8>::uninit(); 4096];
        let mut events = Reader::new(&self.inotify, &mut buffer);
        let mut written = false;
        loop {
            match events.next() {
                Ok(event) => {
                    self.lost |= event.events().contains(ReadFlags::IGNORED);
                    let ours = match event.file_name() {
                        Some(file) => file.to_bytes().starts_with(&self.name),
                        // The directory itself (moved or removed), or an overflow.
                        None => true,
                    };
                    written |= ours || event.events().contains(ReadFlags::QUEUE_OVERFLOW);
                }
                Err(rustix::io::Errno::WOULDBLOCK) => return written,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return true,
            }
        }
    }
}

/// Without inotify every check asks the pragma.
#[cfg(not(target_os = "linux"))]
pub(crate) struct Writes;

#[cfg(not(target_os = "linux"))]
impl Writes {
    fn watch(_: &Path) -> Option<Writes> {
        None
    }

    fn since_last(&mut self) -> bool {
        true
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
        watch.into_inner().unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lock_held_for_long_is_waited_for_while_the_runtime_goes_on() {
        let lock = std::sync::Arc::new(std::sync::Mutex::new(0));
        assert_eq!(*lock_watch(&lock), 0, "free");
        // A check waiting on SQLite, on a thread of its own.
        let held = lock.clone();
        let (taken, take) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let mut guard = held.lock().unwrap();
            taken.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(200));
            *guard = 1;
        });
        take.recv().unwrap();
        let waiting = lock.clone();
        let waiter = tokio::spawn(async move { *lock_watch(&waiting) });
        // Meanwhile the runtime answers other tasks.
        let other = tokio::spawn(async { 7 });
        assert_eq!(
            tokio::time::timeout(std::time::Duration::from_millis(100), other)
                .await
                .unwrap()
                .unwrap(),
            7
        );
        assert_eq!(waiter.await.unwrap(), 1, "taken once the holder let go");
        holder.join().unwrap();
    }

    #[test]
    fn a_commit_that_changes_no_version_keeps_the_versions_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let writer = database(dir.path());
        writer.execute_batch("CREATE TABLE processed_events (event_id TEXT PRIMARY KEY)").unwrap();
        let mut watch = watch(dir.path());
        let versions = watch.current().unwrap();
        // A request key, committed by another connection: read again, and the same.
        writer.execute("INSERT INTO processed_events VALUES ('k1')", []).unwrap();
        assert!(Arc::ptr_eq(&versions, &watch.current().unwrap()));
        // Reading still works while another connection holds the write lock.
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        assert_eq!(watch.current().unwrap()["capacity"], 0);
        writer.execute_batch("ROLLBACK").unwrap();
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

    #[cfg(target_os = "linux")]
    #[test]
    fn a_watch_whose_directory_is_gone_leaves_every_check_to_the_pragma() {
        let dir = tempfile::tempdir().unwrap();
        let watched = dir.path().join("data");
        std::fs::create_dir(&watched).unwrap();
        let mut writes = Writes::watch(&watched.join("v.db")).unwrap();
        assert!(!writes.since_last(), "nothing written yet");
        std::fs::remove_dir(&watched).unwrap();
        assert!(writes.since_last(), "the directory went");
        assert!(writes.since_last(), "and nothing will report a write any more");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_database_reached_through_a_link_is_watched_where_it_lives() {
        let (real, linked) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let writer = database(real.path());
        std::os::unix::fs::symlink(real.path().join("v.db"), linked.path().join("v.db")).unwrap();
        let mut watch = watch(linked.path());
        assert_eq!(watch.current().unwrap()["capacity"], 0);
        writer.execute("UPDATE data_versions SET version = 4 WHERE name = 'capacity'", []).unwrap();
        assert_eq!(watch.current().unwrap()["capacity"], 4);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_pragma_is_asked_only_after_the_database_files_were_written() {
        let dir = tempfile::tempdir().unwrap();
        let writer = database(dir.path());
        let mut watch = watch(dir.path());
        assert!(watch.writes.is_some(), "inotify is there on Linux");
        assert_eq!(watch.current().unwrap()["capacity"], 0);
        let asked = watch.asked;
        // Nothing written: the versions held, without a read transaction.
        for _ in 0..3 {
            assert_eq!(watch.current().unwrap()["capacity"], 0);
        }
        assert_eq!(watch.asked, asked);
        // Another file in the same directory is not the database.
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        watch.current().unwrap();
        assert_eq!(watch.asked, asked);
        // A commit by another connection is seen by the very next check, and once.
        writer.execute("UPDATE data_versions SET version = 7 WHERE name = 'capacity'", []).unwrap();
        assert_eq!(watch.current().unwrap()["capacity"], 7);
        assert_eq!(watch.asked, asked + 1);
        assert_eq!(watch.current().unwrap()["capacity"], 7);
        assert_eq!(watch.asked, asked + 1);
        // So is a commit by another process, whose connection comes and goes (its `-wal`
        // file may be made and removed).
        drop(writer);
        let other = rusqlite::Connection::open(dir.path().join("v.db")).unwrap();
        other.execute("UPDATE data_versions SET version = 8 WHERE name = 'capacity'", []).unwrap();
        drop(other);
        assert_eq!(watch.current().unwrap()["capacity"], 8);
    }
}
