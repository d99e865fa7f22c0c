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
use crate::domain::capacity::{Booking, PersonLoad};
use crate::domain::hours::Hours;

/// Every active person with all their bookings and time off, and every holiday.
#[derive(Debug, Default)]
pub struct Capacity {
    pub people: Vec<PersonLoad>,
    pub holidays: Vec<NaiveDate>,
    /// The data version this was read at.
    pub version: i64,
}

impl super::Tx {
    /// Locks the capacity data for the rest of this transaction and returns its version, so a
    /// hold placed on a `capacity()` read can check that nothing changed in between.
    pub async fn lock_capacity(&mut self) -> super::StoreResult<i64> {
        super::cache::lock_version(self.conn(), "capacity").await
    }
}

impl Store {
    /// The firm's current capacity data, from memory when nothing changed since it was read.
    pub async fn capacity(&self) -> anyhow::Result<Arc<Capacity>> {
        self.versioned(&self.caches.capacity, |snapshot| self.load_capacity(snapshot)).await
    }

    async fn load_capacity(&self, snapshot: Snapshot) -> anyhow::Result<Capacity> {
        let Snapshot { mut tx, version } = snapshot;
        let people: Vec<(String, String, f64)> = self
            .json_rows(&mut *tx, "id, role, weekly_hours", "FROM people WHERE active")
            .await
            .context("loading people")?;
        let bookings: Vec<(String, String, String, f64, String)> = self
            .json_rows(
                &mut *tx,
                "a.person, a.start_date, a.end_date, a.hours_per_week, a.status",
                "FROM allocations a JOIN people p ON p.id = a.person WHERE p.active",
            )
            .await
            .context("loading allocations")?;
        let time_off: Vec<(String, String, String)> = self
            .json_rows(
                &mut *tx,
                "t.person, t.start_date, t.end_date",
                "FROM time_off t JOIN people p ON p.id = t.person WHERE p.active",
            )
            .await
            .context("loading time off")?;
        let holidays: Vec<(String,)> =
            self.json_rows(&mut *tx, "date", "FROM holidays").await.context("loading holidays")?;
        // End the snapshot explicitly: a dropped transaction's rollback is only queued, and the
        // connection would go back to the pool still read-only.
        tx.commit().await.context("ending the capacity snapshot")?;

        let mut people: Vec<PersonLoad> = people
            .into_iter()
            .map(|(id, role, weekly)| PersonLoad {
                id,
                role,
                weekly_hours: Hours::from_f64(weekly),
                bookings: Vec::new(),
                time_off: Vec::new(),
            })
            .collect();
        people.sort_by(|a, b| a.id.cmp(&b.id));
        let index: HashMap<String, usize> =
            people.iter().enumerate().map(|(i, p)| (p.id.clone(), i)).collect();
        for (person, start, end, hours, status) in bookings {
            if let Some(&i) = index.get(&person) {
                people[i].bookings.push(Booking {
                    start: parse_date(&start)?,
                    end: parse_date(&end)?,
                    hours_per_week: Hours::from_f64(hours),
                    tentative: status == "tentative",
                });
            }
        }
        for (person, start, end) in time_off {
            if let Some(&i) = index.get(&person) {
                people[i].time_off.push((parse_date(&start)?, parse_date(&end)?));
            }
        }
        let holidays =
            holidays.iter().map(|(date,)| parse_date(date)).collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Capacity { people, holidays, version })
    }
}
