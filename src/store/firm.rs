//! The firm's data in the database: the import transaction and the engines' loaders.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

use super::Store;
use crate::domain::firm::*;
use crate::domain::hours::Hours;
use crate::domain::library::Library;
use crate::import::{check_references, sort_problems, ImportProblem, KnownIds, ParsedFirm};

/// Rows per file written by one import.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportSummary {
    pub rows: Vec<(&'static str, usize)>,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (file, count) in &self.rows {
            writeln!(f, "{file:<20} {count:>7} rows")?;
        }
        Ok(())
    }
}

/// A value bound into a batched statement.
enum Value {
    Text(String),
    OptText(Option<String>),
    Real(f64),
    OptReal(Option<f64>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
}

fn bind<'q>(query: Query<'q, Any, AnyArguments<'q>>, value: Value) -> Query<'q, Any, AnyArguments<'q>> {
    match value {
        Value::Text(v) => query.bind(v),
        Value::OptText(v) => query.bind(v),
        Value::Real(v) => query.bind(v),
        Value::OptReal(v) => query.bind(v),
        Value::Int(v) => query.bind(v),
        Value::OptInt(v) => query.bind(v),
        Value::Bool(v) => query.bind(v),
    }
}

/// `INSERT INTO table (columns) VALUES (…), (…) conflict` in batches.
async fn insert_rows(conn: &mut AnyConnection, table: &str, columns: &[&str], conflict: &str, rows: Vec<Vec<Value>>) -> anyhow::Result<()> {
    const BATCH_PARAMETERS: usize = 4000;
    let per_batch = (BATCH_PARAMETERS / columns.len()).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<Vec<Value>> = rows.by_ref().take(per_batch).collect();
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for (i, _) in batch.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let placeholders: Vec<String> = columns
                .iter()
                .map(|_| {
                    n += 1;
                    format!("${n}")
                })
                .collect();
            sql.push('(');
            sql.push_str(&placeholders.join(", "));
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(conflict);
        let mut query = sqlx::query(&sql);
        for value in batch.into_iter().flatten() {
            query = bind(query, value);
        }
        query.execute(&mut *conn).await.with_context(|| format!("writing {table}"))?;
    }
    Ok(())
}

fn date_text(date: NaiveDate) -> Value {
    Value::Text(date.to_string())
}

pub(super) fn parse_date(text: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").with_context(|| format!("bad date '{text}' in the database"))
}

impl Store {
    /// Ids already stored, so a partial import can refer to them.
    async fn known_ids(&self, conn: &mut AnyConnection) -> anyhow::Result<KnownIds> {
        let ids = |rows: Vec<sqlx::any::AnyRow>| -> HashSet<String> { rows.iter().map(|r| r.get::<String, _>(0)).collect() };
        let roles = ids(sqlx::query("SELECT id FROM roles").fetch_all(&mut *conn).await?);
        let people = ids(sqlx::query("SELECT id FROM people").fetch_all(&mut *conn).await?);
        let packages = ids(sqlx::query("SELECT id FROM packages").fetch_all(&mut *conn).await?);
        let deliverables = sqlx::query("SELECT id, depends_on FROM deliverables")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| (r.get::<String, _>(0), split_list(&r.get::<String, _>(1))))
            .collect();
        Ok(KnownIds { roles, people, packages, deliverables })
    }

    /// SPEC 3: one transaction, upserts by key, every problem at once or nothing changes.
    pub async fn import(&self, parsed: &ParsedFirm) -> anyhow::Result<Result<ImportSummary, Vec<ImportProblem>>> {
        self.import_reporting(parsed, Vec::new()).await
    }

    /// Like `import`, reporting `parse_problems` together with the reference checks.
    pub async fn import_reporting(
        &self,
        parsed: &ParsedFirm,
        mut problems: Vec<ImportProblem>,
    ) -> anyhow::Result<Result<ImportSummary, Vec<ImportProblem>>> {
        let mut tx = self.pool.begin().await?;
        let known = self.known_ids(&mut tx).await.context("reading existing ids")?;
        problems.extend(check_references(parsed, &known));
        sort_problems(&mut problems);
        if !problems.is_empty() {
            tx.rollback().await?;
            return Ok(Err(problems));
        }
        let data = &parsed.data;
        let conn: &mut AnyConnection = &mut tx;
        insert_rows(
            conn,
            "roles",
            &["id", "name", "rank", "description"],
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, rank = excluded.rank, description = excluded.description",
            data.roles
                .iter()
                .map(|r| {
                    vec![Value::Text(r.id.clone()), Value::Text(r.name.clone()), Value::Int(r.rank), Value::Text(r.description.clone())]
                })
                .collect(),
        )
        .await?;
        insert_rows(conn, "people", &["id", "name", "role", "weekly_hours", "active", "slack_user_id", "discord_user_id", "email"],
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, weekly_hours = excluded.weekly_hours, \
             active = excluded.active, slack_user_id = excluded.slack_user_id, discord_user_id = excluded.discord_user_id, email = excluded.email",
            data.people.iter().map(|p| vec![
                Value::Text(p.id.clone()), Value::Text(p.name.clone()), Value::Text(p.role.clone()),
                Value::Real(p.weekly_hours.as_f64()), Value::Bool(p.active), Value::OptText(p.slack_user_id.clone()),
                Value::OptText(p.discord_user_id.clone()), Value::OptText(p.email.clone()),
            ]).collect(),
        ).await?;
        insert_rows(conn, "packages", &["id", "name", "duration_weeks", "description"],
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, duration_weeks = excluded.duration_weeks, description = excluded.description",
            data.packages.iter().map(|p| vec![Value::Text(p.id.clone()), Value::Text(p.name.clone()), Value::Int(p.duration_weeks), Value::Text(p.description.clone())]).collect(),
        ).await?;
        insert_rows(
            conn,
            "package_roles",
            &["package", "role", "count", "hours_per_week"],
            "ON CONFLICT (package, role) DO UPDATE SET count = excluded.count, hours_per_week = excluded.hours_per_week",
            data.package_roles
                .iter()
                .map(|r| {
                    vec![
                        Value::Text(r.package.clone()),
                        Value::Text(r.role.clone()),
                        Value::Int(r.count),
                        Value::Real(r.hours_per_week.as_f64()),
                    ]
                })
                .collect(),
        )
        .await?;
        insert_rows(conn, "deliverables", &["id", "name", "aliases", "category", "effort_hours", "price", "depends_on", "description"],
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, aliases = excluded.aliases, category = excluded.category, \
             effort_hours = excluded.effort_hours, price = excluded.price, depends_on = excluded.depends_on, description = excluded.description",
            data.deliverables.iter().map(|d| vec![
                Value::Text(d.id.clone()), Value::Text(d.name.clone()), Value::Text(d.aliases.join(";")),
                Value::Text(d.category.as_str().into()), Value::Real(d.effort_hours), Value::Real(d.price),
                Value::Text(d.depends_on.join(";")), Value::Text(d.description.clone()),
            ]).collect(),
        ).await?;
        insert_rows(
            conn,
            "package_items",
            &["package", "deliverable", "inclusion"],
            "ON CONFLICT (package, deliverable) DO UPDATE SET inclusion = excluded.inclusion",
            data.package_items
                .iter()
                .map(|i| vec![Value::Text(i.package.clone()), Value::Text(i.deliverable.clone()), Value::Text(i.inclusion.as_str().into())])
                .collect(),
        )
        .await?;
        insert_rows(
            conn,
            "holidays",
            &["date", "name"],
            "ON CONFLICT (date) DO UPDATE SET name = excluded.name",
            data.holidays.iter().map(|h| vec![date_text(h.date), Value::Text(h.name.clone())]).collect(),
        )
        .await?;
        insert_rows(
            conn,
            "allocations",
            &["person", "project", "start_date", "end_date", "hours_per_week", "status"],
            "ON CONFLICT (person, project, start_date, end_date, hours_per_week, status) DO NOTHING",
            data.allocations
                .iter()
                .map(|a| {
                    vec![
                        Value::Text(a.person.clone()),
                        Value::Text(a.project.clone()),
                        date_text(a.start),
                        date_text(a.end),
                        Value::Real(a.hours_per_week.as_f64()),
                        Value::Text(a.status.as_str().into()),
                    ]
                })
                .collect(),
        )
        .await?;
        insert_rows(
            conn,
            "time_off",
            &["person", "start_date", "end_date"],
            "ON CONFLICT (person, start_date, end_date) DO NOTHING",
            data.time_off.iter().map(|t| vec![Value::Text(t.person.clone()), date_text(t.start), date_text(t.end)]).collect(),
        )
        .await?;
        insert_rows(
            conn,
            "history",
            &[
                "id",
                "client",
                "package",
                "start_date",
                "end_date",
                "effort_hours",
                "planned_end",
                "sold_margin",
                "closed_margin",
                "change_orders",
            ],
            "ON CONFLICT (id) DO UPDATE SET client = excluded.client, package = excluded.package, start_date = excluded.start_date, \
             end_date = excluded.end_date, effort_hours = excluded.effort_hours, planned_end = excluded.planned_end, \
             sold_margin = excluded.sold_margin, closed_margin = excluded.closed_margin, change_orders = excluded.change_orders",
            data.history
                .iter()
                .map(|h| {
                    vec![
                        Value::Text(h.id.clone()),
                        Value::Text(h.client.clone()),
                        Value::Text(h.package.clone()),
                        date_text(h.start),
                        date_text(h.end),
                        Value::Real(h.effort_hours),
                        Value::OptText(h.planned_end.map(|d| d.to_string())),
                        Value::OptReal(h.sold_margin),
                        Value::OptReal(h.closed_margin),
                        Value::OptInt(h.change_orders),
                    ]
                })
                .collect(),
        )
        .await?;
        tx.commit().await.context("committing the import")?;
        let counts = [
            ("roles.csv", data.roles.len()),
            ("people.csv", data.people.len()),
            ("packages.csv", data.packages.len()),
            ("package_roles.csv", data.package_roles.len()),
            ("deliverables.csv", data.deliverables.len()),
            ("package_items.csv", data.package_items.len()),
            ("holidays.csv", data.holidays.len()),
            ("allocations.csv", data.allocations.len()),
            ("time_off.csv", data.time_off.len()),
            ("history.csv", data.history.len()),
        ];
        let rows = counts.into_iter().filter(|(file, _)| parsed.files_read.contains(file)).collect();
        Ok(Ok(ImportSummary { rows }))
    }

    /// True when no package has been imported yet (the console then loads the demo firm).
    pub async fn is_empty(&self) -> anyhow::Result<bool> {
        let row = sqlx::query("SELECT COUNT(*) FROM packages").fetch_one(&self.pool).await?;
        Ok(row.get::<i64, _>(0) == 0)
    }

    pub async fn packages(&self) -> anyhow::Result<Vec<Package>> {
        let rows = sqlx::query("SELECT id, name, duration_weeks, description FROM packages ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .context("loading packages")?;
        Ok(rows.iter().map(|r| Package { id: r.get(0), name: r.get(1), duration_weeks: r.get(2), description: r.get(3) }).collect())
    }

    pub async fn package_roles(&self, package: &str) -> anyhow::Result<Vec<PackageRole>> {
        let rows = sqlx::query(
            "SELECT pr.package, pr.role, pr.count, pr.hours_per_week FROM package_roles pr \
             JOIN roles r ON r.id = pr.role WHERE pr.package = $1 ORDER BY r.rank DESC, pr.role",
        )
        .bind(package)
        .fetch_all(&self.pool)
        .await
        .context("loading package roles")?;
        Ok(rows
            .iter()
            .map(|r| PackageRole { package: r.get(0), role: r.get(1), count: r.get(2), hours_per_week: Hours::from_f64(r.get(3)) })
            .collect())
    }

    pub async fn roles(&self) -> anyhow::Result<Vec<Role>> {
        let rows = sqlx::query("SELECT id, name, rank, description FROM roles ORDER BY rank DESC, id")
            .fetch_all(&self.pool)
            .await
            .context("loading roles")?;
        Ok(rows.iter().map(|r| Role { id: r.get(0), name: r.get(1), rank: r.get(2), description: r.get(3) }).collect())
    }

    /// The projects of `package` in history.csv, ordered by id.
    pub async fn history(&self, package: &str) -> anyhow::Result<Arc<Vec<HistoryRow>>> {
        let all = self.versioned(&self.caches.history, |snapshot| self.load_history(snapshot)).await?;
        Ok(all.get(package).cloned().unwrap_or_default())
    }

    async fn load_history(&self, mut snapshot: super::cache::Snapshot) -> anyhow::Result<HashMap<String, Arc<Vec<HistoryRow>>>> {
        type Row = (String, String, String, String, String, f64, Option<String>, Option<f64>, Option<f64>, Option<i64>);
        let rows: Vec<Row> = self
            .json_rows(
                &mut *snapshot.tx,
                "id, client, package, start_date, end_date, effort_hours, planned_end, sold_margin, closed_margin, change_orders",
                "FROM history",
            )
            .await
            .context("loading history")?;
        snapshot.tx.commit().await.context("ending the history snapshot")?;
        let mut by_package: HashMap<String, Vec<HistoryRow>> = HashMap::new();
        for (id, client, package, start, end, effort_hours, planned_end, sold_margin, closed_margin, change_orders) in rows {
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
            .json_rows(&mut *snapshot.tx, "id, name, aliases, category, effort_hours, price, depends_on, description", "FROM deliverables")
            .await
            .context("loading deliverables")?;
        let mut deliverables: Vec<Deliverable> = rows
            .into_iter()
            .map(|(id, name, aliases, category, effort_hours, price, depends_on, description)| Deliverable {
                id,
                name,
                aliases: split_list(&aliases),
                category: Category::parse(&category).unwrap_or(Category::Standard),
                effort_hours,
                price,
                depends_on: split_list(&depends_on),
                description,
            })
            .collect();
        deliverables.sort_by(|a, b| a.id.cmp(&b.id));
        let items: Vec<(String, String, String)> = self
            .json_rows(&mut *snapshot.tx, "package, deliverable, inclusion", "FROM package_items")
            .await
            .context("loading package items")?;
        snapshot.tx.commit().await.context("ending the library snapshot")?;
        let items = items
            .into_iter()
            .filter_map(|(package, deliverable, inclusion)| {
                Some(PackageItem { package, deliverable, inclusion: Inclusion::parse(&inclusion)? })
            })
            .collect();
        Ok(Library { deliverables, items })
    }

    /// The people a platform user id or email maps to (people.csv's identity columns).
    pub async fn person_for_user(&self, user: &str) -> anyhow::Result<Option<(String, String)>> {
        let row = sqlx::query("SELECT id, name FROM people WHERE slack_user_id = $1 OR discord_user_id = $1 OR email = $1 OR id = $1")
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Adds one deliverable (from a scoped ticket) in an open connection.
    pub(crate) async fn insert_deliverable(conn: &mut AnyConnection, d: &Deliverable) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO deliverables (id, name, aliases, category, effort_hours, price, depends_on, description) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(d.id.clone())
        .bind(d.name.clone())
        .bind(d.aliases.join(";"))
        .bind(d.category.as_str())
        .bind(d.effort_hours)
        .bind(d.price)
        .bind(d.depends_on.join(";"))
        .bind(d.description.clone())
        .execute(conn)
        .await
        .context("adding the deliverable")?;
        Ok(())
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split(';').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}
