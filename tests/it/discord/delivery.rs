//! Outbox delivery to the fake Discord: channel posts with `nonce` + `enforce_nonce`, a 429's
//! `retry_after` honoured (a short one waited out in place by the adapter, a long one left to the
//! outbox), a 5xx retried with back-off, and never a duplicate message. The tests step the worker
//! and move its clock; one kills a real `keepable serve` mid-delivery.

use std::time::Duration;

use chrono::Duration as ClockDuration;
use keepable::store::outbox::OutboundMessage;
use serde_json::json;

use super::fake::{Call, Failure, FakeDiscord};
use super::{
    buttons, discord_firm_settings, embed_text, text, Harness, BOT_TOKEN, DEAL_CHANNEL, GUILD,
    PRESALES, PUBLIC_KEY, SELLER,
};
use crate::support::{actor, demo_app, on_both_databases, or_fail, TestDb};

/// `/scope` by the seller: the ticket card goes to the presales channel through the outbox.
async fn open_ticket(harness: &Harness, description: &str) {
    let answer = harness
        .post(&harness.command(SELLER, "scope", json!([text("description", description)])))
        .await;
    answer.private_title();
}

/// The presales card's outbox row, which the worker has sent.
async fn sent_card(harness: &Harness) -> OutboundMessage {
    let target = format!("channel:{PRESALES}");
    let messages = harness.app.store.outbox_messages().await.unwrap();
    let card = messages.iter().find(|m| m.target == target).cloned();
    card.filter(|m| m.state == "sent")
        .unwrap_or_else(|| panic!("the card is not sent: {messages:#?}"))
}

/// Delivers, then once more after the first retry's back-off (two seconds).
async fn deliver_with_one_retry(harness: &Harness) {
    harness.deliver().await;
    assert_eq!(harness.deliver().await, 0, "a 5xx is not retried at once");
    harness.outbox.advance(ClockDuration::milliseconds(1999));
    assert_eq!(harness.deliver().await, 0, "nor before its back-off is over");
    harness.outbox.advance(ClockDuration::milliseconds(1));
    assert_eq!(harness.deliver().await, 1);
}

fn posts(harness: &Harness) -> Vec<Call> {
    harness.fake.calls_to("POST", &format!("/channels/{PRESALES}/messages"))
}

on_both_databases!(a_channel_post_carries_a_nonce_with_enforce_nonce_and_the_bot_token);
async fn a_channel_post_carries_a_nonce_with_enforce_nonce_and_the_bot_token(db: TestDb) {
    let harness = Harness::start(&db).await;
    open_ticket(&harness, "Quantum CPQ connector").await;
    harness.deliver().await;
    let sent = sent_card(&harness).await;
    let calls = posts(&harness);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let body = &calls[0].body;
    let nonce = body["nonce"].as_str().expect("a string nonce");
    assert!(!nonce.is_empty() && nonce.len() <= 25, "Discord allows 25 characters: {nonce}");
    assert_eq!(body["enforce_nonce"], true);
    assert_eq!(calls[0].authorization.as_deref(), Some(format!("Bot {BOT_TOKEN}").as_str()));
    assert!(embed_text(body).contains("Quantum CPQ connector"), "{body}");
    assert!(buttons(body).iter().any(|id| id.starts_with("accept_ticket:")), "{body}");
    let message = &harness.fake.messages_in(PRESALES)[0];
    assert_eq!(
        sent.platform_ref,
        Some(format!("{PRESALES}:{}", message["id"].as_str().unwrap())),
        "where it went is recorded"
    );
}

on_both_databases!(a_rate_limited_post_waits_retry_after_and_is_delivered_exactly_once);
async fn a_rate_limited_post_waits_retry_after_and_is_delivered_exactly_once(db: TestDb) {
    let harness = Harness::start(&db).await;
    harness.fake.fail_next(1, Failure::RateLimited(0.4));
    open_ticket(&harness, "Quantum CPQ connector").await;
    // A wait this short the adapter sits out in place, within the one step: the only wall time
    // a test spends, and the adapter's to spend.
    assert_eq!(harness.deliver().await, 1);
    sent_card(&harness).await;
    let calls = posts(&harness);
    assert_eq!(calls.iter().map(|c| c.status).collect::<Vec<_>>(), [429, 200], "{calls:?}");
    let waited = calls[1].at.duration_since(calls[0].at);
    assert!(waited >= Duration::from_millis(400), "retried after {waited:?}, before retry_after");
    assert_eq!(calls[0].body["nonce"], calls[1].body["nonce"], "a retry is the same post");
    assert_eq!(harness.fake.messages_in(PRESALES).len(), 1);
}

on_both_databases!(a_server_error_is_retried_with_back_off_and_the_nonce_prevents_a_duplicate);
async fn a_server_error_is_retried_with_back_off_and_the_nonce_prevents_a_duplicate(db: TestDb) {
    let harness = Harness::start(&db).await;
    // Discord made the message, but the answer was lost: only the nonce stops a second one.
    harness.fake.fail_next(1, Failure::ServerErrorAfterCreating);
    open_ticket(&harness, "Quantum CPQ connector").await;
    deliver_with_one_retry(&harness).await;
    let sent = sent_card(&harness).await;
    let calls = posts(&harness);
    assert_eq!(calls.iter().map(|c| c.status).collect::<Vec<_>>(), [500, 200], "{calls:?}");
    assert_eq!(calls[0].body["nonce"], calls[1].body["nonce"]);
    let messages = harness.fake.messages_in(PRESALES);
    assert_eq!(messages.len(), 1, "exactly one message: {messages:?}");
    assert_eq!(
        sent.platform_ref,
        Some(format!("{PRESALES}:{}", messages[0]["id"].as_str().unwrap()))
    );
}

on_both_databases!(a_plain_server_error_is_retried_until_delivered);
async fn a_plain_server_error_is_retried_until_delivered(db: TestDb) {
    let harness = Harness::start(&db).await;
    harness.fake.fail_next(1, Failure::ServerError);
    open_ticket(&harness, "Offline mobile app").await;
    deliver_with_one_retry(&harness).await;
    sent_card(&harness).await;
    assert_eq!(posts(&harness).iter().map(|c| c.status).collect::<Vec<_>>(), [500, 200]);
    assert_eq!(harness.fake.messages_in(PRESALES).len(), 1);
}

on_both_databases!(a_long_rate_limit_is_left_to_the_outbox_and_the_post_is_retried_when_it_is_over);
async fn a_long_rate_limit_is_left_to_the_outbox_and_the_post_is_retried_when_it_is_over(
    db: TestDb,
) {
    let harness = Harness::start(&db).await;
    harness.fake.fail_next(1, Failure::RateLimited(30.5));
    open_ticket(&harness, "Quantum CPQ connector").await;
    assert_eq!(harness.deliver().await, 0, "too long to wait in place");
    assert_eq!(posts(&harness).iter().map(|c| c.status).collect::<Vec<_>>(), [429]);
    harness.outbox.advance(ClockDuration::seconds(30));
    assert_eq!(harness.deliver().await, 0, "retry_after honoured, rounded up to the second");
    harness.outbox.advance(ClockDuration::seconds(1));
    assert_eq!(harness.deliver().await, 1);
    let calls = posts(&harness);
    assert_eq!(calls.iter().map(|c| c.status).collect::<Vec<_>>(), [429, 200], "{calls:?}");
    assert_eq!(calls[0].body["nonce"], calls[1].body["nonce"], "a retry is the same post");
    assert_eq!(harness.fake.messages_in(PRESALES).len(), 1);
}

/// The lease the killed and the restarted `serve` work under.
const LEASE_SECONDS: u64 = 5;

/// `keepable serve` on `db`, delivering to `fake` under a short lease.
fn serve(db: &TestDb, fake: &FakeDiscord) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_keepable"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", &db.url)
        .env("DISCORD_PUBLIC_KEY", PUBLIC_KEY)
        .env("DISCORD_BOT_TOKEN", BOT_TOKEN)
        .env("DISCORD_API_URL", &fake.api_url)
        .env("KEEPABLE_DISCORD_GUILD_ID", GUILD)
        .env("KEEPABLE_LEASE_SECONDS", LEASE_SECONDS.to_string())
        .env("KEEPABLE_DIGEST_WEEKDAY", crate::support::a_digest_weekday_not_today())
        .env_remove("KEEPABLE_CONFIG")
        .env_remove("KEEPABLE_NOW")
        .env_remove("KEEPABLE_TODAY")
        .env_remove("DISCORD_GATEWAY")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Stops `child` with SIGTERM (it finishes the delivery in hand) and waits for it to exit.
async fn terminate(mut child: std::process::Child) {
    let pid = child.id().to_string();
    let signalled = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(signalled.success());
    let exited = tokio::task::spawn_blocking(move || child.wait().unwrap());
    let status = or_fail("serve exits on SIGTERM", exited).await.unwrap();
    assert!(status.success(), "{status:?}");
}

/// `keepable serve` killed with SIGKILL while Discord is slow to answer a post it has already
/// made: after a restart every message is delivered, none twice (the post in flight is sent again
/// with its nonce and `enforce_nonce`, and Discord answers with the message it made), and the
/// retry comes within the lease, well inside Discord's nonce window of a few minutes.
#[tokio::test]
async fn a_serve_killed_mid_delivery_loses_nothing_and_posts_nothing_twice() {
    let db = TestDb::sqlite();
    let app = demo_app(&db, discord_firm_settings()).await.on_platform("discord");
    for n in 0..6 {
        let line = format!("/scope Killed-delivery item {n}");
        let reply = app.ask(&actor(SELLER.id, DEAL_CHANNEL), &line).await;
        assert!(!reply.is_error(), "{reply:?}");
    }
    let fake = FakeDiscord::start().await;
    fake.slow_posts(Duration::from_secs(3));
    let mut first = serve(&db, &fake);
    // The first post has made its message; its answer is three seconds away.
    let in_flight = fake.until(|| posts_to_presales(&fake).first().cloned()).await;
    first.kill().unwrap();
    first.wait().unwrap();
    let killed_at = std::time::Instant::now();
    assert_eq!(fake.messages_in(PRESALES).len(), 1, "the killed instance made one message");
    fake.slow_posts(Duration::ZERO);
    let second = serve(&db, &fake);
    // Every message has been posted by the restarted instance: it has them all in hand.
    fake.until(|| {
        let posts = posts_to_presales(&fake);
        let by_second = |nonce: &serde_json::Value| {
            posts.iter().any(|p| p.at > killed_at && p.body["nonce"] == *nonce && p.status == 200)
        };
        let messages = fake.messages_in(PRESALES);
        (messages.len() == 6 && messages.iter().all(|m| by_second(&m["nonce"]))).then_some(())
    })
    .await;
    terminate(second).await;

    let rows = app.store.outbox_messages().await.unwrap();
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|m| m.state == "sent"), "not all sent: {rows:#?}");
    let messages = fake.messages_in(PRESALES);
    for n in 0..6 {
        let item = format!("Killed-delivery item {n}");
        let made = messages.iter().filter(|m| embed_text(m).contains(&item)).count();
        assert_eq!(made, 1, "{item:?} made once: {messages:#?}");
    }
    let retries: Vec<Call> = posts_to_presales(&fake)
        .into_iter()
        .filter(|p| p.body["nonce"] == in_flight.body["nonce"])
        .collect();
    assert_eq!(retries.len(), 2, "the post in flight was sent again, once: {retries:?}");
    let waited = retries[1].at.duration_since(in_flight.at);
    assert!(
        waited < Duration::from_secs(LEASE_SECONDS + 5),
        "retried {waited:?} after the first attempt, not within the {LEASE_SECONDS} s lease"
    );
}

fn posts_to_presales(fake: &FakeDiscord) -> Vec<Call> {
    fake.calls_to("POST", &format!("/channels/{PRESALES}/messages"))
}
