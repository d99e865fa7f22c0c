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

/// A stored `YYYY-MM-DD` date (ISO 8601's own parser: the format-string one was a tenth of
/// reading a large firm's capacity).
pub(super) fn parse_date(text: &str) -> anyhow::Result<NaiveDate> {
    text.parse::<NaiveDate>().with_context(|| format!("bad date '{text}' in the database"))
}

impl Store {
    /// True when no package has been imported yet (the console then loads the demo firm).
    pub async fn is_empty(&self) -> anyhow::Result<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM packages").fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>("n")? == 0)
    }

    /// The packages a seller may be offered: those the last import did not retire (shared
    /// with the catalogue in memory, not copied for each question).
    pub async fn packages(&self) -> anyhow::Result<Arc<OfferedPackages>> {
        Ok(self.catalogue().await?.offered.clone())
    }

    /// One package by id, retired or not: a deal keeps the package it was sold on.
    pub async fn package_by_id(&self, id: &str) -> anyhow::Result<Option<Package>> {
        let catalogue = self.catalogue().await?;
        Ok(catalogue.packages.iter().find(|(p, _)| p.id == id).map(|(p, _)| p.clone()))
    }

    /// Every package, retired ones included (history and deals keep naming them).
    pub async fn all_packages(&self) -> anyhow::Result<Vec<Package>> {
        let catalogue = self.catalogue().await?;
        Ok(catalogue.packages.iter().map(|(p, _)| p.clone()).collect())
    }

    /// A package's staffing pattern, most senior role first.
    pub async fn package_roles(&self, package: &str) -> anyhow::Result<Vec<PackageRole>> {
        let catalogue = self.catalogue().await?;
        Ok(catalogue.package_roles.get(package).cloned().unwrap_or_default())
    }

    /// Every role, retired or not (names for what deals and packages still refer to).
    pub async fn roles(&self) -> anyhow::Result<Vec<Role>> {
        let catalogue = self.catalogue().await?;
        Ok(catalogue.roles.iter().map(|(r, _)| r.clone()).collect())
    }

    /// The roles a seller may ask for: those the last import did not retire.
    pub async fn offered_roles(&self) -> anyhow::Result<Vec<Role>> {
        let catalogue = self.catalogue().await?;
        Ok(catalogue.roles.iter().filter(|(_, retired)| !retired).map(|(r, _)| r.clone()).collect())
    }

    /// The projects of `package` in history.csv, ordered by id.
    pub async fn history(&self, package: &str) -> anyhow::Result<Arc<Vec<HistoryRow>>> {
        let all = self.history_by_package().await?;
        Ok(all.get(package).cloned().unwrap_or_default())
    }

    /// Every package's projects in history.csv, by package id: one load while unchanged.
    pub async fn history_by_package(
        &self,
    ) -> anyhow::Result<Arc<HashMap<String, Arc<Vec<HistoryRow>>>>> {
        self.versioned(&self.caches.history, |snapshot| self.load_history(snapshot)).await
    }

    /// Every history row, decoded.
    pub(super) async fn read_history(
        &self,
        conn: &mut sqlx::AnyConnection,
    ) -> anyhow::Result<Vec<HistoryRow>> {
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
                &mut *conn,
                "id, client, package, start_date, end_date, effort_hours, planned_end, sold_margin, closed_margin, change_orders, \
                 seller, deal, sold_roles, staffed_roles",
                "FROM history",
            )
            .await
            .context("loading history")?;
        let mut history = Vec::with_capacity(rows.len());
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
                package,
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
            history.push(row);
        }
        Ok(history)
    }

    pub(super) async fn load_history(
        &self,
        mut snapshot: super::cache::Snapshot,
    ) -> anyhow::Result<HashMap<String, Arc<Vec<HistoryRow>>>> {
        let rows = self.read_history(&mut snapshot.tx).await?;
        snapshot.tx.commit().await.context("ending the history snapshot")?;
        let mut by_package: HashMap<String, Vec<HistoryRow>> = HashMap::new();
        for row in rows {
            by_package.entry(row.package.clone()).or_default().push(row);
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

    /// Every deliverable, decoded, with whether it is retired.
    pub(super) async fn read_deliverables(
        &self,
        conn: &mut sqlx::AnyConnection,
    ) -> anyhow::Result<Vec<(Deliverable, bool)>> {
        type Row = (String, String, String, String, f64, f64, String, String, i64);
        let rows: Vec<Row> = self
            .json_rows(
                &mut *conn,
                "id, name, aliases, category, effort_hours, price, depends_on, description, \
                 CASE WHEN retired THEN 1 ELSE 0 END",
                "FROM deliverables",
            )
            .await
            .context("loading deliverables")?;
        let deliverables = rows
            .into_iter()
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
                    retired,
                )|
                 -> anyhow::Result<(Deliverable, bool)> {
                    Ok((
                        Deliverable {
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
                        },
                        retired != 0,
                    ))
                },
            )
            .collect::<anyhow::Result<_>>()?;
        Ok(deliverables)
    }

    async fn load_library(&self, mut snapshot: super::cache::Snapshot) -> anyhow::Result<Library> {
        let mut deliverables: Vec<Deliverable> = self
            .read_deliverables(&mut snapshot.tx)
            .await?
            .into_iter()
            .filter(|(_, retired)| !retired)
            .map(|(d, _)| d)
            .collect();
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
            .filter(|item: &anyhow::Result<PackageItem>| {
                item.as_ref().map_or(true, |i| {
                    deliverables.binary_search_by(|d| d.id.as_str().cmp(&i.deliverable)).is_ok()
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Library::new(deliverables, items))
    }
}

/// A `package_roles` row as the database gives it.
pub(super) fn package_role(
    (package, role, count, hours): (String, String, i64, f64),
) -> PackageRole {
    PackageRole { package, role, count, hours_per_week: Hours::from_f64(hours) }
}

pub(super) fn split_list(text: &str) -> Vec<String> {
    text.split(';').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}
