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
    pub deliverables: Vec<Deliverable>,
    pub items: Vec<PackageItem>,
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
    pub fn get(&self, id: &str) -> Option<&Deliverable> {
        self.deliverables.iter().find(|d| d.id == id)
    }

    /// The deliverable whose id, name or alias equals the query after normalisation.
    pub fn find_exact(&self, query: &str) -> Option<&Deliverable> {
        let wanted = normalize(query);
        if wanted.is_empty() {
            return None;
        }
        self.deliverables.iter().find(|d| {
            normalize(&d.id) == wanted
                || normalize(&d.name) == wanted
                || d.aliases.iter().any(|alias| normalize(alias) == wanted)
        })
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
            self.items
                .iter()
                .find(|item| item.package == package && item.deliverable == deliverable.id)
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
        Library {
            deliverables: vec![
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
            items: vec![PackageItem {
                package: "crm".into(),
                deliverable: "single-sign-on".into(),
                inclusion: Inclusion::Included,
            }],
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
