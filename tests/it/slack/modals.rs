//! Buttons that need input open a modal with `views.open` (using the click's `trigger_id`), and a
//! `view_submission` with empty or bad input is answered with field-level `response_action:
//! errors`, keeping the modal open; good input completes the action.

use serde_json::Value;

use super::approvals::{card_ts, harness, request_approval, sent, DEAL_ROOM, LEADERSHIP, SELLER};
use super::{button, text_of, Harness};
use crate::support::{on_both_databases, TestDb};

/// The trigger id `super::block_actions` sends with every click.
const CLICK_TRIGGER: &str = "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3";

/// Clicks `action_id` as `user` and returns the modal Slack was asked to open.
async fn open_modal(slack: &Harness, user: &str, channel: &str, action_id: &str) -> Value {
    let before = slack.fake.succeeded("views.open").len();
    assert_eq!(slack.click(user, channel, action_id, "modal").await, 200);
    let opened = slack.fake.succeeded("views.open");
    assert_eq!(opened.len(), before + 1, "{action_id} opens one modal");
    let call = &opened[before];
    assert_eq!(call.body["trigger_id"], CLICK_TRIGGER);
    assert_eq!(call.body["view"]["type"], "modal");
    call.body["view"].clone()
}

/// The field-level errors of a `view_submission` answer.
fn field_errors(status: reqwest::StatusCode, body: &str) -> Value {
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    assert_eq!(answer["response_action"], "errors", "{answer:#}");
    answer["errors"].clone()
}

on_both_databases!(a_rejection_asks_for_a_reason_in_a_modal_and_refuses_an_empty_one);
async fn a_rejection_asks_for_a_reason_in_a_modal_and_refuses_an_empty_one(db: TestDb) {
    let slack = harness(&db).await;
    let card = request_approval(&slack).await;
    let reject = button(&card, "reject");
    let modal = open_modal(&slack, "U-APPROVER", LEADERSHIP, &reject).await;
    assert_eq!(modal["blocks"][0]["block_id"], "reason");
    assert!(
        slack
            .app
            .store
            .approval(reject.trim_start_matches("reject:"))
            .await
            .unwrap()
            .unwrap()
            .state
            == "pending"
    );

    let (status, body) = slack.submit("U-APPROVER", &modal, &[("reason", "   ")]).await;
    let errors = field_errors(status, &body);
    assert!(errors["reason"].as_str().unwrap().contains("reason"), "{errors:#}");

    let (status, body) = slack.submit("U-STRANGER", &modal, &[("reason", "Because")]).await;
    let errors = field_errors(status, &body);
    assert!(
        errors["reason"].as_str().unwrap().contains("not authorised"),
        "a refusal shows in the modal: {errors:#}"
    );

    let (status, body) =
        slack.submit("U-APPROVER", &modal, &[("reason", "Too tight for Q1")]).await;
    assert_eq!((status.as_u16(), body.as_str()), (200, ""), "a good reason closes the modal");
    // The approver hears the outcome privately, in the channel the modal was opened from: by then
    // the decision is stored and its messages are in the outbox.
    let private =
        slack.fake.until(|| sent(&slack, "chat.postEphemeral", LEADERSHIP).first().cloned()).await;
    slack.deliver().await;
    let update =
        sent(&slack, "chat.update", LEADERSHIP).first().cloned().expect("the card is updated");
    assert_eq!(update["ts"], card_ts(&slack));
    assert!(text_of(&update).contains("*Rejected* by <@U-APPROVER>"), "{update:#}");
    assert!(text_of(&update).contains("Too tight for Q1"));
    let notice =
        sent(&slack, "chat.postMessage", SELLER).first().cloned().expect("the seller is told");
    assert!(text_of(&notice).contains("Too tight for Q1"), "{notice:#}");
    assert_eq!(private["user"], "U-APPROVER");
}

on_both_databases!(scoping_a_ticket_in_a_modal_refuses_bad_effort_and_price_under_their_fields);
async fn scoping_a_ticket_in_a_modal_refuses_bad_effort_and_price_under_their_fields(db: TestDb) {
    let slack = harness(&db).await;
    slack.command(SELLER, DEAL_ROOM, "/scope Salesforce CPQ bridge").await;
    slack.deliver().await;
    let card = sent(&slack, "chat.postMessage", "presales")
        .first()
        .cloned()
        .expect("the ticket card is posted");
    let accept = button(&card, "accept_ticket");
    assert_eq!(slack.click("U-PRESALES", "presales", &accept, "accepted").await, 200);
    slack.deliver().await;
    let accepted =
        sent(&slack, "chat.update", "presales").first().cloned().expect("the card is updated");
    let scope = button(&accepted, "scope_ticket");

    let modal = open_modal(&slack, "U-PRESALES", "presales", &scope).await;
    let block_ids: Vec<&str> =
        modal["blocks"].as_array().unwrap().iter().filter_map(|b| b["block_id"].as_str()).collect();
    assert_eq!(block_ids, ["effort", "price", "notes"]);
    let (status, body) =
        slack.submit("U-PRESALES", &modal, &[("effort", "lots"), ("price", "-5")]).await;
    let errors = field_errors(status, &body);
    assert!(errors["effort"].is_string() && errors["price"].is_string(), "{errors:#}");
    assert!(errors.get("notes").is_none(), "notes are optional: {errors:#}");

    let (status, body) = slack
        .submit(
            "U-PRESALES",
            &modal,
            &[("effort", "40"), ("price", "$4,800"), ("notes", "two objects")],
        )
        .await;
    assert_eq!((status.as_u16(), body.as_str()), (200, ""));
    slack.deliver().await;
    let scoped =
        sent(&slack, "chat.update", "presales").get(1).cloned().expect("the card is updated again");
    assert!(text_of(&scoped).to_lowercase().contains("scoped"), "{scoped:#}");
}
