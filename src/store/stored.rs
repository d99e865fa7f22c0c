//! The rows an import compares its export with (`import::snapshot`): for each table whose file
//! is given, every stored row as a domain row, with whether it is live (not retired, active) and,
//! for allocations and time off, its row id. Keepable's own hold allocations are left out.

use anyhow::Context;
use sqlx::AnyConnection;

use super::firm::{package_role, parse_date};
use super::{Store, Tx};
use crate::domain::firm::*;
use crate::domain::hours::Hours;
use crate::import::snapshot::StoredFirm;

impl Store {
    /// The stored rows of the tables whose files are given.
    pub(super) async fn stored_firm(
        &self,
        tx: &mut Tx,
        files: &[&str],
    ) -> anyhow::Result<StoredFirm> {
        let has = |file: &str| files.contains(&file);
        let conn = tx.conn();
        let mut stored = StoredFirm::default();
        if has("roles.csv") {
            stored.roles = self.stored_roles(conn).await?;
        }
        if has("people.csv") {
            stored.people = self.stored_people(conn).await?;
        }
        if has("packages.csv") {
            stored.packages = self.stored_packages(conn).await?;
        }
        if has("package_roles.csv") {
            stored.package_roles = self.stored_package_roles(conn).await?;
        }
        if has("deliverables.csv") {
            stored.deliverables = self.stored_deliverables(conn).await?;
        }
        if has("package_items.csv") {
            stored.package_items = self.stored_package_items(conn).await?;
        }
        if has("holidays.csv") {
            stored.holidays = self.stored_holidays(conn).await?;
        }
        if has("allocations.csv") {
            stored.allocations = self.stored_allocations(conn).await?;
        }
        if has("time_off.csv") {
            stored.time_off = self.stored_time_off(conn).await?;
        }
        if has("history.csv") {
            stored.history = self.stored_history(conn).await?;
        }
        Ok(stored)
    }

    async fn stored_roles(&self, conn: &mut AnyConnection) -> anyhow::Result<Vec<(Role, bool)>> {
        let rows: Vec<(String, String, i64, String, i64)> = self
            .json_rows(
                conn,
                "id, name, rank, description, CASE WHEN retired THEN 1 ELSE 0 END",
                "FROM roles",
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, rank, description, retired)| {
                (Role { id, name, rank, description }, retired == 0)
            })
            .collect())
    }

    async fn stored_people(&self, conn: &mut AnyConnection) -> anyhow::Result<Vec<Person>> {
        type Row =
            (String, String, String, f64, i64, Option<String>, Option<String>, Option<String>);
        let rows: Vec<Row> = self
            .json_rows(
                conn,
                "id, name, role, weekly_hours, CASE WHEN active THEN 1 ELSE 0 END, slack_user_id, discord_user_id, email",
                "FROM people",
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, role, hours, active, slack_user_id, discord_user_id, email)| Person {
                id,
                name,
                role,
                weekly_hours: Hours::from_f64(hours),
                active: active != 0,
                slack_user_id,
                discord_user_id,
                email,
            })
            .collect())
    }

    async fn stored_packages(
        &self,
        conn: &mut AnyConnection,
    ) -> anyhow::Result<Vec<(Package, bool)>> {
        let rows: Vec<(String, String, i64, String, i64)> = self
            .json_rows(
                conn,
                "id, name, duration_weeks, description, CASE WHEN retired THEN 1 ELSE 0 END",
                "FROM packages",
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, duration_weeks, description, retired)| {
                (Package { id, name, duration_weeks, description }, retired == 0)
            })
            .collect())
    }

    async fn stored_package_roles(
        &self,
        conn: &mut AnyConnection,
    ) -> anyhow::Result<Vec<PackageRole>> {
        let rows: Vec<(String, String, i64, f64)> = self
            .json_rows(conn, "package, role, count, hours_per_week", "FROM package_roles")
            .await?;
        Ok(rows.into_iter().map(package_role).collect())
    }

    async fn stored_deliverables(
        &self,
        conn: &mut AnyConnection,
    ) -> anyhow::Result<Vec<(Deliverable, bool)>> {
        Ok(self
            .read_deliverables(conn)
            .await?
            .into_iter()
            .map(|(d, retired)| (d, !retired))
            .collect())
    }

    async fn stored_package_items(
        &self,
        conn: &mut AnyConnection,
    ) -> anyhow::Result<Vec<PackageItem>> {
        let rows: Vec<(String, String, String)> =
            self.json_rows(conn, "package, deliverable, inclusion", "FROM package_items").await?;
        rows.into_iter()
            .map(|(package, deliverable, inclusion)| {
                let inclusion = Inclusion::parse(&inclusion).with_context(|| {
                    format!("package item {package}/{deliverable}: unknown inclusion '{inclusion}'")
                })?;
                Ok(PackageItem { package, deliverable, inclusion })
            })
            .collect::<anyhow::Result<_>>()
    }

    async fn stored_holidays(&self, conn: &mut AnyConnection) -> anyhow::Result<Vec<Holiday>> {
        let rows: Vec<(String, String)> =
            self.json_rows(conn, "date, name", "FROM holidays").await?;
        rows.into_iter()
            .map(|(date, name)| Ok(Holiday { date: parse_date(&date)?, name }))
            .collect::<anyhow::Result<_>>()
    }

    async fn stored_allocations(
        &self,
        conn: &mut AnyConnection,
    ) -> anyhow::Result<Vec<(i64, Allocation)>> {
        type Row = (i64, Option<String>, String, String, String, String, f64, String);
        let rows: Vec<Row> = self
            .json_rows(
                conn,
                "id, source_id, person, project, start_date, end_date, hours_per_week, status",
                "FROM allocations WHERE hold_id IS NULL",
            )
            .await?;
        rows.into_iter()
            .map(|(row_id, id, person, project, start, end, hours, status)| {
                let status = AllocationStatus::parse(&status)
                    .with_context(|| format!("allocation {row_id}: unknown status '{status}'"))?;
                let allocation = Allocation {
                    id,
                    person,
                    project,
                    start: parse_date(&start)?,
                    end: parse_date(&end)?,
                    hours_per_week: Hours::from_f64(hours),
                    status,
                };
                Ok((row_id, allocation))
            })
            .collect::<anyhow::Result<_>>()
    }

    async fn stored_time_off(
        &self,
        conn: &mut AnyConnection,
    ) -> anyhow::Result<Vec<(i64, TimeOff)>> {
        let rows: Vec<(i64, Option<String>, String, String, String)> = self
            .json_rows(conn, "id, source_id, person, start_date, end_date", "FROM time_off")
            .await?;
        rows.into_iter()
            .map(|(row_id, id, person, start, end)| {
                Ok((
                    row_id,
                    TimeOff { id, person, start: parse_date(&start)?, end: parse_date(&end)? },
                ))
            })
            .collect::<anyhow::Result<_>>()
    }

    async fn stored_history(&self, conn: &mut AnyConnection) -> anyhow::Result<Vec<HistoryRow>> {
        self.read_history(conn).await
    }
}
