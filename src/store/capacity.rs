//! The capacity data the earliest-start engine needs: every active person with their bookings and
//! time off, and the holidays.
//!
//! A large firm has tens of thousands of bookings, and reading them for every answer would cost
//! more than the rule. So the data is kept in memory, stamped with the `capacity` row of
//! `data_versions`, which triggers bump on every change to people, allocations, time off and
//! holidays (an import, a hold, a release) — in the same transaction, on every instance's
//! database. Each answer checks the stamp with one small query and reloads when it moved.
//! A reload reads each table in bulk with `Store::json_rows`.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use sqlx::Row;

use super::Store;
use crate::domain::capacity::{Booking, PersonLoad};
use crate::domain::hours::Hours;

/// Every active person with all their bookings and time off, and every holiday.
#[derive(Debug, Default)]
pub struct Capacity {
    pub people: Vec<PersonLoad>,
    pub holidays: Vec<NaiveDate>,
}

/// The last capacity read, with the data version it was read at.
pub(super) type CapacityCache = tokio::sync::Mutex<Option<(i64, Arc<Capacity>)>>;

impl Store {
    /// The firm's current capacity data, from memory when nothing changed since it was read.
    pub async fn capacity(&self) -> anyhow::Result<Arc<Capacity>> {
        let version: i64 = sqlx::query("SELECT version FROM data_versions WHERE name = 'capacity'")
            .fetch_one(&self.pool)
            .await
            .context("reading the capacity version")?
            .get(0);
        let mut cached = self.capacity_cache.lock().await;
        if let Some((at, capacity)) = cached.as_ref() {
            if *at == version {
                return Ok(capacity.clone());
            }
        }
        // Read after the version: a change in between makes the next answer reload again.
        let capacity = Arc::new(self.load_capacity().await?);
        *cached = Some((version, capacity.clone()));
        Ok(capacity)
    }

    async fn load_capacity(&self) -> anyhow::Result<Capacity> {
        let people: Vec<(String, String, f64)> =
            self.json_rows("id, role, weekly_hours", "FROM people WHERE active", &[]).await.context("loading people")?;
        let bookings: Vec<(String, String, String, f64, String)> = self
            .json_rows(
                "a.person, a.start_date, a.end_date, a.hours_per_week, a.status",
                "FROM allocations a JOIN people p ON p.id = a.person WHERE p.active",
                &[],
            )
            .await
            .context("loading allocations")?;
        let time_off: Vec<(String, String, String)> = self
            .json_rows("t.person, t.start_date, t.end_date", "FROM time_off t JOIN people p ON p.id = t.person WHERE p.active", &[])
            .await
            .context("loading time off")?;
        let holidays: Vec<(String,)> = self.json_rows("date", "FROM holidays", &[]).await.context("loading holidays")?;

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
        let index: HashMap<String, usize> = people.iter().enumerate().map(|(i, p)| (p.id.clone(), i)).collect();
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
        let holidays = holidays.iter().map(|(date,)| parse_date(date)).collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Capacity { people, holidays })
    }
}

fn parse_date(text: &str) -> anyhow::Result<NaiveDate> {
    text.parse().with_context(|| format!("bad date '{text}' in the database"))
}
