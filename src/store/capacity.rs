//! The earliest-start loader: active people of some roles with their bookings and time off in a
//! date range, and the holidays in it.
//!
//! A large firm has tens of thousands of bookings in a year, and handing them to sqlx one row at a
//! time costs more than the rule itself. Each table is therefore read as one JSON array built by
//! the database (`json_group_array` on SQLite, `json_agg` on PostgreSQL) and parsed with serde.

use std::collections::HashMap;

use anyhow::Context;
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use sqlx::Row;

use super::{Backend, Store};
use crate::domain::capacity::{Booking, PersonLoad};
use crate::domain::hours::Hours;

impl Store {
    /// Active people of `roles` with their bookings and time off overlapping `from..=to`, and the
    /// holidays in that range.
    pub async fn capacity(&self, roles: &[String], from: NaiveDate, to: NaiveDate) -> anyhow::Result<(Vec<PersonLoad>, Vec<NaiveDate>)> {
        if roles.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let (from, to) = (from.to_string(), to.to_string());
        let in_roles = (4..4 + roles.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        // $1 and $2 bound the range, $3 is `active`, $4… are the roles.
        let of_people = format!("p.active = $3 AND p.role IN ({in_roles}) AND $1 <= $2");
        let people: Vec<(String, String, f64)> =
            self.json_rows("p.id, p.role, p.weekly_hours", &format!("FROM people p WHERE {of_people}"), &from, &to, roles).await?;
        let bookings: Vec<(String, String, String, f64, String)> = self
            .json_rows(
                "a.person, a.start_date, a.end_date, a.hours_per_week, a.status",
                &format!(
                    "FROM allocations a JOIN people p ON p.id = a.person WHERE a.end_date >= $1 AND a.start_date <= $2 AND {of_people}"
                ),
                &from,
                &to,
                roles,
            )
            .await
            .context("loading allocations")?;
        let time_off: Vec<(String, String, String)> = self
            .json_rows(
                "t.person, t.start_date, t.end_date",
                &format!("FROM time_off t JOIN people p ON p.id = t.person WHERE t.end_date >= $1 AND t.start_date <= $2 AND {of_people}"),
                &from,
                &to,
                roles,
            )
            .await
            .context("loading time off")?;

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
        let holidays = sqlx::query("SELECT date FROM holidays WHERE date >= $1 AND date <= $2")
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await
            .context("loading holidays")?
            .iter()
            .map(|r| parse_date(&r.get::<String, _>(0)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok((people, holidays))
    }

    /// Runs `SELECT <columns> <rest>` as one JSON array of row arrays and parses it.
    async fn json_rows<T: DeserializeOwned>(
        &self,
        columns: &str,
        rest: &str,
        from: &str,
        to: &str,
        roles: &[String],
    ) -> anyhow::Result<Vec<T>> {
        let sql = match self.backend {
            Backend::Sqlite => format!("SELECT json_group_array(json_array({columns})) {rest}"),
            Backend::Postgres => format!("SELECT COALESCE(json_agg(json_build_array({columns})), '[]'::json)::text {rest}"),
        };
        let mut query = sqlx::query(&sql).bind(from.to_string()).bind(to.to_string()).bind(true);
        for role in roles {
            query = query.bind(role.clone());
        }
        let json: String = query.fetch_one(&self.pool).await.context("loading capacity")?.get(0);
        serde_json::from_str(&json).context("reading capacity rows")
    }
}

fn parse_date(text: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").with_context(|| format!("bad date '{text}' in the database"))
}
