//! Every active person's free hours per ISO week, computed once per data version (SPEC 4.1), so
//! an earliest-start answer (4.2) only scans the weeks of the roles it asks for.
//!
//! The weeks start at a Monday (`first`, the first candidate start of an answer without
//! `not-before`) and cover the horizon plus the longest pattern a firm asks about. A question
//! whose window falls outside them is answered by `earliest_start` over the bookings instead,
//! with the same result.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;

use super::{first_met, needed_per_week, workdays, EarliestStart, Pattern, PersonLoad, Window};
use crate::domain::calendar::Calendar;

/// One person's free hours per week (weekly-rate thousandths, as `weekly_free` gives them).
#[derive(Debug, Clone)]
struct PersonWeeks {
    id: Arc<str>,
    /// Tentative bookings counted as booked.
    booked: Arc<[i32]>,
    /// Tentative bookings left out; `None` when the person holds no tentative booking.
    released: Option<Arc<[i32]>>,
}

/// Free hours per week of every active person, grouped by role.
#[derive(Debug, Clone)]
pub struct WeeklyFree {
    first: NaiveDate,
    weeks: usize,
    workdays: Vec<i64>,
    working: Arc<[bool]>,
    /// Each role's people.
    roles: HashMap<String, RoleWeeks>,
}

/// One role's people in order of id, in runs of about `RUN` people. A run none of whose people
/// changed is shared with the next version of the weeks, so a hold copies (and the old version
/// later frees) a run or two, not everyone of the role.
#[derive(Debug, Clone, Default)]
struct RoleWeeks {
    /// No run is empty; each run's ids come after the last run's.
    runs: Vec<Arc<Vec<PersonWeeks>>>,
}

/// How many people a run holds when the weeks are built; a run grown to twice this is split.
const RUN: usize = 64;

impl RoleWeeks {
    /// `people` sorted by id.
    fn of(mut people: Vec<PersonWeeks>) -> RoleWeeks {
        people.sort_by(|a, b| a.id.cmp(&b.id));
        RoleWeeks { runs: people.chunks(RUN).map(|run| Arc::new(run.to_vec())).collect() }
    }

    fn iter(&self) -> impl Iterator<Item = &PersonWeeks> {
        self.runs.iter().flat_map(|run| run.iter())
    }

    /// The run where `id` is or would go.
    fn run_of(&self, id: &str) -> usize {
        let after = self.runs.partition_point(|run| run.last().is_some_and(|p| &*p.id < id));
        after.min(self.runs.len().saturating_sub(1))
    }

    /// Takes the person `id` out, when here.
    fn remove(&mut self, id: &str) -> Option<PersonWeeks> {
        let r = self.run_of(id);
        let at = self.runs.get(r)?.binary_search_by(|p| (*p.id).cmp(id)).ok()?;
        let run = Arc::make_mut(&mut self.runs[r]);
        let gone = run.remove(at);
        if run.is_empty() {
            self.runs.remove(r);
        }
        Some(gone)
    }

    /// Puts `person` in at their place by id (after anyone of the same id).
    fn insert(&mut self, person: PersonWeeks) {
        if self.runs.is_empty() {
            self.runs.push(Arc::new(vec![person]));
            return;
        }
        let r = self.run_of(&person.id);
        let run = Arc::make_mut(&mut self.runs[r]);
        let at = run.partition_point(|p| p.id <= person.id);
        run.insert(at, person);
        if run.len() >= 2 * RUN {
            let rest = run.split_off(RUN);
            self.runs.insert(r + 1, Arc::new(rest));
        }
    }
}

impl WeeklyFree {
    /// The weeks of `people` from the Monday `first` for `weeks` weeks.
    pub fn build<P: AsRef<PersonLoad>>(
        people: &[P],
        calendar: &Calendar,
        first: NaiveDate,
        weeks: usize,
    ) -> WeeklyFree {
        let working: Arc<[bool]> = calendar.working_days(first, weeks * 7).into();
        let mut free = WeeklyFree {
            first,
            weeks,
            workdays: workdays(&working),
            working,
            roles: HashMap::new(),
        };
        let mut by_role: HashMap<String, Vec<PersonWeeks>> = HashMap::new();
        for person in people.iter().map(AsRef::as_ref) {
            let weeks = free.person_weeks(person);
            by_role.entry(person.role.clone()).or_default().push(weeks);
        }
        free.roles =
            by_role.into_iter().map(|(role, people)| (role, RoleWeeks::of(people))).collect();
        free
    }

    /// The first Monday these weeks cover, and how many weeks they cover.
    pub fn span(&self) -> (NaiveDate, usize) {
        (self.first, self.weeks)
    }

    /// These weeks with the people named in `changed` computed again: each is removed from the
    /// roles they were in (`were_in`: every role a changed person held in these weeks), then
    /// added back from `people` when there (an inactive or deleted person is simply gone). Only
    /// the runs of people they leave or join are copied; the others stay shared. The `Changed`
    /// says whose weeks went and came, for answers counted before to be brought up to date.
    pub fn with_changed<P: AsRef<PersonLoad>>(
        &self,
        changed: &[String],
        were_in: &[&str],
        people: &[P],
    ) -> (WeeklyFree, Changed) {
        let mut next = self.clone();
        let mut change = Changed { first: self.first, removed: Vec::new(), added: Vec::new() };
        for role in were_in {
            if let Some(of_role) = next.roles.get_mut(*role) {
                for id in changed {
                    if let Some(gone) = of_role.remove(id) {
                        change.removed.push((role.to_string(), gone));
                    }
                }
                if of_role.runs.is_empty() {
                    next.roles.remove(*role);
                }
            }
        }
        for person in people.iter().map(AsRef::as_ref).filter(|p| changed.contains(&p.id)) {
            let weeks = next.person_weeks(person);
            change.added.push((person.role.clone(), weeks.clone()));
            next.roles.entry(person.role.clone()).or_default().insert(weeks);
        }
        (next, change)
    }

    fn person_weeks(&self, person: &PersonLoad) -> PersonWeeks {
        let weeks = |include_tentative| -> Arc<[i32]> {
            super::weekly_free(person, &self.working, self.first, include_tentative)
                .into_iter()
                .map(|free| i32::try_from(free).unwrap_or(i32::MAX))
                .collect()
        };
        let tentative = person.bookings.iter().any(|b| b.tentative);
        PersonWeeks {
            id: person.id.as_str().into(),
            booked: weeks(true),
            released: tentative.then(|| weeks(false)),
        }
    }

    /// SPEC 4.2 from these weeks; `None` when `window` (with the pattern's weeks) is not inside
    /// them.
    pub fn earliest_start(&self, pattern: &Pattern, window: Window) -> Option<EarliestStart> {
        self.tally(pattern, window).map(|tally| tally.answer(pattern, window))
    }

    /// How many people qualify for each requirement of `pattern` at each candidate of `window`;
    /// `None` when the window (with the pattern's weeks) is not inside these weeks.
    pub fn tally(&self, pattern: &Pattern, window: Window) -> Option<Tally> {
        let days = (window.first - self.first).num_days();
        let weeks = pattern.weeks.max(1) as usize;
        if days < 0 || days % 7 != 0 {
            return None;
        }
        let offset = (days / 7) as usize;
        if offset + window.horizon + weeks > self.weeks {
            return None;
        }
        let mut tally = Tally {
            first: self.first,
            offset,
            needed: Vec::with_capacity(pattern.requirements.len()),
            booked: Vec::with_capacity(pattern.requirements.len()),
            released: Vec::with_capacity(pattern.requirements.len()),
        };
        for requirement in &pattern.requirements {
            let span = offset..offset + window.horizon + weeks;
            let needed = needed_per_week(requirement.hours_per_week, &self.workdays[span]);
            let mut with = vec![0i64; window.horizon];
            let mut without = vec![0i64; window.horizon];
            for person in self.roles.get(&requirement.role).into_iter().flat_map(RoleWeeks::iter) {
                person.count(offset, &needed, weeks, [&mut with, &mut without], 1);
            }
            tally.needed.push(needed);
            tally.booked.push(with);
            tally.released.push(without);
        }
        Some(tally)
    }
}

impl PersonWeeks {
    /// Adds `delta` at every candidate of `counts` (tentative bookings booked, then released)
    /// where this person has the hours `needed` in each of `weeks` weeks from it.
    fn count(
        &self,
        offset: usize,
        needed: &[i64],
        weeks: usize,
        counts: [&mut [i64]; 2],
        delta: i64,
    ) {
        let qualifying = |free: &[i32], counts: &mut [&mut [i64]]| {
            count_qualifying(&free[offset..], needed, weeks, counts, delta)
        };
        let [with, without] = counts;
        match &self.released {
            // No tentative booking: the same weeks either way, walked once.
            None => qualifying(&self.booked, &mut [with, without]),
            Some(released) => {
                qualifying(&self.booked, &mut [with]);
                qualifying(released, &mut [without]);
            }
        }
    }
}

/// Whose weeks a change of a few people removed and added, by the role they were counted in.
#[derive(Debug, Clone)]
pub struct Changed {
    first: NaiveDate,
    removed: Vec<(String, PersonWeeks)>,
    added: Vec<(String, PersonWeeks)>,
}

/// Per requirement of a pattern, how many people qualify at each candidate of a window: with
/// tentative bookings counted as booked, and released. Kept with an answer, it is brought up to
/// date after a hold by counting only the people the hold changed (`patched`), not everyone of
/// the pattern's roles again.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    /// The first Monday of the weeks it was counted in, and the window's first week in them.
    first: NaiveDate,
    offset: usize,
    /// Per requirement, the hours needed in each week of the window and the pattern after it.
    needed: Vec<Vec<i64>>,
    booked: Vec<Vec<i64>>,
    released: Vec<Vec<i64>>,
}

impl Tally {
    /// SPEC 4.2 from these counts.
    pub fn answer(&self, pattern: &Pattern, window: Window) -> EarliestStart {
        let (earliest, per_requirement) = first_met(pattern, &self.booked, window.horizon);
        let (ignoring_tentative, _) = first_met(pattern, &self.released, window.horizon);
        EarliestStart {
            earliest_start: earliest.map(|i| window.candidate(i)),
            earliest_start_ignoring_tentative: ignoring_tentative.map(|i| window.candidate(i)),
            per_requirement: per_requirement
                .into_iter()
                .map(|i| i.map(|i| window.candidate(i)))
                .collect(),
        }
    }

    /// These counts (of `pattern`) after `changed`: the people it removed taken out, those it
    /// added put in. `None` when the change was made to weeks from another Monday (the counts
    /// must be made again).
    pub fn patched(&self, pattern: &Pattern, changed: &Changed) -> Option<Tally> {
        if changed.first != self.first || pattern.requirements.len() != self.needed.len() {
            return None;
        }
        let weeks = pattern.weeks.max(1) as usize;
        let mut next = self.clone();
        for (r, requirement) in pattern.requirements.iter().enumerate() {
            let removed = changed.removed.iter().map(|(role, p)| (role, p, -1));
            let added = changed.added.iter().map(|(role, p)| (role, p, 1));
            for (_, person, delta) in
                removed.chain(added).filter(|(role, ..)| **role == requirement.role)
            {
                let counts = [&mut next.booked[r][..], &mut next.released[r][..]];
                person.count(self.offset, &self.needed[r], weeks, counts, delta);
            }
        }
        Some(next)
    }
}

/// Adds `delta` to `counts[c]` (in each of `counts`) for every candidate `c` at which a person
/// with `free` hours per week has `needed[w]` free in each of the `weeks` weeks from `c`.
fn count_qualifying(
    free: &[i32],
    needed: &[i64],
    weeks: usize,
    counts: &mut [&mut [i64]],
    delta: i64,
) {
    // Walking back from the last week: `run` is how many weeks from `w` on have enough free.
    let mut run = 0usize;
    for week in (0..needed.len()).rev() {
        run = if i64::from(free[week]) >= needed[week] { run + 1 } else { 0 };
        if run >= weeks {
            for counts in counts.iter_mut() {
                if let Some(count) = counts.get_mut(week) {
                    *count += delta;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn weeks_of(id: &str) -> PersonWeeks {
        PersonWeeks { id: id.into(), booked: Arc::from(vec![0; 3]), released: None }
    }

    proptest! {
        /// However people leave and join a role, it holds them once each, in order of id, in
        /// runs that are neither empty nor grown past twice their size.
        #[test]
        fn a_role_keeps_its_people_in_order_in_bounded_runs(
            start in proptest::collection::btree_set(0u16..2000, 0..400),
            steps in proptest::collection::vec((any::<bool>(), 0u16..2000), 0..300),
        ) {
            let id = |n: u16| format!("p{n:04}");
            let mut role = RoleWeeks::of(start.iter().map(|n| weeks_of(&id(*n))).collect());
            let mut model: std::collections::BTreeSet<u16> = start.clone();
            for (join, n) in steps {
                if join && !model.contains(&n) {
                    role.insert(weeks_of(&id(n)));
                    model.insert(n);
                } else {
                    let gone = role.remove(&id(n)).map(|p| p.id.to_string());
                    prop_assert_eq!(gone, model.remove(&n).then(|| id(n)));
                }
                let ids: Vec<String> = role.iter().map(|p| p.id.to_string()).collect();
                let expected: Vec<String> = model.iter().map(|n| id(*n)).collect();
                prop_assert_eq!(ids, expected);
                prop_assert!(role.runs.iter().all(|run| !run.is_empty() && run.len() < 2 * RUN));
            }
        }
    }

    #[test]
    fn a_hold_copies_only_the_runs_its_people_are_in() {
        let people: Vec<PersonLoad> = (0..1000)
            .map(|n| PersonLoad {
                id: format!("p{n:04}"),
                role: "dev".into(),
                weekly_hours: crate::domain::hours::Hours::from_millis(40_000),
                bookings: vec![],
                time_off: vec![],
            })
            .collect();
        let first = NaiveDate::from_ymd_opt(2027, 3, 15).unwrap();
        let weeks = WeeklyFree::build(&people, &Calendar::default(), first, 10);
        let (next, change) = weeks.with_changed(&["p0500".to_string()], &["dev"], &people);
        assert_eq!((change.removed.len(), change.added.len()), (1, 1));
        let (before, after) = (&weeks.roles["dev"].runs, &next.roles["dev"].runs);
        let shared = before.iter().zip(after).filter(|(a, b)| Arc::ptr_eq(a, b)).count();
        assert_eq!(shared, before.len() - 1);
    }
}
