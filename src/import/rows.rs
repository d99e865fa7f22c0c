//! One data row of a known file turned into its domain row. A row with any problem is left out
//! (its problems are recorded by the `Row`), and the cells of a row are read in a fixed order so
//! its problems are reported in column order.

use super::reader::Row;
use super::ParsedFirm;
use crate::domain::firm::*;

/// Adds the row to `parsed` when it is valid, remembering the line it came from.
pub(super) fn parse_row(parsed: &mut ParsedFirm, file: &'static str, mut row: Row<'_, '_>) {
    let line = row.line;
    let data = &mut parsed.data;
    let row = &mut row;
    let index = match file {
        "roles.csv" => push(&mut data.roles, role(row)),
        "people.csv" => push(&mut data.people, person(row)),
        "allocations.csv" => push(&mut data.allocations, allocation(row)),
        "time_off.csv" => push(&mut data.time_off, time_off(row)),
        "holidays.csv" => push(&mut data.holidays, holiday(row)),
        "packages.csv" => push(&mut data.packages, package(row)),
        "package_roles.csv" => push(&mut data.package_roles, package_role(row)),
        "deliverables.csv" => push(&mut data.deliverables, deliverable(row)),
        "package_items.csv" => push(&mut data.package_items, package_item(row)),
        "history.csv" => push(&mut data.history, history(row)),
        _ => None,
    };
    if let Some(index) = index {
        parsed.lines.insert((file, index), line);
    }
}

/// Appends `item` when there is one, and gives its index.
fn push<T>(rows: &mut Vec<T>, item: Option<T>) -> Option<usize> {
    rows.push(item?);
    Some(rows.len() - 1)
}

fn role(row: &mut Row<'_, '_>) -> Option<Role> {
    let (id, name, rank) = (row.text("id"), row.text("name"), row.integer("rank", i64::MIN));
    let description = row.cell("description").to_string();
    let rank = rank.filter(|_| row.valid)?;
    Some(Role { id, name, rank, description })
}

fn person(row: &mut Row<'_, '_>) -> Option<Person> {
    let (id, name, role) = (row.text("id"), row.text("name"), row.text("role"));
    let weekly_hours = row.positive_hours("weekly_hours");
    let active = row.boolean("active", true);
    let weekly_hours = weekly_hours.filter(|_| row.valid)?;
    Some(Person {
        id,
        name,
        role,
        weekly_hours,
        active,
        slack_user_id: row.optional("slack_user_id"),
        discord_user_id: row.optional("discord_user_id"),
        email: row.optional("email"),
    })
}

fn allocation(row: &mut Row<'_, '_>) -> Option<Allocation> {
    let (person, project) = (row.text("person"), row.text("project"));
    let range = row.range();
    let hours = row.positive_hours("hours_per_week");
    let status = row.choice("status", AllocationStatus::parse, "confirmed or tentative");
    let (Some((start, end)), Some(hours_per_week), Some(status), true) =
        (range, hours, status, row.valid)
    else {
        return None;
    };
    Some(Allocation { id: row.optional("id"), person, project, start, end, hours_per_week, status })
}

fn time_off(row: &mut Row<'_, '_>) -> Option<TimeOff> {
    let person = row.text("person");
    let (Some((start, end)), true) = (row.range(), row.valid) else { return None };
    Some(TimeOff { id: row.optional("id"), person, start, end })
}

fn holiday(row: &mut Row<'_, '_>) -> Option<Holiday> {
    let date = row.date("date")?;
    Some(Holiday { date, name: row.cell("name").to_string() })
}

fn package(row: &mut Row<'_, '_>) -> Option<Package> {
    let (id, name) = (row.text("id"), row.text("name"));
    let duration = row.integer("duration_weeks", 1);
    let (Some(duration_weeks), true) = (duration, row.valid) else { return None };
    let description = row.cell("description").to_string();
    Some(Package { id, name, duration_weeks, description })
}

fn package_role(row: &mut Row<'_, '_>) -> Option<PackageRole> {
    let (package, role) = (row.text("package"), row.text("role"));
    let count = row.integer("count", 1);
    let hours = row.positive_hours("hours_per_week");
    let (Some(count), Some(hours_per_week), true) = (count, hours, row.valid) else { return None };
    Some(PackageRole { package, role, count, hours_per_week })
}

fn deliverable(row: &mut Row<'_, '_>) -> Option<Deliverable> {
    let (id, name) = (row.text("id"), row.text("name"));
    let category = row.choice("category", Category::parse, "standard or customization");
    let effort = row.number("effort_hours", 0.0, false);
    let price = row.number("price", 0.0, false);
    let (Some(category), Some(effort_hours), Some(price), true) =
        (category, effort, price, row.valid)
    else {
        return None;
    };
    Some(Deliverable {
        id,
        name,
        aliases: row.list("aliases"),
        category,
        effort_hours,
        price,
        depends_on: row.list("depends_on"),
        description: row.cell("description").to_string(),
    })
}

fn package_item(row: &mut Row<'_, '_>) -> Option<PackageItem> {
    let (package, deliverable) = (row.text("package"), row.text("deliverable"));
    let inclusion = row.choice("inclusion", Inclusion::parse, "included, configuration or add_on");
    let (Some(inclusion), true) = (inclusion, row.valid) else { return None };
    Some(PackageItem { package, deliverable, inclusion })
}

fn history(row: &mut Row<'_, '_>) -> Option<HistoryRow> {
    let (id, package) = (row.text("id"), row.text("package"));
    let range = row.range();
    let effort = row.number("effort_hours", 0.0, true);
    let planned_end = row.optional_date("planned_end");
    let sold_margin = row.optional_number("sold_margin");
    let closed_margin = row.optional_number("closed_margin");
    let change_orders = row.optional_integer("change_orders");
    if let (Some(planned), Some((start, _))) = (planned_end, range) {
        if planned < start {
            row.problem("planned_end", format!("planned_end {planned} is before start {start}"));
        }
    }
    let sold_roles = role_counts(row, "sold_roles");
    let staffed_roles = role_counts(row, "staffed_roles");
    let (Some((start, end)), Some(effort_hours), true) = (range, effort, row.valid) else {
        return None;
    };
    Some(HistoryRow {
        id,
        client: row.cell("client").to_string(),
        package,
        start,
        end,
        effort_hours,
        planned_end,
        sold_margin,
        closed_margin,
        change_orders,
        seller: row.optional("seller"),
        deal: row.optional("deal"),
        sold_roles,
        staffed_roles,
    })
}

/// An optional `role:count;role:count` cell; a malformed one is a problem on its column.
fn role_counts(row: &mut Row<'_, '_>, column: &str) -> Option<Vec<RoleCount>> {
    let text = row.optional(column)?;
    match parse_role_counts(&text) {
        Ok(counts) if counts.is_empty() => None,
        Ok(counts) => Some(counts),
        Err(message) => {
            row.problem(column, message);
            None
        }
    }
}
