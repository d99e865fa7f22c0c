//! The `keepable` binary through its CLI contract: import, ask, act, outbox, audit, gen-firm.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{on_both_databases, TestDb};

fn keepable(db: &str, args: &[&str]) -> Output {
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

fn json(output: &Output) -> serde_json::Value {
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
            &["gen-firm", "--people", "120", "--seed", "7", dir.path().to_str().unwrap()]
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
}
