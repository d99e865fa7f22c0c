//! Keeping the firm's data fresh (SPEC 3): an import of a folder, as the command line and the
//! drop folder run it; how old the data is; and the drop folder itself, which `serve` looks at
//! every `import_every` and imports as one snapshot when its files change, telling operations.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::reply::{Reply, Target};
use super::App;
use crate::import::snapshot::Mode;
use crate::import::{self, ImportProblem};
use crate::store::outbox::NewMessage;
use crate::store::{ImportOptions, ImportRecord, ImportReport, ImportSource};

/// What an import of a folder did: the report, or every problem; and the columns it ignored.
#[derive(Debug, Clone)]
pub struct ImportRun {
    pub outcome: Result<ImportReport, Vec<ImportProblem>>,
    pub warnings: Vec<String>,
}

impl ImportRun {
    /// The summary a person reads: what was replaced, one line per file, the warnings; or every
    /// problem and that nothing changed.
    pub fn text(&self) -> String {
        let mut lines = Vec::new();
        match &self.outcome {
            Ok(report) => {
                if let Some(deals) = report.replaced_demo {
                    let verb = if report.dry_run { "would replace" } else { "replaced" };
                    lines.push(format!(
                        "This import {verb} the bundled demo firm entirely ({deals} demo deal{} \
                         and their workflows): the database holds only your firm's data.",
                        if deals == 1 { "" } else { "s" }
                    ));
                }
                lines.extend(report.to_string().lines().map(String::from));
                lines.extend(
                    self.warnings.iter().chain(&report.notes).map(|w| format!("warning: {w}")),
                );
                if report.dry_run {
                    lines.push("Dry run: nothing was changed.".into());
                } else if report.unchanged() {
                    lines.push("Nothing changed: the database already holds this export.".into());
                }
            }
            Err(problems) => {
                lines.extend(problems.iter().map(ToString::to_string));
                lines.push(format!(
                    "{} problem{}; nothing was imported",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                ));
            }
        }
        lines.join("\n")
    }
}

/// How old the firm's data is, for answers and `keepable status`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Freshness {
    /// When the last import that changed the data ran.
    pub as_of: Option<DateTime<Utc>>,
    /// Whole days since then.
    pub age_days: Option<i64>,
    /// Older than `stale_after_days`.
    pub stale: bool,
    /// The data is the bundled demo firm.
    pub demo: bool,
}

impl App {
    /// Reads `dir` and imports it (`mode`, or only reports with `dry_run`) as `actor`.
    pub async fn import_dir(
        &self,
        dir: &Path,
        mode: Mode,
        dry_run: bool,
        actor: &str,
        source: ImportSource,
    ) -> anyhow::Result<ImportRun> {
        let (parsed, problems) = match import::parse_dir(dir) {
            Ok(read) => read,
            // The folder cannot be read at all (not a folder, or no known file in it).
            Err(error) => {
                let problem = ImportProblem {
                    file: dir.display().to_string(),
                    line: 0,
                    column: String::new(),
                    message: format!("{error:#}"),
                };
                return Ok(ImportRun { outcome: Err(vec![problem]), warnings: Vec::new() });
            }
        };
        let options =
            ImportOptions { mode, dry_run, actor: actor.into(), source, at: self.clock.now() };
        let outcome = self.store.import_with(&parsed, problems, &options).await?;
        crate::metrics::import(match &outcome {
            Err(_) => "refused",
            Ok(report) if report.dry_run => "dry_run",
            Ok(report) if report.unchanged() => "unchanged",
            Ok(_) => "changed",
        });
        Ok(ImportRun { outcome, warnings: parsed.warnings })
    }

    /// How old the data is, by the last recorded import.
    pub async fn freshness(&self) -> anyhow::Result<Freshness> {
        Ok(self.freshness_of(self.store.last_import().await?))
    }

    /// How old the data is when `last` is the last import.
    pub fn freshness_of(&self, last: Option<ImportRecord>) -> Freshness {
        let now = self.clock.now();
        let as_of = last.as_ref().map(|l| l.at);
        let age_days = as_of.map(|at| (now - at).num_days().max(0));
        Freshness {
            as_of,
            age_days,
            stale: age_days.is_some_and(|days| days >= self.settings.stale_after_days),
            demo: last.is_some_and(|l| l.demo),
        }
    }
}

/// The drop folder: what was last imported from it, so a folder is imported once per change,
/// and what changed at the last look, so files still being written are not imported half-way.
pub struct DropFolder {
    dir: PathBuf,
    last: Option<u64>,
    settling: Option<u64>,
}

/// What one look at the drop folder did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropOutcome {
    /// The files are as they were when last imported (or there are none yet).
    Unchanged,
    /// The files changed since the last look: imported at the next look if they stay as they are.
    Settling,
    /// The files changed and were imported (or were the same export: nothing to write).
    Imported,
    /// The files changed and were refused; the data is as it was.
    Refused,
}

impl DropFolder {
    pub fn new(dir: PathBuf) -> DropFolder {
        DropFolder { dir, last: None, settling: None }
    }

    /// Looks at the folder once. When its CSV files differ from the last import and are the
    /// same as at the previous look (an export is written over seconds, not at once), imports
    /// them as one snapshot and tells `ops_channel` what changed, or every problem.
    pub async fn step(&mut self, app: &App) -> anyhow::Result<DropOutcome> {
        let Some(fingerprint) = fingerprint(&self.dir) else {
            return Ok(DropOutcome::Unchanged);
        };
        if self.last == Some(fingerprint) {
            return Ok(DropOutcome::Unchanged);
        }
        if self.settling != Some(fingerprint) {
            self.settling = Some(fingerprint);
            return Ok(DropOutcome::Settling);
        }
        self.last = Some(fingerprint);
        let run = match app
            .import_dir(&self.dir, Mode::Snapshot, false, "drop folder", ImportSource::DropFolder)
            .await
        {
            Ok(run) => run,
            // The database failed, not the files: the next look tries again.
            Err(error) => {
                self.last = None;
                return Err(error);
            }
        };
        let outcome = match &run.outcome {
            Ok(report) if report.unchanged() && run.warnings.is_empty() => {
                return Ok(DropOutcome::Imported)
            }
            Ok(_) => DropOutcome::Imported,
            Err(_) => DropOutcome::Refused,
        };
        tell_operations(app, &self.dir, &run, fingerprint).await?;
        Ok(outcome)
    }
}

/// Posts an import's summary, or its problems, to `ops_channel` (logged when there is none).
async fn tell_operations(
    app: &App,
    dir: &Path,
    run: &ImportRun,
    fingerprint: u64,
) -> anyhow::Result<()> {
    let headline = match &run.outcome {
        Ok(_) => format!("Imported the drop folder {}.", dir.display()),
        Err(_) => {
            format!("The drop folder {} was not imported: the data is as it was.", dir.display())
        }
    };
    let Some(channel) = app.settings.ops_channel.as_deref().map(|c| app.channel(c)) else {
        tracing::warn!(summary = %run.text(), "{headline} (no ops_channel to tell)");
        return Ok(());
    };
    let mut reply = Reply::new("import");
    reply.headline = headline;
    reply.body = super::text::user(&run.text());
    let mut tx = app.store.begin().await?;
    let message = NewMessage {
        idempotency_key: format!("import:{}:{fingerprint:x}", app.clock.now().timestamp()),
        target: Target::Channel(channel),
        reply: &reply,
        updates: None,
        caused_by: Some("keepable".into()),
    };
    tx.enqueue(message, app.clock.now()).await?;
    tx.commit().await?;
    Ok(())
}

/// A hash of the names and contents of the folder's CSV files; `None` while it has none (the
/// first export has not arrived, or the folder is not there yet).
fn fingerprint(dir: &Path) -> Option<u64> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")))
        .collect();
    if names.is_empty() {
        return None;
    }
    names.sort();
    let mut hasher = DefaultHasher::new();
    for path in names {
        path.file_name().hash(&mut hasher);
        std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
    }
    Some(hasher.finish())
}
