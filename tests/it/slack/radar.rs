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
