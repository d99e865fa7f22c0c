//! Persistence with sqlx: one `Store` over SQLite (the embedded default) and PostgreSQL.
//!
//! Both backends share one schema (per-backend migration folders only where types differ) and
//! the same queries; backend-specific SQL is kept to the outbox claim (`outbox.rs`) and the
//! bulk reads' JSON aggregation (`Store::json_rows`).

mod audit;
mod cache;
mod capacity;
mod firm;
mod import;
pub mod outbox;
mod requests;
mod workflow;

/// Kept for callers written before reading the CSV set moved to `crate::import`.
pub use crate::import::parse_files;
pub use audit::AuditEntry;
pub use capacity::Capacity;
pub use import::ImportSummary;
pub use requests::*;
pub use workflow::*;

use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::AnyPool;

/// What the engines keep in memory between questions (see `cache.rs`).
struct Caches {
    capacity: cache::Versioned<Capacity>,
    /// Every package's history rows, by package id.
    history: cache::Versioned<std::collections::HashMap<String, Arc<Vec<crate::domain::firm::HistoryRow>>>>,
    library: cache::Versioned<crate::domain::library::Library>,
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            capacity: cache::Versioned::new("capacity"),
            history: cache::Versioned::new("history"),
            library: cache::Versioned::new("library"),
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
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects to `sqlite://…` or `postgres://…`, creating a SQLite file on first use, and runs
    /// the migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("unsupported database URL '{url}': use sqlite://FILE or postgres://…");
        };
        let separator = if url.contains('?') { '&' } else { '?' };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => format!("{url}{separator}mode=rwc"),
            // sqlx's Any driver sends a NULL `Option<f64>` to PostgreSQL typed as float4, and a
            // cached prepared statement keeps that type: the same statement bound with a value
            // later fails ("incorrect binary data format"). Preparing each statement afresh keeps
            // every execution's parameter types its own.
            Backend::Postgres if !url.contains("statement-cache-capacity=") => format!("{url}{separator}statement-cache-capacity=0"),
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url).with_context(|| format!("parsing database URL {url}"))?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 10 })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        use sqlx::Executor;
                        conn.execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("connecting to {}", redact(&url)))?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await.context("enabling WAL")?;
        }
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.context("running migrations")?;
        Ok(Store { pool, backend, caches: Default::default() })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
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
        let sql = match self.backend {
            Backend::Sqlite => format!("SELECT json_group_array(json_array({columns})) {rest}"),
            Backend::Postgres => format!("SELECT COALESCE(json_agg(json_build_array({columns})), '[]'::json)::text {rest}"),
        };
        let json: String = sqlx::Row::get(&sqlx::query(&sql).fetch_one(executor).await?, 0);
        serde_json::from_str(&json).context("reading the rows")
    }
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

/// The current time as stored: UTC `YYYY-MM-DDTHH:MM:SSZ`, which sorts as text.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
