//! `/radar` and `/track-record` through the `keepable` binary: the `ask --json` contract, who
//! sees seller rows, and a track record built end to end from deals committed and approved
//! through the CLI, then a history export naming those deals.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{on_both_databases, TestDb};

fn keepable(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keepable"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("KEEPABLE_TODAY", "2027-03-10")
        .env("KEEPABLE_NOW", "2027-03-10T12:00:00Z")
        .env("KEEPABLE_APPROVERS", "U-APPROVER")
        .env("KEEPABLE_SALES_LEADS", "U-LEAD")
        .env_remove("KEEPABLE_CONFIG")
        .output()
        .unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

fn data(firm: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/acceptance").join(firm)
}

fn import(db: &TestDb, dir: &Path) {
    let output = keepable(&db.url, &["import", dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// `/radar …` or `/track-record …` as `user` (`None`: the operator, without `--as`).
fn ask(db: &TestDb, user: Option<&str>, line: &str) -> Value {
    let mut args = vec!["ask", "--json"];
    if let Some(user) = user {
        args.extend(["--as", user]);
    }
    args.push(line);
    json(&keepable(&db.url, &args))
}

fn keys(answer: &Value) -> Vec<String> {
    answer["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap().into()).collect()
}

on_both_databases!(the_radar_answers_the_json_contract_and_keeps_seller_rows_to_leadership);
async fn the_radar_answers_the_json_contract_and_keeps_seller_rows_to_leadership(db: TestDb) {
    import(&db, &data("signals/firm-signals"));
    let packages = ask(&db, Some("U-NOBODY"), "/radar");
    assert_eq!(
        (packages["kind"].as_str(), packages["by"].as_str()),
        (Some("radar"), Some("package"))
    );
    assert_eq!(packages["window_days"], 365);
    assert_eq!(packages["systemic"], true);
    assert_eq!(
        keys(&packages),
        ["bi-dashboards", "crm-rollout", "data-audit", "platform-migration"]
    );
    let group = &packages["groups"][0];
    for key in [
        "key",
        "n",
        "change_order_rate",
        "margin_fade_points",
        "slip_rate",
        "median_slip_days",
        "optimism_ratio",
        "seniority_gap_rate",
        "signals",
    ] {
        assert!(group.get(key).is_some(), "{key} missing: {group}");
    }
    let text = packages["text"].as_str().unwrap();
    assert!(text.starts_with("3 of 4 warning signs across the firm"), "{text}");
    assert!(text.contains("change orders on 60% of 5 BI Dashboards projects"), "{text}");

    let sellers = ["U-SELL01", "U-SELL02", "U-SELL03", "U-SELL05", "U-SELL06"];
    assert_eq!(keys(&ask(&db, None, "/radar by=seller")), sellers, "the operator sees every row");
    assert_eq!(keys(&ask(&db, Some("U-APPROVER"), "/radar by=seller")), sellers);
    assert_eq!(keys(&ask(&db, Some("U-LEAD"), "/radar by=seller")), sellers);
    let own = ask(&db, Some("U-SELL05"), "/radar by=seller");
    assert_eq!(keys(&own), ["U-SELL05"], "a seller sees their own row only");
    assert_eq!(own["systemic"], true, "the firm's verdict is for everyone");
    assert!(own["text"].as_str().unwrap().contains("your own row only"));
    assert!(keys(&ask(&db, Some("U-NOBODY"), "/radar by=seller")).is_empty());
    assert_eq!(keys(&ask(&db, Some("U-NOBODY"), "/radar by=firm")), ["firm"]);

    let refused = keepable(&db.url, &["ask", "--json", "/radar by=client"]);
    assert_eq!(refused.status.code(), Some(1));
    let message = json(&refused)["message"].as_str().unwrap().to_string();
    assert!(message.contains("by=package, by=seller, by=firm"), "{message}");
}

/// The last leadership card in the outbox, and its approve button.
fn last_card(db: &TestDb) -> (String, String) {
    let outbox = json(&keepable(&db.url, &["outbox", "--json"]));
    let card = outbox
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["target"] == "channel:leadership" && m["actions"][0]["id"].is_string())
        .expect("a leadership card")
        .clone();
    (card["text"].as_str().unwrap().into(), card["actions"][0]["id"].as_str().unwrap().into())
}

/// A new deal in `channel` by `seller`; its id.
fn new_deal(db: &TestDb, seller: &str, channel: &str, name: &str) -> String {
    let line = format!("/deal new {name} package=crm-rollout");
    let deal =
        json(&keepable(&db.url, &["ask", "--json", "--as", seller, "--channel", channel, &line]));
    deal["id"].as_str().unwrap_or_else(|| panic!("{deal}")).to_string()
}

/// Presses the first button of `answer` whose action starts with `verb:`, as `user` in `channel`.
fn press(db: &TestDb, user: &str, channel: &str, answer: &Value, verb: &str) -> Value {
    let id = answer["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_str())
        .find(|id| id.starts_with(&format!("{verb}:")))
        .unwrap_or_else(|| panic!("no {verb} in {answer}"))
        .to_string();
    json(&keepable(&db.url, &["act", "--json", "--as", user, "--channel", channel, &id]))
}

/// A deadline of 2027-06-29 from a start of 2027-04-27, which the rule says needs approval,
/// requested by `seller` and approved.
fn approved_exception(db: &TestDb, seller: &str, channel: &str) -> String {
    let line = "/comparables crm-rollout deadline=2027-06-29 start=2027-04-27";
    let answer =
        json(&keepable(&db.url, &["ask", "--json", "--as", seller, "--channel", channel, line]));
    assert_eq!(
        press(db, seller, channel, &answer, "request_approval")["kind"],
        "approval_requested"
    );
    let (card, approve) = last_card(db);
    let decided = json(&keepable(&db.url, &["act", "--json", "--as", "U-APPROVER", &approve]));
    assert_eq!(decided["state"], "approved", "{decided}");
    card
}

on_both_databases!(the_radar_chart_draws_one_group_per_group_shown_and_writes_a_png);
async fn the_radar_chart_draws_one_group_per_group_shown_and_writes_a_png(db: TestDb) {
    import(&db, &data("signals/firm-signals"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("radar.png");
    let written = keepable(&db.url, &["chart", "--out", file.to_str().unwrap(), "/radar"]);
    let stdout = String::from_utf8_lossy(&written.stdout);
    assert!(written.status.success(), "{stdout}{}", String::from_utf8_lossy(&written.stderr));
    assert!(stdout.contains("Wrote the chart \"Warning signs by package\""), "{stdout}");
    // The text bars: one block of four figures per package shown.
    let blocks = stdout.lines().filter(|l| l.trim_start().starts_with("Change orders")).count();
    assert_eq!(blocks, 4, "{stdout}");
    for metric in ["Margin fade", "Schedule slip", "Seniority gap"] {
        let lines = stdout.lines().filter(|l| l.trim_start().starts_with(metric)).count();
        assert_eq!(lines, 4, "{metric}: {stdout}");
    }
    let png = std::fs::read(&file).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 5_000, "a drawn chart, not a blank page: {} bytes", png.len());

    // A seller's own row is the only seller group in their chart.
    let own = dir.path().join("own.png");
    let args = ["chart", "--as", "U-SELL05", "--out", own.to_str().unwrap(), "/radar by=seller"];
    let seller = keepable(&db.url, &args);
    let stdout = String::from_utf8_lossy(&seller.stdout);
    assert!(seller.status.success(), "{stdout}{}", String::from_utf8_lossy(&seller.stderr));
    let blocks = stdout.lines().filter(|l| l.trim_start().starts_with("Change orders")).count();
    assert_eq!(blocks, 1, "{stdout}");
    assert!(!stdout.contains("U-SELL01"), "{stdout}");
}

on_both_databases!(promises_made_through_the_cli_are_scored_once_history_names_their_deals);
async fn promises_made_through_the_cli_are_scored_once_history_names_their_deals(db: TestDb) {
    import(&db, &data("firm-public"));
    let a = new_deal(&db, "U-SELLER", "C-A", "Alpha");
    let card = approved_exception(&db, "U-SELLER", "C-A");
    assert!(
        card.contains("No approved deadline exception for CRM Rollout has finished yet"),
        "{card}"
    );
    // Deal B: the earliest start and a deadline the rule supports, both committed.
    let b = new_deal(&db, "U-SELLER", "C-B", "Beta");
    let start = json(&keepable(
        &db.url,
        &["ask", "--json", "--as", "U-SELLER", "--channel", "C-B", "/earliest-start crm-rollout"],
    ));
    let start_date: chrono::NaiveDate = start["earliest_start"].as_str().unwrap().parse().unwrap();
    assert_eq!(press(&db, "U-SELLER", "C-B", &start, "commit_start")["kind"], "commitment");
    let late = json(&keepable(
        &db.url,
        &[
            "ask",
            "--json",
            "--as",
            "U-SELLER",
            "--channel",
            "C-B",
            "/comparables crm-rollout deadline=2028-06-30",
        ],
    ));
    assert_eq!(press(&db, "U-SELLER", "C-B", &late, "commit_deadline")["kind"], "commitment");
    let c = new_deal(&db, "U-OTHER", "C-C", "Gamma");
    approved_exception(&db, "U-OTHER", "C-C");

    // The projects as delivery's export has them: Alpha late, Beta on time, Gamma on time.
    let export = tempfile::tempdir().unwrap();
    let beta_start = start_date + chrono::Duration::days(6);
    std::fs::write(
        export.path().join("history.csv"),
        format!(
            "id,package,start,end,effort_hours,seller,deal\n\
             e1,crm-rollout,2027-04-27,2027-07-15,900,U-SELLER,{a}\n\
             e2,crm-rollout,{beta_start},2028-05-01,900,U-SELLER,{b}\n\
             e3,crm-rollout,2027-04-27,2027-06-25,900,U-OTHER,{c}\n"
        ),
    )
    .unwrap();
    import(&db, export.path());

    let record = ask(&db, None, "/track-record");
    assert_eq!(
        (record["kind"].as_str(), record["by"].as_str()),
        (Some("track_record"), Some("seller"))
    );
    let row = |answer: &Value, key: &str| -> Vec<Value> {
        let group =
            answer["groups"].as_array().unwrap().iter().find(|g| g["key"] == key).unwrap().clone();
        ["promises", "kept", "kept_rate", "exceptions", "exceptions_kept", "exceptions_kept_rate"]
            .iter()
            .map(|k| group[*k].clone())
            .collect()
    };
    use serde_json::json as j;
    assert_eq!(row(&record, "U-SELLER"), [j!(3), j!(2), j!(2.0 / 3.0), j!(1), j!(0), j!(0.0)]);
    assert_eq!(row(&record, "U-OTHER"), [j!(1), j!(1), j!(1.0), j!(1), j!(1), j!(1.0)]);
    let by_package = ask(&db, Some("U-SELLER"), "/track-record by=package");
    assert_eq!(row(&by_package, "crm-rollout"), [j!(4), j!(3), j!(0.75), j!(2), j!(1), j!(0.5)]);
    assert_eq!(keys(&ask(&db, Some("U-SELLER"), "/track-record")), ["U-SELLER"]);
    assert_eq!(keys(&ask(&db, Some("U-APPROVER"), "/track-record")), ["U-OTHER", "U-SELLER"]);

    // The next deadline request's card shows how the package's exceptions ended.
    new_deal(&db, "U-SELLER", "C-D", "Delta");
    let card = approved_exception(&db, "U-SELLER", "C-D");
    assert!(
        card.contains("Of 2 approved deadline exceptions for CRM Rollout, 1 was kept."),
        "{card}"
    );
}
