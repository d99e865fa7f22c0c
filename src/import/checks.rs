//! Checks across files, once every row is read: duplicate keys, references to unknown ids (in the
//! import or already stored), and cycles in the deliverables' `depends_on`.

use std::collections::{HashMap, HashSet};

use super::snapshot::Mode;
use super::{ImportProblem, ParsedFirm, FILES};
use crate::domain::firm::FirmData;
use crate::domain::library::dependency_cycles;

/// Ids already in the database, so an import that leaves a file out may refer to its rows.
#[derive(Debug, Default, Clone)]
pub struct KnownIds {
    /// Roles not retired.
    pub roles: HashSet<String>,
    /// Every person, active or not.
    pub people: HashSet<String>,
    /// Packages not retired.
    pub packages: HashSet<String>,
    /// Retired packages: history may still name them.
    pub retired_packages: HashSet<String>,
    /// Deliverables not retired, with their dependencies.
    pub deliverables: HashMap<String, Vec<String>>,
    /// In a snapshot, a file given is the whole table: its rows are the only ids of that table.
    pub mode: Mode,
}

/// The problems found reading the files, with those of the cross-file checks added (duplicate
/// keys, unknown references, dependency cycles), in the order the files are read.
pub fn check(
    parsed: &ParsedFirm,
    read_problems: Vec<ImportProblem>,
    known: &KnownIds,
) -> Vec<ImportProblem> {
    let mut problems = Problems { parsed, list: read_problems };
    let ids = Ids::new(&parsed.data, known, &parsed.files_read);
    duplicate_keys(&parsed.data, &mut problems);
    unknown_references(&parsed.data, &ids, &mut problems);
    dependency_problems(&parsed.data, ids.deliverables, &mut problems);
    let mut problems = problems.list;
    sort_problems(&mut problems);
    problems
}

/// History rows may name a package the firm does not sell (any more): they are kept for the
/// record and never used in an answer. Says so, naming the packages, when there are any.
pub fn history_without_package(parsed: &ParsedFirm, known: &KnownIds) -> Option<String> {
    let ids = Ids::new(&parsed.data, known, &parsed.files_read);
    let mut unknown: Vec<&str> = parsed
        .data
        .history
        .iter()
        .map(|h| h.package.as_str())
        .filter(|p| !ids.history_packages.contains(p))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    let rows = unknown.len();
    unknown.sort_unstable();
    unknown.dedup();
    Some(format!(
        "history.csv: {rows} row{} name{} packages not in packages.csv ({}): kept for the record, \
         not used in answers",
        if rows == 1 { "" } else { "s" },
        if rows == 1 { "s" } else { "" },
        unknown.join(", ")
    ))
}

/// Orders problems as the files are read: by file, then by line.
fn sort_problems(problems: &mut [ImportProblem]) {
    problems.sort_by_key(|p| (FILES.iter().position(|f| *f == p.file), p.line));
}

/// Problems found so far, each placed at the file line of the row it is about.
struct Problems<'p> {
    parsed: &'p ParsedFirm,
    list: Vec<ImportProblem>,
}

impl Problems<'_> {
    fn add(&mut self, file: &'static str, index: usize, column: &str, message: String) {
        self.list.push(ImportProblem {
            file: file.into(),
            line: self.parsed.line(file, index),
            column: column.into(),
            message,
        });
    }
}

/// Every id a row may refer to: the import's own, and the stored ones of each table whose file
/// is not given (or all stored ones, with `--merge`).
struct Ids<'a> {
    roles: HashSet<&'a str>,
    people: HashSet<&'a str>,
    packages: HashSet<&'a str>,
    /// Packages history may name: these, and every package ever stored.
    history_packages: HashSet<&'a str>,
    /// Each deliverable's dependencies, the import's replacing the stored ones.
    deliverables: HashMap<String, Vec<String>>,
}

impl<'a> Ids<'a> {
    fn new(data: &'a FirmData, known: &'a KnownIds, files: &[&str]) -> Ids<'a> {
        let stored = |file: &str| known.mode == Mode::Merge || !files.contains(&file);
        fn ids<'a>(
            given: impl Iterator<Item = &'a str>,
            stored: &'a HashSet<String>,
            keep_stored: bool,
        ) -> HashSet<&'a str> {
            let stored = stored.iter().map(String::as_str).filter(|_| keep_stored);
            given.chain(stored).collect()
        }
        let roles =
            ids(data.roles.iter().map(|r| r.id.as_str()), &known.roles, stored("roles.csv"));
        let people =
            ids(data.people.iter().map(|p| p.id.as_str()), &known.people, stored("people.csv"));
        let packages = ids(
            data.packages.iter().map(|p| p.id.as_str()),
            &known.packages,
            stored("packages.csv"),
        );
        let history_packages = packages
            .iter()
            .copied()
            .chain(known.packages.iter().map(String::as_str))
            .chain(known.retired_packages.iter().map(String::as_str))
            .collect();
        let mut deliverables =
            if stored("deliverables.csv") { known.deliverables.clone() } else { HashMap::new() };
        for d in &data.deliverables {
            deliverables.insert(d.id.clone(), d.depends_on.clone());
        }
        Ids { roles, people, packages, history_packages, deliverables }
    }
}

fn duplicate_keys(data: &FirmData, problems: &mut Problems<'_>) {
    let mut duplicate_id = |file: &'static str, ids: Vec<String>| {
        duplicates(ids.into_iter(), |i, key| {
            problems.add(file, i, "id", format!("duplicate id '{key}'"))
        });
    };
    duplicate_id("roles.csv", data.roles.iter().map(|r| r.id.clone()).collect());
    duplicate_id("people.csv", data.people.iter().map(|p| p.id.clone()).collect());
    duplicate_id("packages.csv", data.packages.iter().map(|p| p.id.clone()).collect());
    duplicate_id("deliverables.csv", data.deliverables.iter().map(|d| d.id.clone()).collect());
    duplicate_id("history.csv", data.history.iter().map(|h| h.id.clone()).collect());
    duplicates_present(data.allocations.iter().map(|a| a.id.clone()), |i, key| {
        problems.add("allocations.csv", i, "id", format!("duplicate id '{key}'"))
    });
    duplicates_present(data.time_off.iter().map(|t| t.id.clone()), |i, key| {
        problems.add("time_off.csv", i, "id", format!("duplicate id '{key}'"))
    });
    duplicates(data.holidays.iter().map(|h| h.date.to_string()), |i, key| {
        problems.add("holidays.csv", i, "date", format!("duplicate date {key}"))
    });
    duplicates(data.package_roles.iter().map(|r| format!("{}/{}", r.package, r.role)), |i, key| {
        problems.add(
            "package_roles.csv",
            i,
            "role",
            format!("role appears twice in the package ({key})"),
        )
    });
    duplicates(
        data.package_items.iter().map(|r| format!("{}/{}", r.package, r.deliverable)),
        |i, key| {
            problems.add(
                "package_items.csv",
                i,
                "deliverable",
                format!("deliverable listed twice in the package ({key})"),
            )
        },
    );
}

/// Like `duplicates`, for an optional key: rows without one are never duplicates.
fn duplicates_present(
    keys: impl Iterator<Item = Option<String>>,
    mut report: impl FnMut(usize, &str),
) {
    let mut seen = HashSet::new();
    for (i, key) in keys.enumerate() {
        if let Some(key) = key {
            if !seen.insert(key.clone()) {
                report(i, &key);
            }
        }
    }
}

fn duplicates(keys: impl Iterator<Item = String>, mut report: impl FnMut(usize, &str)) {
    let mut seen = HashSet::new();
    for (i, key) in keys.enumerate() {
        if !seen.insert(key.clone()) {
            report(i, &key);
        }
    }
}

fn unknown_references(data: &FirmData, ids: &Ids<'_>, problems: &mut Problems<'_>) {
    for (i, person) in data.people.iter().enumerate() {
        if !ids.roles.contains(person.role.as_str()) {
            problems.add("people.csv", i, "role", format!("unknown role '{}'", person.role));
        }
    }
    for (i, row) in data.allocations.iter().enumerate() {
        if !ids.people.contains(row.person.as_str()) {
            problems.add(
                "allocations.csv",
                i,
                "person",
                format!("unknown person '{}'", row.person),
            );
        }
    }
    for (i, row) in data.time_off.iter().enumerate() {
        if !ids.people.contains(row.person.as_str()) {
            problems.add("time_off.csv", i, "person", format!("unknown person '{}'", row.person));
        }
    }
    for (i, row) in data.package_roles.iter().enumerate() {
        if !ids.packages.contains(row.package.as_str()) {
            problems.add(
                "package_roles.csv",
                i,
                "package",
                format!("unknown package '{}'", row.package),
            );
        }
        if !ids.roles.contains(row.role.as_str()) {
            problems.add("package_roles.csv", i, "role", format!("unknown role '{}'", row.role));
        }
    }
    for (i, row) in data.package_items.iter().enumerate() {
        if !ids.packages.contains(row.package.as_str()) {
            problems.add(
                "package_items.csv",
                i,
                "package",
                format!("unknown package '{}'", row.package),
            );
        }
        if !ids.deliverables.contains_key(&row.deliverable) {
            problems.add(
                "package_items.csv",
                i,
                "deliverable",
                format!("unknown deliverable '{}'", row.deliverable),
            );
        }
    }
    for (i, row) in data.history.iter().enumerate() {
        for (column, counts) in
            [("sold_roles", &row.sold_roles), ("staffed_roles", &row.staffed_roles)]
        {
            for count in counts.iter().flatten().filter(|c| !ids.roles.contains(c.role.as_str())) {
                problems.add("history.csv", i, column, format!("unknown role '{}'", count.role));
            }
        }
    }
}

/// Dependencies on unknown deliverables or on themselves, and cycles (each reported once).
fn dependency_problems(
    data: &FirmData,
    graph: HashMap<String, Vec<String>>,
    problems: &mut Problems<'_>,
) {
    for (i, d) in data.deliverables.iter().enumerate() {
        for dep in &d.depends_on {
            if !graph.contains_key(dep) {
                problems.add(
                    "deliverables.csv",
                    i,
                    "depends_on",
                    format!("dependency on unknown deliverable '{dep}'"),
                );
            } else if dep == &d.id {
                problems.add(
                    "deliverables.csv",
                    i,
                    "depends_on",
                    "a deliverable cannot depend on itself".into(),
                );
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
        problems.add(
            "deliverables.csv",
            index,
            "depends_on",
            format!("cycle in depends_on: {}", cycle.join(" -> ")),
        );
    }
}
