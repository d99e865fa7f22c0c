//! `migrate`, `import` and `gen-firm`: the schema and the firm's data.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use keepable::import::{self, ImportProblem};
use keepable::store::Audit;

use super::{close, Globals};

/// Opening the database runs the migrations; nothing is left to do.
pub(super) async fn migrate(globals: &Globals) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    out!("database is up to date");
    close(app, ExitCode::SUCCESS).await
}

/// Imports the CSV files in `dir` in one transaction and audits it, or lists every problem on
/// stderr and changes nothing.
pub(super) async fn import(globals: &Globals, dir: &Path) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let started = Instant::now();
    let (parsed, read_problems) = import::parse_dir(dir)?;
    match app.store.import_reporting(&parsed, read_problems).await? {
        Ok(summary) => {
            let (subject, details) = (dir.display().to_string(), summary.to_string());
            let entry = Audit {
                at: app.clock.now(),
                actor: "cli",
                action: "import",
                subject: &subject,
                details: &details,
            };
            app.store.audit(entry).await?;
            out!("{}", summary.to_string().trim_end());
            for warning in &parsed.warnings {
                out!("warning: {warning}");
            }
            out!("imported in {:.2}s", started.elapsed().as_secs_f64());
            close(app, ExitCode::SUCCESS).await
        }
        Err(problems) => {
            report(&problems);
            close(app, ExitCode::FAILURE).await
        }
    }
}

fn report(problems: &[ImportProblem]) {
    for problem in problems {
        eprintln!("{problem}");
    }
    eprintln!(
        "{} problem{}; nothing was imported",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
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
