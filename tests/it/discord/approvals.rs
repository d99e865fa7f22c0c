//! The approval flow by buttons against the fake Discord: the card in the leadership channel, the
//! approver role checked against `member.roles`, refusals private and audited, the card edited in
//! place, the seller told by direct message; and rejection through a modal.

use serde_json::{json, Value};

use super::{
    button, buttons, embed_text, sub, text, Harness, Member, APPROVER, DEAL_CHANNEL, LEADERSHIP,
    SECOND_APPROVER, SELLER, SELLER_WITH_APPROVER_ROLE, STRANGER,
};
use crate::support::{on_both_databases, TestDb};

/// The seller opens a deal, checks a deadline the comparables do not support and clicks
/// "Request approval"; returns the card as posted to the leadership channel.
async fn seller_requests_approval(harness: &Harness) -> Value {
    let new = json!([sub(
        "new",
        json!([text("name", "Acme CRM"), text("package", "crm-rollout"), text("client", "Acme")])
    )]);
    harness.post(&harness.command(SELLER, "deal", new)).await.private_title();
    let options = json!([
        text("package", "crm-rollout"),
        text("deadline", "2026-12-31"),
        text("start", "2026-12-07")
    ]);
    let answer = harness.post_deferred(&harness.command(SELLER, "comparables", options)).await;
    let request = button(&answer.body, "request_approval").expect("a request button");
    let requested = harness.post(&harness.click(SELLER, DEAL_CHANNEL, &request)).await;
    assert!(requested.private_title().starts_with("Approval requested"), "{requested:?}");
    harness.deliver().await;
    let cards = harness.fake.messages_in(LEADERSHIP);
    assert_eq!(cards.len(), 1, "one card: {cards:?}");
    cards[0].clone()
}

/// A click on the card's button by `member`.
async fn click_card(harness: &Harness, member: Member, custom_id: &str) -> super::Answer {
    harness.post(&harness.click(member, LEADERSHIP, custom_id)).await
}

fn approval_id(approve: &str) -> String {
    approve.trim_start_matches("approve:").to_string()
}

async fn audited(harness: &Harness, actor: &str, action: &str) -> bool {
    harness
        .app
        .store
        .audit_entries()
        .await
        .unwrap()
        .iter()
        .any(|e| e.actor == actor && e.action == action)
}

on_both_databases!(the_approval_flow_runs_by_buttons);
async fn the_approval_flow_runs_by_buttons(db: TestDb) {
    let harness = Harness::start(&db).await;
    let card = seller_requests_approval(&harness).await;
    let approve = button(&card, "approve").expect("the card has Approve");
    assert!(button(&card, "reject").is_some(), "the card has Reject");
    assert!(embed_text(&card).contains(SELLER.id), "the card names the requester: {card}");
    let id = approval_id(&approve);

    let refused = click_card(&harness, STRANGER, &approve).await;
    assert!(refused.private_title().contains("not authorised"), "{refused:?}");
    assert!(
        audited(&harness, STRANGER.id, "approval.refused").await,
        "the refused attempt is audited"
    );

    let own = click_card(&harness, SELLER_WITH_APPROVER_ROLE, &approve).await;
    assert!(own.private_title().contains("own request"), "{own:?}");
    assert_eq!(
        harness.app.store.approval(&id).await.unwrap().unwrap().state,
        "pending",
        "refusals change nothing"
    );

    let decided = click_card(&harness, APPROVER, &approve).await;
    assert!(decided.private_title().contains("approved"), "{decided:?}");
    let card_id = card["id"].as_str().unwrap().to_string();
    let edit_path = format!("/channels/{LEADERSHIP}/messages/{card_id}");
    harness.deliver().await;
    let edit = harness
        .fake
        .calls_to("PATCH", &edit_path)
        .into_iter()
        .find(|c| c.status == 200)
        .expect("the card is edited");
    let edited = &harness.fake.messages_in(LEADERSHIP)[0];
    assert!(
        embed_text(edited).contains("Approved") && embed_text(edited).contains(APPROVER.id),
        "{edited}"
    );
    assert_eq!(buttons(&edit.body), Vec::<String>::new(), "a decided card has no buttons");
    assert_eq!(harness.fake.messages_in(LEADERSHIP).len(), 1, "edited in place, not posted again");

    let dm = harness
        .fake
        .calls_to("POST", "/users/@me/channels")
        .into_iter()
        .next()
        .expect("a DM channel is opened");
    assert_eq!(dm.body["recipient_id"], SELLER.id);
    let dm_channel = harness
        .fake
        .calls_to("POST", "/channels/7*/messages")
        .into_iter()
        .next()
        .expect("the DM is posted");
    assert!(
        embed_text(&dm_channel.body).contains("approved"),
        "the seller is told: {}",
        dm_channel.body
    );

    let late = click_card(&harness, SECOND_APPROVER, &approve).await;
    let title = late.private_title();
    assert!(
        title.contains("already approved") && title.contains(APPROVER.id),
        "told who decided: {title}"
    );
    assert!(audited(&harness, APPROVER.id, "approval.approved").await);
    assert!(!audited(&harness, SECOND_APPROVER.id, "approval.approved").await, "decided once");
    harness.server.stop().await;
}

on_both_databases!(reject_opens_a_modal_and_a_bad_submission_changes_nothing);
async fn reject_opens_a_modal_and_a_bad_submission_changes_nothing(db: TestDb) {
    let harness = Harness::start(&db).await;
    let card = seller_requests_approval(&harness).await;
    let reject = button(&card, "reject").unwrap();
    let id = reject.trim_start_matches("reject:").to_string();

    let modal = click_card(&harness, APPROVER, &reject).await;
    assert_eq!(modal.kind(), 9, "reject asks for a reason first: {modal:?}");
    assert_eq!(modal.body["data"]["custom_id"], reject.as_str());
    let input = &modal.body["data"]["components"][0]["components"][0];
    assert_eq!(
        (input["type"].as_u64(), input["custom_id"].as_str(), input["required"].as_bool()),
        (Some(4), Some("reason"), Some(true))
    );

    let outbox_before = harness.app.store.outbox_messages().await.unwrap().len();
    for reason in ["", "   "] {
        let blank = harness
            .post(&harness.submit(APPROVER, LEADERSHIP, &reject, &[("reason", reason)]))
            .await;
        assert_eq!(blank.private_title(), "The reason is required.", "{blank:?}");
    }
    let stranger = harness
        .post(&harness.submit(STRANGER, LEADERSHIP, &reject, &[("reason", "Too tight")]))
        .await;
    assert!(stranger.private_title().contains("not authorised"), "{stranger:?}");
    assert_eq!(harness.app.store.approval(&id).await.unwrap().unwrap().state, "pending");
    assert_eq!(
        harness.app.store.outbox_messages().await.unwrap().len(),
        outbox_before,
        "nothing was sent"
    );

    let rejected = harness
        .post(&harness.submit(APPROVER, LEADERSHIP, &reject, &[("reason", "Too tight for Q1")]))
        .await;
    assert!(rejected.private_title().contains("rejected"), "{rejected:?}");
    harness.deliver().await;
    let notice = harness
        .fake
        .calls_to("POST", "/channels/7*/messages")
        .into_iter()
        .next()
        .expect("the seller is told");
    assert!(
        embed_text(&notice.body).contains("Too tight for Q1"),
        "the seller learns why: {}",
        notice.body
    );
    let edited = harness
        .fake
        .messages_in(LEADERSHIP)
        .into_iter()
        .next()
        .filter(|m| embed_text(m).contains("Rejected"));
    let edited = edited.expect("the card says Rejected");
    assert!(buttons(&edited).is_empty(), "{edited}");
}
