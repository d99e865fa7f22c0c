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
