//! The backtest (SPEC 4.7) through the binary: `keepable backtest` as JSON and as a table, its
//! refusals, and the line `/comparables` replies carry, on a firm whose history makes every
//! figure known by hand.

use crate::cli::{json, keepable, stdout};
use crate::support::{on_both_databases, TestDb};

/// A history whose replay is known by hand (today 2027-03-10, so the default window starts
/// 2025-03-10). Alpha and gamma each have five projects of 10, 20, 30, 40 and 50 days from
/// 2024 (before the window: P50 30, P80 42, P90 46 for what follows). Alpha's eight later
/// projects all start on 2025-06-02, so each is forecast from those five alone; gamma's two
/// likewise. Beta's one project has nothing to be compared with.
fn firm() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let packages = "id,name,duration_weeks\nalpha,Alpha,6\nbeta,Beta,4\ngamma,Gamma,6\n";
    std::fs::write(dir.path().join("packages.csv"), packages).unwrap();
    let mut history = String::from("id,client,package,start,end,effort_hours\n");
    let mut add = |id: String, package: &str, start: &str, days: i64| {
        let start: chrono::NaiveDate = start.parse().unwrap();
        let end = start + chrono::Duration::days(days - 1);
        history.push_str(&format!("{id},Client {id},{package},{start},{end},100\n"));
    };
    for package in ["alpha", "gamma"] {
        for (i, days) in [10, 20, 30, 40, 50].into_iter().enumerate() {
            add(format!("{package}-early-{i}"), package, "2024-06-03", days);
        }
    }
    // P50 holds for 25 and 30; P80 also for 35 and 42; P90 also for 43 and 46.
    for (i, days) in [25, 30, 35, 42, 43, 46, 47, 60].into_iter().enumerate() {
        add(format!("alpha-late-{i}"), "alpha", "2025-06-02", days);
    }
    for (i, days) in [40, 50].into_iter().enumerate() {
        add(format!("gamma-late-{i}"), "gamma", "2025-06-02", days);
    }
    add("beta-only".into(), "beta", "2025-05-01", 20);
    std::fs::write(dir.path().join("history.csv"), history).unwrap();
    dir
}

fn import(db: &TestDb) -> tempfile::TempDir {
    let firm = firm();
    let imported = keepable(&db.url, &["import", firm.path().to_str().unwrap()]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    firm
}

on_both_databases!(backtest_json_reports_hit_rates_per_package_and_overall);
async fn backtest_json_reports_hit_rates_per_package_and_overall(db: TestDb) {
    let _firm = import(&db);
    let output = keepable(&db.url, &["backtest", "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let expected = serde_json::json!({
        "kind": "backtest",
        "from": "2025-03-10",
        "today": "2027-03-10",
        "groups": [
            {"package": "alpha", "tested": 8, "skipped": 0,
             "p50_hit_rate": 0.25, "p80_hit_rate": 0.5, "p90_hit_rate": 0.75},
            {"package": "beta", "tested": 0, "skipped": 1,
             "p50_hit_rate": null, "p80_hit_rate": null, "p90_hit_rate": null},
            {"package": "gamma", "tested": 2, "skipped": 0,
             "p50_hit_rate": 0.0, "p80_hit_rate": 0.5, "p90_hit_rate": 0.5},
        ],
        "overall": {"tested": 10, "skipped": 1,
                    "p50_hit_rate": 0.2, "p80_hit_rate": 0.5, "p90_hit_rate": 0.7},
    });
    assert_eq!(json(&output), expected, "{}", db.url);

    // From 2025-06-01 beta's project is no longer examined, so beta is not listed.
    let later = json(&keepable(&db.url, &["backtest", "--json", "--from", "2025-06-01"]));
    let packages: Vec<&str> = later["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["package"].as_str().unwrap())
        .collect();
    assert_eq!(packages, ["alpha", "gamma"], "{later}");
    assert_eq!(later["overall"]["skipped"], 0);
}

#[test]
fn backtest_prints_a_table_with_what_calibrated_looks_like() {
    let db = TestDb::sqlite();
    let _firm = import(&db);
    let output = keepable(&db.url, &["backtest"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = stdout(&output);
    let line = |label: &str| -> Vec<String> {
        let found = text.lines().find(|l| l.starts_with(label));
        let found = found.unwrap_or_else(|| panic!("no {label} row: {text}"));
        found[label.len()..].split_whitespace().map(String::from).collect()
    };
    assert_eq!(line("alpha"), ["8", "0", "25%", "50%", "75%"], "{text}");
    assert_eq!(line("beta"), ["0", "1", "-", "-", "-"], "{text}");
    assert_eq!(line("all packages"), ["10", "1", "20%", "50%", "70%"], "{text}");
    assert_eq!(line("calibrated"), ["50%", "80%", "90%"], "{text}");
    assert!(text.contains("started 2025-03-10 to 2027-03-10"), "{text}");
}

#[test]
fn backtest_refuses_a_bad_or_late_from_date() {
    let db = TestDb::sqlite();
    let _firm = import(&db);
    let malformed = keepable(&db.url, &["backtest", "--json", "--from", "2025-02-30"]);
    assert_eq!(malformed.status.code(), Some(1));
    let error = json(&malformed);
    assert_eq!(error["kind"], "error");
    assert!(error["message"].as_str().unwrap().contains("YYYY-MM-DD"), "{error}");

    let late = keepable(&db.url, &["backtest", "--json", "--from", "2027-03-11"]);
    assert_eq!(late.status.code(), Some(1));
    let error = json(&late);
    assert!(error["message"].as_str().unwrap().contains("after --today 2027-03-10"), "{error}");

    let as_text = keepable(&db.url, &["backtest", "--from", "11/03/2027"]);
    assert_eq!(as_text.status.code(), Some(1));
    assert!(as_text.stdout.is_empty());
    assert!(String::from_utf8_lossy(&as_text.stderr).contains("is not a date for --from"));
}

on_both_databases!(comparables_say_what_p80_has_been_worth_and_date_the_finishes);
async fn comparables_say_what_p80_has_been_worth_and_date_the_finishes(db: TestDb) {
    let _firm = import(&db);
    let ask = |text: &str| json(&keepable(&db.url, &["ask", "--json", text]));
    let alpha = ask("/comparables alpha start=2027-04-05 deadline=2027-05-04");
    let text = alpha["text"].as_str().unwrap();
    assert!(
        text.contains("Over the last two years, P80 held for 50% of Alpha projects (8 tested"),
        "{text}"
    );
    assert_eq!(alpha["backtest"]["tested"], 8);
    assert_eq!(alpha["backtest"]["p80_hit_rate"], 0.5);
    // Thirteen comparables: P50 40 days, P80 46.6, rounded up to 47.
    assert_eq!(alpha["p80_days"].as_f64().unwrap(), 46.6);
    assert_eq!(alpha["finish"]["p50_finish"], "2027-05-14");
    assert_eq!(alpha["finish"]["p80_finish"], "2027-05-21");
    assert!(
        text.contains("Starting Mon 5 Apr 2027 (the start given): half of comparable projects finished by Fri 14 May 2027, 80% by Fri 21 May 2027"),
        "{text}"
    );
    // 30 days: 5 of the 13 took that or less.
    assert!(text.contains("about 4 in 10 comparable projects finished within that"), "{text}");

    let gamma = ask("/comparables gamma")["text"].as_str().unwrap().to_string();
    assert!(gamma.contains("only 2 Gamma projects could be checked"), "{gamma}");
    assert!(gamma.contains("too few to say what P80 is worth here"), "{gamma}");
    let beta = ask("/comparables beta")["text"].as_str().unwrap().to_string();
    assert!(beta.contains("no Beta project had 5 earlier comparables"), "{beta}");
}
