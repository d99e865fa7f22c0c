//! What an import changes (SPEC 3, "a file is a snapshot"), computed in memory from the rows
//! stored and the rows given, before anything is written: per table, the rows to write (new or
//! changed) and the stored rows to remove (retire, deactivate or delete, as the table's rule
//! says), with the counts the summary prints. Re-importing the same export gives an empty plan.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::Hash;

use crate::domain::firm::*;

/// How absent rows are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Each file given is the whole truth for its table: absent rows are removed.
    #[default]
    Snapshot,
    /// Upsert only (`--merge`): nothing is removed.
    Merge,
}

/// A row already stored: its key, its handle in the database (a row id, or the key), whether it
/// is live (not retired, active) and the row itself.
#[derive(Debug, Clone)]
pub struct Stored<K, H, T> {
    pub key: K,
    pub handle: H,
    pub live: bool,
    pub row: T,
}

/// How one table changes.
#[derive(Debug, Clone)]
pub struct TableChange<H, T> {
    /// Rows not stored before.
    pub new: Vec<T>,
    /// Rows whose stored version differs (or was retired), with the stored row's handle.
    pub changed: Vec<(H, T)>,
    /// Stored rows absent from the file.
    pub removed: Vec<H>,
    /// Rows in the file.
    pub rows: usize,
}

impl<H, T> Default for TableChange<H, T> {
    fn default() -> Self {
        TableChange { new: Vec::new(), changed: Vec::new(), removed: Vec::new(), rows: 0 }
    }
}

impl<H, T> TableChange<H, T> {
    pub fn counts(&self) -> Counts {
        Counts {
            rows: self.rows,
            new: self.new.len(),
            changed: self.changed.len(),
            removed: self.removed.len(),
        }
    }

    /// The rows to write, new and changed.
    pub fn written(&self) -> impl Iterator<Item = &T> {
        self.new.iter().chain(self.changed.iter().map(|(_, row)| row))
    }

    pub fn is_empty(&self) -> bool {
        self.new.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// What one file changed, as the summary prints it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub rows: usize,
    pub new: usize,
    pub changed: usize,
    pub removed: usize,
}

impl Counts {
    pub fn unchanged(&self) -> bool {
        self.new == 0 && self.changed == 0 && self.removed == 0
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = if self.rows == 1 { "row" } else { "rows" };
        if self.unchanged() {
            write!(f, "{} {rows}: unchanged", self.rows)
        } else {
            write!(
                f,
                "{} {rows}: {} new, {} changed, {} removed",
                self.rows, self.new, self.changed, self.removed
            )
        }
    }
}

/// Compares `given` with `stored` by key. A given row is new when its key is not stored,
/// changed when the stored row differs or is not live (a retired id comes back), unchanged
/// otherwise. In `Mode::Snapshot`, live stored rows whose key is absent are removed. Later rows
/// with a key already given are the same row (whole-row keys) and count once.
pub fn diff<K, H, T>(
    stored: Vec<Stored<K, H, T>>,
    given: &[T],
    key: impl Fn(&T) -> K,
    live: impl Fn(&T) -> bool,
    mode: Mode,
) -> TableChange<H, T>
where
    K: Hash + Eq,
    T: PartialEq + Clone,
{
    let mut change = TableChange { rows: given.len(), ..TableChange::default() };
    let mut by_key: HashMap<K, (H, bool, T)> = HashMap::with_capacity(stored.len());
    for entry in stored {
        // A key stored twice (only possible in data written before keys were kept unique): the
        // extra copy goes.
        match by_key.entry(entry.key) {
            Entry::Occupied(_) => change.removed.push(entry.handle),
            Entry::Vacant(slot) => {
                slot.insert((entry.handle, entry.live, entry.row));
            }
        }
    }
    let mut seen = HashSet::with_capacity(given.len());
    for row in given {
        let k = key(row);
        if seen.contains(&k) {
            continue;
        }
        match by_key.remove(&k) {
            None => change.new.push(row.clone()),
            Some((handle, was_live, stored)) if stored != *row || was_live != live(row) => {
                change.changed.push((handle, row.clone()))
            }
            Some(_) => {}
        }
        seen.insert(k);
    }
    if mode == Mode::Snapshot {
        change.removed.extend(by_key.into_values().filter(|e| e.1).map(|e| e.0));
    }
    change
}

/// The key of an allocation or a time-off row: the source system's id when the export has one,
/// otherwise the whole row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowKey {
    Id(String),
    Row(String),
}

impl RowKey {
    pub fn of_allocation(a: &Allocation) -> RowKey {
        match &a.id {
            Some(id) => RowKey::Id(id.clone()),
            None => RowKey::Row(format!(
                "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
                a.person,
                a.project,
                a.start,
                a.end,
                a.hours_per_week.as_f64(),
                a.status.as_str()
            )),
        }
    }

    pub fn of_time_off(t: &TimeOff) -> RowKey {
        match &t.id {
            Some(id) => RowKey::Id(id.clone()),
            None => RowKey::Row(format!("{}\u{1f}{}\u{1f}{}", t.person, t.start, t.end)),
        }
    }
}

/// The rows stored for every table an import may touch; allocations and time off with their
/// database row ids, and without the allocations of Keepable's own holds.
#[derive(Debug, Default, Clone)]
pub struct StoredFirm {
    pub roles: Vec<(Role, bool)>,
    pub people: Vec<Person>,
    pub packages: Vec<(Package, bool)>,
    pub package_roles: Vec<PackageRole>,
    pub deliverables: Vec<(Deliverable, bool)>,
    pub package_items: Vec<PackageItem>,
    pub holidays: Vec<Holiday>,
    pub allocations: Vec<(i64, Allocation)>,
    pub time_off: Vec<(i64, TimeOff)>,
    pub history: Vec<HistoryRow>,
}

/// Everything one import changes, table by table; tables whose file was not given are `None`.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    pub roles: Option<TableChange<String, Role>>,
    pub people: Option<TableChange<String, Person>>,
    pub packages: Option<TableChange<String, Package>>,
    pub package_roles: Option<TableChange<(String, String), PackageRole>>,
    pub deliverables: Option<TableChange<String, Deliverable>>,
    pub package_items: Option<TableChange<(String, String), PackageItem>>,
    pub holidays: Option<TableChange<chrono::NaiveDate, Holiday>>,
    pub allocations: Option<TableChange<i64, Allocation>>,
    pub time_off: Option<TableChange<i64, TimeOff>>,
    pub history: Option<TableChange<String, HistoryRow>>,
}

impl Plan {
    /// What each file given changes, in the order the files are read.
    pub fn counts(&self) -> Vec<(&'static str, Counts)> {
        let entries = [
            ("roles.csv", self.roles.as_ref().map(TableChange::counts)),
            ("people.csv", self.people.as_ref().map(TableChange::counts)),
            ("packages.csv", self.packages.as_ref().map(TableChange::counts)),
            ("package_roles.csv", self.package_roles.as_ref().map(TableChange::counts)),
            ("deliverables.csv", self.deliverables.as_ref().map(TableChange::counts)),
            ("package_items.csv", self.package_items.as_ref().map(TableChange::counts)),
            ("holidays.csv", self.holidays.as_ref().map(TableChange::counts)),
            ("allocations.csv", self.allocations.as_ref().map(TableChange::counts)),
            ("time_off.csv", self.time_off.as_ref().map(TableChange::counts)),
            ("history.csv", self.history.as_ref().map(TableChange::counts)),
        ];
        entries.into_iter().filter_map(|(file, counts)| Some((file, counts?))).collect()
    }

    pub fn unchanged(&self) -> bool {
        self.counts().iter().all(|(_, c)| c.unchanged())
    }
}

fn by_id<T: Clone>(
    rows: Vec<(T, bool)>,
    id: impl Fn(&T) -> String,
) -> Vec<Stored<String, String, T>> {
    rows.into_iter()
        .map(|(row, live)| Stored { key: id(&row), handle: id(&row), live, row })
        .collect()
}

fn always<T: Clone, K: Clone>(rows: Vec<T>, key: impl Fn(&T) -> K) -> Vec<Stored<K, K, T>> {
    rows.into_iter()
        .map(|row| Stored { key: key(&row), handle: key(&row), live: true, row })
        .collect()
}

/// Rows stored with their database row ids (the handle), keyed by `key`.
fn by_row_id<T>(rows: Vec<(i64, T)>, key: fn(&T) -> RowKey) -> Vec<Stored<RowKey, i64, T>> {
    rows.into_iter()
        .map(|(id, row)| Stored { key: key(&row), handle: id, live: true, row })
        .collect()
}

/// The plan of an import of `given` (with `files` the files it read) over `stored`. History is
/// never removed by absence, whatever the mode.
pub fn plan(stored: StoredFirm, given: &FirmData, files: &[&str], mode: Mode) -> Plan {
    let has = |file: &str| files.contains(&file);
    let mut plan = Plan::default();
    if has("roles.csv") {
        let stored = by_id(stored.roles, |r: &Role| r.id.clone());
        plan.roles = Some(diff(stored, &given.roles, |r| r.id.clone(), |_| true, mode));
    }
    if has("people.csv") {
        let stored = stored.people.into_iter().map(|p| (p.clone(), p.active)).collect::<Vec<_>>();
        let stored = by_id(stored, |p: &Person| p.id.clone());
        plan.people = Some(diff(stored, &given.people, |p| p.id.clone(), |p| p.active, mode));
    }
    if has("packages.csv") {
        let stored = by_id(stored.packages, |p: &Package| p.id.clone());
        plan.packages = Some(diff(stored, &given.packages, |p| p.id.clone(), |_| true, mode));
    }
    if has("package_roles.csv") {
        let key = |r: &PackageRole| (r.package.clone(), r.role.clone());
        let stored = always(stored.package_roles, key);
        plan.package_roles = Some(diff(stored, &given.package_roles, key, |_| true, mode));
    }
    if has("deliverables.csv") {
        let stored = by_id(stored.deliverables, |d: &Deliverable| d.id.clone());
        plan.deliverables =
            Some(diff(stored, &given.deliverables, |d| d.id.clone(), |_| true, mode));
    }
    if has("package_items.csv") {
        let key = |i: &PackageItem| (i.package.clone(), i.deliverable.clone());
        let stored = always(stored.package_items, key);
        plan.package_items = Some(diff(stored, &given.package_items, key, |_| true, mode));
    }
    if has("holidays.csv") {
        let stored = always(stored.holidays, |h: &Holiday| h.date);
        plan.holidays = Some(diff(stored, &given.holidays, |h| h.date, |_| true, mode));
    }
    if has("allocations.csv") {
        let stored = by_row_id(stored.allocations, RowKey::of_allocation);
        plan.allocations =
            Some(diff(stored, &given.allocations, RowKey::of_allocation, |_| true, mode));
    }
    if has("time_off.csv") {
        let stored = by_row_id(stored.time_off, RowKey::of_time_off);
        plan.time_off = Some(diff(stored, &given.time_off, RowKey::of_time_off, |_| true, mode));
    }
    if has("history.csv") {
        let stored = always(stored.history, |h: &HistoryRow| h.id.clone());
        plan.history = Some(diff(stored, &given.history, |h| h.id.clone(), |_| true, Mode::Merge));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hours::Hours;
    use proptest::prelude::*;

    fn allocation(id: Option<&str>, person: &str, end: &str, hours: f64) -> Allocation {
        Allocation {
            id: id.map(String::from),
            person: person.into(),
            project: "p".into(),
            start: "2027-01-04".parse().unwrap(),
            end: end.parse().unwrap(),
            hours_per_week: Hours::from_f64(hours),
            status: AllocationStatus::Confirmed,
        }
    }

    fn stored_allocations(rows: &[Allocation]) -> StoredFirm {
        StoredFirm {
            allocations: rows.iter().cloned().enumerate().map(|(i, a)| (i as i64 + 1, a)).collect(),
            ..StoredFirm::default()
        }
    }

    fn given_allocations(rows: &[Allocation]) -> FirmData {
        FirmData { allocations: rows.to_vec(), ..FirmData::default() }
    }

    #[test]
    fn a_booking_keyed_by_id_changes_in_place() {
        let before = [allocation(Some("A1"), "ann", "2027-03-26", 20.0)];
        let after = [allocation(Some("A1"), "ann", "2027-02-26", 20.0)];
        let plan = plan(
            stored_allocations(&before),
            &given_allocations(&after),
            &["allocations.csv"],
            Mode::Snapshot,
        );
        let change = plan.allocations.unwrap();
        assert_eq!(change.counts(), Counts { rows: 1, new: 0, changed: 1, removed: 0 });
        assert_eq!(change.changed[0].0, 1);
    }

    #[test]
    fn without_ids_a_shortened_booking_replaces_the_old_one() {
        let before = [allocation(None, "ann", "2027-03-26", 20.0)];
        let after = [allocation(None, "ann", "2027-02-26", 20.0)];
        let plan = plan(
            stored_allocations(&before),
            &given_allocations(&after),
            &["allocations.csv"],
            Mode::Snapshot,
        );
        let change = plan.allocations.unwrap();
        assert_eq!(change.counts(), Counts { rows: 1, new: 1, changed: 0, removed: 1 });
    }

    #[test]
    fn merge_removes_nothing() {
        let before = [allocation(None, "ann", "2027-03-26", 20.0)];
        let after = [allocation(None, "bob", "2027-02-26", 20.0)];
        let plan = plan(
            stored_allocations(&before),
            &given_allocations(&after),
            &["allocations.csv"],
            Mode::Merge,
        );
        assert_eq!(
            plan.allocations.unwrap().counts(),
            Counts { rows: 1, new: 1, changed: 0, removed: 0 }
        );
    }

    #[test]
    fn absent_roles_are_retired_and_a_returning_role_counts_as_changed() {
        let role =
            |id: &str| Role { id: id.into(), name: id.into(), rank: 1, description: String::new() };
        let stored = StoredFirm {
            roles: vec![(role("a"), true), (role("b"), true), (role("c"), false)],
            ..StoredFirm::default()
        };
        let given = FirmData { roles: vec![role("a"), role("c")], ..FirmData::default() };
        let change = plan(stored, &given, &["roles.csv"], Mode::Snapshot).roles.unwrap();
        assert_eq!(change.removed, vec!["b".to_string()]);
        assert_eq!(change.counts(), Counts { rows: 2, new: 0, changed: 1, removed: 1 });
    }

    #[test]
    fn an_inactive_person_absent_again_is_not_removed_twice() {
        let person = |id: &str, active: bool| Person {
            id: id.into(),
            name: id.into(),
            role: "r".into(),
            weekly_hours: Hours::from_f64(40.0),
            active,
            slack_user_id: None,
            discord_user_id: None,
            email: None,
        };
        let stored = StoredFirm {
            people: vec![person("a", true), person("b", false), person("c", false)],
            ..StoredFirm::default()
        };
        let given =
            FirmData { people: vec![person("a", true), person("c", false)], ..FirmData::default() };
        let change = plan(stored, &given, &["people.csv"], Mode::Snapshot).people.unwrap();
        assert!(change.is_empty(), "{change:?}");
    }

    #[test]
    fn history_is_never_removed_by_absence() {
        let stored = StoredFirm { history: vec![], ..StoredFirm::default() };
        let change = plan(stored, &FirmData::default(), &["history.csv"], Mode::Snapshot);
        assert!(change.history.unwrap().is_empty());
    }

    #[test]
    fn the_summary_line() {
        assert_eq!(
            Counts { rows: 201, new: 12, changed: 3, removed: 5 }.to_string(),
            "201 rows: 12 new, 3 changed, 5 removed"
        );
        assert_eq!(Counts { rows: 5, ..Counts::default() }.to_string(), "5 rows: unchanged");
    }

    proptest! {
        /// Importing the same rows again changes nothing; and applying a plan to the stored rows
        /// gives exactly the rows given (as a set), whatever was stored before.
        #[test]
        fn a_plan_turns_the_stored_rows_into_the_given_ones(
            before in prop::collection::vec((0u8..4, 0u8..3, 1u8..4), 0..12),
            after in prop::collection::vec((0u8..4, 0u8..3, 1u8..4), 0..12),
            with_ids in any::<bool>(),
        ) {
            let rows = |spec: &[(u8, u8, u8)]| -> Vec<Allocation> {
                let mut seen = HashSet::new();
                spec.iter()
                    .filter(|(id, person, hours)| {
                        seen.insert(if with_ids { (*id, 0, 0) } else { (0, *person, *hours) })
                    })
                    .map(|(id, person, hours)| {
                        let id = format!("A{id}");
                        allocation(with_ids.then_some(id.as_str()), &format!("p{person}"), "2027-02-26", f64::from(*hours) * 8.0)
                    })
                    .collect()
            };
            let (before, after) = (rows(&before), rows(&after));
            let stored = stored_allocations(&before);
            let change = plan(stored.clone(), &given_allocations(&after), &["allocations.csv"], Mode::Snapshot)
                .allocations
                .unwrap();
            let mut result: HashMap<i64, Allocation> = stored.allocations.into_iter().collect();
            for handle in change.removed.iter().chain(change.changed.iter().map(|(h, _)| h)) {
                result.remove(handle);
            }
            for (next, row) in (1000..).zip(change.written()) {
                result.insert(next, row.clone());
            }
            let key_set = |rows: Vec<Allocation>| rows.iter().map(|a| format!("{a:?}")).collect::<HashSet<_>>();
            prop_assert_eq!(key_set(result.into_values().collect()), key_set(after.clone()));
            let again = plan(
                StoredFirm { allocations: after.iter().cloned().enumerate().map(|(i, a)| (i as i64, a)).collect(), ..StoredFirm::default() },
                &given_allocations(&after),
                &["allocations.csv"],
                Mode::Snapshot,
            );
            prop_assert!(again.unchanged());
        }
    }
}
