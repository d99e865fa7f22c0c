//! The gateway mode (`DISCORD_GATEWAY=1`) against the fake gateway: the bot asks the configured
//! REST API for the gateway URL, connects, identifies with the bot token and no privileged intent,
//! heartbeats, answers an interaction that arrives over the websocket through the REST API's
//! interaction callback (the same answer as the HTTP endpoint's), ignores one from another server,
//! and closes its session when the server stops.

use keepable::app::text;
use serde_json::{json, Value};

use super::fake::{is_discord_bot_agent, Call, FakeDiscord};
use super::fake_gateway::{FakeGateway, Seen};
use super::{text, Answer, Harness, BOT_TOKEN, DEAL_CHANNEL, SELLER};
use crate::support::{actor, now, on_both_databases, TestDb};

/// A Discord server the firm's bot does not serve.
const OTHER_GUILD: &str = "1100000000000000099";

/// The fakes, and the server connected through them (settings `adjust`ed): returned once the bot
/// has read READY, which its heartbeat shows by carrying READY's sequence number, 1.
async fn connected(
    db: &TestDb,
    adjust: impl FnOnce(&mut keepable::chat::discord::DiscordSettings),
) -> (Harness, FakeGateway) {
    let fake = FakeDiscord::start().await;
    let gateway = FakeGateway::start(BOT_TOKEN).await;
    fake.set_gateway_url(&gateway.url);
    let harness = Harness::with_fake(fake, db, now(), |settings| {
        settings.gateway = true;
        adjust(settings);
    })
    .await;
    heartbeat_after(&gateway, 1).await;
    (harness, gateway)
}

/// Waits for a heartbeat saying the bot has read every event up to `sequence`.
async fn heartbeat_after(gateway: &FakeGateway, sequence: u64) {
    gateway
        .until(|seen| {
            seen.iter().find(|s| {
                matches!(s, Seen::Heartbeat { last_sequence, .. } if *last_sequence == json!(sequence))
            })
            .cloned()
        })
        .await;
}

/// The interaction callback the bot made for `interaction`, once it has made it.
async fn callback(harness: &Harness, interaction: &Value) -> Call {
    let path = format!(
        "/interactions/{}/{}/callback",
        interaction["id"].as_str().unwrap(),
        interaction["token"].as_str().unwrap()
    );
    harness.fake.until(|| harness.fake.calls_to("POST", &path).pop()).await
}

/// `/earliest-start crm-rollout` by the seller in the deal channel.
fn earliest_start(harness: &Harness) -> Value {
    harness.command(SELLER, "earliest-start", json!([text("package", "crm-rollout")]))
}

/// What the bot sent in the first session: its Identify's `d`.
fn identify(seen: &[Seen]) -> Value {
    let identify = seen.iter().find_map(|s| match s {
        Seen::Identify { session: 1, payload } => Some(payload.clone()),
        _ => None,
    });
    identify.expect("the bot identified")
}

on_both_databases!(
    the_gateway_identifies_heartbeats_and_answers_a_command_through_the_configured_api
);
async fn the_gateway_identifies_heartbeats_and_answers_a_command_through_the_configured_api(
    db: TestDb,
) {
    let (harness, gateway) = connected(&db, |_| {}).await;
    let asked = harness.fake.calls_to("GET", "/gateway");
    assert_eq!(asked.len(), 1, "the gateway URL comes from DISCORD_API_URL: {asked:?}");
    assert!(is_discord_bot_agent(&asked[0].user_agent), "{:?}", asked[0].user_agent);
    let identify = identify(&gateway.seen());
    let token = identify["token"].as_str().unwrap_or_default();
    assert_eq!(token.strip_prefix("Bot ").unwrap_or(token), BOT_TOKEN);
    assert_eq!(identify["intents"], 0, "interactions need no intent, privileged or not");
    assert_eq!(identify["shard"], json!([0, 1]));
    assert!(
        matches!(&gateway.seen()[0], Seen::Connected { uri, .. } if uri.contains("v=10")),
        "{:?}",
        gateway.seen()
    );

    let command = earliest_start(&harness);
    gateway.dispatch("INTERACTION_CREATE", command.clone());
    let answered = callback(&harness, &command).await;
    assert_eq!(answered.status, 204, "{answered:?}");
    assert!(is_discord_bot_agent(&answered.user_agent), "{:?}", answered.user_agent);
    let expected =
        harness.app.ask(&actor(SELLER.id, DEAL_CHANNEL), "/earliest-start crm-rollout").await;
    assert!(!expected.is_error(), "{expected:?}");
    let answer = Answer { status: 200, body: answered.body.clone() };
    assert_eq!(answer.private_title(), text::plain(&expected.headline), "{answer:?}");
    assert!(answer.button("request_early_start").len() > "request_early_start:".len());

    // Acknowledged heartbeats go on, now carrying the interaction's sequence number, on the one
    // connection: an unacknowledged heartbeat would have made the bot reconnect.
    heartbeat_after(&gateway, 2).await;
    harness.server.stop().await;
    let closed =
        gateway.until(|seen| seen.iter().find(|s| matches!(s, Seen::Closed { .. })).cloned()).await;
    assert_eq!(closed, Seen::Closed { session: 1, code: Some(1000) }, "a clean log-off");
    let sessions = gateway.seen().iter().filter(|s| matches!(s, Seen::Connected { .. })).count();
    assert_eq!(sessions, 1, "{:?}", gateway.seen());
}

on_both_databases!(an_interaction_from_another_server_gets_no_answer_over_the_gateway);
async fn an_interaction_from_another_server_gets_no_answer_over_the_gateway(db: TestDb) {
    let (harness, gateway) = connected(&db, |_| {}).await;
    let mut foreign = earliest_start(&harness);
    foreign["guild_id"] = json!(OTHER_GUILD);
    foreign["authorizing_integration_owners"] = json!({ "0": OTHER_GUILD });
    gateway.dispatch("INTERACTION_CREATE", foreign.clone());
    // The firm's own interaction after it is answered; by then the foreign one, read first and
    // turned away without a database or network call, has long been decided.
    let own = earliest_start(&harness);
    gateway.dispatch("INTERACTION_CREATE", own.clone());
    callback(&harness, &own).await;
    harness.server.stop().await;
    let foreign_path = format!("/interactions/{}/*/callback", foreign["id"].as_str().unwrap());
    let answered = harness.fake.calls_to("POST", &foreign_path);
    assert!(answered.is_empty(), "another server's interaction was answered: {answered:?}");
}

#[tokio::test]
async fn a_slow_answer_over_the_gateway_is_deferred_then_edited_in() {
    let db = TestDb::sqlite();
    let (harness, gateway) =
        connected(&db, |settings| settings.defer_after = Default::default()).await;
    let command = earliest_start(&harness);
    gateway.dispatch("INTERACTION_CREATE", command.clone());
    let deferred = callback(&harness, &command).await;
    assert_eq!(deferred.body["type"], 5, "a deferred channel message: {deferred:?}");
    assert_eq!(deferred.body["data"]["flags"], 64, "and a private one: {deferred:?}");
    let edit = format!(
        "/webhooks/{}/{}/messages/@original",
        command["application_id"].as_str().unwrap(),
        command["token"].as_str().unwrap()
    );
    let edited = harness.fake.until(|| harness.fake.calls_to("PATCH", &edit).pop()).await;
    let expected =
        harness.app.ask(&actor(SELLER.id, DEAL_CHANNEL), "/earliest-start crm-rollout").await;
    assert_eq!(edited.body["embeds"][0]["title"], text::plain(&expected.headline), "{edited:?}");
    harness.server.stop().await;
}
