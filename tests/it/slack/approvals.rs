//! The approval flow by buttons, end to end against the fake Slack: the seller asks, the card goes
//! to leadership, refusals are private and audited, the first approver decides, the card is
//! updated in place and the seller told; rejections and ticket scoping go through modals.

use keepable::config::Settings;
use serde_json::Value;

use super::fake::{Call, Failure};
use super::{button, buttons, text_of, Harness};
use crate::support::{demo_app, on_both_databases, TestDb};

pub(super) const SELLER: &str = "U-SELLER";
pub(super) const DEAL_ROOM: &str = "C-DEAL";
pub(super) const LEADERSHIP: &str = "C-LEADERSHIP";
/// A Slack user group whose members approve, besides the listed approver.
const LEADS: &str = "S-LEADS";

/// U-APPROVER approves by name; U-BOSS and (to test the self-check) the seller through `S-LEADS`.
fn approval_settings() -> Settings {
    Settings {
        leadership_channel: LEADERSHIP.into(),
        approvers: vec!["U-APPROVER".into()],
        approver_group: Some(LEADS.into()),
        presales_members: vec!["U-PRESALES".into()],
        ..Settings::default()
    }
}

pub(super) async fn harness(db: &TestDb) -> Harness {
    let slack = Harness::start(demo_app(db, approval_settings()).await).await;
    slack.fake.set_group(LEADS, &["U-BOSS", SELLER]);
    slack
}

/// Bodies of the successful calls to `method` in `channel`.
pub(super) fn sent(slack: &Harness, method: &str, channel: &str) -> Vec<Value> {
    slack
        .fake
        .succeeded(method)
        .into_iter()
        .map(|c| c.body)
        .filter(|b| b["channel"] == channel)
        .collect()
}

/// The one answer posted to the response_url named `name`, once it is there.
pub(super) async fn told(slack: &Harness, name: &str) -> Value {
    let answers = slack.fake.until(|| Some(slack.responses(name)).filter(|r| !r.is_empty())).await;
    assert_eq!(answers.len(), 1, "{name}: {answers:#?}");
    assert_eq!(answers[0]["response_type"], "ephemeral", "{name}: only the clicker sees it");
    answers[0].clone()
}

/// The seller asks for an unrealistic deadline by button; returns the leadership card as posted.
pub(super) async fn request_approval(slack: &Harness) -> Value {
    slack
        .command(SELLER, DEAL_ROOM, "/deal new \"Acme CRM\" package=crm-rollout client=Acme")
        .await;
    let answer = slack
        .command(SELLER, DEAL_ROOM, "/comparables crm-rollout deadline=2026-12-31 start=2026-12-07")
        .await;
    assert_eq!(
        slack.click(SELLER, DEAL_ROOM, &button(&answer, "request_approval"), "requested").await,
        200
    );
    let requested = told(slack, "requested").await;
    assert!(!text_of(&requested).contains(":warning:"), "{requested:#}");
    slack.deliver().await;
    let cards = sent(slack, "chat.postMessage", LEADERSHIP);
    assert_eq!(cards.len(), 1);
    cards[0].clone()
}

async fn audited(slack: &Harness, user: &str, action: &str) -> bool {
    slack
        .app
        .store
        .audit_entries()
        .await
        .unwrap()
        .iter()
        .any(|e| e.actor == user && e.action == action)
}

on_both_databases!(the_approval_flow_works_by_buttons_end_to_end);
async fn the_approval_flow_works_by_buttons_end_to_end(db: TestDb) {
    let slack = harness(&db).await;
    let card = request_approval(&slack).await;
    let text = text_of(&card);
    assert!(
        text.contains("<@U-SELLER>") && text.contains("comparable projects"),
        "the card carries the evidence: {text}"
    );
    let approve = button(&card, "approve");
    assert!(buttons(&card).iter().any(|id| id.starts_with("reject:")));

    assert_eq!(slack.click("U-STRANGER", LEADERSHIP, &approve, "stranger").await, 200);
    assert!(text_of(&told(&slack, "stranger").await).contains("not authorised"));
    assert!(audited(&slack, "U-STRANGER", "approval.refused").await);

    assert_eq!(slack.click(SELLER, LEADERSHIP, &approve, "self").await, 200);
    assert!(text_of(&told(&slack, "self").await).contains("your own request"));
    assert!(audited(&slack, SELLER, "approval.refused").await);

    assert_eq!(slack.click("U-APPROVER", LEADERSHIP, &approve, "approver").await, 200);
    assert!(text_of(&told(&slack, "approver").await).contains("approved"));
    slack.deliver().await;
    let update =
        sent(&slack, "chat.update", LEADERSHIP).first().cloned().expect("the card is updated");
    assert_eq!(update["ts"], card_ts(&slack), "the card is updated in place");
    let updated = text_of(&update);
    assert!(updated.contains("*Approved* by <@U-APPROVER>"), "{updated}");
    assert!(buttons(&update).is_empty(), "a decided card has no buttons left: {update:#}");
    let notice =
        sent(&slack, "chat.postMessage", SELLER).first().cloned().expect("the seller is told");
    assert!(text_of(&notice).contains("*approved* by <@U-APPROVER>"), "{notice:#}");

    assert_eq!(slack.click("U-BOSS", LEADERSHIP, &approve, "late").await, 200);
    let late = text_of(&told(&slack, "late").await);
    assert!(
        late.contains("already approved by <@U-APPROVER> at Wed 25 Nov 2026, 15:00 UTC"),
        "the late approver is told who decided: {late}"
    );

    assert_eq!(sent(&slack, "chat.update", LEADERSHIP).len(), 1, "decided once, updated once");
    assert_eq!(sent(&slack, "chat.postMessage", LEADERSHIP).len(), 1);
    let lookups: Vec<Call> = slack.fake.succeeded("usergroups.users.list");
    assert_eq!(lookups.len(), 1, "the group is asked once and cached: {lookups:?}");
    assert_eq!(lookups[0].body["usergroup"], LEADS);
}

/// The `ts` Slack answered when the approval card was posted to leadership.
pub(super) fn card_ts(slack: &Harness) -> Value {
    let posted = slack
        .fake
        .succeeded("chat.postMessage")
        .into_iter()
        .find(|c| c.body["channel"] == LEADERSHIP);
    posted.map(|c| c.answer["ts"].clone()).expect("the card was posted")
}

on_both_databases!(when_slack_cannot_list_the_approver_group_its_members_are_refused);
async fn when_slack_cannot_list_the_approver_group_its_members_are_refused(db: TestDb) {
    let slack = harness(&db).await;
    slack.fake.fail_next("usergroups.users.list", 100, Failure::ServerError);
    let card = request_approval(&slack).await;
    let approve = button(&card, "approve");
    assert_eq!(slack.click("U-BOSS", LEADERSHIP, &approve, "boss").await, 200);
    assert!(text_of(&told(&slack, "boss").await).contains("not authorised"), "deny by default");
    assert!(slack
        .fake
        .calls()
        .iter()
        .any(|c| c.method == "usergroups.users.list" && c.status == 500));
    assert_eq!(slack.click("U-APPROVER", LEADERSHIP, &approve, "approver").await, 200);
    assert!(
        text_of(&told(&slack, "approver").await).contains("approved"),
        "listed approvers need no group"
    );
}
