//! The firm's data in the database as the engines read it: packages, roles, history, the
//! library. Writing it is `import.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use sqlx::Row;

use super::Store;
use crate::domain::firm::*;
use crate::domain::hours::Hours;
use crate::domain::library::Library;

pub(super) fn parse_date(text: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .with_context(|| format!("bad date '{text}' in the database"))
}

impl Store {
    /// True when no package has been imported yet (the console then loads the demo firm).
    pub async fn is_empty(&self) -> anyhow::Result<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM packages").fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>("n")? == 0)
    }

    pub async fn packages(&self) -> anyhow::Result<Vec<Package>> {
        let rows: Vec<(String, String, i64, String)> = sqlx::query_as(
            "SELECT id, name, duration_weeks, description FROM packages ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .context("loading packages")?;
        Ok(rows
            .into_iter()
            .map(|(id, name, duration_weeks, description)| Package {
                id,
                name,
                duration_weeks,
                description,
            })
            .collect())
    }

    pub async fn package_roles(&self, package: &str) -> anyhow::Result<Vec<PackageRole>> {
        let rows: Vec<(String, String, i64, f64)> = sqlx::query_as(
            "SELECT pr.package, pr.role, pr.count, pr.hours_per_week FROM package_roles pr \
             JOIN roles r ON r.id = pr.role WHERE pr.package = $1 ORDER BY r.rank DESC, pr.role",
        )
        .bind(package)
        .fetch_all(&self.pool)
        .await
        .context("loading package roles")?;
        Ok(rows
            .into_iter()
            .map(|(package, role, count, hours)| PackageRole {
                package,
                role,
                count,
                hours_per_week: Hours::from_f64(hours),
            })
            .collect())
    }

    pub async fn roles(&self) -> anyhow::Result<Vec<Role>> {
        let rows: Vec<(String, String, i64, String)> =
            sqlx::query_as("SELECT id, name, rank, description FROM roles ORDER BY rank DESC, id")
                .fetch_all(&self.pool)
                .await
                .context("loading roles")?;
        Ok(rows
            .into_iter()
            .map(|(id, name, rank, description)| Role { id, name, rank, description })
            .collect())
    }

    /// The projects of `package` in history.csv, ordered by id.
    pub async fn history(&self, package: &str) -> anyhow::Result<Arc<Vec<HistoryRow>>> {
        let all =
            self.versioned(&self.caches.history, |snapshot| self.load_history(snapshot)).await?;
        Ok(all.get(package).cloned().unwrap_or_default())
    }

    async fn load_history(
        &self,
        mut snapshot: super::cache::Snapshot,
    ) -> anyhow::Result<HashMap<String, Arc<Vec<HistoryRow>>>> {
        type Row = (
            String,
            String,
            String,
            String,
            String,
            f64,
            Option<String>,
            Option<f64>,
            Option<f64>,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = self
            .json_rows(
                &mut *snapshot.tx,
                "id, client, package, start_date, end_date, effort_hours, planned_end, sold_margin, closed_margin, change_orders, \
                 seller, deal, sold_roles, staffed_roles",
                "FROM history",
            )
            .await
            .context("loading history")?;
        snapshot.tx.commit().await.context("ending the history snapshot")?;
        let mut by_package: HashMap<String, Vec<HistoryRow>> = HashMap::new();
        for (
            id,
            client,
            package,
            start,
            end,
            effort_hours,
            planned_end,
            sold_margin,
            closed_margin,
            change_orders,
            seller,
            deal,
            sold_roles,
            staffed_roles,
        ) in rows
        {
            let counts = |text: Option<String>| -> anyhow::Result<Option<Vec<RoleCount>>> {
                text.map(|t| {
                    parse_role_counts(&t).map_err(|e| anyhow::anyhow!("history {id}: {e}"))
                })
                .transpose()
            };
            let (sold_roles, staffed_roles) = (counts(sold_roles)?, counts(staffed_roles)?);
            let row = HistoryRow {
                id,
                client,
                package: package.clone(),
                start: parse_date(&start)?,
                end: parse_date(&end)?,
                effort_hours,
                planned_end: planned_end.map(|d| parse_date(&d)).transpose()?,
                sold_margin,
                closed_margin,
                change_orders,
                seller,
                deal,
                sold_roles,
                staffed_roles,
            };
            by_package.entry(package).or_default().push(row);
        }
        Ok(by_package
            .into_iter()
            .map(|(package, mut rows)| {
                rows.sort_by(|a, b| a.id.cmp(&b.id));
                (package, Arc::new(rows))
            })
            .collect())
    }

    /// The deliverable library with every package's items, from memory while it is unchanged.
    pub async fn library(&self) -> anyhow::Result<Arc<Library>> {
        self.versioned(&self.caches.library, |snapshot| self.load_library(snapshot)).await
    }

    async fn load_library(&self, mut snapshot: super::cache::Snapshot) -> anyhow::Result<Library> {
        type Row = (String, String, String, String, f64, f64, String, String);
        let rows: Vec<Row> = self
            .json_rows(
                &mut *snapshot.tx,
                "id, name, aliases, category, effort_hours, price, depends_on, description",
                "FROM deliverables",
            )
            .await
            .context("loading deliverables")?;
        let mut deliverables: Vec<Deliverable> =
            rows.into_iter()
                .map(
                    |(
                        id,
                        name,
                        aliases,
                        category,
                        effort_hours,
                        price,
                        depends_on,
                        description,
                    )|
                     -> anyhow::Result<Deliverable> {
                        Ok(Deliverable {
                            id: id.clone(),
                            name,
                            aliases: split_list(&aliases),
                            category: Category::parse(&category).with_context(|| {
                                format!("deliverable {id}: unknown category '{category}'")
                            })?,
                            effort_hours,
                            price,
                            depends_on: split_list(&depends_on),
                            description,
                        })
                    },
                )
                .collect::<anyhow::Result<_>>()?;
        deliverables.sort_by(|a, b| a.id.cmp(&b.id));
        let items: Vec<(String, String, String)> = self
            .json_rows(&mut *snapshot.tx, "package, deliverable, inclusion", "FROM package_items")
            .await
            .context("loading package items")?;
        snapshot.tx.commit().await.context("ending the library snapshot")?;
        let items = items
            .into_iter()
            .map(|(package, deliverable, inclusion)| {
                let parsed = Inclusion::parse(&inclusion).with_context(|| {
                    format!("package item {package}/{deliverable}: unknown inclusion '{inclusion}'")
                })?;
                Ok(PackageItem { package, deliverable, inclusion: parsed })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Library { deliverables, items })
    }
}

pub(super) fn split_list(text: &str) -> Vec<String> {
    text.split(';').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}
