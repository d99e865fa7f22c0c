//! Slash commands through `/slack/commands`: every command answers inline in Block Kit, seller
//! answers only for the seller, mistakes get a friendly error, and `/scope` alone opens a modal.

use serde_json::Value;

use super::{button, buttons, text_of, Harness};
use crate::support::{demo_app, on_both_databases, settings, TestDb};

const SELLER: &str = "U-SELLER";
const DEAL_ROOM: &str = "C-DEAL";

async fn harness(db: &TestDb) -> Harness {
    Harness::start(demo_app(db, settings()).await).await
}

fn block_types(answer: &Value) -> Vec<String> {
    answer["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| b["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn each_seller_command_answers_ephemerally_in_block_kit() {
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let cases = [
        // Without a deal in the room, no button that needs one: the answer says how to get it.
        ("/earliest-start crm-rollout", "add deal=&lt;deal&gt;", "request_early_start"),
        ("/earliest-start crm-rollout deal=acme", "can start on", "hold"),
        ("/staffing crm-rollout", "weeks", ""),
        ("/included sso package=crm-rollout", "Single sign-on", ""),
        ("/comparables crm-rollout deadline=2026-12-31 start=2026-12-07", "", "request_approval"),
        ("/keepable help", "/earliest-start", ""),
        ("/keepable staffing crm-rollout", "weeks", ""),
    ];
    slack.command(SELLER, "C-ACME", "/deal new Acme package=crm-rollout").await;
    for (line, says, offers) in cases {
        let answer = slack.command(SELLER, DEAL_ROOM, line).await;
        assert_eq!(answer["response_type"], "ephemeral", "{line}: {answer:#}");
        let types = block_types(&answer);
        assert_eq!(types.first().map(String::as_str), Some("header"), "{line}: {types:?}");
        assert!(types.contains(&"section".to_string()), "{line}: {types:?}");
        assert!(text_of(&answer).contains(says), "{line} should say '{says}': {answer:#}");
        assert!(
            !answer["text"].as_str().unwrap_or_default().is_empty(),
            "{line} has a notification fallback"
        );
        if !offers.is_empty() {
            button(&answer, offers);
        }
        for style in answer["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        {
            if let Some(style) = style["style"].as_str() {
                assert!(style == "primary" || style == "danger", "{style}");
            }
        }
    }
    // Only the comparables' chart goes through the Web API (it is uploaded after the answer).
    let chart_calls = ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"];
    let others: Vec<String> = slack
        .fake
        .calls()
        .into_iter()
        .map(|c| c.method)
        .filter(|m| !chart_calls.contains(&m.as_str()) && m != "response:command")
        .collect();
    assert!(others.is_empty(), "answers went back inline, not through the Web API: {others:?}");
}

#[tokio::test]
async fn a_comparables_answer_is_followed_by_its_chart_uploaded_and_shown_in_an_image_block() {
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let line = "/comparables crm-rollout deadline=2027-03-01 start=2026-12-07";
    let answer = slack.command(SELLER, DEAL_ROOM, line).await;
    assert_eq!(answer["response_type"], "ephemeral", "the text answer is inline: {answer:#}");
    assert!(!block_types(&answer).contains(&"image".to_string()), "{answer:#}");

    // Then, on the response_url: one image block naming the file the three steps uploaded.
    let shown = slack.fake.until(|| slack.responses("command").into_iter().next()).await;
    assert_eq!(shown["response_type"], "ephemeral", "{shown:#}");
    assert_eq!(shown["replace_original"], false, "the answer stays: {shown:#}");
    assert_eq!(block_types(&shown), vec!["image"]);
    let file_id = shown["blocks"][0]["slack_file"]["id"].as_str().unwrap().to_string();
    assert!(shown["blocks"][0]["alt_text"].as_str().unwrap().contains("CRM Rollout"), "{shown:#}");

    let asked = slack.fake.succeeded("files.getUploadURLExternal");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].body["filename"], "chart.png");
    assert_eq!(asked[0].token.as_deref(), Some(super::BOT_TOKEN), "the bot token asks for the URL");
    let png = slack.fake.uploaded(&file_id).expect("the bytes went to the upload_url");
    assert_eq!(asked[0].body["length"], png.len().to_string(), "the length announced is sent");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!((5_000..2_000_000).contains(&png.len()), "a plausible chart: {} bytes", png.len());
    let completed = slack.fake.succeeded("files.completeUploadExternal");
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].body["files"][0]["id"], file_id.as_str());
    assert!(completed[0].body["files"][0]["title"].as_str().unwrap().contains("CRM Rollout"));
    assert!(
        completed[0].body.get("channel_id").is_none(),
        "private to the app: {:#}",
        completed[0].body
    );
    let order: Vec<String> = slack.fake.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(
        order,
        [
            "files.getUploadURLExternal",
            "upload",
            "files.completeUploadExternal",
            "response:command"
        ]
    );
}

#[tokio::test]
async fn a_chart_shown_before_is_shown_in_the_next_answer_without_a_second_upload() {
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let line = "/comparables crm-rollout deadline=2027-03-01 start=2026-12-07";
    slack.command(SELLER, DEAL_ROOM, line).await;
    let shown = slack.fake.until(|| slack.responses("command").into_iter().next()).await;
    let file_id = shown["blocks"][0]["slack_file"]["id"].as_str().unwrap().to_string();

    // The same question from another seller: the same chart, in the answer itself.
    let again = slack.command("U0OTHER", DEAL_ROOM, line).await;
    let blocks = again["blocks"].as_array().unwrap();
    let image = blocks.iter().find(|b| b["type"] == "image").expect("the chart, inline");
    assert_eq!(image["slack_file"]["id"], file_id.as_str(), "{again:#}");
    assert!(image["alt_text"].as_str().unwrap().contains("CRM Rollout"), "{again:#}");
    let last = blocks.last().unwrap();
    assert!(
        last["type"] == "actions" || last == image,
        "the image is above the buttons: {again:#}"
    );

    // A different question draws a different chart: uploaded in its turn.
    slack.command(SELLER, DEAL_ROOM, "/comparables crm-rollout").await;
    slack.fake.until(|| (slack.responses("command").len() == 2).then_some(())).await;
    assert_eq!(slack.fake.succeeded("files.getUploadURLExternal").len(), 2);
    assert_eq!(slack.fake.succeeded("files.completeUploadExternal").len(), 2);
}

on_both_databases!(deal_and_scope_commands_answer_and_act);
async fn deal_and_scope_commands_answer_and_act(db: TestDb) {
    let slack = harness(&db).await;
    let created = slack
        .command(SELLER, DEAL_ROOM, "/deal new \"Acme CRM\" package=crm-rollout client=Acme")
        .await;
    assert!(text_of(&created).contains("Acme CRM"), "{created:#}");
    assert!(!text_of(&created).contains(":warning:"), "{created:#}");
    let shown = slack.command(SELLER, DEAL_ROOM, "/deal show").await;
    assert!(text_of(&shown).contains("Acme CRM"), "{shown:#}");

    let scoped = slack.command(SELLER, DEAL_ROOM, "/scope a CPQ connector to SAP").await;
    assert!(!text_of(&scoped).contains(":warning:"), "{scoped:#}");
    // The ticket reaches presales through the outbox, as a card with its buttons.
    slack.deliver().await;
    let card = slack
        .fake
        .succeeded("chat.postMessage")
        .into_iter()
        .map(|c| c.body)
        .find(|b| b["channel"] == "presales");
    let card = card.expect("the ticket card is posted to presales");
    assert!(text_of(&card).contains("CPQ connector to SAP"), "{card:#}");
    assert!(buttons(&card).iter().any(|id| id.starts_with("accept_ticket:")), "{card:#}");
}

#[tokio::test]
async fn a_bad_command_gets_a_friendly_error_that_says_what_is_valid() {
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let cases = [
        ("/earliest-start crm-rollot", "crm-rollout"),
        ("/comparables crm-rollout deadline=31/12/2026", "YYYY-MM-DD"),
        ("/staffing", "Usage"),
        ("/deal won pm=U-PM", "deal"),
    ];
    for (line, hint) in cases {
        let answer = slack.command(SELLER, DEAL_ROOM, line).await;
        assert_eq!(answer["response_type"], "ephemeral", "{line}");
        let text = text_of(&answer);
        assert!(
            text.contains(":warning:") && text.contains(hint),
            "{line} should mention '{hint}': {text}"
        );
        assert!(!text.contains("panicked") && !text.contains("reference"), "{line}: {text}");
    }
}

on_both_databases!(scope_without_a_description_opens_a_modal_whose_submission_opens_a_ticket);
async fn scope_without_a_description_opens_a_modal_whose_submission_opens_a_ticket(db: TestDb) {
    let slack = harness(&db).await;
    let answer = slack.command(SELLER, DEAL_ROOM, "/scope").await;
    assert_eq!(answer, Value::Null, "an empty acknowledgement: the modal is the answer");
    let opened = slack.fake.succeeded("views.open");
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].body["trigger_id"], "13345224609.738474920.8088930838d88f008e0");
    let view = opened[0].body["view"].clone();
    assert_eq!(view["type"], "modal");

    let (status, body) = slack.submit(SELLER, &view, &[("description", "  ")]).await;
    assert_eq!(status, 200);
    let refused: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(refused["response_action"], "errors");
    assert!(refused["errors"]["description"].is_string(), "{refused:#}");

    let (status, body) =
        slack.submit(SELLER, &view, &[("description", "Salesforce CPQ bridge")]).await;
    assert_eq!((status.as_u16(), body.as_str()), (200, ""), "a good submission closes the modal");
    slack.deliver().await;
    let card = slack
        .fake
        .succeeded("chat.postMessage")
        .into_iter()
        .map(|c| c.body)
        .find(|b| b["channel"] == "presales");
    let card = card.expect("the ticket card is posted to presales");
    assert!(text_of(&card).contains("Salesforce CPQ bridge"), "{card:#}");
}

#[tokio::test]
async fn a_slow_answer_is_acknowledged_within_three_seconds_and_follows_on_the_response_url() {
    use sqlx::Connection;
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    // Another writer holds the database, so the answer cannot be ready in time.
    let mut blocker = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut blocker).await.unwrap();
    let started = std::time::Instant::now();
    let ack = slack.command(SELLER, DEAL_ROOM, "/deal new Slowpoke package=crm-rollout").await;
    let waited = started.elapsed();
    assert!(waited < std::time::Duration::from_secs(3), "acknowledged after {waited:?}");
    assert_eq!(ack["response_type"], "ephemeral", "{ack:#}");
    assert!(!text_of(&ack).contains("Slowpoke"), "the answer was not ready: {ack:#}");
    assert!(slack.responses("command").is_empty());

    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    let answer = slack.fake.until(|| slack.responses("command").first().cloned()).await;
    assert!(text_of(&answer).contains("Slowpoke"), "{answer:#}");
    assert_eq!(answer["response_type"], "ephemeral");
}

#[tokio::test]
async fn the_manifest_declares_every_command_scope_and_url_the_server_serves() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/slack/manifest.yml"))
            .unwrap();
    for (name, _) in keepable::app::command::SYNTAX {
        assert!(
            manifest.contains(&format!("- command: /{name}\n")),
            "/{name} is not in the manifest"
        );
    }
    for scope in [
        "commands",
        "chat:write",
        "chat:write.public",
        "im:write",
        "usergroups:read",
        "users:read",
        "app_mentions:read",
    ] {
        assert!(
            manifest.contains(&format!("      - {scope}\n")),
            "scope {scope} is not in the manifest"
        );
    }
    assert!(
        manifest.contains("      - app_mention\n")
            && manifest.contains("socket_mode_enabled: false")
    );
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let paths: Vec<&str> = manifest
        .lines()
        .filter_map(|line| line.split("url: https://keepable.example.com").nth(1))
        .collect();
    assert_eq!(paths.len(), 9 + 2, "nine commands, events and interactivity: {paths:?}");
    for path in paths {
        // An endpoint of ours answers an unsigned request 401, where an unknown path would be 404.
        let status =
            slack.http.post(slack.server.url(path)).body("x=1").send().await.unwrap().status();
        assert_eq!(status, 401, "{path}");
    }
}

/// SQLite under a live bot: an import (another connection, as `keepable import` is another
/// process) succeeds while the bot serves, and the bot keeps answering during it.
#[tokio::test]
async fn an_import_while_the_bot_serves_succeeds_and_the_bot_keeps_answering() {
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let export = tempfile::tempdir().unwrap();
    keepable::import::gen_firm::generate(export.path(), 3000, 7, crate::support::today()).unwrap();
    let importer = keepable::store::Store::connect(&db.url).await.unwrap();
    let import = tokio::spawn(async move {
        let (parsed, problems) = keepable::import::parse_dir(export.path()).unwrap();
        let options = keepable::store::ImportOptions::cli(crate::support::now());
        importer.import_with(&parsed, problems, &options).await.unwrap()
    });
    for package in ["crm-rollout", "bi-dashboards", "cloud-migration", "data-platform-foundation"] {
        let started = std::time::Instant::now();
        let answer = slack.command(SELLER, DEAL_ROOM, &format!("/staffing {package}")).await;
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
        assert_eq!(answer["response_type"], "ephemeral", "{answer:#}");
    }
    let report = import.await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}
