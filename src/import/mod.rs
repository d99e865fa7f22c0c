//! The firm's CSV set (SPEC section 3) read into domain rows and checked, before anything is
//! stored: `reader` parses one file, `checks` looks across files, `demo` is the bundled demo firm
//! and `gen_firm` writes large generated firms. The database write is `Store::import`.
//!
//! Every problem is collected (never the first only) as `file:line: column: what is wrong`, where
//! the header is line 1 of the file.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use anyhow::Context;

use crate::domain::firm::*;
use crate::domain::library::dependency_cycles;
use reader::{Reader, Row};

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub message: String,
}

impl fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.file, self.line, self.column, self.message)
    }
}

/// Parsed rows with the file line each came from.
#[derive(Debug, Default, Clone)]
pub struct ParsedFirm {
    pub data: FirmData,
    lines: HashMap<(&'static str, usize), u64>,
    pub files_read: Vec<&'static str>,
}

impl ParsedFirm {
    fn line(&self, file: &'static str, index: usize) -> u64 {
        self.lines.get(&(file, index)).copied().unwrap_or(0)
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
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            files.push((name, text));
        }
    }
    if files.is_empty() {
        anyhow::bail!("{} holds none of the expected files ({})", dir.display(), FILES.join(", "));
    }
    Ok(parse_files(&files))
}

/// Parses file contents given by name; names outside `FILES` are ignored.
pub fn parse_files(files: &[(&str, String)]) -> (ParsedFirm, Vec<ImportProblem>) {
    let mut parsed = ParsedFirm::default();
    let mut problems = Vec::new();
    for name in FILES {
        let Some((_, text)) = files.iter().find(|(n, _)| *n == name) else { continue };
        parsed.files_read.push(name);
        let mut reader = Reader::new(name, text, &mut problems);
        while let Some(row) = reader.next_row() {
            parse_row(&mut parsed, name, row);
        }
    }
    (parsed, problems)
}

/// Ids already in the database, so a partial import may refer to them.
#[derive(Debug, Default, Clone)]
pub struct KnownIds {
    pub roles: HashSet<String>,
    pub people: HashSet<String>,
    pub packages: HashSet<String>,
    pub deliverables: HashMap<String, Vec<String>>,
}

/// Cross-file checks: references, duplicates, dependency cycles.
pub fn check_references(parsed: &ParsedFirm, known: &KnownIds) -> Vec<ImportProblem> {
    let data = &parsed.data;
    let mut problems = Vec::new();
    let roles: HashSet<&str> = data.roles.iter().map(|r| r.id.as_str()).chain(known.roles.iter().map(String::as_str)).collect();
    let people: HashSet<&str> = data.people.iter().map(|p| p.id.as_str()).chain(known.people.iter().map(String::as_str)).collect();
    let packages: HashSet<&str> = data.packages.iter().map(|p| p.id.as_str()).chain(known.packages.iter().map(String::as_str)).collect();
    let mut graph: HashMap<String, Vec<String>> = known.deliverables.clone();
    for d in &data.deliverables {
        graph.insert(d.id.clone(), d.depends_on.clone());
    }
    let mut problem = |file: &'static str, index: usize, column: &str, message: String| {
        problems.push(ImportProblem { file: file.into(), line: parsed.line(file, index), column: column.into(), message });
    };

    duplicates(data.roles.iter().map(|r| r.id.clone()), |i, key| problem("roles.csv", i, "id", format!("duplicate id '{key}'")));
    duplicates(data.people.iter().map(|p| p.id.clone()), |i, key| problem("people.csv", i, "id", format!("duplicate id '{key}'")));
    duplicates(data.packages.iter().map(|p| p.id.clone()), |i, key| problem("packages.csv", i, "id", format!("duplicate id '{key}'")));
    duplicates(data.deliverables.iter().map(|d| d.id.clone()), |i, key| {
        problem("deliverables.csv", i, "id", format!("duplicate id '{key}'"))
    });
    duplicates(data.history.iter().map(|h| h.id.clone()), |i, key| problem("history.csv", i, "id", format!("duplicate id '{key}'")));
    duplicates(data.holidays.iter().map(|h| h.date.to_string()), |i, key| {
        problem("holidays.csv", i, "date", format!("duplicate date {key}"))
    });
    duplicates(data.package_roles.iter().map(|r| format!("{}/{}", r.package, r.role)), |i, key| {
        problem("package_roles.csv", i, "role", format!("role appears twice in the package ({key})"))
    });
    duplicates(data.package_items.iter().map(|r| format!("{}/{}", r.package, r.deliverable)), |i, key| {
        problem("package_items.csv", i, "deliverable", format!("deliverable listed twice in the package ({key})"))
    });

    for (i, person) in data.people.iter().enumerate() {
        if !roles.contains(person.role.as_str()) {
            problem("people.csv", i, "role", format!("unknown role '{}'", person.role));
        }
    }
    for (i, row) in data.allocations.iter().enumerate() {
        if !people.contains(row.person.as_str()) {
            problem("allocations.csv", i, "person", format!("unknown person '{}'", row.person));
        }
    }
    for (i, row) in data.time_off.iter().enumerate() {
        if !people.contains(row.person.as_str()) {
            problem("time_off.csv", i, "person", format!("unknown person '{}'", row.person));
        }
    }
    for (i, row) in data.package_roles.iter().enumerate() {
        if !packages.contains(row.package.as_str()) {
            problem("package_roles.csv", i, "package", format!("unknown package '{}'", row.package));
        }
        if !roles.contains(row.role.as_str()) {
            problem("package_roles.csv", i, "role", format!("unknown role '{}'", row.role));
        }
    }
    for (i, row) in data.package_items.iter().enumerate() {
        if !packages.contains(row.package.as_str()) {
            problem("package_items.csv", i, "package", format!("unknown package '{}'", row.package));
        }
        if !graph.contains_key(&row.deliverable) {
            problem("package_items.csv", i, "deliverable", format!("unknown deliverable '{}'", row.deliverable));
        }
    }
    for (i, row) in data.history.iter().enumerate() {
        if !packages.contains(row.package.as_str()) {
            problem("history.csv", i, "package", format!("unknown package '{}'", row.package));
        }
    }
    for (i, d) in data.deliverables.iter().enumerate() {
        for dep in &d.depends_on {
            if !graph.contains_key(dep) {
                problem("deliverables.csv", i, "depends_on", format!("dependency on unknown deliverable '{dep}'"));
            } else if dep == &d.id {
                problem("deliverables.csv", i, "depends_on", "a deliverable cannot depend on itself".into());
            }
        }
    }
    let edges: Vec<(String, Vec<String>)> = graph.into_iter().collect();
    let mut reported = HashSet::new();
    for cycle in dependency_cycles(&edges) {
        if cycle.len() <= 2 {
            continue; // self-dependency, reported above
        }
        let first = cycle.iter().min().cloned().unwrap_or_default();
        if !reported.insert(first.clone()) {
            continue;
        }
        let index = data.deliverables.iter().position(|d| cycle.contains(&d.id)).unwrap_or(0);
        problem("deliverables.csv", index, "depends_on", format!("cycle in depends_on: {}", cycle.join(" -> ")));
    }
    sort_problems(&mut problems);
    problems
}

/// Orders problems as the files are read: by file, then by line.
pub fn sort_problems(problems: &mut [ImportProblem]) {
    problems.sort_by_key(|p| (FILES.iter().position(|f| *f == p.file), p.line));
}

fn duplicates(keys: impl Iterator<Item = String>, mut report: impl FnMut(usize, &str)) {
    let mut seen = HashSet::new();
    for (i, key) in keys.enumerate() {
        if !seen.insert(key.clone()) {
            report(i, &key);
        }
    }
}

fn parse_row(parsed: &mut ParsedFirm, file: &'static str, mut row: Row<'_, '_>) {
    let line = row.line;
    let data = &mut parsed.data;
    let index = match file {
        "roles.csv" => {
            let (id, name, rank) = (row.text("id"), row.text("name"), row.integer("rank", i64::MIN));
            let description = row.cell("description").to_string();
            let Some(rank) = rank.filter(|_| row.valid) else { return };
            data.roles.push(Role { id, name, rank, description });
            data.roles.len()
        }
        "people.csv" => {
            let (id, name, role) = (row.text("id"), row.text("name"), row.text("role"));
            let weekly_hours = row.positive_hours("weekly_hours");
            let active = row.boolean("active", true);
            let Some(weekly_hours) = weekly_hours.filter(|_| row.valid) else { return };
            data.people.push(Person {
                id,
                name,
                role,
                weekly_hours,
                active,
                slack_user_id: row.optional("slack_user_id"),
                discord_user_id: row.optional("discord_user_id"),
                email: row.optional("email"),
            });
            data.people.len()
        }
        "allocations.csv" => {
            let (person, project) = (row.text("person"), row.text("project"));
            let range = row.range();
            let hours = row.positive_hours("hours_per_week");
            let status = row.choice("status", AllocationStatus::parse, "confirmed or tentative");
            let (Some((start, end)), Some(hours_per_week), Some(status), true) = (range, hours, status, row.valid) else {
                return;
            };
            data.allocations.push(Allocation { person, project, start, end, hours_per_week, status });
            data.allocations.len()
        }
        "time_off.csv" => {
            let person = row.text("person");
            let (Some((start, end)), true) = (row.range(), row.valid) else { return };
            data.time_off.push(TimeOff { person, start, end });
            data.time_off.len()
        }
        "holidays.csv" => {
            let Some(date) = row.date("date") else { return };
            data.holidays.push(Holiday { date, name: row.cell("name").to_string() });
            data.holidays.len()
        }
        "packages.csv" => {
            let (id, name) = (row.text("id"), row.text("name"));
            let duration = row.integer("duration_weeks", 1);
            let (Some(duration_weeks), true) = (duration, row.valid) else { return };
            let description = row.cell("description").to_string();
            data.packages.push(Package { id, name, duration_weeks, description });
            data.packages.len()
        }
        "package_roles.csv" => {
            let (package, role) = (row.text("package"), row.text("role"));
            let count = row.integer("count", 1);
            let hours = row.positive_hours("hours_per_week");
            let (Some(count), Some(hours_per_week), true) = (count, hours, row.valid) else { return };
            data.package_roles.push(PackageRole { package, role, count, hours_per_week });
            data.package_roles.len()
        }
        "deliverables.csv" => {
            let (id, name) = (row.text("id"), row.text("name"));
            let category = row.choice("category", Category::parse, "standard or customization");
            let effort = row.number("effort_hours", 0.0, false);
            let price = row.number("price", 0.0, false);
            let (Some(category), Some(effort_hours), Some(price), true) = (category, effort, price, row.valid) else {
                return;
            };
            data.deliverables.push(Deliverable {
                id,
                name,
                aliases: row.list("aliases"),
                category,
                effort_hours,
                price,
                depends_on: row.list("depends_on"),
                description: row.cell("description").to_string(),
            });
            data.deliverables.len()
        }
        "package_items.csv" => {
            let (package, deliverable) = (row.text("package"), row.text("deliverable"));
            let inclusion = row.choice("inclusion", Inclusion::parse, "included, configuration or add_on");
            let (Some(inclusion), true) = (inclusion, row.valid) else { return };
            data.package_items.push(PackageItem { package, deliverable, inclusion });
            data.package_items.len()
        }
        "history.csv" => {
            let (id, package) = (row.text("id"), row.text("package"));
            let range = row.range();
            let effort = row.number("effort_hours", 0.0, true);
            let planned_end = row.optional_date("planned_end");
            let sold_margin = row.optional_number("sold_margin");
            let closed_margin = row.optional_number("closed_margin");
            let change_orders = row.optional_integer("change_orders");
            let (Some((start, end)), Some(effort_hours), true) = (range, effort, row.valid) else { return };
            data.history.push(HistoryRow {
                id,
                client: row.cell("client").to_string(),
                package,
                start,
                end,
                effort_hours,
                planned_end,
                sold_margin,
                closed_margin,
                change_orders,
            });
            data.history.len()
        }
        _ => return,
    };
    parsed.lines.insert((file, index - 1), line);
}

pub mod demo;
pub mod gen_firm;
mod reader;
#[cfg(test)]
mod tests;
