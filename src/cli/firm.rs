//! `migrate`, `import` and `gen-firm`: the schema and the firm's data.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use keepable::app::refresh::Freshness;
use keepable::import;
use keepable::import::snapshot::Mode;
use keepable::store::{ImportRecord, ImportSource};

use super::{close, Globals};

/// Creates or upgrades the schema and says which migrations it applied.
pub(super) async fn migrate(globals: &Globals) -> anyhow::Result<ExitCode> {
    let (store, applied) = keepable::store::Store::connect_migrating(&globals.db).await?;
    if applied.is_empty() {
        out!("database is up to date: no migration to apply");
    } else {
        for migration in &applied {
            out!("applied {migration}");
        }
        out!("database is up to date ({} migration(s) applied)", applied.len());
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Imports the CSV files in `dir` as a snapshot (or merged, or as a dry run) and prints what
/// changed; or lists every problem on stderr and changes nothing.
pub(super) async fn import(
    globals: &Globals,
    dir: &Path,
    merge: bool,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let started = Instant::now();
    let mode = if merge { Mode::Merge } else { Mode::Snapshot };
    let run = app.import_dir(dir, mode, dry_run, "cli", ImportSource::Cli).await?;
    match &run.outcome {
        Ok(_) => {
            out!("{}", run.text());
            if !dry_run {
                out!("imported in {:.2}s", started.elapsed().as_secs_f64());
            }
            close(app, ExitCode::SUCCESS).await
        }
        Err(_) => {
            eprintln!("{}", run.text());
            close(app, ExitCode::FAILURE).await
        }
    }
}

/// What `keepable status` shows.
#[derive(serde::Serialize)]
struct Status {
    database: String,
    backend: String,
    people: i64,
    active_people: i64,
    packages: i64,
    deliverables: i64,
    history: i64,
    deals: i64,
    last_import: Option<ImportRecord>,
    capacity: Freshness,
    outbox_backlog: i64,
}

/// The database, the firm's size, the last import and the outbox backlog.
pub(super) async fn status(globals: &Globals, json: bool) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let store = &app.store;
    let status = Status {
        database: redact(&globals.db),
        backend: format!("{:?}", store.backend()).to_lowercase(),
        people: store.count("people").await?,
        active_people: store.active_people().await?,
        packages: store.offered_count("packages").await?,
        deliverables: store.offered_count("deliverables").await?,
        history: store.count("history").await?,
        deals: store.count("deals").await?,
        last_import: store.last_import().await?,
        capacity: app.freshness().await?,
        outbox_backlog: store.outbox_backlog().await?,
    };
    if json {
        out!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        out!("database      {} ({})", status.database, status.backend);
        out!(
            "firm          {} active people ({} in all), {} packages, {} deliverables, {} history rows, {} deals",
            status.active_people,
            status.people,
            status.packages,
            status.deliverables,
            status.history,
            status.deals
        );
        match &status.last_import {
            Some(last) => {
                let zone = app.settings.time_zone()?;
                let at = last.at.with_timezone(&zone).format("%a %-d %b %Y, %H:%M %Z");
                let what = if last.demo { " (the bundled demo firm)" } else { "" };
                out!(
                    "last import   {at} by {} from {}{what}: {}",
                    last.actor,
                    last.source,
                    last.files.join(", ")
                );
                for line in last.summary.lines() {
                    out!("              {line}");
                }
                if status.capacity.stale {
                    out!(
                        "warning       the data is {} days old (stale_after_days is {}): import a fresh export",
                        status.capacity.age_days.unwrap_or_default(),
                        app.settings.stale_after_days
                    );
                }
            }
            None => out!("last import   none: run `keepable import DIR`"),
        }
        out!("outbox        {} message(s) waiting to be delivered", status.outbox_backlog);
    }
    close(app, ExitCode::SUCCESS).await
}

/// The database URL without a password.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Writes a generated firm of `people` people to `dir`; needs no database.
pub(super) fn gen_firm(
    globals: &Globals,
    dir: &Path,
    people: usize,
    seed: u64,
) -> anyhow::Result<ExitCode> {
    import::gen_firm::generate(dir, people, seed, globals.clock.today())?;
    out!("wrote a firm of {people} people to {}", dir.display());
    Ok(ExitCode::SUCCESS)
}
