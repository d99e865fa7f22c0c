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
    /// Each role's people, shared with the next version of the weeks where none of them changed.
    roles: HashMap<String, Arc<Vec<PersonWeeks>>>,
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
        for person in people.iter().map(AsRef::as_ref) {
            let weeks = free.person_weeks(person);
            Arc::make_mut(free.roles.entry(person.role.clone()).or_default()).push(weeks);
        }
        free
    }

    /// The first Monday these weeks cover, and how many weeks they cover.
    pub fn span(&self) -> (NaiveDate, usize) {
        (self.first, self.weeks)
    }

    /// These weeks with the people named in `changed` computed again: each is removed from the
    /// roles they were in (`were_in`: every role a changed person held in these weeks), then
    /// added back from `people` when there (an inactive or deleted person is simply gone). Only
    /// those roles and the roles of `people` are copied; the others stay shared.
    pub fn with_changed<P: AsRef<PersonLoad>>(
        &self,
        changed: &[String],
        were_in: &[&str],
        people: &[P],
    ) -> WeeklyFree {
        let is_changed = |id: &str| changed.iter().any(|c| c == id);
        let mut next = self.clone();
        for role in were_in {
            if let Some(of_role) = next.roles.get_mut(*role) {
                Arc::make_mut(of_role).retain(|p| !is_changed(&p.id));
            }
        }
        for person in people.iter().map(AsRef::as_ref).filter(|p| is_changed(&p.id)) {
            let weeks = next.person_weeks(person);
            Arc::make_mut(next.roles.entry(person.role.clone()).or_default()).push(weeks);
        }
        next
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
        let days = (window.first - self.first).num_days();
        let weeks = pattern.weeks.max(1) as usize;
        if days < 0 || days % 7 != 0 {
            return None;
        }
        let offset = (days / 7) as usize;
        if offset + window.horizon + weeks > self.weeks {
            return None;
        }
        let mut booked = Vec::with_capacity(pattern.requirements.len());
        let mut released = Vec::with_capacity(pattern.requirements.len());
        for requirement in &pattern.requirements {
            let span = offset..offset + window.horizon + weeks;
            let needed = needed_per_week(requirement.hours_per_week, &self.workdays[span]);
            let mut with = vec![0i64; window.horizon];
            let mut without = vec![0i64; window.horizon];
            for person in self.roles.get(&requirement.role).into_iter().flat_map(|p| p.iter()) {
                let qualifying = |free: &[i32], counts: &mut [&mut [i64]]| {
                    count_qualifying(&free[offset..], &needed, weeks, counts)
                };
                match &person.released {
                    // No tentative booking: the same weeks either way, walked once.
                    None => qualifying(&person.booked, &mut [&mut with, &mut without]),
                    Some(released) => {
                        qualifying(&person.booked, &mut [&mut with]);
                        qualifying(released, &mut [&mut without]);
                    }
                }
            }
            booked.push(with);
            released.push(without);
        }
        let (earliest, per_requirement) = first_met(pattern, &booked, window.horizon);
        let (ignoring_tentative, _) = first_met(pattern, &released, window.horizon);
        Some(EarliestStart {
            earliest_start: earliest.map(|i| window.candidate(i)),
            earliest_start_ignoring_tentative: ignoring_tentative.map(|i| window.candidate(i)),
            per_requirement: per_requirement
                .into_iter()
                .map(|i| i.map(|i| window.candidate(i)))
                .collect(),
        })
    }
}

/// Adds one to `counts[c]` (in each of `counts`) for every candidate `c` at which a person with
/// `free` hours per week has `needed[w]` free in each of the `weeks` weeks from `c`.
fn count_qualifying(free: &[i32], needed: &[i64], weeks: usize, counts: &mut [&mut [i64]]) {
    // Walking back from the last week: `run` is how many weeks from `w` on have enough free.
    let mut run = 0usize;
    for week in (0..needed.len()).rev() {
        run = if i64::from(free[week]) >= needed[week] { run + 1 } else { 0 };
        if run >= weeks {
            for counts in counts.iter_mut() {
                if let Some(count) = counts.get_mut(week) {
                    *count += 1;
                }
            }
        }
    }
}
