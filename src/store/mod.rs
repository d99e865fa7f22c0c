//! Persistence with sqlx: one `Store` over SQLite (the embedded default) and PostgreSQL. This is
//! the only module that knows the database (and the only user of rusqlite: SQLite's per-request
//! data-version check, `versions.rs`, and its request-key writer, `keys.rs`). The writes every
//! request makes are grouped: on a SQLite file the replay guard's keys are kept in memory and
//! written behind by the key writer's thread; otherwise (and for event ids and the offers
//! behind buttons) each request waits for a grouped commit in `batch.rs`.
//!
//! Writes happen in a transaction: `Store::begin()` gives a `Tx` whose methods are the writes
//! (`tx.insert_deal(…)`, `tx.enqueue(…)`, `tx.audit(…)`), and reads are generic over an executor
//! so a read inside a transaction goes through that transaction (`tx.approval(id)`), never
//! through the pool while the transaction holds SQLite's write lock. Files mirror the workflows
//! they serve (`approvals.rs` beside `app/workflows/approvals.rs`).
//!
//! Both backends share one schema (per-backend migration folders only where types differ) and
//! the same queries; backend-specific SQL is kept to the outbox claim (`outbox.rs`), the bulk
//! reads' JSON aggregation (`Store::json_rows`) and how a transaction begins.

mod approvals;
mod audit;
mod batch;
mod cache;
pub use cache::{forget_request_versions, one_request};
mod capacity;
mod catalogue;
mod deals;
mod decode;
mod digests;
mod error;
mod events;
mod firm;
mod handovers;
mod import;
mod keys;
pub(crate) use keys::{fingerprint, Recent};
pub mod outbox;
mod signals;
mod stored;
mod tickets;
mod versions;

pub use audit::{Audit, AuditEntry};
pub use capacity::Capacity;
pub use decode::timestamp;
pub use error::{StoreError, StoreResult};
pub use import::{FileReport, ImportOptions, ImportRecord, ImportReport, ImportSource};

use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection};

/// How long connecting to the database may take before the command fails with the cause.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What the engines keep in memory between questions (see `cache.rs`).
struct Caches {
    capacity: cache::Versioned<Capacity>,
    /// Every package's history rows, by package id.
    history: cache::Versioned<
        std::collections::HashMap<String, Arc<Vec<crate::domain::firm::HistoryRow>>>,
    >,
    library: cache::Versioned<crate::domain::library::Library>,
    catalogue: cache::Versioned<catalogue::Catalogue>,
    channel_deals: deals::ChannelDeals,
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            capacity: cache::Versioned::new("capacity"),
            history: cache::Versioned::new("history"),
            library: cache::Versioned::new("library"),
            catalogue: cache::Versioned::new("catalogue"),
            channel_deals: Default::default(),
        }
    }
}

/// Which database engine a `Store` talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The one handle the app uses for everything persistent.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    caches: Arc<Caches>,
    /// Where each request reads the data versions (`versions.rs`).
    versions: Arc<versions::VersionSource>,
    /// The writes every request makes, grouped (`batch.rs`).
    batches: Arc<batch::Batches>,
    /// On a SQLite file, the thread that records request keys (`keys.rs`).
    keys: Option<Arc<keys::KeyWriter>>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects to `sqlite://…` or `postgres://…`, creating a SQLite file on first use, and runs
    /// the migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        Ok(Store::connect_migrating(url).await?.0)
    }

    /// Like `connect`, also giving the migrations this connection applied (`keepable migrate`).
    pub async fn connect_migrating(url: &str) -> anyhow::Result<(Store, Vec<String>)> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("unsupported database URL '{url}': use sqlite://FILE or postgres://…");
        };
        let shown = redact(url);
        let separator = if url.contains('?') { '&' } else { '?' };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => format!("{url}{separator}mode=rwc"),
            // sqlx's Any driver sends a NULL `Option<f64>` to PostgreSQL typed as float4, and a
            // cached prepared statement keeps that type: the same statement bound with a value
            // later fails ("incorrect binary data format"). Preparing each statement afresh keeps
            // every execution's parameter types its own.
            Backend::Postgres if !url.contains("statement-cache-capacity=") => {
                format!("{url}{separator}statement-cache-capacity=0")
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .with_context(|| format!("parsing database URL {}", redact(&url)))?;
        // One connection first, so an unreachable server fails fast with its real cause
        // (connection refused, no such database) rather than a pool timeout.
        let first = tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect_with(&options))
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "connecting to {shown}: no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )
            })?
            .map_err(|e| anyhow::anyhow!("connecting to {shown}: {e}"))?;
        first.close().await.ok();
        let pool = AnyPoolOptions::new()
            .acquire_timeout(CONNECT_TIMEOUT)
            .max_connections(if backend == Backend::Sqlite { 4 } else { 10 })
            // A SQLite connection is a file handle in this process: it cannot have dropped, so
            // checking it on every acquire (a round trip to its worker thread) buys nothing.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        use sqlx::Executor;
                        conn.execute(format!("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = {};", keys::JOURNAL_SIZE_LIMIT).as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| anyhow::anyhow!("connecting to {shown}: {e}"))?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await
                .context("enabling WAL")?;
        }
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let before: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
        migrator.run(&pool).await.context("running migrations")?;
        let applied = migrator
            .iter()
            .filter(|m| !before.contains(&m.version))
            .map(|m| format!("{} {}", m.version, m.description))
            .collect();
        let (versions, keys) = match backend {
            Backend::Sqlite => match sqlite_file(&url) {
                Some(path) => (
                    versions::VersionSource::sqlite(&path),
                    keys::KeyWriter::start(&path).map(Arc::new),
                ),
                None => (versions::VersionSource::coalesced(), None),
            },
            Backend::Postgres => (versions::VersionSource::coalesced(), None),
        };
        let store = Store {
            pool,
            backend,
            caches: Default::default(),
            versions: Arc::new(versions),
            batches: Default::default(),
            keys,
        };
        Ok((store, applied))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so
    /// transactions that read then write queue on `busy_timeout` instead of failing to upgrade.
    pub async fn begin(&self) -> StoreResult<Tx> {
        let inner = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx { inner })
    }

    /// How many rows `table` holds (one of the firm's or the workflows' tables).
    pub async fn count(&self, table: &str) -> StoreResult<i64> {
        const TABLES: &[&str] = &[
            "roles",
            "people",
            "allocations",
            "time_off",
            "holidays",
            "packages",
            "package_roles",
            "deliverables",
            "package_items",
            "history",
            "deals",
            "commitments",
            "holds",
            "approvals",
            "tickets",
            "handovers",
            "outbox",
            "audit_log",
            "offers",
            "imports",
        ];
        if !TABLES.contains(&table) {
            return Err(StoreError::NotFound { what: "table", id: table.into() });
        }
        self.count_of(&format!("SELECT COUNT(*) AS n FROM {table}")).await
    }

    /// People marked active (an import deactivates those absent from people.csv).
    pub async fn active_people(&self) -> StoreResult<i64> {
        self.count_of("SELECT COUNT(*) AS n FROM people WHERE active").await
    }

    /// Packages or deliverables an import has not retired.
    pub async fn offered_count(&self, table: &str) -> StoreResult<i64> {
        if !["packages", "deliverables", "roles"].contains(&table) {
            return Err(StoreError::NotFound { what: "table", id: table.into() });
        }
        self.count_of(&format!("SELECT COUNT(*) AS n FROM {table} WHERE NOT retired")).await
    }

    /// Messages not yet delivered (nor given up on).
    pub async fn outbox_backlog(&self) -> StoreResult<i64> {
        self.count_of("SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending'").await
    }

    /// The `n` a `SELECT COUNT(*) AS n …` statement gives (our own statements only).
    async fn count_of(&self, sql: &str) -> StoreResult<i64> {
        let row = sqlx::query(sql).fetch_one(&self.pool).await?;
        Ok(sqlx::Row::try_get(&row, "n")?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Store {
    /// Runs `SELECT <columns> <rest>` as one JSON array of row arrays, built by the database
    /// (`json_group_array` on SQLite, `json_agg` on PostgreSQL), and parses it. sqlx hands rows
    /// over one at a time, which is slow for the thousands of rows the engines read; one text
    /// value is not.
    pub(crate) async fn json_rows<'c, T: serde::de::DeserializeOwned>(
        &self,
        executor: impl sqlx::Executor<'c, Database = sqlx::Any>,
        columns: &str,
        rest: &str,
    ) -> anyhow::Result<Vec<T>> {
        self.json_rows_bound(executor, columns, rest, &[]).await
    }

    /// `json_rows` with `binds` for the `$1`, `$2`, … of `rest`.
    pub(crate) async fn json_rows_bound<'c, T: serde::de::DeserializeOwned>(
        &self,
        executor: impl sqlx::Executor<'c, Database = sqlx::Any>,
        columns: &str,
        rest: &str,
        binds: &[String],
    ) -> anyhow::Result<Vec<T>> {
        let sql = match self.backend {
            Backend::Sqlite => format!("SELECT json_group_array(json_array({columns})) {rest}"),
            Backend::Postgres => format!(
                "SELECT COALESCE(json_agg(json_build_array({columns})), '[]'::json)::text {rest}"
            ),
        };
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = query.bind(bind.clone());
        }
        let json: String = sqlx::Row::try_get(&query.fetch_one(executor).await?, 0)?;
        serde_json::from_str(&json).context("reading the rows")
    }
}

/// `count` bind markers after the first `before`: `$N` on PostgreSQL; plain `?` on SQLite, where
/// binding a `$N` marker searches the statement's markers by name, which makes a batch of
/// thousands of values quadratic (it was three quarters of a large import's time).
fn markers(backend: Backend, before: usize, count: usize) -> Vec<String> {
    match backend {
        Backend::Sqlite => vec!["?".to_string(); count],
        Backend::Postgres => (before + 1..=before + count).map(|n| format!("${n}")).collect(),
    }
}

/// `(…), (…)`: the bind markers of a multi-row `VALUES` with `rows` rows of `columns` values.
fn value_rows(backend: Backend, rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", markers(backend, row * columns, columns).join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The file a `sqlite:` URL names; `None` for an in-memory database.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    Some(options.get_filename().to_path_buf())
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// One transaction: the writes are its methods; dropped without `commit`, it rolls back.
pub struct Tx {
    inner: sqlx::Transaction<'static, sqlx::Any>,
}

impl Tx {
    pub async fn commit(self) -> StoreResult<()> {
        self.inner.commit().await?;
        cache::forget_request_versions();
        Ok(())
    }

    pub async fn rollback(self) -> StoreResult<()> {
        Ok(self.inner.rollback().await?)
    }

    fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.inner
    }
}
