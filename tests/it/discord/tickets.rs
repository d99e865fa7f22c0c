//! Scoping tickets moved by presales with buttons and a modal (role-checked, bad numbers refused
//! by field), and the project manager acknowledging a handover from a direct message.

use serde_json::json;

use super::{
    button, buttons, embed_text, sub, text, Harness, PM, PRESALES, PRESALES_MEMBER, SELLER,
};
use crate::support::{on_both_databases, TestDb};

on_both_databases!(presales_scopes_a_ticket_by_buttons_and_a_bad_form_changes_nothing);
async fn presales_scopes_a_ticket_by_buttons_and_a_bad_form_changes_nothing(db: TestDb) {
    let harness = Harness::start(&db).await;
    let scope = json!([text("description", "Quantum CPQ connector")]);
    harness.post(&harness.command(SELLER, "scope", scope)).await.private_title();
    harness.deliver().await;
    let card =
        harness.fake.messages_in(PRESALES).into_iter().next().expect("the ticket card is posted");
    let accept = button(&card, "accept_ticket").expect("the card has Accept");
    let id = accept.trim_start_matches("accept_ticket:").to_string();

    let refused = harness.post(&harness.click(SELLER, PRESALES, &accept)).await;
    assert!(
        refused.private_title().to_lowercase().contains("presales"),
        "only presales moves tickets: {refused:?}"
    );
    harness.post(&harness.click(PRESALES_MEMBER, PRESALES, &accept)).await.private_title();
    harness.deliver().await;
    let accepted = harness
        .fake
        .messages_in(PRESALES)
        .into_iter()
        .next()
        .filter(|m| button(m, "scope_ticket").is_some());
    let accepted = accepted.expect("the card offers Scope");
    assert_eq!(harness.fake.messages_in(PRESALES).len(), 1, "the card is edited in place");
    let scope_button = button(&accepted, "scope_ticket").unwrap();

    let form = harness.post(&harness.click(PRESALES_MEMBER, PRESALES, &scope_button)).await;
    assert_eq!(form.kind(), 9, "{form:?}");
    let inputs: Vec<&str> = form.body["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|row| row["components"][0]["custom_id"].as_str())
        .collect();
    assert_eq!(inputs, ["effort", "price", "notes"]);

    let outbox_before = harness.app.store.outbox_messages().await.unwrap().len();
    let bad = harness.submit(
        PRESALES_MEMBER,
        PRESALES,
        &scope_button,
        &[("effort", "lots"), ("price", "4800"), ("notes", "")],
    );
    let title = harness.post(&bad).await.private_title().to_string();
    assert!(
        title.contains("effort") && title.contains("lots"),
        "the wrong field is named: {title}"
    );
    assert_eq!(
        harness.app.store.ticket(&id).await.unwrap().unwrap().state,
        "accepted",
        "nothing changed"
    );
    assert_eq!(
        harness.app.store.outbox_messages().await.unwrap().len(),
        outbox_before,
        "nothing was sent"
    );

    let good = harness.submit(
        PRESALES_MEMBER,
        PRESALES,
        &scope_button,
        &[("effort", "40"), ("price", "$4,800"), ("notes", "REST")],
    );
    harness.post(&good).await.private_title();
    assert_eq!(harness.app.store.ticket(&id).await.unwrap().unwrap().state, "scoped");
    harness.deliver().await;
    let scoped = harness
        .fake
        .messages_in(PRESALES)
        .into_iter()
        .next()
        .filter(|m| embed_text(m).contains("scoped"));
    let scoped = scoped.expect("the card says scoped");
    assert!(!buttons(&scoped).iter().any(|b| b.starts_with("scope_ticket:")), "{scoped}");
}

on_both_databases!(a_project_manager_acknowledges_the_handover_from_a_direct_message);
async fn a_project_manager_acknowledges_the_handover_from_a_direct_message(db: TestDb) {
    let harness = Harness::start(&db).await;
    let new =
        json!([sub("new", json!([text("name", "Acme CRM"), text("package", "crm-rollout")]))]);
    harness.post(&harness.command(SELLER, "deal", new)).await.private_title();
    let won = json!([sub("won", json!([{ "name": "pm", "type": 6, "value": PM.id }]))]);
    harness.post(&harness.command(SELLER, "deal", won)).await.private_title();
    harness.deliver().await;
    let handover = harness
        .fake
        .calls_to("POST", "/channels/7*/messages")
        .into_iter()
        .next()
        .expect("the handover is sent");
    let dm_channel = handover.path.split('/').nth(2).unwrap().to_string();
    assert!(embed_text(&handover.body).contains("Acme CRM"), "{}", handover.body);
    let acknowledge = button(&handover.body, "ack_handover").expect("the handover has Acknowledge");

    let click = harness.in_dm(harness.click(PM, &dm_channel, &acknowledge), &dm_channel);
    let answer = harness.post(&click).await;
    assert_eq!(answer.kind(), 4, "{answer:?}");
    let id = acknowledge.trim_start_matches("ack_handover:");
    let stored = harness.app.store.handover(id).await.unwrap().unwrap();
    assert!(stored.acknowledged_at.is_some(), "{stored:?}");
}
