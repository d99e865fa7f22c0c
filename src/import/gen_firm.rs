//! `keepable gen-firm`: a deterministic generator of large firms in the CSV format of SPEC 3, for
//! benchmarks and load tests. Allocations and history scale with the number of people.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use chrono::{Datelike, Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::domain::calendar::monday_of;

const ROLES: [(&str, &str, i64, u32); 5] = [
    ("principal", "Principal", 5, 6),
    ("architect", "Solution architect", 4, 12),
    ("senior", "Senior consultant", 3, 24),
    ("consultant", "Consultant", 2, 34),
    ("analyst", "Analyst", 1, 24),
];

/// A package: id, name, duration in weeks, and its staffing rows (role, count, hours per week).
type PackageSpec = (&'static str, &'static str, i64, &'static [(&'static str, i64, i64)]);

const PACKAGES: [PackageSpec; 8] = [
    (
        "crm-rollout",
        "CRM Rollout",
        12,
        &[("principal", 1, 8), ("senior", 2, 24), ("consultant", 2, 32)],
    ),
    ("data-audit", "Data Audit", 4, &[("architect", 1, 16), ("analyst", 2, 32)]),
    ("bi-dashboards", "BI Dashboards", 6, &[("senior", 1, 24), ("analyst", 2, 24)]),
    (
        "cloud-migration",
        "Cloud Migration",
        16,
        &[("architect", 2, 32), ("senior", 2, 32), ("consultant", 3, 40)],
    ),
    ("erp-integration", "ERP Integration", 10, &[("architect", 1, 24), ("consultant", 2, 32)]),
    ("security-review", "Security Review", 3, &[("principal", 1, 16), ("senior", 1, 32)]),
    ("platform-upgrade", "Platform Upgrade", 8, &[("senior", 2, 32), ("analyst", 1, 16)]),
    (
        "managed-onboarding",
        "Managed Service Onboarding",
        6,
        &[("consultant", 2, 24), ("analyst", 1, 24)],
    ),
];

/// Writes a firm of `people` people, seeded by `seed`, around `today`, into `dir`.
pub fn generate(dir: &Path, people: usize, seed: u64, today: NaiveDate) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // The random draws happen in this order (staff, deliverables, history): keep it, so a seed
    // always gives the same firm.
    let mut rng = StdRng::seed_from_u64(seed);
    let staff = staff(&mut rng, people, monday_of(today))?;
    let (packages, package_roles) = packages()?;
    let (deliverables, package_items) = deliverables(&mut rng)?;
    let history = history(&mut rng, people, today)?;
    let files = [
        ("roles.csv", roles()?),
        ("people.csv", staff.people),
        ("allocations.csv", staff.allocations),
        ("time_off.csv", staff.time_off),
        ("holidays.csv", holidays(today)?),
        ("packages.csv", packages),
        ("package_roles.csv", package_roles),
        ("deliverables.csv", deliverables),
        ("package_items.csv", package_items),
        ("history.csv", history),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).with_context(|| format!("writing {name}"))?;
    }
    Ok(())
}

fn roles() -> anyhow::Result<String> {
    let mut roles = String::from("id,name,rank,description\n");
    for (id, name, rank, _) in ROLES {
        writeln!(roles, "{id},{name},{rank},{name} on client work")?;
    }
    Ok(roles)
}

/// people.csv, allocations.csv and time_off.csv, drawn person by person.
struct Staff {
    people: String,
    allocations: String,
    time_off: String,
}

fn staff(rng: &mut StdRng, people: usize, monday: NaiveDate) -> anyhow::Result<Staff> {
    let mut staff = Staff {
        people: String::from(
            "id,name,role,weekly_hours,active,slack_user_id,discord_user_id,email\n",
        ),
        allocations: String::from("person,project,start,end,hours_per_week,status\n"),
        time_off: String::from("person,start,end\n"),
    };
    for i in 0..people {
        let role = pick_role(rng);
        let weekly = [40, 40, 40, 40, 32, 24][rng.gen_range(0..6)];
        let active = rng.gen_range(0..50) != 0;
        writeln!(
            staff.people,
            "p{i:05},Person {i},{role},{weekly},{active},U{i:08},{},person{i}@firm.example",
            100_000_000_000_000_000u64 + i as u64
        )?;
        bookings(rng, i, monday, &mut staff.allocations)?;
        for _ in 0..rng.gen_range(0..3) {
            let start = monday + Duration::days(rng.gen_range(0..350));
            writeln!(
                staff.time_off,
                "p{i:05},{start},{}",
                start + Duration::days(rng.gen_range(0..10))
            )?;
        }
    }
    Ok(staff)
}

/// A role drawn by the weights in `ROLES`.
fn pick_role(rng: &mut StdRng) -> &'static str {
    let total_weight: u32 = ROLES.iter().map(|r| r.3).sum();
    let mut pick = rng.gen_range(0..total_weight);
    ROLES
        .iter()
        .find(|r| {
            if pick < r.3 {
                true
            } else {
                pick -= r.3;
                false
            }
        })
        .map(|r| r.0)
        .unwrap_or("consultant")
}

/// Three to six bookings of person `i` across the coming year, some tentative.
fn bookings(
    rng: &mut StdRng,
    i: usize,
    monday: NaiveDate,
    allocations: &mut String,
) -> anyhow::Result<()> {
    let mut day = monday - Duration::weeks(rng.gen_range(0..8));
    for project in 0..rng.gen_range(3..7) {
        let length = Duration::days(rng.gen_range(14..120));
        let hours = [8, 16, 20, 24, 32, 40][rng.gen_range(0..6)];
        let status = if rng.gen_range(0..6) == 0 { "tentative" } else { "confirmed" };
        writeln!(
            allocations,
            "p{i:05},proj-{}-{project},{},{},{hours},{status}",
            i % 997,
            day,
            day + length
        )?;
        day += length + Duration::days(rng.gen_range(-20..40));
    }
    Ok(())
}

fn holidays(today: NaiveDate) -> anyhow::Result<String> {
    let mut holidays = String::from("date,name\n");
    for year in [today.year_ce().1 as i32, today.year_ce().1 as i32 + 1] {
        for (month, day, name) in [
            (1, 1, "New Year"),
            (7, 4, "Independence Day"),
            (12, 25, "Christmas"),
            (12, 26, "Boxing Day"),
        ] {
            if let Some(date) = NaiveDate::from_ymd_opt(year, month, day) {
                writeln!(holidays, "{date},{name}")?;
            }
        }
    }
    Ok(holidays)
}

/// packages.csv and package_roles.csv.
fn packages() -> anyhow::Result<(String, String)> {
    let mut packages = String::from("id,name,duration_weeks,description\n");
    let mut package_roles = String::from("package,role,count,hours_per_week\n");
    for (id, name, weeks, roles) in PACKAGES {
        writeln!(packages, "{id},{name},{weeks},{name} engagement")?;
        for (role, count, hours) in roles {
            writeln!(package_roles, "{id},{role},{count},{hours}")?;
        }
    }
    Ok((packages, package_roles))
}

/// deliverables.csv and package_items.csv: 200 deliverables spread over the packages.
fn deliverables(rng: &mut StdRng) -> anyhow::Result<(String, String)> {
    let mut deliverables =
        String::from("id,name,aliases,category,effort_hours,price,depends_on,description\n");
    let mut items = String::from("package,deliverable,inclusion\n");
    for d in 0..200 {
        let category = if d % 5 == 0 { "customization" } else { "standard" };
        let depends =
            if d > 10 && d % 7 == 0 { format!("deliverable-{:03}", d - 3) } else { String::new() };
        writeln!(
            deliverables,
            "deliverable-{d:03},Deliverable {d},item {d};thing {d},{category},{},{},{depends},Generated deliverable",
            rng.gen_range(4..400),
            rng.gen_range(5..600) * 100
        )?;
        let (package, _, _, _) = PACKAGES[d % PACKAGES.len()];
        let inclusion = ["included", "configuration", "add_on"][rng.gen_range(0..3)];
        writeln!(items, "{package},deliverable-{d:03},{inclusion}")?;
    }
    Ok((deliverables, items))
}

/// history.csv: one delivered project per two people (at least 40), all ended before `today`,
/// sold by one seller per 100 people (at least 4). The first seller is optimistic (short plans,
/// change orders, seniors sold and not staffed), and Cloud Migration's margin fades at close.
fn history(rng: &mut StdRng, people: usize, today: NaiveDate) -> anyhow::Result<String> {
    let mut history = String::from("id,client,package,start,end,effort_hours,planned_end,sold_margin,closed_margin,change_orders,seller,deal,sold_roles,staffed_roles\n");
    let sellers = (people / 100).max(4);
    for h in 0..(people / 2).max(40) {
        let (package, _, weeks, roles) = PACKAGES[rng.gen_range(0..PACKAGES.len())];
        let seller = rng.gen_range(0..sellers);
        let optimistic = seller == 0;
        let start = today - Duration::days(rng.gen_range(30..1500));
        let planned = weeks * 7;
        let overrun = if optimistic { rng.gen_range(1.0..1.6) } else { rng.gen_range(0.8..1.2) };
        let actual = (planned as f64 * overrun) as i64;
        let end = (start + Duration::days(actual)).min(today - Duration::days(1));
        let planned_end = if optimistic {
            start + Duration::days(planned * 4 / 5)
        } else {
            start + Duration::days(planned)
        };
        let sold_margin = rng.gen_range(0.2..0.4);
        let fade = if package == "cloud-migration" {
            rng.gen_range(0.08..0.2)
        } else {
            rng.gen_range(-0.02..0.12)
        };
        let change_orders =
            if optimistic { rng.gen_range(1..6) } else { i64::from(rng.gen_bool(0.2)) };
        let gap = rng.gen_bool(if optimistic { 0.5 } else { 0.1 });
        writeln!(
            history,
            "h{h:06},Client {},{package},{start},{end},{},{planned_end},{sold_margin:.2},{:.2},{change_orders},U-SELL{seller:03},,{},{}",
            rng.gen_range(0..900),
            weeks * rng.gen_range(40..160),
            sold_margin - fade,
            pattern(roles, false),
            pattern(roles, gap),
        )?;
    }
    Ok(history)
}

/// A package's staffing as `role:count;…`; with `gap`, its most senior role (the first) staffed
/// one rank below (`ROLES` is ordered by rank).
fn pattern(roles: &[(&str, i64, i64)], gap: bool) -> String {
    roles
        .iter()
        .enumerate()
        .map(|(i, (role, count, _))| {
            let below = ROLES.iter().position(|r| r.0 == *role).and_then(|p| ROLES.get(p + 1));
            match below {
                Some(below) if gap && i == 0 => format!("{}:{count}", below.0),
                _ => format!("{role}:{count}"),
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}
