//! The `keepable` binary through its CLI contract: import, ask, act, outbox, audit, gen-firm.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{on_both_databases, TestDb};

pub(crate) fn keepable(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keepable"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("KEEPABLE_TODAY", "2027-03-10")
        .env("KEEPABLE_NOW", "2027-03-10T12:00:00Z")
        .env("KEEPABLE_APPROVERS", "U-APPROVER,U-BOSS")
        .env("KEEPABLE_PRESALES_MEMBERS", "U-PRESALES")
        .env_remove("KEEPABLE_CONFIG")
        .output()
        .unwrap()
}

pub(crate) fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

/// The project's shared acceptance examples beside the checkout, or the copy in `tests/data`
/// when the checkout stands alone.
fn acceptance() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/acceptance");
    if shared.join("check.py").exists() {
        shared
    } else {
        root.join("tests/data/acceptance")
    }
}

fn acceptance_firm() -> PathBuf {
    acceptance().join("firm-public")
}

#[test]
fn the_acceptance_examples_pass() {
    let output = Command::new("python3")
        .arg(acceptance().join("check.py"))
        .args(["--bin", env!("CARGO_BIN_EXE_keepable")])
        .output()
        .expect("python3 runs the acceptance check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.trim_end().ends_with(" 0 failed"), "{stdout}");
}

on_both_databases!(a_broken_csv_is_refused_with_its_line_and_the_database_answers_as_before);
async fn a_broken_csv_is_refused_with_its_line_and_the_database_answers_as_before(db: TestDb) {
    assert!(keepable(&db.url, &["import", acceptance_firm().to_str().unwrap()]).status.success());
    let before = json(&keepable(&db.url, &["ask", "--json", "/earliest-start crm-rollout"]));
    let broken = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(acceptance_firm()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            std::fs::copy(&path, broken.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let allocations = broken.path().join("allocations.csv");
    let mut text = std::fs::read_to_string(&allocations).unwrap();
    text.push_str("p000,proj-x,2027-02-30,2027-03-30,8,confirmed\n");
    let line = text.lines().count();
    std::fs::write(&allocations, text).unwrap();
    let output = keepable(&db.url, &["import", broken.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("allocations.csv:{line}: start: bad date '2027-02-30'")),
        "{stderr}"
    );
    let after = json(&keepable(&db.url, &["ask", "--json", "/earliest-start crm-rollout"]));
    assert_eq!(before["earliest_start"], after["earliest_start"]);
    assert_eq!(before["roles"], after["roles"]);
}

#[test]
fn an_error_reply_is_json_with_exit_status_one() {
    let db = TestDb::sqlite();
    keepable(&db.url, &["import", acceptance_firm().to_str().unwrap()]);
    let output = keepable(&db.url, &["ask", "--json", "/earliest-strat crm-rollout"]);
    assert_eq!(output.status.code(), Some(1));
    let reply = json(&output);
    assert_eq!(reply["kind"], "error");
    assert!(reply["message"].as_str().unwrap().contains("/earliest-start"));
    assert_eq!(reply["actions"], serde_json::json!([]));
    let unknown = json(&keepable(&db.url, &["ask", "--json", "/staffing crm"]));
    assert!(unknown["message"].as_str().unwrap().contains("crm-rollout"), "{unknown}");
}

on_both_databases!(the_approval_flow_runs_through_the_cli);
async fn the_approval_flow_runs_through_the_cli(db: TestDb) {
    keepable(&db.url, &["import", acceptance_firm().to_str().unwrap()]);
    let seller = ["--as", "U-SELLER", "--channel", "C-DEAL"];
    let ask = |text: &str| {
        json(&keepable(&db.url, &[&["ask", "--json"][..], &seller[..], &[text]].concat()))
    };
    assert_eq!(ask("/deal new Acme package=crm-rollout")["kind"], "deal");
    let answer = ask("/comparables crm-rollout deadline=2027-06-29 start=2027-04-27");
    let request = answer["actions"][0]["id"].as_str().unwrap().to_string();
    let requested = json(&keepable(
        &db.url,
        &[&["act", "--json"][..], &seller[..], &[request.as_str()]].concat(),
    ));
    assert_eq!(requested["kind"], "approval_requested");
    let outbox = json(&keepable(&db.url, &["outbox", "--json"]));
    let card = &outbox[0];
    assert_eq!(
        (card["target"].as_str(), card["state"].as_str()),
        (Some("channel:leadership"), Some("pending"))
    );
    let approve = card["actions"][0]["id"].as_str().unwrap().to_string();
    let refused = keepable(&db.url, &["act", "--as", "U-STRANGER", "--json", &approve]);
    assert_eq!((refused.status.code(), json(&refused)["kind"].as_str()), (Some(1), Some("error")));
    let decided = json(&keepable(&db.url, &["act", "--as", "U-APPROVER", "--json", &approve]));
    assert_eq!(
        (decided["state"].as_str(), decided["decided_by"].as_str()),
        (Some("approved"), Some("U-APPROVER"))
    );
    let outbox = json(&keepable(&db.url, &["outbox", "--json"]));
    assert!(outbox.as_array().unwrap().iter().any(|m| m["updates"] == card["id"]));
    let audit = json(&keepable(&db.url, &["audit", "--json"]));
    let entries: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert!(
        entries.contains(&("U-STRANGER", "approval.refused"))
            && entries.contains(&("U-APPROVER", "approval.approved")),
        "{entries:?}"
    );
}

#[test]
fn gen_firm_is_deterministic_and_importable() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let db = TestDb::sqlite();
    for dir in [&a, &b] {
        assert!(keepable(
            &db.url,
            &["gen-firm", "--people", "400", "--seed", "7", dir.path().to_str().unwrap()]
        )
        .status
        .success());
    }
    for file in ["people.csv", "allocations.csv", "history.csv"] {
        assert_eq!(
            std::fs::read(a.path().join(file)).unwrap(),
            std::fs::read(b.path().join(file)).unwrap(),
            "{file}"
        );
    }
    let output = keepable(&db.url, &["import", a.path().to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        json(&keepable(&db.url, &["ask", "--json", "/staffing cloud-migration"]))["kind"],
        "staffing"
    );
    // Its history has sellers and staffing: the optimistic seller stands out on the radar.
    let radar = json(&keepable(&db.url, &["ask", "--json", "/radar by=seller"]));
    let first = &radar["groups"][0];
    assert_eq!(first["key"], "U-SELL000", "{radar}");
    assert!(first["signals"].as_array().unwrap().len() >= 2, "{radar}");
    assert!(first["seniority_gap_rate"].as_f64().is_some(), "{radar}");
}

/// A copy of `firm` as a folder of CSV files only (the acceptance firm holds questions too).
fn export_of(firm: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(firm).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

on_both_databases!(import_prints_what_changed_and_a_dry_run_changes_nothing);
async fn import_prints_what_changed_and_a_dry_run_changes_nothing(db: TestDb) {
    let export = export_of(&acceptance_firm());
    let dir = export.path().to_str().unwrap();
    let first = keepable(&db.url, &["import", dir]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(stdout(&first).contains("people.csv"), "{}", stdout(&first));
    let again = keepable(&db.url, &["import", dir]);
    let lines: Vec<String> = stdout(&again).lines().map(String::from).collect();
    assert!(
        lines.iter().filter(|l| l.contains(".csv")).all(|l| l.ends_with(": unchanged")),
        "{lines:?}"
    );

    let before = json(&keepable(&db.url, &["ask", "--json", "/earliest-start crm-rollout"]));
    let allocations = std::fs::read_to_string(export.path().join("allocations.csv")).unwrap();
    let header = allocations.lines().next().unwrap().to_string();
    std::fs::write(export.path().join("allocations.csv"), header + "\n").unwrap();
    let dry = keepable(&db.url, &["import", "--dry-run", dir]);
    assert!(dry.status.success());
    let printed = stdout(&dry);
    assert!(printed.contains("allocations.csv") && printed.contains("removed"), "{printed}");
    assert!(printed.contains("Dry run: nothing was changed."), "{printed}");
    let after = json(&keepable(&db.url, &["ask", "--json", "/earliest-start crm-rollout"]));
    assert_eq!(before["earliest_start"], after["earliest_start"], "{}", db.url);

    let status = json(&keepable(&db.url, &["status", "--json"]));
    assert_eq!(status["last_import"]["source"], "cli", "{status}");
    assert!(status["people"].as_i64().unwrap() > 0);
    assert_eq!(status["outbox_backlog"], 0);
    assert_eq!(status["capacity"]["stale"], false);
}

#[test]
fn the_firms_time_zone_decides_what_today_is() {
    let db = TestDb::sqlite();
    assert!(keepable(&db.url, &["import", acceptance_firm().to_str().unwrap()]).status.success());
    // Sunday 19:00 in Chicago is Monday 01:00 UTC.
    let today_in = |zone: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_keepable"))
            .args(["ask", "--json", "/earliest-start crm-rollout"])
            .env("DATABASE_URL", &db.url)
            .env("KEEPABLE_NOW", "2026-11-30T01:00:00Z")
            .env("KEEPABLE_TIMEZONE", zone)
            .env_remove("KEEPABLE_TODAY")
            .env_remove("KEEPABLE_CONFIG")
            .output()
            .unwrap();
        json(&output)["today"].as_str().unwrap().to_string()
    };
    assert_eq!(today_in("America/Chicago"), "2026-11-29");
    assert_eq!(today_in("UTC"), "2026-11-30");
}

#[test]
fn serve_stops_gracefully_on_sigterm() {
    use std::io::BufRead;
    let db = TestDb::sqlite();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keepable"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", &db.url)
        .env_remove("KEEPABLE_CONFIG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let guard = std::time::Duration::from_secs(30);
    loop {
        let line = received.recv_timeout(guard).expect("serve says where it listens");
        if line.contains("listening on") {
            break;
        }
    }
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let mut said = Vec::new();
    while let Ok(line) = received.recv_timeout(guard) {
        said.push(line);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exits cleanly on SIGTERM: {status:?} {said:?}");
    assert!(said.iter().any(|l| l.contains("stopping")), "{said:?}");
}

on_both_databases!(chart_writes_the_answers_chart_as_png_and_fails_without_one);
async fn chart_writes_the_answers_chart_as_png_and_fails_without_one(db: TestDb) {
    keepable(&db.url, &["import", acceptance_firm().to_str().unwrap()]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("comparables.png");
    let command = "/comparables crm-rollout deadline=2027-06-29 start=2027-04-27";
    let written = keepable(&db.url, &["chart", "--out", file.to_str().unwrap(), command]);
    let stdout = String::from_utf8_lossy(&written.stdout);
    assert!(written.status.success(), "{stdout}{}", String::from_utf8_lossy(&written.stderr));
    assert!(stdout.contains("Wrote the chart"), "{stdout}");
    assert!(stdout.contains("── asked (deadline 2027-06-29)"), "the text bars too: {stdout}");
    let png = std::fs::read(&file).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let word = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((&png[12..16], word(16), word(20)), (&b"IHDR"[..], 900, 420));
    assert!(png.len() > 5_000, "a drawn chart, not a blank page: {} bytes", png.len());

    let none = dir.path().join("staffing.png");
    let refused =
        keepable(&db.url, &["chart", "--out", none.to_str().unwrap(), "/staffing crm-rollout"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("has no chart"));
    assert!(!none.exists());
    let failed =
        keepable(&db.url, &["chart", "--out", none.to_str().unwrap(), "/comparables nope"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("Unknown package"));
    assert!(!none.exists());
}
