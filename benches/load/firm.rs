//! The firm under load: written by `keepable gen-firm`, imported with `keepable import` (timed),
//! and the questions a seller would ask of it, read from its own CSV files.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::Connection;

/// A generated firm imported into a fresh SQLite file.
pub struct Firm {
    pub dir: PathBuf,
    pub sqlite_url: String,
    pub generated_in: Duration,
    pub imported_in: Duration,
    pub questions: Questions,
}

/// What the routes ask: a package of the firm, a deliverable it lists, and an effort and a
/// deadline typical of the package's history.
#[derive(Debug, Clone)]
pub struct Questions {
    pub package: String,
    pub item: String,
    pub effort: i64,
    pub deadline: chrono::NaiveDate,
}

impl Firm {
    /// `keepable gen-firm --people N --seed 7`, then `keepable import` into `work/firm.db`.
    pub fn prepare(bin: &Path, work: &Path, people: usize) -> anyhow::Result<Firm> {
        let dir = work.join("firm");
        let sqlite_url = format!("sqlite://{}", work.join("firm.db").display());
        let started = Instant::now();
        let people = people.to_string();
        run(bin, &sqlite_url, &["gen-firm", "--people", &people, "--seed", "7", path(&dir)?])?;
        let generated_in = started.elapsed();
        let imported_in = import(bin, &sqlite_url, &dir)?;
        let questions = Questions::read(&dir)?;
        Ok(Firm { dir, sqlite_url, generated_in, imported_in, questions })
    }
}

/// Imports the firm into a database created for it on the PostgreSQL server of `admin_url`, and
/// drops that database afterwards; how long the import took.
pub async fn import_into_postgres(
    bin: &Path,
    firm: &Firm,
    admin_url: &str,
) -> anyhow::Result<Duration> {
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .with_context(|| format!("connecting to {admin_url}"))?;
    let name = format!("keepable_load_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let mut url = url::Url::parse(admin_url).context("--postgres is not a URL")?;
    url.set_path(&name);
    let imported = import(bin, url.as_str(), &firm.dir);
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    imported
}

/// `keepable --db URL import DIR`, timed.
fn import(bin: &Path, db: &str, dir: &Path) -> anyhow::Result<Duration> {
    let started = Instant::now();
    run(bin, db, &["import", path(dir)?])?;
    Ok(started.elapsed())
}

/// Runs `keepable --db DB ARGS…` with none of the caller's keepable settings; fails with its
/// output when it fails.
fn run(bin: &Path, db: &str, args: &[&str]) -> anyhow::Result<()> {
    let mut command = Command::new(bin);
    command.arg("--db").arg(db).args(args);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("KEEPABLE_")) {
        command.env_remove(name);
    }
    let output = command.output().with_context(|| format!("running {}", bin.display()))?;
    anyhow::ensure!(
        output.status.success(),
        "keepable {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

fn path(path: &Path) -> anyhow::Result<&str> {
    path.to_str().context("the temporary directory's path is not UTF-8")
}

impl Questions {
    /// The first package of packages.csv; the first deliverable package_items.csv lists for it,
    /// by its first alias (as a seller would type it); the median effort of its history; a
    /// deadline its duration plus four weeks from today.
    fn read(dir: &Path) -> anyhow::Result<Questions> {
        let packages = rows(dir, "packages.csv")?;
        let first = packages.first().context("packages.csv has no package")?;
        let package = field(first, "id")?.to_string();
        let weeks: i64 = field(first, "duration_weeks")?.parse()?;
        let items = rows(dir, "package_items.csv")?;
        let listed = items
            .iter()
            .find(|row| field(row, "package").ok() == Some(package.as_str()))
            .context("no deliverable listed for the package")?;
        let deliverable = field(listed, "deliverable")?;
        let deliverables = rows(dir, "deliverables.csv")?;
        let named = deliverables
            .iter()
            .find(|row| field(row, "id").ok() == Some(deliverable))
            .context("the listed deliverable is not in deliverables.csv")?;
        let item = match field(named, "aliases")?.split(';').next().filter(|a| !a.is_empty()) {
            Some(alias) => alias.to_string(),
            None => field(named, "name")?.to_string(),
        };
        let mut efforts: Vec<i64> = rows(dir, "history.csv")?
            .iter()
            .filter(|row| field(row, "package").ok() == Some(package.as_str()))
            .filter_map(|row| field(row, "effort_hours").ok()?.parse().ok())
            .collect();
        efforts.sort_unstable();
        let effort = *efforts.get(efforts.len() / 2).context("no history for the package")?;
        let today = chrono::Utc::now().date_naive();
        let deadline = today + chrono::Duration::weeks(weeks + 4);
        Ok(Questions { package, item, effort, deadline })
    }
}

type Row = Vec<(String, String)>;

/// A CSV file's rows as (column, value) pairs.
fn rows(dir: &Path, file: &str) -> anyhow::Result<Vec<Row>> {
    let mut reader =
        csv::Reader::from_path(dir.join(file)).with_context(|| format!("reading {file}"))?;
    let headers = reader.headers()?.clone();
    reader
        .records()
        .map(|record| {
            let record = record?;
            Ok(headers.iter().zip(record.iter()).map(|(h, v)| (h.into(), v.into())).collect())
        })
        .collect()
}

fn field<'a>(row: &'a Row, column: &str) -> anyhow::Result<&'a str> {
    row.iter()
        .find(|(name, _)| name == column)
        .map(|(_, value)| value.as_str())
        .with_context(|| format!("no column {column}"))
}
