//! Shared test support: a fresh database per test (SQLite always; PostgreSQL when
//! `KEEPABLE_TEST_POSTGRES_URL` is set, and then an unreachable server fails the test), the demo
//! firm loaded, an `App` with an injected clock, a running server on `127.0.0.1:0`, and the
//! outbox worker stepped by the test on a clock the test moves.
//! `on_both_databases!` turns one test into `…_on_sqlite` and `…_on_postgres`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use keepable::app::delivery::{deliver_due_with, Deliver, DeliveryPolicy};
use keepable::app::reply::Reply;
use keepable::app::{Actor, App, Clock};
use keepable::config::Settings;
use keepable::server::{Intervals, Platforms};
use keepable::store::Store;
use tokio::sync::oneshot;

/// The date the demo firm is loaded for in tests.
pub fn today() -> NaiveDate {
    "2026-11-25".parse().unwrap()
}

pub fn now() -> DateTime<Utc> {
    "2026-11-25T15:00:00Z".parse().unwrap()
}

/// A database that lives as long as the test: a SQLite file in a temporary directory, or a
/// PostgreSQL database that the test's `…_on_postgres` wrapper drops when the test ends.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// The server the PostgreSQL tests make their databases on.
const POSTGRES_URL: &str = "KEEPABLE_TEST_POSTGRES_URL";

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestDb { url, _dir: Some(dir) }
    }

    /// A fresh PostgreSQL database `keepable_test_<uuid>`, or `None` when
    /// `KEEPABLE_TEST_POSTGRES_URL` is not set; set, an unreachable server fails the test.
    pub async fn postgres() -> Option<TestDb> {
        let base = std::env::var(POSTGRES_URL).ok().filter(|u| !u.is_empty())?;
        let mut admin = postgres_admin(&base).await;
        let name = format!("keepable_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
        let (prefix, _) = base.rsplit_once('/').unwrap();
        Some(TestDb { url: format!("{prefix}/{name}"), _dir: None })
    }

    /// Drops the PostgreSQL database at `url` that `postgres()` made, and with it any connection
    /// still open to it (a server task winding down). Drop cannot be async, so the test's wrapper
    /// calls this, whether the test passed or failed.
    pub async fn drop_postgres(url: &str) {
        let base = std::env::var(POSTGRES_URL).unwrap();
        let (_, name) = url.rsplit_once('/').unwrap();
        assert!(name.starts_with("keepable_test_"), "only a test database is dropped: {url}");
        let mut admin = postgres_admin(&base).await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
    }
}

async fn postgres_admin(base: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(base)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_URL} is set but {base} is unreachable: {e}"))
}

/// Turns `async fn name(db: TestDb)` into two tests, `name_on_sqlite` and `name_on_postgres`, so a
/// failure names its backend. The PostgreSQL one passes at once when `KEEPABLE_TEST_POSTGRES_URL`
/// is not set, fails when it is set and the server cannot be reached, and drops its database when
/// the test ends, passed or failed. Write it above the function:
///
/// ```ignore
/// on_both_databases!(an_approval_is_decided_once);
/// async fn an_approval_is_decided_once(db: TestDb) { … }
/// ```
macro_rules! on_both_databases {
    ($test:ident) => {
        ::paste::paste! {
            #[tokio::test]
            async fn [<$test _on_sqlite>]() {
                $test($crate::support::TestDb::sqlite()).await;
            }

            #[tokio::test]
            async fn [<$test _on_postgres>]() {
                let Some(db) = $crate::support::TestDb::postgres().await else { return };
                let url = db.url.clone();
                // The database goes whether the test passes or fails; a failure is then re-raised.
                let outcome = ::futures_util::FutureExt::catch_unwind(
                    ::std::panic::AssertUnwindSafe($test(db)),
                )
                .await;
                $crate::support::TestDb::drop_postgres(&url).await;
                if let Err(panic) = outcome {
                    ::std::panic::resume_unwind(panic);
                }
            }
        }
    };
}
pub(crate) use on_both_databases;

/// Settings used by the workflow tests: U-APPROVER and U-BOSS approve, U-PRESALES scopes.
pub fn settings() -> Settings {
    Settings {
        approvers: vec!["U-APPROVER".into(), "U-BOSS".into()],
        presales_members: vec!["U-PRESALES".into()],
        ..Settings::default()
    }
}

/// A store with the demo firm imported.
pub async fn demo_store(db: &TestDb) -> Store {
    let store = Store::connect(&db.url).await.unwrap();
    let demo = keepable::import::demo::demo_firm(today()).unwrap();
    store.import(&demo).await.unwrap().unwrap();
    store
}

pub async fn demo_app(db: &TestDb, settings: Settings) -> App {
    // Internal errors are logged, not shown: let a failing test print them.
    let _ =
        tracing_subscriber::fmt().with_test_writer().with_env_filter("keepable=error").try_init();
    let store = demo_store(db).await;
    App::new(store, settings, Clock { fixed_now: Some(now()), fixed_today: Some(today()) }).unwrap()
}

/// The wire id of the button whose verb is `verb` on `reply`.
pub fn action(reply: &Reply, verb: &str) -> String {
    reply
        .actions
        .iter()
        .map(|a| a.action.to_string())
        .find(|id| id.starts_with(&format!("{verb}:")))
        .unwrap_or_else(|| panic!("no {verb} action in {reply:?}"))
}

pub fn actor(user: &str, channel: &str) -> Actor {
    Actor::new(user, channel)
}

/// A server running on an ephemeral port; dropped, it shuts down.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(app: App, platforms: Platforms, intervals: Intervals) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            keepable::server::run(app, platforms, listener, intervals, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        TestServer { addr, stop: Some(stop), handle: Some(handle) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// How long a test awaits an event it expects (a call arriving at a fake, a websocket frame)
/// before it fails rather than hang. A guard, not a synchronisation: the event, when it comes,
/// ends the wait at once.
pub const HANG_GUARD: std::time::Duration = std::time::Duration::from_secs(30);

/// Awaits `event`, failing the test with `what` if it has not happened within `HANG_GUARD`.
pub async fn or_fail<T>(what: &str, event: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, event)
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen"))
}

/// The outbox worker, stepped by the test as zero2prod steps `dispatch_all_pending_emails`:
/// `step` delivers what is due at the worker's clock, once, and the test asserts after it. The
/// clock starts at the app's and moves only by `advance`, so a `Retry-After`, a back-off or a
/// lease runs out without the test waiting for it.
pub struct OutboxWorker {
    store: Store,
    deliverer: Arc<dyn Deliver>,
    id: String,
    clock: Mutex<Clock>,
    /// The app's settings' policy (lease, `max_retry_after_seconds`, `ops_channel`).
    policy: DeliveryPolicy,
}

impl OutboxWorker {
    /// A worker named `id` (as a server instance names its own) delivering through `deliverer`.
    pub fn new(app: &App, deliverer: Arc<dyn Deliver>, id: &str) -> OutboxWorker {
        assert!(app.clock.fixed_now.is_some(), "a stepped worker starts from a fixed clock");
        OutboxWorker {
            store: app.store.clone(),
            deliverer,
            id: id.to_string(),
            clock: Mutex::new(app.clock),
            policy: DeliveryPolicy::from_settings(&app.settings),
        }
    }

    /// One run of `deliver_due` at the worker's clock; how many messages it sent.
    pub async fn step(&self) -> usize {
        let clock = *self.clock.lock().unwrap();
        deliver_due_with(&self.store, self.deliverer.as_ref(), &self.id, &clock, &self.policy)
            .await
            .unwrap()
    }

    /// Moves the worker's clock on by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        let mut clock = self.clock.lock().unwrap();
        clock.fixed_now = Some(clock.now() + by);
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.lock().unwrap().now()
    }
}

/// A `digest_weekday` that is not today (nor tomorrow): for a `serve` on the wall clock whose
/// test counts the messages it delivers, so its scheduled `run-due` posts no weekly digest.
pub fn a_digest_weekday_not_today() -> String {
    use chrono::Datelike;
    Utc::now().weekday().succ().succ().succ().to_string()
}
