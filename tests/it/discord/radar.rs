//! `/radar` and `/track-record` through signed Discord interactions: seller rows only for the
//! approver role, a seller sees their own row, and a typed `by` choice.

use serde_json::json;

use super::{embed_text, text, Harness, APPROVER, SELLER, STRANGER};
use crate::support::{on_both_databases, TestDb};

/// Projects sold by the Discord seller and by the stranger, finished in the radar's window.
async fn history_with_discord_sellers(harness: &Harness) {
    let mut csv = String::from("id,package,start,end,effort_hours,change_orders,seller\n");
    for (i, seller) in [SELLER.id, SELLER.id, STRANGER.id, STRANGER.id].iter().enumerate() {
        csv.push_str(&format!("dc{i},crm-rollout,2026-06-01,2026-09-0{},900,1,{seller}\n", i + 1));
    }
    let (parsed, problems) = keepable::import::parse_files(&[("history.csv", csv)]);
    assert!(problems.is_empty(), "{problems:?}");
    harness.app.store.import(&parsed).await.unwrap().unwrap();
}

on_both_databases!(a_discord_seller_sees_their_own_radar_row_and_the_approver_role_sees_all);
async fn a_discord_seller_sees_their_own_radar_row_and_the_approver_role_sees_all(db: TestDb) {
    let harness = Harness::start(&db).await;
    history_with_discord_sellers(&harness).await;
    let by_seller = json!([text("by", "seller")]);
    // The radar carries its chart: deferred (privately), then edited in with the PNG.
    let own = harness.post_deferred(&harness.command(SELLER, "radar", by_seller.clone())).await;
    assert_eq!(own.body["embeds"][0]["image"]["url"], "attachment://chart.png", "{:#}", own.body);
    assert_eq!(own.files.len(), 1, "{:?}", own.files);
    let shown = embed_text(&own.body);
    assert!(shown.contains(&format!("<@{}>", SELLER.id)), "{shown}");
    assert!(!shown.contains(STRANGER.id) && !shown.contains("U-MAYA"), "{shown}");

    let all = harness.post_deferred(&harness.command(APPROVER, "radar", by_seller)).await;
    let shown = embed_text(&all.body);
    for seller in [SELLER.id, STRANGER.id, "U-MAYA"] {
        assert!(shown.contains(seller), "{seller} missing: {shown}");
    }
    assert!(!shown.contains("<@U-MAYA>"), "a Slack id is no Discord mention: {shown}");
    assert!(
        all.body["allowed_mentions"]["users"].as_array().is_none_or(Vec::is_empty),
        "the radar pings nobody: {all:?}"
    );

    let packages = harness.post_deferred(&harness.command(STRANGER, "radar", json!([]))).await;
    assert!(embed_text(&packages.body).contains("CRM Rollout"), "{packages:?}");
    let record = harness.post(&harness.command(SELLER, "track-record", json!([]))).await;
    assert!(embed_text(&record.body["data"]).contains("No promise"), "{record:?}");
}

/// The weekly digest carries the radar's chart: created in the leadership channel as a multipart
/// message with the PNG attached and shown in the embed; acknowledged, edited with it again.
#[tokio::test]
async fn the_weekly_digest_is_posted_to_leadership_with_its_chart_attached() {
    let db = TestDb::sqlite();
    let harness = Harness::start(&db).await;
    let monday: chrono::DateTime<chrono::Utc> = "2026-11-30T08:00:00Z".parse().unwrap();
    let clock = keepable::app::Clock { fixed_now: Some(monday), fixed_today: None };
    let settings = super::discord_firm_settings();
    let app = keepable::app::App::new(harness.app.store.clone(), settings, clock).unwrap();
    assert!(app.run_due().await.unwrap().digest_posted);
    harness.outbox.advance(chrono::Duration::days(5));
    assert_eq!(harness.deliver().await, 1);

    let path = format!("/channels/{}/messages", super::LEADERSHIP);
    let created = harness.fake.calls_to("POST", &path);
    assert_eq!(created.len(), 1, "{created:?}");
    let post = &created[0];
    assert_eq!(post.body["embeds"][0]["image"]["url"], "attachment://chart.png", "{:#}", post.body);
    assert_eq!(post.body["attachments"], json!([{ "id": 0, "filename": "chart.png" }]));
    assert!(
        post.body["nonce"].is_string() && post.body["enforce_nonce"] == true,
        "{:#}",
        post.body
    );
    assert!(post.body["components"].to_string().contains("ack_digest:2026-W49"), "{:#}", post.body);
    assert_eq!(post.files.len(), 1);
    assert_eq!(post.files[0].filename, "chart.png");
    assert_eq!(&post.files[0].bytes[..8], b"\x89PNG\r\n\x1a\n");

    let mut approver = crate::support::actor(APPROVER.id, super::LEADERSHIP);
    approver.groups = APPROVER.roles.iter().map(|r| r.to_string()).collect();
    let acked = app.act(&approver, "ack_digest:2026-W49", &Default::default()).await;
    assert!(!acked.is_error(), "{acked:?}");
    assert_eq!(harness.deliver().await, 1);
    let edits = harness.fake.calls_to("PATCH", &format!("{path}/*"));
    assert_eq!(edits.len(), 1, "{edits:?}");
    assert_eq!(edits[0].body["embeds"][0]["image"]["url"], "attachment://chart.png");
    assert_eq!(edits[0].files.len(), 1, "the chart attached again");
    assert_eq!(edits[0].body["components"], json!([]), "no button left: {:#}", edits[0].body);
}
