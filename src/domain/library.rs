//! The deliverable library: matching what a seller says, and inclusion verdicts (SPEC 4.5).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::firm::{Category, Deliverable, Inclusion, PackageItem};

/// Lower-case, and every run of characters other than `a-z0-9` becomes one space, trimmed.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Included,
    Configuration,
    AddOn,
    Customization,
    NotInLibrary,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Included => "included",
            Self::Configuration => "configuration",
            Self::AddOn => "add_on",
            Self::Customization => "customization",
            Self::NotInLibrary => "not_in_library",
        }
    }

    /// `included` and `configuration` are part of the base price.
    pub fn separately_priced(self) -> bool {
        matches!(self, Self::AddOn | Self::Customization)
    }
}

impl From<Inclusion> for Verdict {
    fn from(inclusion: Inclusion) -> Self {
        match inclusion {
            Inclusion::Included => Self::Included,
            Inclusion::Configuration => Self::Configuration,
            Inclusion::AddOn => Self::AddOn,
        }
    }
}

/// The library as loaded: deliverables and package items (of one package or of all).
#[derive(Debug, Clone, Default)]
pub struct Library {
    deliverables: Vec<Deliverable>,
    items: Vec<PackageItem>,
    /// Built on first use (the library never changes once made).
    index: std::sync::OnceLock<LibraryIndex>,
}

/// Where each name and listing is in a `Library`: a question is a lookup, not a pass over
/// every deliverable (a loaded library answers all day).
#[derive(Debug, Clone, Default)]
pub struct LibraryIndex {
    /// Each normalised id, name and alias: the first deliverable it names.
    named: HashMap<String, usize>,
    /// Each id: its first deliverable.
    ids: HashMap<String, usize>,
    /// Each package's deliverables: their first item.
    listed: HashMap<String, HashMap<String, usize>>,
}

impl LibraryIndex {
    fn of(library: &Library) -> LibraryIndex {
        let mut index = LibraryIndex::default();
        for (at, d) in library.deliverables.iter().enumerate() {
            index.ids.entry(d.id.clone()).or_insert(at);
            for name in [&d.id, &d.name].into_iter().chain(&d.aliases) {
                index.named.entry(normalize(name)).or_insert(at);
            }
        }
        for (at, item) in library.items.iter().enumerate() {
            let package = index.listed.entry(item.package.clone()).or_default();
            package.entry(item.deliverable.clone()).or_insert(at);
        }
        index
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DependencyVerdict {
    pub deliverable: String,
    pub name: String,
    pub verdict: Verdict,
    pub price: f64,
    pub effort_hours: f64,
}

impl Library {
    pub fn new(deliverables: Vec<Deliverable>, items: Vec<PackageItem>) -> Library {
        Library { deliverables, items, index: Default::default() }
    }

    pub fn deliverables(&self) -> &[Deliverable] {
        &self.deliverables
    }

    pub fn items(&self) -> &[PackageItem] {
        &self.items
    }

    fn index(&self) -> &LibraryIndex {
        self.index.get_or_init(|| LibraryIndex::of(self))
    }

    pub fn get(&self, id: &str) -> Option<&Deliverable> {
        self.index().ids.get(id).map(|at| &self.deliverables[*at])
    }

    /// The deliverable whose id, name or alias equals the query after normalisation (the first
    /// in the library's order when several do).
    pub fn find_exact(&self, query: &str) -> Option<&Deliverable> {
        let wanted = normalize(query);
        if wanted.is_empty() {
            return None;
        }
        self.index().named.get(&wanted).map(|at| &self.deliverables[*at])
    }

    /// Near matches for "did you mean", best first; never used for a verdict.
    pub fn suggestions(&self, query: &str, limit: usize) -> Vec<&Deliverable> {
        let wanted = normalize(query);
        let mut scored: Vec<(f64, &Deliverable)> = self
            .deliverables
            .iter()
            .map(|d| {
                let names =
                    std::iter::once(&d.name).chain(std::iter::once(&d.id)).chain(d.aliases.iter());
                let score = names.map(|n| similarity(&wanted, &normalize(n))).fold(0.0, f64::max);
                (score, d)
            })
            .filter(|(score, _)| *score >= 0.6)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().take(limit).map(|(_, d)| d).collect()
    }

    /// SPEC 4.5: the verdict for `deliverable` in `package` (or by category alone).
    pub fn verdict(&self, deliverable: &Deliverable, package: Option<&str>) -> Verdict {
        let listed = package.and_then(|package| {
            let at = self.index().listed.get(package)?.get(&deliverable.id)?;
            Some(&self.items[*at])
        });
        match listed {
            Some(item) => item.inclusion.into(),
            None if deliverable.category == Category::Customization => Verdict::Customization,
            None => Verdict::AddOn,
        }
    }

    /// Each direct dependency of `deliverable` with its own verdict.
    pub fn dependencies(
        &self,
        deliverable: &Deliverable,
        package: Option<&str>,
    ) -> Vec<DependencyVerdict> {
        deliverable
            .depends_on
            .iter()
            .filter_map(|id| self.get(id))
            .map(|d| DependencyVerdict {
                deliverable: d.id.clone(),
                name: d.name.clone(),
                verdict: self.verdict(d, package),
                price: d.price,
                effort_hours: d.effort_hours,
            })
            .collect()
    }
}

/// Similarity in 0..=1 of two normalised texts; containment counts as close.
pub fn similarity(a: &str, b: &str) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if (b.contains(a) || a.contains(b)) && a.len().min(b.len()) >= 3 {
        return 0.8;
    }
    strsim::normalized_damerau_levenshtein(a, b)
}

/// The ids in `depends_on` that form a cycle, one list per cycle found.
pub fn dependency_cycles(deliverables: &[(String, Vec<String>)]) -> Vec<Vec<String>> {
    let edges: HashMap<&str, &[String]> =
        deliverables.iter().map(|(id, deps)| (id.as_str(), deps.as_slice())).collect();
    let mut state: HashMap<&str, u8> = HashMap::new(); // 1 = on the path, 2 = done
    let mut cycles = Vec::new();
    for (id, _) in deliverables {
        let mut path: Vec<&str> = Vec::new();
        visit(id, &edges, &mut state, &mut path, &mut cycles);
    }
    cycles
}

fn visit<'a>(
    id: &'a str,
    edges: &HashMap<&'a str, &'a [String]>,
    state: &mut HashMap<&'a str, u8>,
    path: &mut Vec<&'a str>,
    cycles: &mut Vec<Vec<String>>,
) {
    match state.get(id) {
        Some(2) => return,
        Some(1) => {
            let from = path.iter().position(|p| *p == id).unwrap_or(0);
            let mut cycle: Vec<String> = path[from..].iter().map(|s| s.to_string()).collect();
            cycle.push(id.to_string());
            cycles.push(cycle);
            return;
        }
        _ => {}
    }
    state.insert(id, 1);
    path.push(id);
    for next in edges.get(id).copied().unwrap_or_default() {
        visit(next.as_str(), edges, state, path, cycles);
    }
    path.pop();
    state.insert(id, 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deliverable(
        id: &str,
        name: &str,
        aliases: &[&str],
        category: Category,
        deps: &[&str],
    ) -> Deliverable {
        Deliverable {
            id: id.into(),
            name: name.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            category,
            effort_hours: 8.0,
            price: 1000.0,
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            description: String::new(),
        }
    }

    fn library() -> Library {
        Library::new(
            vec![
                deliverable(
                    "single-sign-on",
                    "Single sign-on",
                    &["SSO", "saml login"],
                    Category::Standard,
                    &[],
                ),
                deliverable("data-migration", "Data migration", &[], Category::Standard, &[]),
                deliverable(
                    "bespoke",
                    "Bespoke module",
                    &["custom-development"],
                    Category::Customization,
                    &["data-migration"],
                ),
            ],
            vec![PackageItem {
                package: "crm".into(),
                deliverable: "single-sign-on".into(),
                inclusion: Inclusion::Included,
            }],
        )
    }

    /// The definitions the index must agree with: the first deliverable in order whose id,
    /// name or alias normalises to the query; the first item listing it in the package.
    fn scanned<'a>(library: &'a Library, query: &str) -> Option<&'a Deliverable> {
        let wanted = normalize(query);
        library.deliverables().iter().find(|d| {
            !wanted.is_empty()
                && [&d.id, &d.name].into_iter().chain(&d.aliases).any(|n| normalize(n) == wanted)
        })
    }

    proptest::proptest! {
        #[test]
        fn the_index_answers_as_a_pass_over_the_library_would(
            names in proptest::collection::vec(("[ab]{1,2}", "[aAb -]{0,3}", proptest::collection::vec("[ab_]{0,2}", 0..3)), 0..8),
            listed in proptest::collection::vec((0..3usize, 0..8usize, 0..3usize), 0..10),
            query in "[aAb _-]{0,3}",
            package in 0..3usize,
        ) {
            let packages = ["crm", "erp", "hr"];
            let inclusions = [Inclusion::Included, Inclusion::Configuration, Inclusion::AddOn];
            let deliverables: Vec<Deliverable> = names
                .iter()
                .map(|(id, name, aliases)| {
                    let aliases: Vec<&str> = aliases.iter().map(String::as_str).collect();
                    deliverable(id, name, &aliases, Category::Standard, &[])
                })
                .collect();
            let items: Vec<PackageItem> = listed
                .iter()
                .filter(|(_, d, _)| *d < deliverables.len())
                .map(|(p, d, i)| PackageItem {
                    package: packages[*p].into(),
                    deliverable: deliverables[*d].id.clone(),
                    inclusion: inclusions[*i],
                })
                .collect();
            let library = Library::new(deliverables, items);
            let found = library.find_exact(&query);
            proptest::prop_assert_eq!(found.map(|d| &d.id), scanned(&library, &query).map(|d| &d.id));
            for d in library.deliverables() {
                let first = library.deliverables().iter().find(|x| x.id == d.id);
                proptest::prop_assert_eq!(library.get(&d.id).map(|x| x as *const _), first.map(|x| x as *const _));
                let package = packages[package];
                let item = library.items().iter().find(|i| i.package == package && i.deliverable == d.id);
                let expected = match item {
                    Some(item) => item.inclusion.into(),
                    None => Verdict::AddOn,
                };
                proptest::prop_assert_eq!(library.verdict(d, Some(package)), expected);
            }
        }
    }

    #[test]
    fn normalises_case_and_punctuation() {
        assert_eq!(normalize("  Single Sign-On!! "), "single sign on");
        assert_eq!(normalize("SAML_login"), "saml login");
        assert_eq!(normalize("---"), "");
    }

    #[test]
    fn matches_id_name_or_alias_exactly() {
        let lib = library();
        assert_eq!(lib.find_exact("SINGLE SIGN-ON").unwrap().id, "single-sign-on");
        assert_eq!(lib.find_exact("sso").unwrap().id, "single-sign-on");
        assert_eq!(lib.find_exact("custom development").unwrap().id, "bespoke");
        assert!(lib.find_exact("single sign").is_none());
    }

    #[test]
    fn verdicts_follow_package_items_then_category() {
        let lib = library();
        let sso = lib.get("single-sign-on").unwrap();
        assert_eq!(lib.verdict(sso, Some("crm")), Verdict::Included);
        assert_eq!(lib.verdict(sso, Some("bi")), Verdict::AddOn);
        assert_eq!(lib.verdict(sso, None), Verdict::AddOn);
        let bespoke = lib.get("bespoke").unwrap();
        assert_eq!(lib.verdict(bespoke, Some("crm")), Verdict::Customization);
        assert_eq!(lib.dependencies(bespoke, Some("crm"))[0].verdict, Verdict::AddOn);
    }

    #[test]
    fn suggests_near_matches() {
        let lib = library();
        let near = lib.suggestions("single sign", 3);
        assert_eq!(near[0].id, "single-sign-on");
        assert!(lib.suggestions("quantum teleporter", 3).is_empty());
    }

    #[test]
    fn finds_dependency_cycles() {
        let graph = vec![
            ("a".to_string(), vec!["b".to_string()]),
            ("b".to_string(), vec!["a".to_string()]),
            ("c".to_string(), vec!["a".to_string()]),
        ];
        assert_eq!(dependency_cycles(&graph).len(), 1);
        assert!(dependency_cycles(&[("a".to_string(), vec![])]).is_empty());
    }
}
