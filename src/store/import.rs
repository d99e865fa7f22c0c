//! The database write of an import: the firm's rows, already read and checked by
//! `crate::import`, checked once more against the ids already stored and written in one
//! transaction, so either every row of every file lands or nothing changes.

use std::collections::HashSet;

use anyhow::Context;
use chrono::NaiveDate;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};

use super::firm::split_list;
use super::Store;
use crate::domain::firm::*;
use crate::import::{ImportProblem, KnownIds, ParsedFirm};

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

impl Store {
    /// SPEC 3: one transaction, upserts by key, every problem at once or nothing changes.
    pub async fn import(
        &self,
        parsed: &ParsedFirm,
    ) -> anyhow::Result<Result<ImportSummary, Vec<ImportProblem>>> {
        self.import_reporting(parsed, Vec::new()).await
    }

    /// Like `import`, reporting `read_problems` (found reading the files) together with the
    /// cross-file checks.
    pub async fn import_reporting(
        &self,
        parsed: &ParsedFirm,
        read_problems: Vec<ImportProblem>,
    ) -> anyhow::Result<Result<ImportSummary, Vec<ImportProblem>>> {
        let mut tx = self.pool.begin().await?;
        let known = known_ids(&mut tx).await.context("reading existing ids")?;
        let problems = crate::import::check(parsed, read_problems, &known);
        if !problems.is_empty() {
            tx.rollback().await?;
            return Ok(Err(problems));
        }
        write_firm(&mut tx, &parsed.data).await?;
        tx.commit().await.context("committing the import")?;
        Ok(Ok(ImportSummary { rows: parsed.row_counts() }))
    }
}

/// Ids already stored, so a partial import can refer to them.
async fn known_ids(conn: &mut AnyConnection) -> anyhow::Result<KnownIds> {
    let ids = |rows: Vec<String>| -> HashSet<String> { rows.into_iter().collect() };
    let roles = ids(sqlx::query_scalar("SELECT id FROM roles").fetch_all(&mut *conn).await?);
    let people = ids(sqlx::query_scalar("SELECT id FROM people").fetch_all(&mut *conn).await?);
    let packages = ids(sqlx::query_scalar("SELECT id FROM packages").fetch_all(&mut *conn).await?);
    let deliverables =
        sqlx::query_as::<_, (String, String)>("SELECT id, depends_on FROM deliverables")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(id, depends_on)| (id, split_list(&depends_on)))
            .collect();
    Ok(KnownIds { roles, people, packages, deliverables })
}

/// Every table of the firm, in the order their references need.
async fn write_firm(conn: &mut AnyConnection, data: &FirmData) -> anyhow::Result<()> {
    write_roles(conn, &data.roles).await?;
    write_people(conn, &data.people).await?;
    write_packages(conn, &data.packages).await?;
    write_package_roles(conn, &data.package_roles).await?;
    write_deliverables(conn, &data.deliverables).await?;
    write_package_items(conn, &data.package_items).await?;
    write_holidays(conn, &data.holidays).await?;
    write_allocations(conn, &data.allocations).await?;
    write_time_off(conn, &data.time_off).await?;
    write_history(conn, &data.history).await
}

async fn write_roles(conn: &mut AnyConnection, roles: &[Role]) -> anyhow::Result<()> {
    let rows = roles
        .iter()
        .map(|r| {
            vec![
                Value::Text(r.id.clone()),
                Value::Text(r.name.clone()),
                Value::Int(r.rank),
                Value::Text(r.description.clone()),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "roles",
        &["id", "name", "rank", "description"],
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, rank = excluded.rank, description = excluded.description",
        rows,
    )
    .await
}

async fn write_people(conn: &mut AnyConnection, people: &[Person]) -> anyhow::Result<()> {
    let rows = people
        .iter()
        .map(|p| {
            vec![
                Value::Text(p.id.clone()),
                Value::Text(p.name.clone()),
                Value::Text(p.role.clone()),
                Value::Real(p.weekly_hours.as_f64()),
                Value::Bool(p.active),
                Value::OptText(p.slack_user_id.clone()),
                Value::OptText(p.discord_user_id.clone()),
                Value::OptText(p.email.clone()),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "people",
        &["id", "name", "role", "weekly_hours", "active", "slack_user_id", "discord_user_id", "email"],
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, weekly_hours = excluded.weekly_hours, \
         active = excluded.active, slack_user_id = excluded.slack_user_id, discord_user_id = excluded.discord_user_id, email = excluded.email",
        rows,
    )
    .await
}

async fn write_packages(conn: &mut AnyConnection, packages: &[Package]) -> anyhow::Result<()> {
    let rows = packages
        .iter()
        .map(|p| {
            vec![
                Value::Text(p.id.clone()),
                Value::Text(p.name.clone()),
                Value::Int(p.duration_weeks),
                Value::Text(p.description.clone()),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "packages",
        &["id", "name", "duration_weeks", "description"],
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, duration_weeks = excluded.duration_weeks, description = excluded.description",
        rows,
    )
    .await
}

async fn write_package_roles(
    conn: &mut AnyConnection,
    package_roles: &[PackageRole],
) -> anyhow::Result<()> {
    let rows = package_roles
        .iter()
        .map(|r| {
            vec![
                Value::Text(r.package.clone()),
                Value::Text(r.role.clone()),
                Value::Int(r.count),
                Value::Real(r.hours_per_week.as_f64()),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "package_roles",
        &["package", "role", "count", "hours_per_week"],
        "ON CONFLICT (package, role) DO UPDATE SET count = excluded.count, hours_per_week = excluded.hours_per_week",
        rows,
    )
    .await
}

async fn write_deliverables(
    conn: &mut AnyConnection,
    deliverables: &[Deliverable],
) -> anyhow::Result<()> {
    let rows = deliverables
        .iter()
        .map(|d| {
            vec![
                Value::Text(d.id.clone()),
                Value::Text(d.name.clone()),
                Value::Text(d.aliases.join(";")),
                Value::Text(d.category.as_str().into()),
                Value::Real(d.effort_hours),
                Value::Real(d.price),
                Value::Text(d.depends_on.join(";")),
                Value::Text(d.description.clone()),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "deliverables",
        &["id", "name", "aliases", "category", "effort_hours", "price", "depends_on", "description"],
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, aliases = excluded.aliases, category = excluded.category, \
         effort_hours = excluded.effort_hours, price = excluded.price, depends_on = excluded.depends_on, description = excluded.description",
        rows,
    )
    .await
}

async fn write_package_items(
    conn: &mut AnyConnection,
    items: &[PackageItem],
) -> anyhow::Result<()> {
    let rows = items
        .iter()
        .map(|i| {
            vec![
                Value::Text(i.package.clone()),
                Value::Text(i.deliverable.clone()),
                Value::Text(i.inclusion.as_str().into()),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "package_items",
        &["package", "deliverable", "inclusion"],
        "ON CONFLICT (package, deliverable) DO UPDATE SET inclusion = excluded.inclusion",
        rows,
    )
    .await
}

async fn write_holidays(conn: &mut AnyConnection, holidays: &[Holiday]) -> anyhow::Result<()> {
    let rows =
        holidays.iter().map(|h| vec![date_text(h.date), Value::Text(h.name.clone())]).collect();
    insert_rows(
        conn,
        "holidays",
        &["date", "name"],
        "ON CONFLICT (date) DO UPDATE SET name = excluded.name",
        rows,
    )
    .await
}

async fn write_allocations(
    conn: &mut AnyConnection,
    allocations: &[Allocation],
) -> anyhow::Result<()> {
    let rows = allocations
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
        .collect();
    insert_rows(
        conn,
        "allocations",
        &["person", "project", "start_date", "end_date", "hours_per_week", "status"],
        "ON CONFLICT (person, project, start_date, end_date, hours_per_week, status) DO NOTHING",
        rows,
    )
    .await
}

async fn write_time_off(conn: &mut AnyConnection, time_off: &[TimeOff]) -> anyhow::Result<()> {
    let rows = time_off
        .iter()
        .map(|t| vec![Value::Text(t.person.clone()), date_text(t.start), date_text(t.end)])
        .collect();
    insert_rows(
        conn,
        "time_off",
        &["person", "start_date", "end_date"],
        "ON CONFLICT (person, start_date, end_date) DO NOTHING",
        rows,
    )
    .await
}

async fn write_history(conn: &mut AnyConnection, history: &[HistoryRow]) -> anyhow::Result<()> {
    let rows = history
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
                Value::OptText(h.seller.clone()),
                Value::OptText(h.deal.clone()),
                Value::OptText(h.sold_roles.as_deref().map(role_counts_text)),
                Value::OptText(h.staffed_roles.as_deref().map(role_counts_text)),
            ]
        })
        .collect();
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
            "seller",
            "deal",
            "sold_roles",
            "staffed_roles",
        ],
        "ON CONFLICT (id) DO UPDATE SET client = excluded.client, package = excluded.package, start_date = excluded.start_date, \
         end_date = excluded.end_date, effort_hours = excluded.effort_hours, planned_end = excluded.planned_end, \
         sold_margin = excluded.sold_margin, closed_margin = excluded.closed_margin, change_orders = excluded.change_orders, \
         seller = excluded.seller, deal = excluded.deal, sold_roles = excluded.sold_roles, staffed_roles = excluded.staffed_roles",
        rows,
    )
    .await
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

fn bind<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    value: Value,
) -> Query<'q, Any, AnyArguments<'q>> {
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
async fn insert_rows(
    conn: &mut AnyConnection,
    table: &str,
    columns: &[&str],
    conflict: &str,
    rows: Vec<Vec<Value>>,
) -> anyhow::Result<()> {
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
