//! The replay guard's request keys on a SQLite file: kept in memory, written moments later by a
//! thread of their own.
//!
//! Every signed request records one key (`request_keys`: appended to, a page or two a commit),
//! so this is the write the server makes most. Waiting for it would cost each request a commit of its own (under load, a group
//! of one or two: SQLite commits as fast as they come) and two hops between threads; looking
//! each key up in the database would cost a read transaction (file locks) per request. Instead:
//!
//! - **Known in memory:** a key is new unless this process recorded it in the last `REMEMBERED`
//!   minutes, or it was recorded in the `REMEMBERED` minutes before this process started (read
//!   once, at start: a restart refuses the replay of a request the last process accepted). Keys
//!   older than that no longer verify. A SQLite file serves one instance; several share
//!   PostgreSQL, where each key is committed before the request goes on (`batch.rs`).
//! - **Written behind** by the `keepable-keys` thread: whatever keys wait, in one transaction, at
//!   most one commit every `COMMIT_GAP`. At a few requests a second each key is committed as it
//!   comes; under load a commit carries the keys of the last few milliseconds. A request does
//!   not wait for it, and `flush` (at shutdown) waits until every key is written.
//!
//! The write lock is waited for (an import holds it for seconds): keys wait in memory meanwhile,
//! and a failed write is tried again. Every `CHECKPOINT_EVERY` keys the write-ahead log is
//! copied back into the database with a RESTART checkpoint, so the log is written again from its
//! start instead of growing for as long as requests keep coming.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The size a write-ahead log is cut back to once it has been copied into the database.
pub(crate) const JOURNAL_SIZE_LIMIT: i64 = 64 << 20;

/// How many keys are committed between checkpoints. Keys land on pages all over the last
/// seconds' part of the index, and a page written many times between two checkpoints is copied
/// back once: fewer, larger checkpoints copy less in all.
const CHECKPOINT_EVERY: u64 = 8192;

/// How long a checkpoint waits for readers of the old log before it is left for the next one.
const CHECKPOINT_WAITS: Duration = Duration::from_millis(50);

/// The least time between two commits' starts: under load, the keys of this long go together.
const COMMIT_GAP: Duration = Duration::from_millis(5);

/// How long a key is remembered: a signature verifies five minutes either side of its
/// timestamp, so a request first seen up to ten minutes ago can still be replayed.
const REMEMBERED: Duration = Duration::from_secs(10 * 60);

/// How long the writer waits for SQLite's write lock before it tries again (keys wait in memory).
const WRITE_BUSY: Duration = Duration::from_secs(5);

/// How long a write that failed waits before it is tried again.
const RETRY_AFTER: Duration = Duration::from_millis(250);

/// At most this many keys in one transaction.
const MOST_KEYS: usize = 5000;

/// At most this many keys wait to be written (a database that refuses writes for long): the
/// oldest beyond are dropped, with a warning. They are still remembered here.
const MOST_WAITING: usize = 1_000_000;

/// How many keys one statement writes (a group's last few are written one by one).
const ROWS: usize = 32;

/// The statement writing `ROWS` keys.
fn rows_insert() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let rows = vec!["(?, ?)"; ROWS].join(", ");
        format!("INSERT INTO request_keys (event_id, at) VALUES {rows}")
    })
}

/// A key to write, and when it was first seen (written as text by the thread, not the request).
type Key = (String, chrono::DateTime<chrono::Utc>);

/// What the requests and the writing thread share.
struct Queue {
    state: Mutex<State>,
    /// Keys arrived while the thread was idle, or the store is gone.
    arrived: Condvar,
    /// A group was committed (or given up): `flush` looks again.
    written: tokio::sync::Notify,
}

#[derive(Default)]
struct State {
    /// The keys remembered (`fingerprint`), each until `REMEMBERED` after it came.
    known: Recent<Instant>,
    /// Keys waiting for the next commit.
    waiting: Vec<Key>,
    /// Keys accepted and keys handled (committed or dropped): `flush` waits for them to meet.
    accepted: u64,
    handled: u64,
    /// The store is gone: the thread writes what waits, then ends.
    closed: bool,
    /// The thread has ended: keys go through the pool.
    ended: bool,
    /// The thread waits for keys: the next one must wake it.
    idle: bool,
}

impl State {
    /// Remembers `key` from `now` until `REMEMBERED` later: false when it was remembered already.
    fn remember(&mut self, key: u128, now: Instant) -> bool {
        self.known.remember(key, now, now + REMEMBERED)
    }
}

/// Fingerprints remembered until a time of theirs (`T`: an instant, or Unix seconds), forgotten
/// in the order they came: the replay guard's memory, here and in the chat adapters
/// (`chat::replay`). They are hashes of signed requests already, so a fast seeded hasher
/// (foldhash) spreads them as well as SipHash would.
pub(crate) struct Recent<T> {
    known: HashSet<u128, foldhash::fast::RandomState>,
    /// `(forget after, fingerprint)` in the order they came.
    expiries: VecDeque<(T, u128)>,
}

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Recent { known: HashSet::default(), expiries: VecDeque::new() }
    }
}

impl<T: PartialOrd> Recent<T> {
    /// Forgets the fingerprints due before `now`, then remembers `key` until `until`: false
    /// when it was remembered already.
    pub(crate) fn remember(&mut self, key: u128, now: T, until: T) -> bool {
        while self.expiries.front().is_some_and(|(forget, _)| *forget < now) {
            if let Some((_, old)) = self.expiries.pop_front() {
                self.known.remove(&old);
            }
        }
        if !self.known.insert(key) {
            return false;
        }
        self.expiries.push_back((until, key));
        true
    }

    /// How many fingerprints are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.known.len()
    }
}

/// A key as remembered: 128 bits (16 bytes, not a string on the heap). A Slack request's key
/// (`s:`, its send time, `:`, 32 hex digits: `chat::replay::request_key`) already ends in the
/// first 128 bits of its signature's tag (the HMAC-SHA256 of its timestamp and body), and is
/// remembered by those;
/// any other key (`discord:{id}`) by the first 128 bits of its own SHA-256.
pub(crate) fn fingerprint(key: &str) -> u128 {
    slack_fingerprint(key).unwrap_or_else(|| {
        let digest = Sha256::digest(key.as_bytes());
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        u128::from_le_bytes(first)
    })
}

/// The 128 bits a Slack request's key ends in, when `key` is one.
fn slack_fingerprint(key: &str) -> Option<u128> {
    let rest = key.strip_prefix("s:")?;
    let (sent_at, hash) = rest.split_once(':')?;
    if sent_at.len() != 11 || !sent_at.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    // Exactly 32 lower-case hex digits (as `request_key` writes them), or not a Slack key: one
    // spelling for each fingerprint, as the database holds one text for each key.
    if !hash.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut first = [0u8; 16];
    hex::decode_to_slice(hash, &mut first).ok()?;
    Some(u128::from_le_bytes(first))
}

/// The handle a `Store` keeps: when the last copy of the store goes, the thread writes what
/// waits and ends.
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
    fn checkpointing_every(path: &Path, keys: u64) -> Option<KeyWriter> {
        let opened = open(path).and_then(|conn| Ok((recorded_lately(&conn)?, conn)));
        let (lately, conn) = match opened {
            Ok(opened) => opened,
            Err(error) => {
                tracing::debug!(error = %error, "writing request keys through the pool");
                return None;
            }
        };
        let mut state = State::default();
        let now = Instant::now();
        for key in &lately {
            state.remember(fingerprint(key), now);
        }
        let queue = Arc::new(Queue {
            state: Mutex::new(state),
            arrived: Condvar::new(),
            written: tokio::sync::Notify::new(),
        });
        let writing = queue.clone();
        let started = std::thread::Builder::new().name("keepable-keys".into()).spawn(move || {
            // However the thread ends (a panic included), no one waits for it any more.
            let _ending = Ending(writing.clone());
            Writer { conn, since_checkpoint: 0, checkpoint_every: keys }.run(&writing)
        });
        match started {
            Ok(_) => Some(KeyWriter { queue }),
            Err(error) => {
                tracing::warn!(error = %error, "could not start the request-key writer");
                None
            }
        }
    }

    /// Whether `key` (first seen at `at`; `remembered` is its `fingerprint`) is new: not
    /// recorded in the last `REMEMBERED` minutes, by this process or the one before it. A new
    /// key is written moments later. `None` when the writer is gone (the key must be recorded
    /// another way).
    pub(crate) fn first(
        &self,
        key: &str,
        remembered: u128,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Option<bool> {
        let mut state = self.queue.lock();
        // Asked before whether the thread has ended: a key it accepted is refused even then,
        // as the keys recorded another way since (`processed_events`) do not hold it.
        if !state.remember(remembered, Instant::now()) {
            return Some(false);
        }
        if state.ended {
            return None;
        }
        state.waiting.push((key.to_string(), at));
        state.accepted += 1;
        let wake = std::mem::take(&mut state.idle);
        drop(state);
        if wake {
            self.queue.arrived.notify_one();
        }
        Some(true)
    }

    /// Waits until every key accepted so far is written (or dropped, or the thread ended).
    pub(crate) async fn flush(&self) {
        let target = self.queue.lock().accepted;
        loop {
            let written = self.queue.written.notified();
            tokio::pin!(written);
            written.as_mut().enable();
            {
                let state = self.queue.lock();
                if state.handled >= target || state.ended {
                    return;
                }
            }
            written.await;
        }
    }
}

impl Drop for KeyWriter {
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.arrived.notify_all();
    }
}

/// Marks the thread ended however it ends: keys then go through the pool, and `flush` stops
/// waiting.
struct Ending(Arc<Queue>);

impl Drop for Ending {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.ended = true;
        if !state.waiting.is_empty() {
            tracing::warn!(keys = state.waiting.len(), "request keys left unwritten");
        }
        drop(state);
        self.0.written.notify_waiters();
    }
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The keys waiting, once there are any (at most `MOST_KEYS`); `None` when the store is gone
    /// and nothing waits.
    fn next(&self) -> Option<Vec<Key>> {
        let mut state = self.lock();
        loop {
            if !state.waiting.is_empty() {
                let take = state.waiting.len().min(MOST_KEYS);
                return Some(state.waiting.drain(..take).collect());
            }
            if state.closed {
                return None;
            }
            state.idle = true;
            state = self.arrived.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
            state.idle = false;
        }
    }

    /// `count` keys were committed.
    fn committed(&self, count: usize) {
        self.lock().handled += count as u64;
        self.written.notify_waiters();
    }

    /// `group` could not be written: it waits again, before the keys that came meanwhile (the
    /// oldest dropped beyond `MOST_WAITING`).
    fn failed(&self, mut group: Vec<Key>) {
        let mut state = self.lock();
        group.append(&mut state.waiting);
        let over = group.len().saturating_sub(MOST_WAITING);
        if over > 0 {
            group.drain(..over);
            state.handled += over as u64;
            tracing::warn!(dropped = over, "too many request keys wait to be written");
        }
        state.waiting = group;
        drop(state);
        self.written.notify_waiters();
    }
}

fn open(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = rusqlite::Connection::open_with_flags(path, flags)?;
    // Keys wait in memory while another connection (an import) holds the write lock.
    conn.busy_timeout(WRITE_BUSY)?;
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

/// The keys recorded in the `REMEMBERED` minutes before the last one was (by the file's own
/// times: the last time this firm was served, or a test's clock).
fn recorded_lately(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<String>> {
    let last: Option<String> = conn.query_row(
        "SELECT max(at) FROM (SELECT max(at) AS at FROM request_keys UNION ALL SELECT max(at) FROM processed_events)",
        [],
        |row| row.get(0),
    )?;
    let Some(since) = last.and_then(|last| {
        let last = chrono::DateTime::parse_from_rfc3339(&last).ok()?.to_utc();
        Some(super::decode::timestamp(last - chrono::Duration::from_std(REMEMBERED).ok()?))
    }) else {
        return Ok(Vec::new());
    };
    // With the keys that went through the pool while no writer ran.
    let mut keys = conn.prepare(
        "SELECT event_id FROM request_keys WHERE at >= ?1 UNION SELECT event_id FROM processed_events WHERE at >= ?1",
    )?;
    let keys = keys.query_map([since], |row| row.get(0))?;
    keys.collect()
}

/// The writing thread's connection.
struct Writer {
    conn: rusqlite::Connection,
    /// Keys committed since the last checkpoint.
    since_checkpoint: u64,
    checkpoint_every: u64,
}

impl Writer {
    fn run(mut self, queue: &Queue) {
        let mut failing = false;
        while let Some(group) = queue.next() {
            let began = Instant::now();
            match self.record(&group) {
                Ok(()) => {
                    if failing {
                        tracing::info!("request keys are written again");
                        failing = false;
                    }
                    queue.committed(group.len());
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(error = %error, "could not write request keys; trying again");
                        failing = true;
                    }
                    queue.failed(group);
                    std::thread::sleep(RETRY_AFTER);
                    continue;
                }
            }
            if self.since_checkpoint >= self.checkpoint_every {
                self.checkpoint();
            }
            // The keys of the next moments go together.
            if let Some(rest) = COMMIT_GAP.checked_sub(began.elapsed()) {
                std::thread::sleep(rest);
            }
        }
    }

    /// Commits `keys` in one transaction.
    fn record(&mut self, keys: &[Key]) -> rusqlite::Result<()> {
        self.conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        let written = self.insert(keys).and_then(|()| {
            self.conn.prepare_cached("COMMIT")?.execute([])?;
            Ok(())
        });
        if written.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        written?;
        self.since_checkpoint += keys.len() as u64;
        Ok(())
    }

    fn insert(&self, keys: &[Key]) -> rusqlite::Result<()> {
        // Stored to the second: the keys of one group share one or two seconds (many, when an
        // outage's backlog is written), each second written out once.
        let mut seconds: HashMap<i64, String> = HashMap::new();
        for (_, at) in keys {
            seconds.entry(at.timestamp()).or_insert_with(|| super::decode::timestamp(*at));
        }
        let at_text = |at: &chrono::DateTime<chrono::Utc>| {
            seconds.get(&at.timestamp()).map(String::as_str).unwrap_or_default()
        };
        // `ROWS` keys a statement: one statement run for each key cost as much again as the
        // rows it wrote.
        let mut groups = keys.chunks_exact(ROWS);
        if groups.len() > 0 {
            let mut insert = self.conn.prepare_cached(rows_insert())?;
            let mut values: Vec<&str> = Vec::with_capacity(2 * ROWS);
            for group in &mut groups {
                values.clear();
                for (key, at) in group {
                    values.extend([key.as_str(), at_text(at)]);
                }
                insert.execute(rusqlite::params_from_iter(&values))?;
            }
        }
        let mut insert =
            self.conn.prepare_cached("INSERT INTO request_keys (event_id, at) VALUES (?1, ?2)")?;
        for (key, at) in groups.remainder() {
            insert.execute((key, at_text(at)))?;
        }
        Ok(())
    }

    /// Copies the log back into the database and has the next commit write it from its start;
    /// left for the next time when readers of the old log do not finish in a moment.
    fn checkpoint(&mut self) {
        self.since_checkpoint = 0;
        let restart = self.conn.busy_timeout(CHECKPOINT_WAITS).and_then(|()| {
            self.conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |row| row.get::<_, i64>(0))
        });
        if let Err(error) = self.conn.busy_timeout(WRITE_BUSY) {
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
             CREATE TABLE processed_events (event_id TEXT PRIMARY KEY, at TEXT NOT NULL) WITHOUT ROWID;
             CREATE TABLE request_keys (event_id TEXT NOT NULL, at TEXT NOT NULL);",
        )
        .unwrap();
        conn
    }

    const AT_TEXT: &str = "2026-12-01T12:00:00Z";
    fn at() -> chrono::DateTime<chrono::Utc> {
        AT_TEXT.parse().unwrap()
    }

    /// A Slack request's key, as `request_key` spells it.
    const SLACK_KEY: &str = "s:01800000000:83b63ad76a4a8c0db6cbb7bf52d82b2b";
    /// The request `SLACK_KEY` names: sent at 1,800,000,000, its tag beginning with the bytes
    /// the key spells.
    fn slack_request() -> crate::chat::slack::verify::Signed {
        let mut tag = [0u8; 32];
        hex::decode_to_slice(&SLACK_KEY[14..], &mut tag[..16]).unwrap();
        crate::chat::slack::verify::Signed { sent_at: 1_800_000_000, tag }
    }

    #[test]
    fn a_slack_key_is_remembered_by_the_hash_it_ends_in_and_any_other_by_its_own() {
        let hashed = |key: &str| {
            let digest = Sha256::digest(key.as_bytes());
            u128::from_le_bytes(digest[..16].try_into().unwrap())
        };
        let key = "s:01800000000:00112233445566778899aabbccddeeff";
        let bits = hex::decode("00112233445566778899aabbccddeeff").unwrap();
        assert_eq!(fingerprint(key), u128::from_le_bytes(bits.try_into().unwrap()));
        for other in [
            "s:1800000000:00112233445566778899aabbccddeeff",
            "s:0180000000x:00112233445566778899aabbccddeeff",
            "s:01800000000:00112233445566778899aabbccddeef",
            "s:01800000000:00112233445566778899aabbccddeeffaa",
            "s:01800000000:zz112233445566778899aabbccddeeff",
            // Upper case: request_key writes lower case, so this is no Slack key's text.
            "s:01800000000:00112233445566778899AABBCCDDEEFF",
            "discord:1234",
            "",
        ] {
            assert_eq!(fingerprint(other), hashed(other), "{other}");
        }
    }

    /// A writer on a new database (kept in the directory returned), and another connection to it.
    fn started() -> (tempfile::TempDir, rusqlite::Connection, KeyWriter) {
        let dir = tempfile::tempdir().unwrap();
        let other = database(dir.path());
        let writer = KeyWriter::start(&dir.path().join("k.db")).unwrap();
        (dir, other, writer)
    }

    /// `first` as a request offers a key: with its fingerprint.
    fn offer(writer: &KeyWriter, key: &str) -> Option<bool> {
        writer.first(key, fingerprint(key), at())
    }

    fn count(conn: &rusqlite::Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM request_keys", [], |r| r.get(0)).unwrap()
    }

    #[tokio::test]
    async fn a_key_is_new_once_and_written_when_the_write_lock_is_free() {
        let (_dir, other, writer) = started();
        assert_eq!(offer(&writer, "k1"), Some(true));
        assert_eq!(offer(&writer, "k1"), Some(false), "waiting");
        writer.flush().await;
        assert_eq!(count(&other), 1, "committed, as another connection sees");
        assert_eq!(offer(&writer, "k1"), Some(false), "committed");

        // Another connection holds the write lock: the key is new at once, and written once
        // the lock is free.
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        assert_eq!(offer(&writer, "k2"), Some(true));
        assert_eq!(offer(&writer, "k2"), Some(false), "remembered while it waits");
        std::thread::sleep(Duration::from_millis(20));
        other.execute_batch("ROLLBACK").unwrap();
        writer.flush().await;
        assert_eq!(count(&other), 2);
    }

    #[tokio::test]
    async fn the_next_process_refuses_the_keys_of_the_last_minutes_before_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let other = database(dir.path());
        let insert = |table: &str, key: &str, at: &str| {
            let sql = format!("INSERT INTO {table} VALUES (?1, ?2)");
            other.execute(&sql, [key, at]).unwrap()
        };
        insert("request_keys", "old", "2026-12-01T11:49:00Z");
        insert("request_keys", "recent", "2026-12-01T11:51:00Z");
        insert("request_keys", "last", AT_TEXT);
        // A Slack request's key, remembered by the hash it ends in, as a request offers it.
        insert("request_keys", SLACK_KEY, "2026-12-01T11:58:00Z");
        // Written through the pool while no writer ran.
        insert("processed_events", "pooled", "2026-12-01T11:55:00Z");
        let writer = KeyWriter::start(&dir.path().join("k.db")).unwrap();
        assert_eq!(offer(&writer, "last"), Some(false));
        assert_eq!(offer(&writer, "recent"), Some(false));
        assert_eq!(offer(&writer, "pooled"), Some(false));
        let hash = crate::chat::replay::request_key(&slack_request());
        assert_eq!(hash.text, SLACK_KEY);
        assert_eq!(writer.first(&hash.text, hash.fingerprint, at()), Some(false));
        // Recorded more than ten minutes before the last: its signature no longer verifies.
        assert_eq!(offer(&writer, "old"), Some(true));
        assert_eq!(offer(&writer, "new"), Some(true));
        writer.flush().await;
        assert_eq!(count(&other), 6);
    }

    #[tokio::test]
    async fn a_key_accepted_before_the_thread_ended_is_still_refused_after() {
        let (_dir, _other, writer) = started();
        assert_eq!(offer(&writer, "k1"), Some(true));
        writer.flush().await;
        // As when the thread ends however it ends (a panic included).
        drop(Ending(writer.queue.clone()));
        assert_eq!(offer(&writer, "k1"), Some(false), "accepted by the thread, still refused");
        assert_eq!(offer(&writer, "k2"), None, "a new key is recorded another way");
    }

    #[tokio::test]
    async fn keys_offered_at_once_from_many_threads_are_each_new_exactly_once() {
        let (_dir, other, writer) = started();
        let writer = Arc::new(writer);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    (0..300)
                        .filter(|n| offer(&writer, &format!("key-{n}")) == Some(true))
                        .collect::<Vec<i32>>()
                })
            })
            .collect();
        let mut new: Vec<i32> =
            threads.into_iter().flat_map(|thread| thread.join().unwrap()).collect();
        new.sort();
        assert_eq!(new, (0..300).collect::<Vec<_>>(), "each key new exactly once");
        writer.flush().await;
        assert_eq!(count(&other), 300);
    }

    #[test]
    fn a_group_of_many_keys_is_written_whole_each_key_with_its_own_second() {
        let dir = tempfile::tempdir().unwrap();
        let other = database(dir.path());
        let conn = open(&dir.path().join("k.db")).unwrap();
        let mut writer = Writer { conn, since_checkpoint: 0, checkpoint_every: CHECKPOINT_EVERY };
        // Two statements of `ROWS` keys and five keys one by one, over three seconds.
        let keys: Vec<Key> = (0..2 * ROWS + 5)
            .map(|n| (format!("key-{n}"), at() + chrono::Duration::seconds(n as i64 / 30)))
            .collect();
        writer.record(&keys).unwrap();
        let written: Vec<(String, String)> = other
            .prepare("SELECT event_id, at FROM request_keys ORDER BY rowid")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected: Vec<(String, String)> = keys
            .iter()
            .map(|(key, at)| (key.clone(), super::super::decode::timestamp(*at)))
            .collect();
        assert_eq!(written, expected);
        assert_eq!(written[2 * ROWS + 4].1, "2026-12-01T12:00:02Z");
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
                assert_eq!(offer(&writer, &format!("key-{round}-{n}")), Some(true));
                // One commit each, as at a few requests a second.
                writer.flush().await;
            }
            sizes.push(wal());
        }
        // Each round's commits are written over the last round's: without the checkpoints the
        // log would hold all six rounds.
        let first = sizes[0];
        assert!(sizes.iter().all(|size| *size <= first * 2), "{sizes:?}");
        let other = rusqlite::Connection::open(dir.path().join("k.db")).unwrap();
        assert_eq!(count(&other), 6 * every as i64, "every key kept");
    }

    #[tokio::test]
    async fn the_thread_writes_what_waits_and_ends_with_the_store() {
        let (_dir, other, writer) = started();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        for n in 0..10 {
            assert_eq!(offer(&writer, &format!("key-{n}")), Some(true));
        }
        let queue = Arc::downgrade(&writer.queue);
        drop(writer);
        std::thread::sleep(Duration::from_millis(20));
        other.execute_batch("ROLLBACK").unwrap();
        for _ in 0..400 {
            if queue.upgrade().is_none() {
                assert_eq!(count(&other), 10, "written before the thread ended");
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("the writing thread still holds its queue");
    }
}
