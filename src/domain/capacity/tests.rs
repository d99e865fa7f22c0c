use chrono::{Datelike, Duration, NaiveDate, Weekday};
use proptest::prelude::*;

use super::*;

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn hours(h: i64) -> Hours {
    Hours::from_millis(h * 1000)
}

fn person(id: &str, role: &str, weekly: i64, bookings: Vec<Booking>) -> PersonLoad {
    PersonLoad {
        id: id.into(),
        role: role.into(),
        weekly_hours: hours(weekly),
        bookings,
        time_off: vec![],
    }
}

fn booking(start: &str, end: &str, h: i64, tentative: bool) -> Booking {
    Booking { start: date(start), end: date(end), hours_per_week: hours(h), tentative }
}

fn pattern(role: &str, count: i64, h: i64, weeks: i64) -> Pattern {
    Pattern {
        requirements: vec![Requirement { role: role.into(), count, hours_per_week: hours(h) }],
        weeks,
    }
}

fn window() -> Window {
    Window { first: date("2027-03-15"), horizon: 52 }
}

#[test]
fn a_free_person_can_start_at_the_first_candidate() {
    let people = vec![person("a", "senior", 40, vec![])];
    let answer =
        earliest_start(&pattern("senior", 1, 40, 4), &people, &Calendar::default(), window());
    assert_eq!(answer.earliest_start, Some(date("2027-03-15")));
}

#[test]
fn a_booking_pushes_the_start_past_its_end() {
    // Booked Monday to Wednesday of the week of 5 April: 3 × 16 + 2 × 40 = 128 >= 5 × 20 still fits.
    let people =
        vec![person("a", "senior", 40, vec![booking("2027-03-01", "2027-04-07", 24, false)])];
    let answer =
        earliest_start(&pattern("senior", 1, 20, 2), &people, &Calendar::default(), window());
    assert_eq!(answer.earliest_start, Some(date("2027-04-05")));
    let answer =
        earliest_start(&pattern("senior", 1, 30, 2), &people, &Calendar::default(), window());
    assert_eq!(answer.earliest_start, Some(date("2027-04-12")));
}

#[test]
fn tentative_bookings_count_unless_released() {
    let people =
        vec![person("a", "senior", 40, vec![booking("2027-03-01", "2027-04-07", 24, true)])];
    let answer =
        earliest_start(&pattern("senior", 1, 30, 2), &people, &Calendar::default(), window());
    assert_eq!(answer.earliest_start, Some(date("2027-04-12")));
    assert_eq!(answer.earliest_start_ignoring_tentative, Some(date("2027-03-15")));
}

#[test]
fn a_holiday_lowers_what_a_week_needs() {
    // 32 of 40 hours booked leaves 8 per week; 40 needed per 5-day week, 8 per 1-day week.
    let calendar = Calendar::new([
        date("2027-03-16"),
        date("2027-03-17"),
        date("2027-03-18"),
        date("2027-03-19"),
    ]);
    let people = vec![person("a", "senior", 40, vec![])];
    let busy =
        vec![person("a", "senior", 40, vec![booking("2027-03-15", "2027-03-15", 40, false)])];
    let answer = earliest_start(&pattern("senior", 1, 40, 1), &people, &calendar, window());
    assert_eq!(answer.earliest_start, Some(date("2027-03-15")));
    let answer = earliest_start(&pattern("senior", 1, 40, 1), &busy, &calendar, window());
    assert_eq!(answer.earliest_start, Some(date("2027-03-22")));
}

#[test]
fn time_off_empties_the_days_it_covers() {
    let mut away = person("a", "analyst", 40, vec![]);
    away.time_off.push((date("2027-03-17"), date("2027-03-17")));
    let answer =
        earliest_start(&pattern("analyst", 1, 40, 1), &[away], &Calendar::default(), window());
    assert_eq!(answer.earliest_start, Some(date("2027-03-22")));
}

#[test]
fn fractional_hours_compare_exactly() {
    // 1.6 h/day free on each of 3 working days (2 holidays) against 8 h/week => 4.8 needed.
    let calendar = Calendar::new([date("2027-03-18"), date("2027-03-19")]);
    let mut p = person("a", "analyst", 8, vec![]);
    p.weekly_hours = Hours::parse("8").unwrap();
    let answer = earliest_start(&pattern("analyst", 1, 8, 1), &[p], &calendar, window());
    assert_eq!(answer.earliest_start, Some(date("2027-03-15")));
}

#[test]
fn the_phased_view_reports_each_requirement() {
    let people = vec![
        person("a", "senior", 40, vec![]),
        person("b", "principal", 40, vec![booking("2027-01-01", "2027-05-02", 40, false)]),
    ];
    let both = Pattern {
        requirements: vec![
            Requirement { role: "senior".into(), count: 1, hours_per_week: hours(20) },
            Requirement { role: "principal".into(), count: 1, hours_per_week: hours(20) },
        ],
        weeks: 3,
    };
    let answer = earliest_start(&both, &people, &Calendar::default(), window());
    assert_eq!(answer.per_requirement, vec![Some(date("2027-03-15")), Some(date("2027-05-03"))]);
    assert_eq!(answer.earliest_start, Some(date("2027-05-03")));
}

#[test]
fn nothing_within_the_horizon_is_none() {
    let people = vec![person("a", "senior", 40, vec![])];
    let answer =
        earliest_start(&pattern("senior", 2, 40, 1), &people, &Calendar::default(), window());
    assert_eq!(answer.earliest_start, None);
    assert_eq!(answer.per_requirement, vec![None]);
}

#[test]
fn qualifying_people_lists_only_those_with_room() {
    let people = vec![
        person("free", "senior", 40, vec![]),
        person("busy", "senior", 40, vec![booking("2027-03-01", "2027-12-31", 40, false)]),
    ];
    let chosen = qualifying_people(
        &pattern("senior", 1, 20, 2),
        &people,
        &Calendar::default(),
        date("2027-03-15"),
    );
    assert_eq!(chosen[0].iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), vec!["free"]);
}

fn arb_booking() -> impl Strategy<Value = Booking> {
    (0i64..120, 0i64..60, 1i64..=40, any::<bool>()).prop_map(|(offset, len, h, tentative)| {
        let start = date("2027-03-01") + Duration::days(offset);
        Booking { start, end: start + Duration::days(len), hours_per_week: hours(h), tentative }
    })
}

fn arb_people() -> impl Strategy<Value = Vec<PersonLoad>> {
    prop::collection::vec(
        (
            prop::sample::select(vec!["senior", "analyst"]),
            prop::collection::vec(arb_booking(), 0..4),
        ),
        1..6,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (role, bookings))| person(&format!("p{i}"), role, 40, bookings))
            .collect()
    })
}

fn small_window() -> Window {
    Window { first: date("2027-03-15"), horizon: 20 }
}

proptest! {
    #[test]
    fn adding_an_allocation_never_makes_the_start_earlier(
        people in arb_people(), extra in arb_booking(), who in 0usize..6, h in 1i64..=40, count in 1i64..3, weeks in 1i64..6,
    ) {
        let p = pattern("senior", count, h, weeks);
        let before = earliest_start(&p, &people, &Calendar::default(), small_window());
        let mut more = people.clone();
        let index = who % more.len();
        more[index].bookings.push(extra);
        let after = earliest_start(&p, &more, &Calendar::default(), small_window());
        match (before.earliest_start, after.earliest_start) {
            (Some(b), Some(a)) => prop_assert!(a >= b),
            (None, Some(_)) => prop_assert!(false, "a booking made an impossible start possible"),
            _ => {}
        }
    }

    #[test]
    fn releasing_tentative_bookings_never_makes_the_start_later(
        people in arb_people(), h in 1i64..=40, weeks in 1i64..6,
    ) {
        let answer = earliest_start(&pattern("analyst", 1, h, weeks), &people, &Calendar::default(), small_window());
        if let Some(booked) = answer.earliest_start {
            let released = answer.earliest_start_ignoring_tentative.expect("releasing cannot remove a start");
            prop_assert!(released <= booked);
        }
    }

    #[test]
    fn the_start_is_a_monday_after_today_and_not_before_not_before(
        people in arb_people(), today_offset in 0i64..30, not_before_offset in 0i64..60, h in 1i64..=40,
    ) {
        let today = date("2027-03-01") + Duration::days(today_offset);
        let not_before = date("2027-03-01") + Duration::days(not_before_offset);
        let window = Window { first: crate::domain::calendar::first_candidate(today, Some(not_before)), horizon: 20 };
        let answer = earliest_start(&pattern("senior", 1, h, 2), &people, &Calendar::default(), window);
        for start in answer.per_requirement.iter().flatten().chain(answer.earliest_start.iter()) {
            prop_assert_eq!(start.weekday(), Weekday::Mon);
            prop_assert!(*start > today);
            prop_assert!(*start >= not_before);
        }
    }
}

fn arb_pattern() -> impl Strategy<Value = Pattern> {
    (1i64..3, 1i64..=40, 1i64..3, 1i64..=40, 1i64..6).prop_map(|(c1, h1, c2, h2, weeks)| Pattern {
        requirements: vec![
            Requirement { role: "senior".into(), count: c1, hours_per_week: hours(h1) },
            Requirement { role: "analyst".into(), count: c2, hours_per_week: hours(h2) },
        ],
        weeks,
    })
}

proptest! {
    #[test]
    fn precomputed_weeks_answer_exactly_as_the_bookings_do(
        people in arb_people(), p in arb_pattern(), offset in 0i64..4, holiday in 0i64..60,
        changed in 0usize..6, extra in arb_booking(),
    ) {
        let calendar = Calendar::new([date("2027-03-15") + Duration::days(holiday)]);
        let first = date("2027-03-15");
        let weeks = WeeklyFree::build(&people, &calendar, first, 30);
        let window = Window { first: first + Duration::weeks(offset), horizon: 20 };
        let direct = earliest_start(&p, &people, &calendar, window);
        match weeks.earliest_start(&p, window) {
            Some(answer) => prop_assert_eq!(answer, direct),
            None => prop_assert!(offset as usize + 20 + p.weeks as usize > 30),
        }
        // One person's bookings change: recomputing only them gives the same as building again.
        let mut more = people.clone();
        let index = changed % more.len();
        more[index].bookings.push(extra);
        let id = more[index].id.clone();
        let (updated, change) = weeks.with_changed(&[id], &[people[index].role.as_str()], &more);
        let rebuilt = WeeklyFree::build(&more, &calendar, first, 30);
        prop_assert_eq!(updated.earliest_start(&p, window), rebuilt.earliest_start(&p, window));
        // The counts made before the change, brought up to date by it, are those made after.
        let patched = weeks.tally(&p, window).map(|t| t.patched(&p, &change).expect("same weeks"));
        prop_assert_eq!(&patched, &rebuilt.tally(&p, window));
        if let Some(patched) = patched {
            prop_assert_eq!(Some(patched.answer(&p, window)), rebuilt.earliest_start(&p, window));
        }
        prop_assert_eq!(rebuilt.earliest_start(&p, window).is_some(), weeks.earliest_start(&p, window).is_some());
    }
}

#[test]
fn counts_made_in_weeks_from_another_monday_are_not_patched() {
    let people = vec![person("a", "senior", 40, vec![])];
    let calendar = Calendar::default();
    let p = pattern("senior", 1, 40, 4);
    let window = Window { first: date("2027-03-22"), horizon: 20 };
    let later = WeeklyFree::build(&people, &calendar, date("2027-03-22"), 30);
    let tally = later.tally(&p, window).unwrap();
    let earlier = WeeklyFree::build(&people, &calendar, date("2027-03-15"), 30);
    let (_, change) = earlier.with_changed(&["a".to_string()], &["senior"], &people);
    assert_eq!(tally.patched(&p, &change), None);
}

#[test]
fn a_window_outside_the_weeks_is_not_answered_from_them() {
    let people = vec![person("a", "senior", 40, vec![])];
    let weeks = WeeklyFree::build(&people, &Calendar::default(), date("2027-03-15"), 56);
    let p = pattern("senior", 1, 40, 4);
    assert!(weeks.earliest_start(&p, Window { first: date("2027-03-08"), horizon: 52 }).is_none());
    assert!(weeks.earliest_start(&p, Window { first: date("2027-03-22"), horizon: 52 }).is_none());
    assert!(weeks.earliest_start(&p, Window { first: date("2027-03-15"), horizon: 52 }).is_some());
}

#[test]
fn a_person_whose_role_changed_leaves_their_old_role_in_the_weeks() {
    let first = date("2027-03-15");
    let calendar = Calendar::default();
    let before = vec![
        person("a", "senior", 40, vec![]),
        person("b", "senior", 40, vec![]),
        person("c", "analyst", 40, vec![]),
    ];
    let weeks = WeeklyFree::build(&before, &calendar, first, 30);
    let two_seniors = pattern("senior", 2, 40, 4);
    let two_analysts = pattern("analyst", 2, 40, 4);
    let window = Window { first, horizon: 20 };
    assert!(weeks.earliest_start(&two_seniors, window).unwrap().earliest_start.is_some());
    assert!(weeks.earliest_start(&two_analysts, window).unwrap().earliest_start.is_none());
    // "a" is an analyst now: one senior is left, and there are two analysts.
    let mut after = before.clone();
    after[0].role = "analyst".into();
    let (updated, change) = weeks.with_changed(&["a".to_string()], &["senior"], &after);
    let rebuilt = WeeklyFree::build(&after, &calendar, first, 30);
    for p in [&two_seniors, &two_analysts] {
        assert_eq!(updated.earliest_start(p, window), rebuilt.earliest_start(p, window));
        let patched = weeks.tally(p, window).unwrap().patched(p, &change).unwrap();
        assert_eq!(Some(patched), rebuilt.tally(p, window));
    }
    assert!(updated.earliest_start(&two_seniors, window).unwrap().earliest_start.is_none());
    assert!(updated.earliest_start(&two_analysts, window).unwrap().earliest_start.is_some());
}
