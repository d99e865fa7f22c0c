//! `/radar` and `/track-record` through signed Slack slash commands: seller rows only for
//! approvers (and sales leads), a seller sees their own row, package rows for everyone.

use super::{text_of, Harness};
use crate::support::{demo_app, on_both_databases, settings, TestDb};

on_both_databases!(a_seller_sees_only_their_own_radar_row_and_an_approver_sees_every_seller);
async fn a_seller_sees_only_their_own_radar_row_and_an_approver_sees_every_seller(db: TestDb) {
    let slack = Harness::start(demo_app(&db, settings()).await).await;
    let own = text_of(&slack.command("U-SELLER", "C-ANY", "/radar by=seller").await);
    assert!(own.contains("<@U-SELLER>"), "{own}");
    assert!(!own.contains("U-MAYA") && !own.contains("lena@"), "another seller's row: {own}");
    assert!(own.contains("your own row only"), "{own}");

    let all = text_of(&slack.command("U-APPROVER", "C-ANY", "/radar by=seller").await);
    for seller in ["<@U-SELLER>", "<@U-MAYA>", "<@U-OMAR>"] {
        assert!(all.contains(seller), "{seller} missing: {all}");
    }
    // An email is a seller's key, not a platform id: shown as text, never a mention.
    assert!(all.contains("lena@northwind.example") && !all.contains("<@lena"), "{all}");

    let stranger = text_of(&slack.command("U-STRANGER", "C-ANY", "/radar by=seller").await);
    assert!(!stranger.contains("<@U-"), "{stranger}");
    let packages = text_of(&slack.command("U-STRANGER", "C-ANY", "/radar").await);
    assert!(
        packages.contains("Data Platform Foundation"),
        "package rows are for everyone: {packages}"
    );

    let record = text_of(&slack.command("U-SELLER", "C-ANY", "/track-record").await);
    assert!(record.contains("No promise can be checked yet"), "{record}");
    let wrong = text_of(&slack.command("U-SELLER", "C-ANY", "/radar by=client").await);
    assert!(wrong.contains("by=package, by=seller, by=firm"), "{wrong}");
}

/// The weekly digest carries the radar's chart: uploaded and shared in the leadership channel,
/// then shown in the message's image block; acknowledged, the message is updated with it again.
#[tokio::test]
async fn the_weekly_digest_is_posted_with_its_chart_uploaded_to_the_leadership_channel() {
    let db = TestDb::sqlite();
    let demo = demo_app(&db, settings()).await;
    let monday: chrono::DateTime<chrono::Utc> = "2026-11-30T08:00:00Z".parse().unwrap();
    let clock = keepable::app::Clock { fixed_now: Some(monday), fixed_today: None };
    let leadership =
        keepable::config::Settings { leadership_channel: "C-LEAD".into(), ..settings() };
    let app = keepable::app::App::new(demo.store.clone(), leadership, clock).unwrap();
    assert!(app.run_due().await.unwrap().digest_posted);
    let slack = Harness::start(app).await;
    assert_eq!(slack.deliver().await, 1);

    let order: Vec<String> = slack.fake.calls().into_iter().map(|c| c.method).collect();
    let expected = [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
        "chat.postMessage",
    ];
    assert_eq!(order, expected);
    let completed = &slack.fake.succeeded("files.completeUploadExternal")[0];
    assert_eq!(
        completed.body["channel_id"], "C-LEAD",
        "shared in the channel: {:#}",
        completed.body
    );
    let file_id = completed.body["files"][0]["id"].as_str().unwrap().to_string();
    let png = slack.fake.uploaded(&file_id).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let posted = &slack.fake.succeeded("chat.postMessage")[0];
    assert_eq!(posted.body["channel"], "C-LEAD");
    let blocks = posted.body["blocks"].as_array().unwrap();
    let image = blocks.iter().find(|b| b["type"] == "image").expect("an image block");
    assert_eq!(image["slack_file"]["id"], file_id.as_str());
    assert!(image["alt_text"].as_str().unwrap().contains("2026-W49"), "{image:#}");
    assert!(blocks.iter().any(|b| b["type"] == "actions"), "the Acknowledge button: {blocks:#?}");

    let approver = crate::support::actor("U-APPROVER", "C-LEAD");
    let acked = slack.app.act(&approver, "ack_digest:2026-W49", &Default::default()).await;
    assert!(!acked.is_error(), "{acked:?}");
    assert_eq!(slack.deliver().await, 1);
    let updated = &slack.fake.succeeded("chat.update")[0];
    let blocks = updated.body["blocks"].as_array().unwrap();
    assert!(blocks.iter().any(|b| b["type"] == "image"), "the chart stays: {blocks:#?}");
    assert!(!blocks.iter().any(|b| b["type"] == "actions"), "no button left: {blocks:#?}");
    let uploads = slack.fake.succeeded("files.completeUploadExternal");
    assert_eq!(uploads.len(), 2);
    assert!(uploads[1].body.get("channel_id").is_none(), "not shared a second time");
}
