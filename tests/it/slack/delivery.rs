//! Outbox delivery through the Web API: a 429 waits its `Retry-After`, a 5xx is retried with
//! back-off, and nothing is lost or sent twice when the server stops and starts again (or dies
//! holding a claim).

use std::time::Duration;

use chrono::Utc;
use keepable::app::App;
use keepable::store::timestamp;

use super::fake::{Call, Failure, FakeSlack};
use super::{intervals, platforms, text_of, Harness};
use crate::support::{actor, demo_app, eventually, on_both_databases, settings, TestDb, TestServer};

/// Opens a scoping ticket, whose card the outbox must post to the presales channel.
async fn open_ticket(app: &App, what: &str) {
    let reply = app.ask(&actor("U-SELLER", "C-DEAL"), &format!("/scope {what}")).await;
    assert!(!reply.is_error(), "{reply:?}");
}

/// Every attempt to post to presales, successful or not.
fn attempts(fake: &FakeSlack) -> Vec<Call> {
    fake.calls().into_iter().filter(|c| c.method == "chat.postMessage" && c.body["channel"] == "presales").collect()
}

/// The successful posts to presales that mention `what`.
fn posts_of(fake: &FakeSlack, what: &str) -> usize {
    attempts(fake).iter().filter(|c| c.status == 200 && text_of(&c.body).contains(what)).count()
}

/// Waits until every outbox message is sent and returns their attempt counts.
async fn all_sent(app: &App) -> Vec<i64> {
    eventually(|| async {
        let messages = app.store.outbox_messages().await.unwrap();
        messages.iter().all(|m| m.state == "sent").then(|| messages.iter().map(|m| m.attempts).collect())
    })
    .await
}

on_both_databases!(a_rate_limited_post_waits_its_retry_after_and_is_delivered_exactly_once);
async fn a_rate_limited_post_waits_its_retry_after_and_is_delivered_exactly_once(db: TestDb) {
    let slack = Harness::start(demo_app(&db, settings()).await).await;
    slack.fake.fail_next("chat.postMessage", 1, Failure::RateLimited(1));
    open_ticket(&slack.app, "Salesforce CPQ bridge").await;
    let limited = eventually(|| async { attempts(&slack.fake).first().cloned() }).await;
    assert_eq!(limited.status, 429);
    // A message written during the wait waits too: nothing is sent into the limit.
    open_ticket(&slack.app, "Workday HR feed").await;
    assert_eq!(all_sent(&slack.app).await.len(), 2);
    let tries = attempts(&slack.fake);
    assert_eq!(tries.iter().map(|c| c.status).collect::<Vec<_>>(), [429, 200, 200]);
    for later in &tries[1..] {
        assert!(later.at - limited.at >= Duration::from_secs(1), "Retry-After honoured: {:?}", later.at - limited.at);
    }
    assert_eq!(posts_of(&slack.fake, "Salesforce CPQ bridge"), 1);
    assert_eq!(posts_of(&slack.fake, "Workday HR feed"), 1);
    assert_eq!(tries[1].token.as_deref(), Some(super::BOT_TOKEN));
}

on_both_databases!(a_server_error_is_retried_with_back_off_and_delivered_once);
async fn a_server_error_is_retried_with_back_off_and_delivered_once(db: TestDb) {
    let slack = Harness::start(demo_app(&db, settings()).await).await;
    slack.fake.fail_next("chat.postMessage", 1, Failure::ServerError);
    open_ticket(&slack.app, "Workday HR feed").await;
    assert_eq!(all_sent(&slack.app).await, [2]);
    let tries = attempts(&slack.fake);
    assert_eq!(tries.iter().map(|c| c.status).collect::<Vec<_>>(), [500, 200]);
    assert!(tries[1].at - tries[0].at >= Duration::from_secs(2), "backed off: {:?}", tries[1].at - tries[0].at);
    assert_eq!(posts_of(&slack.fake, "Workday HR feed"), 1);
}

on_both_databases!(nothing_is_lost_or_sent_twice_across_restarts);
async fn nothing_is_lost_or_sent_twice_across_restarts(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let fake = FakeSlack::start().await;
    // Written while no server runs.
    open_ticket(&app, "Written while down").await;

    let first = TestServer::start(app.clone(), platforms(&fake), intervals()).await;
    all_sent(&app).await;
    first.stop().await;
    assert_eq!(posts_of(&fake, "Written while down"), 1);

    // An instance that claimed a message and died before sending it: its lease runs out.
    open_ticket(&app, "Claimed by a dead instance").await;
    let now = Utc::now();
    let lease = timestamp(now + chrono::Duration::seconds(1));
    let claimed = app.store.claim_due("dead-instance", &timestamp(now), &lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);

    let second = TestServer::start(app.clone(), platforms(&fake), intervals()).await;
    open_ticket(&app, "Written after the restart").await;
    all_sent(&app).await;
    second.stop().await;
    for what in ["Written while down", "Claimed by a dead instance", "Written after the restart"] {
        assert_eq!(posts_of(&fake, what), 1, "{what}");
    }
}
