//! Free hours and the earliest start of a staffing pattern (SPEC 4.1, 4.2).
//!
//! Everything is computed in "weekly-rate" thousandths of an hour: a day's free hours times five,
//! so `weekly_hours/5 − Σ hours_per_week/5` stays an exact integer.

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use super::calendar::Calendar;
use super::hours::Hours;

mod weekly;
pub use weekly::{Changed, Tally, WeeklyFree};

/// One row of a staffing pattern: `count` people of `role`, each `hours_per_week`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Requirement {
    pub role: String,
    pub count: i64,
    pub hours_per_week: Hours,
}

/// A staffing pattern held for `weeks` weeks; a role appears at most once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    pub requirements: Vec<Requirement>,
    pub weeks: i64,
}

/// What the engine needs to know about one booking of a person.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub hours_per_week: Hours,
    pub tentative: bool,
}

/// One active person with their bookings and time off.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonLoad {
    pub id: String,
    pub role: String,
    pub weekly_hours: Hours,
    pub bookings: Vec<Booking>,
    pub time_off: Vec<(NaiveDate, NaiveDate)>,
}

impl AsRef<PersonLoad> for PersonLoad {
    fn as_ref(&self) -> &PersonLoad {
        self
    }
}

/// The window of candidate start dates: `horizon` Mondays from `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub first: NaiveDate,
    pub horizon: usize,
}

impl Window {
    pub fn candidate(&self, index: usize) -> NaiveDate {
        self.first + Duration::weeks(index as i64)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EarliestStart {
    pub earliest_start: Option<NaiveDate>,
    pub earliest_start_ignoring_tentative: Option<NaiveDate>,
    /// Each requirement's own first met candidate, in pattern order (the phased view).
    pub per_requirement: Vec<Option<NaiveDate>>,
}

/// Free hours of `person` in weekly-rate thousandths for each week from `first` (SPEC 4.1);
/// `working[d]` says whether day `d` from `first` is a working day (whole weeks).
pub fn weekly_free(
    person: &PersonLoad,
    working: &[bool],
    first: NaiveDate,
    include_tentative: bool,
) -> Vec<i64> {
    let days = working.len();
    // Difference arrays of booked weekly-rate hours and of time off per day.
    let mut booked = vec![0i64; days + 1];
    for booking in &person.bookings {
        if booking.tentative && !include_tentative {
            continue;
        }
        if let Some((from, to)) = clip(booking.start, booking.end, first, days) {
            booked[from] += booking.hours_per_week.millis();
            booked[to + 1] -= booking.hours_per_week.millis();
        }
    }
    let mut off = vec![0i32; days + 1];
    for (start, end) in &person.time_off {
        if let Some((from, to)) = clip(*start, *end, first, days) {
            off[from] += 1;
            off[to + 1] -= 1;
        }
    }
    let weekly = person.weekly_hours.millis();
    let mut free = vec![0i64; days / 7];
    let (mut load, mut away) = (0i64, 0i32);
    for (day, is_working) in working.iter().enumerate() {
        load += booked[day];
        away += off[day];
        if away == 0 && *is_working {
            free[day / 7] += (weekly - load).max(0);
        }
    }
    free
}

fn clip(start: NaiveDate, end: NaiveDate, first: NaiveDate, days: usize) -> Option<(usize, usize)> {
    let from = (start - first).num_days().max(0);
    let to = (end - first).num_days().min(days as i64 - 1);
    (from <= to).then_some((from as usize, to as usize))
}

/// For each candidate index, whether a person with `free` weekly hours qualifies for `hours`
/// per week over `weeks` consecutive weeks.
fn qualifying_candidates(free: &[i64], needed: &[i64], horizon: usize, weeks: usize) -> Vec<bool> {
    // run[w] = number of consecutive weeks from w on that have enough free hours.
    let mut run = vec![0usize; free.len() + 1];
    for week in (0..free.len()).rev() {
        run[week] = if free[week] >= needed[week] { run[week + 1] + 1 } else { 0 };
    }
    (0..horizon).map(|candidate| run[candidate] >= weeks).collect()
}

/// Needed weekly-rate hours per week for a requirement: `h × workdays(w)` (i.e. `5 × h × workdays/5`).
fn needed_per_week(hours: Hours, workdays: &[i64]) -> Vec<i64> {
    workdays.iter().map(|days| hours.millis() * days).collect()
}

/// Working days of each week, from a working-day mask of whole weeks.
fn workdays(working: &[bool]) -> Vec<i64> {
    working.chunks(7).map(|week| week.iter().filter(|w| **w).count() as i64).collect()
}

/// Per requirement, how many people qualify at each candidate: counting tentative bookings as
/// booked, and with them released. Each person's days are walked once per variant, and only
/// once when they hold no tentative booking.
fn qualifying_counts<P: AsRef<PersonLoad>>(
    pattern: &Pattern,
    people: &[P],
    calendar: &Calendar,
    window: Window,
) -> (Vec<Vec<i64>>, Vec<Vec<i64>>) {
    let weeks = pattern.weeks.max(1) as usize;
    let span = window.horizon + weeks;
    let working = calendar.working_days(window.first, span * 7);
    let workdays = workdays(&working);
    let mut booked = vec![vec![0i64; window.horizon]; pattern.requirements.len()];
    let mut released = booked.clone();
    for (index, requirement) in pattern.requirements.iter().enumerate() {
        let needed = needed_per_week(requirement.hours_per_week, &workdays);
        for person in people.iter().map(AsRef::as_ref).filter(|p| p.role == requirement.role) {
            let free = weekly_free(person, &working, window.first, true);
            let with_tentative = qualifying_candidates(&free, &needed, window.horizon, weeks);
            let without_tentative = if person.bookings.iter().any(|b| b.tentative) {
                let free = weekly_free(person, &working, window.first, false);
                qualifying_candidates(&free, &needed, window.horizon, weeks)
            } else {
                with_tentative.clone()
            };
            for candidate in 0..window.horizon {
                booked[index][candidate] += with_tentative[candidate] as i64;
                released[index][candidate] += without_tentative[candidate] as i64;
            }
        }
    }
    (booked, released)
}

/// The first candidate index at which every requirement is met, and each requirement's own.
fn first_met(
    pattern: &Pattern,
    counts: &[Vec<i64>],
    horizon: usize,
) -> (Option<usize>, Vec<Option<usize>>) {
    let met =
        |req: usize, candidate: usize| counts[req][candidate] >= pattern.requirements[req].count;
    let per_requirement = (0..pattern.requirements.len())
        .map(|req| (0..horizon).find(|candidate| met(req, *candidate)))
        .collect();
    let all = (0..horizon)
        .find(|candidate| (0..pattern.requirements.len()).all(|req| met(req, *candidate)));
    (all, per_requirement)
}

/// SPEC 4.2: the earliest start of `pattern`, with and without tentative bookings, and the
/// phased view. `people` may hold anyone; only those with a required role are considered.
pub fn earliest_start<P: AsRef<PersonLoad>>(
    pattern: &Pattern,
    people: &[P],
    calendar: &Calendar,
    window: Window,
) -> EarliestStart {
    let (booked, released) = qualifying_counts(pattern, people, calendar, window);
    let (earliest, per_requirement) = first_met(pattern, &booked, window.horizon);
    let (ignoring_tentative, _) = first_met(pattern, &released, window.horizon);
    EarliestStart {
        earliest_start: earliest.map(|i| window.candidate(i)),
        earliest_start_ignoring_tentative: ignoring_tentative.map(|i| window.candidate(i)),
        per_requirement: per_requirement
            .into_iter()
            .map(|i| i.map(|i| window.candidate(i)))
            .collect(),
    }
}

/// The people who qualify for each requirement at `start` (used to place capacity holds; never shown).
pub fn qualifying_people<'a, P: AsRef<PersonLoad>>(
    pattern: &Pattern,
    people: &'a [P],
    calendar: &Calendar,
    start: NaiveDate,
) -> Vec<Vec<&'a PersonLoad>> {
    let weeks = pattern.weeks.max(1) as usize;
    let working = calendar.working_days(start, weeks * 7);
    let workdays = workdays(&working);
    pattern
        .requirements
        .iter()
        .map(|requirement| {
            let needed = needed_per_week(requirement.hours_per_week, &workdays);
            people
                .iter()
                .map(AsRef::as_ref)
                .filter(|p| p.role == requirement.role)
                .filter(|p| {
                    let free = weekly_free(p, &working, start, true);
                    qualifying_candidates(&free, &needed, 1, weeks)[0]
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests;

/// Why a requirement found no start within the horizon.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Shortfall {
    /// Fewer active people have the role than the requirement counts.
    TooFewPeople { role: String, needed: i64, available: usize },
    /// Nobody of the role works as many hours a week as each of them must give.
    HoursAboveAnyonesWeek { role: String, needed: Hours, most: Hours },
    /// Enough people could in principle, but not enough are free at once within the horizon.
    NotFreeInTime { role: String, needed: i64, horizon: usize },
}

/// For each requirement with no start (`per_requirement` is `None`), the reason: too few people
/// of the role, hours above anyone's contracted week, or bookings that leave too few free.
pub fn shortfalls<P: AsRef<PersonLoad>>(
    pattern: &Pattern,
    people: &[P],
    per_requirement: &[Option<NaiveDate>],
    horizon: usize,
) -> Vec<Shortfall> {
    pattern
        .requirements
        .iter()
        .zip(per_requirement)
        .filter(|(_, start)| start.is_none())
        .map(|(r, _)| {
            let of_role: Vec<&PersonLoad> =
                people.iter().map(AsRef::as_ref).filter(|p| p.role == r.role).collect();
            let able = of_role.iter().filter(|p| p.weekly_hours >= r.hours_per_week).count();
            let most = of_role.iter().map(|p| p.weekly_hours).max().unwrap_or(Hours::ZERO);
            if (of_role.len() as i64) < r.count {
                Shortfall::TooFewPeople {
                    role: r.role.clone(),
                    needed: r.count,
                    available: of_role.len(),
                }
            } else if (able as i64) < r.count {
                Shortfall::HoursAboveAnyonesWeek {
                    role: r.role.clone(),
                    needed: r.hours_per_week,
                    most,
                }
            } else {
                Shortfall::NotFreeInTime { role: r.role.clone(), needed: r.count, horizon }
            }
        })
        .collect()
}

#[cfg(test)]
mod shortfall_tests {
    use super::*;

    fn person(id: &str, role: &str, hours: f64) -> PersonLoad {
        PersonLoad {
            id: id.into(),
            role: role.into(),
            weekly_hours: Hours::from_f64(hours),
            bookings: Vec::new(),
            time_off: Vec::new(),
        }
    }

    #[test]
    fn a_requirement_without_a_start_says_why() {
        let people = [
            person("a", "senior", 40.0),
            person("b", "senior", 32.0),
            person("c", "analyst", 40.0),
        ];
        let requirement = |role: &str, count, hours| Requirement {
            role: role.into(),
            count,
            hours_per_week: Hours::from_f64(hours),
        };
        let pattern = Pattern {
            requirements: vec![
                requirement("senior", 3, 8.0),
                requirement("analyst", 1, 80.0),
                requirement("senior", 2, 8.0),
            ],
            weeks: 4,
        };
        let found = shortfalls(&pattern, &people, &[None, None, None], 52);
        assert_eq!(
            found,
            vec![
                Shortfall::TooFewPeople { role: "senior".into(), needed: 3, available: 2 },
                Shortfall::HoursAboveAnyonesWeek {
                    role: "analyst".into(),
                    needed: Hours::from_f64(80.0),
                    most: Hours::from_f64(40.0)
                },
                Shortfall::NotFreeInTime { role: "senior".into(), needed: 2, horizon: 52 },
            ]
        );
        assert!(
            shortfalls(&pattern, &people, &[Some(NaiveDate::MIN), None, Some(NaiveDate::MIN)], 52)
                .len()
                == 1
        );
    }
}
