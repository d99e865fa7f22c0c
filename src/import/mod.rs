//! The firm's CSV set (SPEC section 3) read into domain rows and checked, before anything is
//! stored: `reader` parses one file, `checks` looks across files, `demo` is the bundled demo firm
//! and `gen_firm` writes large generated firms. The database write is `Store::import`.
//!
//! Every problem is collected (never the first only) as `file:line: column: what is wrong`, where
//! the header is line 1 of the file.

mod checks;
pub mod demo;
pub mod gen_firm;
mod reader;
mod rows;
pub mod snapshot;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use anyhow::Context;

use crate::domain::firm::FirmData;
use reader::Reader;

pub use checks::{check, history_without_package, KnownIds};

/// The files `import` reads, in the order their rows are written.
pub const FILES: [&str; 10] = [
    "roles.csv",
    "people.csv",
    "packages.csv",
    "package_roles.csv",
    "deliverables.csv",
    "package_items.csv",
    "holidays.csv",
    "allocations.csv",
    "time_off.csv",
    "history.csv",
];

/// One thing wrong with an import, shown as `file:line: column: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub message: String,
}

impl fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            // A problem with the file itself: `Allocations.csv: unknown file; did you mean …?`
            0 => write!(f, "{}: {}", self.file, self.message),
            line => write!(f, "{}:{}: {}: {}", self.file, line, self.column, self.message),
        }
    }
}

/// Parsed rows with the file line each came from.
#[derive(Debug, Default, Clone)]
pub struct ParsedFirm {
    pub data: FirmData,
    lines: HashMap<(&'static str, usize), u64>,
    pub files_read: Vec<&'static str>,
    /// What was read but not used: unknown columns, with the closest known one.
    pub warnings: Vec<String>,
}

impl ParsedFirm {
    fn line(&self, file: &'static str, index: usize) -> u64 {
        self.lines.get(&(file, index)).copied().unwrap_or(0)
    }

    /// How many rows each file given had, in the order the files are read.
    pub fn row_counts(&self) -> Vec<(&'static str, usize)> {
        let data = &self.data;
        let counts = [
            ("roles.csv", data.roles.len()),
            ("people.csv", data.people.len()),
            ("packages.csv", data.packages.len()),
            ("package_roles.csv", data.package_roles.len()),
            ("deliverables.csv", data.deliverables.len()),
            ("package_items.csv", data.package_items.len()),
            ("holidays.csv", data.holidays.len()),
            ("allocations.csv", data.allocations.len()),
            ("time_off.csv", data.time_off.len()),
            ("history.csv", data.history.len()),
        ];
        counts.into_iter().filter(|(file, _)| self.files_read.contains(file)).collect()
    }
}

/// Reads whichever of the known files `dir` holds.
pub fn parse_dir(dir: &Path) -> anyhow::Result<(ParsedFirm, Vec<ImportProblem>)> {
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let mut files = Vec::new();
    for name in FILES {
        let path = dir.join(name);
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            files.push((name, text));
        }
    }
    let unknown = unknown_files(dir)?;
    if files.is_empty() && unknown.is_empty() {
        anyhow::bail!("{} holds none of the expected files ({})", dir.display(), FILES.join(", "));
    }
    let (parsed, mut problems) = parse_files(&files);
    problems.extend(unknown);
    Ok((parsed, problems))
}

/// The header cells of a CSV text, trimmed.
fn header_of(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    csv.headers().map(|h| h.iter().map(|c| c.trim().to_string()).collect()).unwrap_or_default()
}

/// `*.csv` files in `dir` that are not one of `FILES`: refused, with the file meant.
fn unknown_files(dir: &Path) -> anyhow::Result<Vec<ImportProblem>> {
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let name = entry?.file_name().to_string_lossy().to_string();
        if !name.to_lowercase().ends_with(".csv") || FILES.contains(&name.as_str()) {
            continue;
        }
        let message = match reader::closest(&name, &FILES) {
            Some(meant) => format!("unknown file; did you mean {meant}?"),
            None => format!("unknown file; the files read are {}", FILES.join(", ")),
        };
        problems.push(ImportProblem { file: name, line: 0, column: String::new(), message });
    }
    problems.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(problems)
}

/// Parses file contents given by name; names outside `FILES` are ignored.
pub fn parse_files(files: &[(&str, String)]) -> (ParsedFirm, Vec<ImportProblem>) {
    let mut parsed = ParsedFirm::default();
    let mut problems = Vec::new();
    for name in FILES {
        let Some((_, text)) = files.iter().find(|(n, _)| *n == name) else { continue };
        parsed.files_read.push(name);
        parsed.warnings.extend(reader::unknown_columns(name, &header_of(text)));
        let mut reader = Reader::new(name, text, &mut problems);
        while let Some(row) = reader.next_row() {
            rows::parse_row(&mut parsed, name, row);
        }
    }
    (parsed, problems)
}
