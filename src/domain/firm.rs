//! The firm's operational data as the engines see it (SPEC section 3).

use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;

use super::hours::Hours;
use super::library::normalize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub rank: i64,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub role: String,
    pub weekly_hours: Hours,
    pub active: bool,
    pub slack_user_id: Option<String>,
    pub discord_user_id: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationStatus {
    Confirmed,
    Tentative,
}

impl AllocationStatus {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "" | "confirmed" => Some(Self::Confirmed),
            "tentative" => Some(Self::Tentative),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Tentative => "tentative",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// The source system's assignment id, when the export has one (the row's key on re-import).
    pub id: Option<String>,
    pub person: String,
    pub project: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub hours_per_week: Hours,
    pub status: AllocationStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimeOff {
    /// The source system's id, when the export has one.
    pub id: Option<String>,
    pub person: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Package {
    pub id: String,
    pub name: String,
    pub duration_weeks: i64,
    pub description: String,
}

/// The packages a seller may be offered, each with its id and name as `normalize` spells them:
/// worked out once per load of the catalogue, not on every question that names a package. Each
/// package is shared: a question holds the one it names without copying its texts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OfferedPackages {
    packages: Vec<Arc<Package>>,
    /// `(id, name)` of each package, normalised, in the same order.
    spelt: Vec<(String, String)>,
}

impl OfferedPackages {
    pub fn new(packages: Vec<Package>) -> OfferedPackages {
        let spelt = packages.iter().map(|p| (normalize(&p.id), normalize(&p.name))).collect();
        OfferedPackages { packages: packages.into_iter().map(Arc::new).collect(), spelt }
    }

    /// The first package whose id or name is `given` once both are normalised (case, spaces
    /// and punctuation aside).
    pub fn find(&self, given: &str) -> Option<&Arc<Package>> {
        let wanted = normalize(given);
        let at = self.spelt.iter().position(|(id, name)| *id == wanted || *name == wanted)?;
        Some(&self.packages[at])
    }
}

impl std::ops::Deref for OfferedPackages {
    type Target = [Arc<Package>];

    fn deref(&self) -> &[Arc<Package>] {
        &self.packages
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PackageRole {
    pub package: String,
    pub role: String,
    pub count: i64,
    pub hours_per_week: Hours,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Standard,
    Customization,
}

impl Category {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "standard" => Some(Self::Standard),
            "customization" => Some(Self::Customization),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Customization => "customization",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deliverable {
    pub id: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub category: Category,
    pub effort_hours: f64,
    pub price: f64,
    pub depends_on: Vec<String>,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Inclusion {
    Included,
    Configuration,
    AddOn,
}

impl Inclusion {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "included" => Some(Self::Included),
            "configuration" => Some(Self::Configuration),
            "add_on" => Some(Self::AddOn),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Included => "included",
            Self::Configuration => "configuration",
            Self::AddOn => "add_on",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PackageItem {
    pub package: String,
    pub deliverable: String,
    pub inclusion: Inclusion,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub id: String,
    pub client: String,
    pub package: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub effort_hours: f64,
    pub planned_end: Option<NaiveDate>,
    pub sold_margin: Option<f64>,
    pub closed_margin: Option<f64>,
    pub change_orders: Option<i64>,
    /// Who sold it (a platform user id or an email).
    pub seller: Option<String>,
    /// The Keepable deal (or CRM id) it came from.
    pub deal: Option<String>,
    /// The staffing that was sold, and the staffing that delivered.
    pub sold_roles: Option<Vec<RoleCount>>,
    pub staffed_roles: Option<Vec<RoleCount>>,
}

/// One role of a staffing pattern as history records it: `senior:2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleCount {
    pub role: String,
    pub count: i64,
}

/// Reads `role:count;role:count`; `Err` names the part that is not `role:count` with a count
/// of at least 1.
pub fn parse_role_counts(text: &str) -> Result<Vec<RoleCount>, String> {
    text.split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (role, count) =
                part.split_once(':').ok_or_else(|| format!("'{part}' is not role:count"))?;
            let count = count.trim().parse::<i64>().ok().filter(|c| *c >= 1).ok_or_else(|| {
                format!("'{part}': the count must be a whole number of at least 1")
            })?;
            let role = role.trim();
            if role.is_empty() {
                return Err(format!("'{part}' names no role"));
            }
            Ok(RoleCount { role: role.to_string(), count })
        })
        .collect()
}

/// The stored form of a pattern: `role:count;role:count`.
pub fn role_counts_text(counts: &[RoleCount]) -> String {
    counts.iter().map(|c| format!("{}:{}", c.role, c.count)).collect::<Vec<_>>().join(";")
}

impl HistoryRow {
    /// A finished project with only history.csv's required columns; the optional ones are empty.
    pub fn project(
        id: impl Into<String>,
        package: impl Into<String>,
        start: NaiveDate,
        end: NaiveDate,
        effort_hours: f64,
    ) -> HistoryRow {
        HistoryRow {
            id: id.into(),
            client: String::new(),
            package: package.into(),
            start,
            end,
            effort_hours,
            planned_end: None,
            sold_margin: None,
            closed_margin: None,
            change_orders: None,
            seller: None,
            deal: None,
            sold_roles: None,
            staffed_roles: None,
        }
    }

    /// SPEC 4.4: `end − start + 1` calendar days.
    pub fn duration_days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }
}

/// Everything one import carries; any file may be absent (empty).
#[derive(Debug, Clone, Default)]
pub struct FirmData {
    pub roles: Vec<Role>,
    pub people: Vec<Person>,
    pub allocations: Vec<Allocation>,
    pub time_off: Vec<TimeOff>,
    pub holidays: Vec<Holiday>,
    pub packages: Vec<Package>,
    pub package_roles: Vec<PackageRole>,
    pub deliverables: Vec<Deliverable>,
    pub package_items: Vec<PackageItem>,
    pub history: Vec<HistoryRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(id: &str, name: &str) -> Package {
        Package { id: id.into(), name: name.into(), duration_weeks: 6, description: String::new() }
    }

    #[test]
    fn a_package_is_found_by_its_id_or_name_however_it_is_spelt_first_in_order() {
        let offered = OfferedPackages::new(vec![
            package("crm-rollout", "CRM Rollout"),
            package("bi", "BI Starter"),
            package("bi-starter", "Another"),
        ]);
        assert_eq!(offered.find("CRM  rollout!").unwrap().id, "crm-rollout");
        assert_eq!(offered.find("crm_rollout").unwrap().id, "crm-rollout");
        assert_eq!(offered.find("BI").unwrap().id, "bi");
        // "bi starter" is the second package's name and the third's id: the first one wins.
        assert_eq!(offered.find("bi-starter").unwrap().id, "bi");
        assert!(offered.find("crm").is_none());
        assert!(offered.find("---").is_none());
        assert_eq!(offered.len(), 3);
    }
}
