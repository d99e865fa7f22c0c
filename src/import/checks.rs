//! Checks across files, once every row is read: duplicate keys, references to unknown ids (in the
//! import or already stored), and cycles in the deliverables' `depends_on`.

use std::collections::{HashMap, HashSet};

use super::{ImportProblem, ParsedFirm, FILES};
use crate::domain::firm::FirmData;
use crate::domain::library::dependency_cycles;

/// Ids already in the database, so a partial import may refer to them.
#[derive(Debug, Default, Clone)]
pub struct KnownIds {
    pub roles: HashSet<String>,
    pub people: HashSet<String>,
    pub packages: HashSet<String>,
    pub deliverables: HashMap<String, Vec<String>>,
}

/// The problems found reading the files, with those of the cross-file checks added (duplicate
/// keys, unknown references, dependency cycles), in the order the files are read.
pub fn check(
    parsed: &ParsedFirm,
    read_problems: Vec<ImportProblem>,
    known: &KnownIds,
) -> Vec<ImportProblem> {
    let mut problems = Problems { parsed, list: read_problems };
    let ids = Ids::new(&parsed.data, known);
    duplicate_keys(&parsed.data, &mut problems);
    unknown_references(&parsed.data, &ids, &mut problems);
    dependency_problems(&parsed.data, ids.deliverables, &mut problems);
    let mut problems = problems.list;
    sort_problems(&mut problems);
    problems
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

/// Every id a row may refer to: the import's own and those already stored.
struct Ids<'a> {
    roles: HashSet<&'a str>,
    people: HashSet<&'a str>,
    packages: HashSet<&'a str>,
    /// Each deliverable's dependencies, the import's replacing the stored ones.
    deliverables: HashMap<String, Vec<String>>,
}

impl<'a> Ids<'a> {
    fn new(data: &'a FirmData, known: &'a KnownIds) -> Ids<'a> {
        let roles = data
            .roles
            .iter()
            .map(|r| r.id.as_str())
            .chain(known.roles.iter().map(String::as_str))
            .collect();
        let people = data
            .people
            .iter()
            .map(|p| p.id.as_str())
            .chain(known.people.iter().map(String::as_str))
            .collect();
        let packages = data
            .packages
            .iter()
            .map(|p| p.id.as_str())
            .chain(known.packages.iter().map(String::as_str))
            .collect();
        let mut deliverables = known.deliverables.clone();
        for d in &data.deliverables {
            deliverables.insert(d.id.clone(), d.depends_on.clone());
        }
        Ids { roles, people, packages, deliverables }
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
        if !ids.packages.contains(row.package.as_str()) {
            problems.add("history.csv", i, "package", format!("unknown package '{}'", row.package));
        }
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
