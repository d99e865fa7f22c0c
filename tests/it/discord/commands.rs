//! Every slash command with typed options, autocomplete from the library, deferred answers edited
//! in later, and `keepable discord register` against the fake.

use keepable::chat::discord::register::register_commands;
use serde_json::{json, Value};

use super::{
    embed_text, sub, text, Harness, APPLICATION_ID, BOT_TOKEN, GUILD, PM, PRESALES, SELLER,
};
use keepable::app::text;

use crate::support::{actor, now, on_both_databases, TestDb};

/// A command's answer through Discord, beside the app's own answer to the line it should become.
async fn same_answer(harness: &Harness, name: &str, options: Value, line: &str) {
    let answer = harness.post(&harness.command(SELLER, name, options)).await;
    let expected = harness.app.ask(&actor(SELLER.id, super::DEAL_CHANNEL), line).await;
    assert!(!expected.is_error(), "{line} should be a seller answer: {expected:?}");
    assert_eq!(
        answer.private_title(),
        text::plain(&expected.headline),
        "/{name} should answer like `{line}`"
    );
}

#[tokio::test]
async fn every_seller_command_answers_with_an_ephemeral_embed() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let cases = [
        ("earliest-start", json!([text("package", "crm-rollout")]), "/earliest-start crm-rollout"),
        (
            "earliest-start",
            json!([text("package", "CRM Rollout"), text("not-before", "2027-02-01")]),
            "/earliest-start crm-rollout not-before=2027-02-01",
        ),
        (
            "earliest-start",
            json!([text("roles", "senior:1@20"), { "name": "weeks", "type": 4, "value": 6 }]),
            "/earliest-start roles=senior:1@20 weeks=6",
        ),
        ("staffing", json!([text("package", "bi-dashboards")]), "/staffing bi-dashboards"),
        (
            "included",
            json!([text("item", "SSO"), text("package", "crm-rollout")]),
            "/included SSO package=crm-rollout",
        ),
        ("included", json!([text("item", "Customer portal")]), "/included \"Customer portal\""),
        ("keepable", json!([sub("help", json!([]))]), "/keepable help"),
        (
            "keepable",
            json!([sub("run", json!([text("command", "staffing cloud-migration")]))]),
            "/staffing cloud-migration",
        ),
    ];
    for (name, options, line) in cases {
        same_answer(&harness, name, options, line).await;
    }
}

#[tokio::test]
async fn an_answer_offers_its_actions_as_buttons_whose_custom_id_is_the_action_id() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let options = json!([
        text("package", "crm-rollout"),
        text("deadline", "2026-12-31"),
        text("start", "2026-12-07")
    ]);
    let answer = harness.post_deferred(&harness.command(SELLER, "comparables", options)).await;
    let button = super::button(&answer.body, "request_approval").expect("a request button");
    assert!(button.len() <= 100, "a custom_id is at most 100 characters: {button}");
}

#[tokio::test]
async fn a_comparables_answer_is_edited_in_with_its_chart_attached_and_shown_in_the_embed() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    // Typed options, a number among them, become the same command line.
    let options = json!([text("package", "crm-rollout"), { "name": "effort", "type": 10, "value": 900.5 },
                         text("deadline", "2027-06-30"), text("start", "2027-01-04")]);
    let edit = harness.post_deferred(&harness.command(SELLER, "comparables", options)).await;
    let line = "/comparables crm-rollout effort=900.5 deadline=2027-06-30 start=2027-01-04";
    let expected = harness.app.ask(&actor(SELLER.id, super::DEAL_CHANNEL), line).await;
    assert_eq!(edit.body["embeds"][0]["title"], text::plain(&expected.headline).as_str());
    assert_eq!(edit.body["embeds"][0]["image"]["url"], "attachment://chart.png", "{:#}", edit.body);
    assert_eq!(edit.body["attachments"], json!([{ "id": 0, "filename": "chart.png" }]));
    assert_eq!(edit.authorization, None, "authorised by the interaction token alone");
    assert_eq!(edit.files.len(), 1, "{:?}", edit.files);
    let file = &edit.files[0];
    assert_eq!(
        (file.field.as_str(), file.filename.as_str(), file.content_type.as_str()),
        ("files[0]", "chart.png", "image/png")
    );
    assert_eq!(&file.bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!((5_000..2_000_000).contains(&file.bytes.len()), "{} bytes", file.bytes.len());
    let ihdr = &file.bytes[12..24];
    assert_eq!(&ihdr[..4], b"IHDR");
    assert_eq!(u32::from_be_bytes(ihdr[4..8].try_into().unwrap()), 900, "the chart's width");
}

#[tokio::test]
async fn an_answer_without_a_chart_still_answers_at_once() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let command = harness.command(SELLER, "staffing", json!([text("package", "crm-rollout")]));
    let answer = harness.post(&command).await;
    assert!(!answer.private_title().is_empty(), "answered inline (type 4): {answer:?}");
}

on_both_databases!(deal_and_scope_commands_run_through_their_typed_options);
async fn deal_and_scope_commands_run_through_their_typed_options(db: TestDb) {
    let harness = Harness::start(&db).await;
    let new = json!([sub(
        "new",
        json!([
            text("name", "Acme CRM"),
            text("package", "crm-rollout"),
            text("client", "Acme Ltd")
        ])
    )]);
    assert!(harness
        .post(&harness.command(SELLER, "deal", new))
        .await
        .private_title()
        .contains("Acme CRM"));
    let show =
        harness.post(&harness.command(SELLER, "deal", json!([sub("show", json!([]))]))).await;
    assert!(embed_text(&show.body["data"]).contains("Acme"), "{show:?}");
    assert!(show.is_ephemeral());

    let scope = json!([text("description", "Quantum CPQ connector")]);
    harness.post(&harness.command(SELLER, "scope", scope)).await.private_title();
    harness.deliver().await;
    let tickets = harness.fake.messages_in(PRESALES);
    assert!(embed_text(&tickets[0]).contains("Quantum CPQ connector"), "{tickets:?}");

    let form = harness.post(&harness.command(SELLER, "scope", json!([]))).await;
    assert_eq!(
        (form.kind(), form.body["data"]["custom_id"].as_str()),
        (9, Some("/scope")),
        "no description opens a form"
    );
    let empty = harness
        .post(&harness.submit(
            SELLER,
            super::DEAL_CHANNEL,
            "/scope",
            &[("description", " "), ("deal", "")],
        ))
        .await;
    assert!(empty.private_title().contains("description"), "{empty:?}");
    let filled = harness.submit(
        SELLER,
        super::DEAL_CHANNEL,
        "/scope",
        &[("description", "Offline mobile app"), ("deal", "")],
    );
    harness.post(&filled).await.private_title();
    harness.deliver().await;
    assert_eq!(harness.fake.messages_in(PRESALES).len(), 2, "the form's ticket is posted too");

    let won = json!([sub("won", json!([{ "name": "pm", "type": 6, "value": PM.id }]))]);
    harness.post(&harness.command(SELLER, "deal", won)).await.private_title();
    harness.deliver().await;
    let dm = harness
        .fake
        .calls_to("POST", "/users/@me/channels")
        .into_iter()
        .next()
        .expect("a DM channel is opened");
    assert_eq!(dm.body["recipient_id"], PM.id, "the project manager is sent the handover directly");
    let lost =
        harness.post(&harness.command(SELLER, "deal", json!([sub("lost", json!([]))]))).await;
    assert_eq!(lost.kind(), 4, "{lost:?}");
    assert!(lost.is_ephemeral());
}

#[tokio::test]
async fn an_unknown_package_gets_a_clear_ephemeral_error_listing_the_packages() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let answer =
        harness.post(&harness.command(SELLER, "staffing", json!([text("package", "crm")]))).await;
    let title = answer.private_title();
    assert!(title.contains("crm-rollout") && title.contains("bi-dashboards"), "{title}");
}

#[tokio::test]
async fn autocomplete_offers_packages_and_deliverables_from_the_library() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let choices = |answer: super::Answer| -> Vec<(String, String)> {
        assert_eq!(answer.kind(), 8, "{answer:?}");
        let choices = answer.body["data"]["choices"].as_array().cloned().unwrap_or_default();
        choices
            .iter()
            .map(|c| {
                (c["name"].as_str().unwrap().to_string(), c["value"].as_str().unwrap().to_string())
            })
            .collect()
    };
    let focused = |name: &str, value: &str| json!({ "name": name, "type": 3, "value": value, "focused": true });

    let packages = choices(
        harness
            .post(&harness.autocomplete(SELLER, "staffing", json!([focused("package", "crm")])))
            .await,
    );
    assert_eq!(
        packages.first(),
        Some(&("CRM Rollout".to_string(), "crm-rollout".to_string())),
        "{packages:?}"
    );
    let all = choices(
        harness
            .post(&harness.autocomplete(SELLER, "staffing", json!([focused("package", "")])))
            .await,
    );
    assert_eq!(all.len(), 5, "every package when nothing is typed: {all:?}");

    let options = json!([focused("item", "sso"), text("package", "crm-rollout")]);
    let items = choices(harness.post(&harness.autocomplete(SELLER, "included", options)).await);
    assert_eq!(
        items.first().map(|c| c.1.as_str()),
        Some("Single sign-on"),
        "aliases match: {items:?}"
    );
    assert!(items.len() <= 25);

    let nested = json!([sub("new", json!([text("name", "Acme"), focused("package", "cloud")]))]);
    let nested = choices(harness.post(&harness.autocomplete(SELLER, "deal", nested)).await);
    assert_eq!(nested.first().map(|c| c.1.as_str()), Some("cloud-migration"), "{nested:?}");
}

#[tokio::test]
async fn an_answer_not_ready_in_time_is_deferred_then_edited_into_the_original_response() {
    let db = TestDb::sqlite();
    let harness =
        Harness::with(&db, now(), |settings| settings.defer_after = std::time::Duration::ZERO)
            .await;
    let command = harness.command(SELLER, "staffing", json!([text("package", "crm-rollout")]));
    let answer = harness.post(&command).await;
    assert_eq!(answer.kind(), 5, "deferred: {answer:?}");
    assert!(
        answer.is_ephemeral() && answer.body["data"]["embeds"].is_null(),
        "a private loading state first: {answer:?}"
    );
    let path = format!(
        "/webhooks/{APPLICATION_ID}/{}/messages/@original",
        command["token"].as_str().unwrap()
    );
    let edit =
        harness.fake.until(|| harness.fake.calls_to("PATCH", &path).into_iter().next()).await;
    let expected =
        harness.app.ask(&actor(SELLER.id, super::DEAL_CHANNEL), "/staffing crm-rollout").await;
    assert_eq!(edit.body["embeds"][0]["title"], text::plain(&expected.headline).as_str());
    assert_eq!(
        edit.authorization, None,
        "webhook edits are authorised by the interaction token alone"
    );
}

#[tokio::test]
async fn register_bulk_overwrites_the_commands_globally_or_in_one_guild() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let names = [
        "earliest-start",
        "staffing",
        "included",
        "comparables",
        "scope",
        "deal",
        "radar",
        "track-record",
        "keepable",
    ];
    assert_eq!(register_commands(&harness.settings, None).await.unwrap(), names.len());
    assert_eq!(register_commands(&harness.settings, Some(GUILD)).await.unwrap(), names.len());
    assert_eq!(
        register_commands(&harness.settings, None).await.unwrap(),
        names.len(),
        "re-running is safe"
    );
    let calls = harness.fake.calls();
    let paths: Vec<(&str, &str)> =
        calls.iter().map(|c| (c.method.as_str(), c.path.as_str())).collect();
    let global = format!("/applications/{APPLICATION_ID}/commands");
    let guild = format!("/applications/{APPLICATION_ID}/guilds/{GUILD}/commands");
    assert_eq!(
        paths,
        [("PUT", global.as_str()), ("PUT", guild.as_str()), ("PUT", global.as_str())],
        "one bulk overwrite each"
    );
    let call = &calls[0];
    assert_eq!(call.authorization.as_deref(), Some(format!("Bot {BOT_TOKEN}").as_str()));
    let registered: Vec<&str> =
        call.body.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(registered, names);
    let staffing = &call.body[1]["options"][0];
    assert_eq!(
        (staffing["name"].as_str(), staffing["type"].as_u64(), staffing["autocomplete"].as_bool()),
        (Some("package"), Some(3), Some(true))
    );
    let won =
        call.body[5]["options"].as_array().unwrap().iter().find(|o| o["name"] == "won").unwrap();
    assert_eq!(won["options"][0]["type"], 6, "the project manager is a user picker");
}

/// While another writer holds the SQLite database (an import), an interaction is still answered
/// (deferred) within Discord's three seconds, and the answer follows once the database is free.
#[tokio::test]
async fn a_locked_database_does_not_cost_the_acknowledgement() {
    use sqlx::Connection;
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let mut blocker = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut blocker).await.unwrap();
    let command = harness.command(
        SELLER,
        "deal",
        json!([{
            "type": 1, "name": "new",
            "options": [text("name", "Locked"), text("package", "crm-rollout")]
        }]),
    );
    let started = std::time::Instant::now();
    let answer = harness.post(&command).await;
    let waited = started.elapsed();
    assert!(waited < std::time::Duration::from_secs(3), "answered after {waited:?}");
    assert!(matches!(answer.kind(), 4 | 5), "{answer:?}");
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
}
