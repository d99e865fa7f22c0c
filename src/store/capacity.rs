//! The capacity data the earliest-start engine needs: every active person with their bookings and
//! time off, and the holidays. A large firm has tens of thousands of bookings, so this is kept in
//! memory and read again only when it changed (see `cache.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;

use super::cache::Snapshot;
use super::firm::parse_date;
use super::Store;
use crate::domain::calendar::Calendar;
use crate::domain::capacity::{
    earliest_start, Booking, Changed, EarliestStart, Pattern, PersonLoad, Tally, WeeklyFree, Window,
};
use crate::domain::hours::Hours;

/// Every active person with all their bookings and time off, and every holiday.
#[derive(Debug, Default)]
pub struct Capacity {
    /// Sorted by id; shared with the next version when only a few people changed.
    pub people: Vec<Arc<PersonLoad>>,
    pub holidays: Vec<NaiveDate>,
    /// The data version this was read at.
    pub version: i64,
    /// Everyone's free hours per week, computed on the first question that needs them.
    weeks: std::sync::Mutex<Option<Arc<WeeklyFree>>>,
    /// Answers already given from this data: sellers ask about the same few packages all day.
    /// By pattern, then window: a question is looked up without copying its pattern.
    answers: std::sync::Mutex<HashMap<Pattern, HashMap<Window, Answered>>>,
}

/// An answer given from these data, with the counts it came from when it came from the weekly
/// free hours: the next version of the data after a hold brings those up to date for the
/// people it changed, and answers again without counting everyone else.
#[derive(Debug, Clone)]
struct Answered {
    answer: EarliestStart,
    tally: Option<Arc<Tally>>,
}

/// How many earliest-start answers one version of the data remembers.
const ANSWERS_KEPT: usize = 1024;

impl Capacity {
    pub fn new(people: Vec<Arc<PersonLoad>>, holidays: Vec<NaiveDate>, version: i64) -> Capacity {
        Capacity {
            people,
            holidays,
            version,
            weeks: Default::default(),
            answers: Default::default(),
        }
    }

    /// SPEC 4.2 for `pattern` in `window`, from these data: remembered per question, from the
    /// weekly free hours (`weeks_from`, the horizon plus a year of pattern) when the window is
    /// inside them, else from the bookings.
    pub fn earliest_start(
        &self,
        pattern: &Pattern,
        window: Window,
        weeks_from: NaiveDate,
        weeks: usize,
    ) -> EarliestStart {
        let remembered = self
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(pattern)
            .and_then(|by_window| by_window.get(&window).map(|a| a.answer.clone()));
        if let Some(answer) = remembered {
            return answer;
        }
        let answered = match self.weekly_free(weeks_from, weeks).tally(pattern, window) {
            Some(tally) => {
                Answered { answer: tally.answer(pattern, window), tally: Some(tally.into()) }
            }
            None => Answered {
                answer: earliest_start(pattern, &self.people, &self.calendar(), window),
                tally: None,
            },
        };
        let answer = answered.answer.clone();
        self.remember(pattern, window, answered);
        answer
    }

    fn remember(&self, pattern: &Pattern, window: Window, answered: Answered) {
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        if answers.values().map(HashMap::len).sum::<usize>() >= ANSWERS_KEPT {
            answers.clear();
        }
        answers.entry(pattern.clone()).or_default().insert(window, answered);
    }

    /// The answers of `before` counted from its weekly free hours, brought up to these data
    /// by `changed` (the people a hold changed): each answer costs its changed people's weeks,
    /// not a count of everyone in its roles.
    fn answers_patched(&self, before: &Capacity, changed: &Changed) {
        // Built whole and put in once: `before` holds at most `ANSWERS_KEPT` answers.
        let before = before.answers.lock().unwrap_or_else(|p| p.into_inner());
        let mut patched: HashMap<Pattern, HashMap<Window, Answered>> = HashMap::new();
        for (pattern, by_window) in before.iter() {
            for (window, answered) in by_window {
                let Some(tally) = answered.tally.as_ref().and_then(|t| t.patched(pattern, changed))
                else {
                    continue;
                };
                let answer = tally.answer(pattern, *window);
                let answered = Answered { answer, tally: Some(tally.into()) };
                patched.entry(pattern.clone()).or_default().insert(*window, answered);
            }
        }
        *self.answers.lock().unwrap_or_else(|p| p.into_inner()) = patched;
    }

    pub fn calendar(&self) -> Calendar {
        Calendar::new(self.holidays.iter().copied())
    }

    /// Everyone's free hours per week from the Monday `first` for at least `weeks` weeks:
    /// computed once, and again only when a question needs other weeks.
    pub fn weekly_free(&self, first: NaiveDate, weeks: usize) -> Arc<WeeklyFree> {
        // Held while computing, so concurrent questions wait for one computation.
        let mut slot = self.weeks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(free) = slot.as_ref() {
            let (from, covered) = free.span();
            if from == first && covered >= weeks {
                return free.clone();
            }
        }
        let free = Arc::new(WeeklyFree::build(&self.people, &self.calendar(), first, weeks));
        *slot = Some(free.clone());
        free
    }
}

impl super::Tx {
    /// Locks the capacity data for the rest of this transaction and returns its version, so a
    /// hold placed on a `capacity()` read can check that nothing changed in between.
    pub async fn lock_capacity(&mut self) -> super::StoreResult<i64> {
        super::cache::lock_version(self.conn(), "capacity").await
    }
}

impl Store {
    /// The firm's current capacity data, from memory when nothing changed since it was read;
    /// after a few holds, only the people they changed are read again.
    pub async fn capacity(&self) -> anyhow::Result<Arc<Capacity>> {
        self.versioned_with(
            &self.caches.capacity,
            |old, snapshot| self.capacity_since(old, snapshot),
            |Snapshot { tx, version }| async move {
                let (mut people, holidays) = self.read_people(tx, None).await?;
                people.sort_by(|a, b| a.id.cmp(&b.id));
                Ok(Capacity::new(people, holidays, version))
            },
        )
        .await
    }

    /// `old` brought up to the snapshot's version when every change since came from holds
    /// (`capacity_changes`) and touched few people; `None` when it must be read whole.
    async fn capacity_since(
        &self,
        old: Arc<Capacity>,
        mut snapshot: Snapshot,
    ) -> anyhow::Result<Result<Capacity, Snapshot>> {
        let changes: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT from_version, to_version, people FROM capacity_changes \
             WHERE from_version >= $1 AND to_version <= $2 ORDER BY from_version",
        )
        .bind(old.version)
        .bind(snapshot.version)
        .fetch_all(&mut *snapshot.tx)
        .await
        .context("reading the capacity changes")?;
        let Some(changed) = changed_people(old.version, snapshot.version, &changes) else {
            return Ok(Err(snapshot));
        };
        let version = snapshot.version;
        let (fresh, _) = self.read_people(snapshot.tx, Some(&changed)).await?;
        let people = with_people_changed(&old.people, &changed, &fresh);
        let next = Capacity::new(people, old.holidays.clone(), version);
        let weeks = old.weeks.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(weeks) = weeks {
            let (weeks, change) =
                weeks.with_changed(&changed, &roles_of(&old.people, &changed), &fresh);
            *next.weeks.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(weeks));
            next.answers_patched(&old, &change);
        }
        Ok(Ok(next))
    }

    /// The active people (all, or those of `only`) with their bookings and time off, and the
    /// holidays; ends the snapshot.
    async fn read_people(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        only: Option<&[String]>,
    ) -> anyhow::Result<(Vec<Arc<PersonLoad>>, Vec<NaiveDate>)> {
        let (filter, binds) = match only {
            Some(ids) => {
                let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
                (format!(" AND p.id IN ({})", marks.join(", ")), ids.to_vec())
            }
            None => (String::new(), Vec::new()),
        };
        let people: Vec<(String, String, f64)> = self
            .json_rows_bound(
                &mut *tx,
                "p.id, p.role, p.weekly_hours",
                &format!("FROM people p WHERE p.active{filter}"),
                &binds,
            )
            .await
            .context("loading people")?;
        let bookings: Vec<(String, String, String, f64, String)> = self
            .json_rows_bound(
                &mut *tx,
                "a.person, a.start_date, a.end_date, a.hours_per_week, a.status",
                &format!(
                    "FROM allocations a JOIN people p ON p.id = a.person WHERE p.active{filter}"
                ),
                &binds,
            )
            .await
            .context("loading allocations")?;
        let time_off: Vec<(String, String, String)> = self
            .json_rows_bound(
                &mut *tx,
                "t.person, t.start_date, t.end_date",
                &format!("FROM time_off t JOIN people p ON p.id = t.person WHERE p.active{filter}"),
                &binds,
            )
            .await
            .context("loading time off")?;
        let holidays: Vec<(String,)> = match only {
            Some(_) => Vec::new(),
            None => self
                .json_rows(&mut *tx, "date", "FROM holidays")
                .await
                .context("loading holidays")?,
        };
        // End the snapshot explicitly: a dropped transaction's rollback is only queued, and the
        // connection would go back to the pool still read-only.
        tx.commit().await.context("ending the capacity snapshot")?;

        let mut loads: Vec<PersonLoad> = people
            .into_iter()
            .map(|(id, role, weekly)| PersonLoad {
                id,
                role,
                weekly_hours: Hours::from_f64(weekly),
                bookings: Vec::new(),
                time_off: Vec::new(),
            })
            .collect();
        let index: HashMap<String, usize> =
            loads.iter().enumerate().map(|(i, p)| (p.id.clone(), i)).collect();
        for (person, start, end, hours, status) in bookings {
            if let Some(&i) = index.get(&person) {
                loads[i].bookings.push(Booking {
                    start: parse_date(&start)?,
                    end: parse_date(&end)?,
                    hours_per_week: Hours::from_f64(hours),
                    tentative: status == "tentative",
                });
            }
        }
        for (person, start, end) in time_off {
            if let Some(&i) = index.get(&person) {
                loads[i].time_off.push((parse_date(&start)?, parse_date(&end)?));
            }
        }
        // In one order whichever rows were read, so a person read again compares equal.
        for load in &mut loads {
            load.bookings.sort_by_key(|b| (b.start, b.end, b.hours_per_week, b.tentative));
            load.time_off.sort();
        }
        let holidays =
            holidays.iter().map(|(date,)| parse_date(date)).collect::<anyhow::Result<Vec<_>>>()?;
        Ok((loads.into_iter().map(Arc::new).collect(), holidays))
    }
}

/// How many people a run of hold changes may touch before the whole capacity is read again.
const MOST_PEOPLE_UPDATED: usize = 500;

/// The roles the people of `changed` hold in `people` (sorted by id).
fn roles_of<'a>(people: &'a [Arc<PersonLoad>], changed: &[String]) -> Vec<&'a str> {
    let mut roles: Vec<&str> = changed
        .iter()
        .filter_map(|id| {
            let at = people.partition_point(|p| p.id < *id);
            people.get(at).filter(|p| p.id == *id).map(|p| p.role.as_str())
        })
        .collect();
    roles.sort_unstable();
    roles.dedup();
    roles
}

/// `people` (sorted by id) with the people of `changed` replaced by those of `fresh` (the ones
/// still active), still sorted: found by binary search and copied in runs, where sorting 50,000
/// people again would take longer than the rest of the update.
fn with_people_changed(
    people: &[Arc<PersonLoad>],
    changed: &[String],
    fresh: &[Arc<PersonLoad>],
) -> Vec<Arc<PersonLoad>> {
    let mut gone: Vec<&str> = changed.iter().map(String::as_str).collect();
    gone.sort_unstable();
    let mut added: Vec<&Arc<PersonLoad>> = fresh.iter().collect();
    added.sort_by(|a, b| a.id.cmp(&b.id));
    let mut next = Vec::with_capacity(people.len() + added.len());
    let mut rest = people;
    let (mut gone, mut added) = (gone.as_slice(), added.as_slice());
    loop {
        // The next place the list changes: a person to drop or one to put in.
        let drop_at = gone.first().map(|id| rest.partition_point(|p| p.id.as_str() < *id));
        let add_at = added.first().map(|p| rest.partition_point(|q| q.id < p.id));
        let at = match (drop_at, add_at) {
            (None, None) => break,
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
        };
        next.extend_from_slice(&rest[..at]);
        rest = &rest[at..];
        if add_at == Some(at) {
            next.push(added[0].clone());
            added = &added[1..];
        }
        if drop_at == Some(at) {
            if rest.first().is_some_and(|p| p.id == gone[0]) {
                rest = &rest[1..];
            }
            gone = &gone[1..];
        }
    }
    next.extend_from_slice(rest);
    next
}

/// The people changed between versions `from` and `to` when `changes` (ordered by
/// `from_version`) chain from one to the other without a gap; `None` when something else changed
/// capacity in between (an import), or too many people changed.
fn changed_people(from: i64, to: i64, changes: &[(i64, i64, String)]) -> Option<Vec<String>> {
    let mut at = from;
    let mut people: Vec<String> = Vec::new();
    for (change_from, change_to, changed) in changes {
        if *change_from != at {
            return None;
        }
        at = *change_to;
        for person in changed.split(';').filter(|p| !p.is_empty()) {
            if !people.iter().any(|p| p == person) {
                people.push(person.to_string());
            }
        }
    }
    (at == to && people.len() <= MOST_PEOPLE_UPDATED).then_some(people)
}

impl super::Tx {
    /// Records that this transaction's hold writes, since the capacity version was `from`,
    /// changed only `people`: other instances then read just them again.
    pub(super) async fn log_capacity_change(
        &mut self,
        from: i64,
        people: &[String],
    ) -> super::StoreResult<()> {
        let to = super::cache::lock_version(self.conn(), "capacity").await?;
        if to == from {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO capacity_changes (from_version, to_version, people) VALUES ($1, $2, $3)",
        )
        .bind(from)
        .bind(to)
        .bind(people.join(";"))
        .execute(self.conn())
        .await?;
        // Old changes serve nobody: an instance that far behind reads everything again.
        sqlx::query("DELETE FROM capacity_changes WHERE to_version < $1")
            .bind(from - 10_000)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// The people booked by the holds `sql` selects (`SELECT DISTINCT person FROM allocations
    /// WHERE …`), bound to `value`.
    pub(super) async fn hold_people(
        &mut self,
        sql: &str,
        value: &str,
    ) -> super::StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(sql).bind(value).fetch_all(self.conn()).await?;
        Ok(rows.into_iter().map(|(p,)| p).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::{changed_people, with_people_changed};
    use crate::domain::capacity::PersonLoad;
    use crate::domain::hours::Hours;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn person(id: &str, role: &str) -> Arc<PersonLoad> {
        Arc::new(PersonLoad {
            id: id.to_string(),
            role: role.to_string(),
            weekly_hours: Hours::from_f64(40.0),
            bookings: Vec::new(),
            time_off: Vec::new(),
        })
    }

    proptest! {
        /// The people after a change are those a sort of the kept and the fresh would give.
        #[test]
        fn changed_people_are_replaced_in_place_as_a_sort_would(
            before in proptest::collection::btree_set(0u16..300, 0..60),
            changed in proptest::collection::btree_set(0u16..300, 0..12),
            still_active in proptest::collection::vec(any::<bool>(), 12),
        ) {
            let id = |n: &u16| format!("p{n:03}");
            let people: Vec<_> = before.iter().map(|n| person(&id(n), "old")).collect();
            let changed: Vec<String> = changed.iter().map(id).collect();
            let fresh: Vec<_> = changed
                .iter()
                .zip(&still_active)
                .filter(|(_, active)| **active)
                .map(|(id, _)| person(id, "new"))
                .rev()
                .collect();
            let mut expected: Vec<_> =
                people.iter().filter(|p| !changed.contains(&p.id)).cloned().collect();
            expected.extend(fresh.iter().cloned());
            expected.sort_by(|a, b| a.id.cmp(&b.id));
            let got = with_people_changed(&people, &changed, &fresh);
            let shown = |list: &[Arc<PersonLoad>]| {
                list.iter().map(|p| format!("{}:{}", p.id, p.role)).collect::<Vec<_>>()
            };
            prop_assert_eq!(shown(&got), shown(&expected));
        }
    }

    fn change(from: i64, to: i64, people: &str) -> (i64, i64, String) {
        (from, to, people.to_string())
    }

    #[test]
    fn only_an_unbroken_chain_of_hold_changes_is_applied_in_place() {
        let changes = [change(4, 6, "p1;p2"), change(6, 7, "p2;p3")];
        assert_eq!(
            changed_people(4, 7, &changes),
            Some(vec!["p1".into(), "p2".into(), "p3".into()])
        );
        // An import bumped the version in between: no change covers 6 to 9.
        assert_eq!(changed_people(4, 9, &[change(4, 6, "p1"), change(9, 10, "p2")]), None);
        // The newest change is not there (yet): read everything.
        assert_eq!(changed_people(4, 8, &changes), None);
        // Something before the first change.
        assert_eq!(changed_people(3, 7, &changes), None);
        assert_eq!(changed_people(5, 5, &[]), Some(vec![]));
    }
}
