//! The console through a pseudo-terminal, as a person types at it: shell quoting for `act`,
//! Ctrl-C clears the line, Ctrl-D or an empty answer cancels a form and keeps the session, `help`
//! lists the console's own commands.

use std::process::Command;
use std::time::Duration;

use expectrl::{ControlCode, Session};

use crate::support::TestDb;

fn console(db: &TestDb, home: &std::path::Path) -> Session {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keepable"));
    command
        .args(["--today", "2026-11-25", "console", "--as", "U-SELLER", "--channel", "C-ACME"])
        .env("DATABASE_URL", &db.url)
        .env("HOME", home)
        .env("KEEPABLE_APPROVERS", "U-APPROVER")
        .env("KEEPABLE_PRESALES_MEMBERS", "U-PRESALES")
        .env_remove("KEEPABLE_CONFIG")
        .env_remove("KEEPABLE_TODAY")
        .env_remove("KEEPABLE_NOW");
    let mut session = Session::spawn(command).expect("the console starts in a pseudo-terminal");
    session.set_expect_timeout(Some(Duration::from_secs(20)));
    session
}

const PROMPT: &str = "U-SELLER@C-ACME> ";

#[test]
fn the_console_is_a_good_terminal_citizen() {
    let db = TestDb::sqlite();
    let home = tempfile::tempdir().unwrap();
    let mut p = console(&db, home.path());
    p.expect("Loaded the demo firm").unwrap();
    p.expect(PROMPT).unwrap();

    p.send_line("help").unwrap();
    for command in ["act ACTION_ID", "as USER", "channel NAME", "quit", "/earliest-start"] {
        p.expect(command).unwrap_or_else(|e| panic!("help lists {command}: {e}"));
    }
    p.expect(PROMPT).unwrap();

    // Ctrl-C clears the line typed so far; the session goes on.
    p.send("/staffing nothing-at-all").unwrap();
    p.send(ControlCode::EndOfText).unwrap();
    p.expect(PROMPT).unwrap();
    p.send_line("/staffing crm-rollout").unwrap();
    p.expect("CRM Rollout is staffed").unwrap();
    p.expect(PROMPT).unwrap();

    // A form: Ctrl-D at its prompt cancels it, and the console is still there.
    p.send_line("/deal new Acme package=crm-rollout").unwrap();
    p.expect(PROMPT).unwrap();
    p.send_line("/earliest-start crm-rollout").unwrap();
    p.expect("[3] Ask for an earlier start").unwrap();
    p.expect(PROMPT).unwrap();
    p.send_line("3").unwrap();
    p.expect("Start date (YYYY-MM-DD): ").unwrap();
    p.send(ControlCode::EndOfTransmission).unwrap();
    p.expect("Cancelled: nothing was pressed.").unwrap();
    p.expect(PROMPT).unwrap();
    // An empty answer to a required field cancels too, and blames no option.
    p.send_line("3").unwrap();
    p.expect("Start date (YYYY-MM-DD): ").unwrap();
    p.send_line("").unwrap();
    p.expect("Cancelled: nothing was pressed.").unwrap();
    p.expect(PROMPT).unwrap();

    // act reads its fields as a shell does.
    p.send_line("/scope Salesforce CPQ with approval chains").unwrap();
    p.expect("Scoping ticket T").unwrap();
    p.expect(PROMPT).unwrap();
    p.send_line("as U-PRESALES").unwrap();
    p.expect("U-PRESALES@C-ACME> ").unwrap();
    p.send_line("act accept_ticket:nope notes=\"open").unwrap();
    p.expect("A quote is not closed").unwrap();
    p.expect("U-PRESALES@C-ACME> ").unwrap();
    p.send_line("quit").unwrap();
    p.expect(expectrl::Eof).unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_keepable"))
        .args(["outbox"])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    let outbox = String::from_utf8_lossy(&output.stdout);
    let ticket = outbox
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '_'))
        .find(|w| w.starts_with("accept_ticket:"))
        .expect("the presales card carries its ticket's id")
        .trim_start_matches("accept_ticket:")
        .to_string();
    let mut p = console(&db, home.path());
    p.expect(PROMPT).unwrap();
    p.send_line("as U-PRESALES").unwrap();
    p.expect("U-PRESALES@C-ACME> ").unwrap();
    p.send_line(format!("act accept_ticket:{ticket}")).unwrap();
    p.expect("is accepted").unwrap();
    p.expect("U-PRESALES@C-ACME> ").unwrap();
    p.send_line(format!(
        "act scope_ticket:{ticket} effort=120 price=18,000 notes=\"two approval levels\""
    ))
    .unwrap();
    p.expect("Scoped at 120 hours, $18,000. two approval levels").unwrap();
    p.expect("U-PRESALES@C-ACME> ").unwrap();
    p.send(ControlCode::EndOfTransmission).unwrap();
    p.expect(expectrl::Eof).unwrap();
}
