//! Outbox delivery through the Web API: a 429 waits its `Retry-After`, a 5xx is retried with
//! back-off, and nothing is lost or sent twice when an instance stops and another starts (or one
//! dies holding a claim). The tests step the worker and move its clock; nothing waits.

use std::time::Duration as StdDuration;

use chrono::Duration;
use keepable::app::App;
use keepable::server::Intervals;

use super::fake::{Call, Failure, FakeSlack};
use super::{platforms, text_of, Harness};
use crate::support::{
    actor, demo_app, on_both_databases, settings, OutboxWorker, TestDb, TestServer,
};

/// Opens a scoping ticket, whose card the outbox must post to the presales channel.
async fn open_ticket(app: &App, what: &str) {
    let reply = app.ask(&actor("U-SELLER", "C-DEAL"), &format!("/scope {what}")).await;
    assert!(!reply.is_error(), "{reply:?}");
}

/// Every attempt to post to presales, successful or not.
fn attempts(fake: &FakeSlack) -> Vec<Call> {
    fake.calls()
        .into_iter()
        .filter(|c| c.method == "chat.postMessage" && c.body["channel"] == "presales")
        .collect()
}

/// The successful posts to presales that mention `what`.
fn posts_of(fake: &FakeSlack, what: &str) -> usize {
    attempts(fake).iter().filter(|c| c.status == 200 && text_of(&c.body).contains(what)).count()
}

/// Checks that every outbox message is sent and returns their attempt counts.
async fn all_sent(app: &App) -> Vec<i64> {
    let messages = app.store.outbox_messages().await.unwrap();
    assert!(messages.iter().all(|m| m.state == "sent"), "not all sent: {messages:#?}");
    messages.iter().map(|m| m.attempts).collect()
}

fn statuses(calls: &[Call]) -> Vec<u16> {
    calls.iter().map(|c| c.status).collect()
}

on_both_databases!(a_rate_limited_post_waits_its_retry_after_and_is_delivered_exactly_once);
async fn a_rate_limited_post_waits_its_retry_after_and_is_delivered_exactly_once(db: TestDb) {
    let slack = Harness::start(demo_app(&db, settings()).await).await;
    slack.fake.fail_next("chat.postMessage", 1, Failure::RateLimited(1));
    open_ticket(&slack.app, "Salesforce CPQ bridge").await;
    slack.deliver().await;
    let limited = attempts(&slack.fake).first().cloned().expect("the card was tried");
    assert_eq!(limited.status, 429);
    // A message written during the wait waits too: nothing is sent into the limit.
    open_ticket(&slack.app, "Workday HR feed").await;
    assert_eq!(slack.deliver().await, 0);
    slack.outbox.advance(Duration::milliseconds(999));
    assert_eq!(slack.deliver().await, 0, "Retry-After honoured");
    assert_eq!(
        statuses(&attempts(&slack.fake)),
        [429],
        "nothing is tried before the second is over"
    );
    slack.outbox.advance(Duration::milliseconds(1));
    assert_eq!(slack.deliver().await, 2);
    assert_eq!(all_sent(&slack.app).await.len(), 2);
    let tries = attempts(&slack.fake);
    assert_eq!(statuses(&tries), [429, 200, 200]);
    assert_eq!(posts_of(&slack.fake, "Salesforce CPQ bridge"), 1);
    assert_eq!(posts_of(&slack.fake, "Workday HR feed"), 1);
    assert_eq!(tries[1].token.as_deref(), Some(super::BOT_TOKEN));
}

on_both_databases!(a_server_error_is_retried_with_back_off_and_delivered_once);
async fn a_server_error_is_retried_with_back_off_and_delivered_once(db: TestDb) {
    let slack = Harness::start(demo_app(&db, settings()).await).await;
    slack.fake.fail_next("chat.postMessage", 1, Failure::ServerError);
    open_ticket(&slack.app, "Workday HR feed").await;
    slack.deliver().await;
    slack.outbox.advance(Duration::milliseconds(1999));
    assert_eq!(slack.deliver().await, 0, "backed off: not retried within two seconds");
    slack.outbox.advance(Duration::milliseconds(1));
    assert_eq!(slack.deliver().await, 1);
    assert_eq!(all_sent(&slack.app).await, [2]);
    let tries = attempts(&slack.fake);
    assert_eq!(statuses(&tries), [500, 200]);
    assert_eq!(posts_of(&slack.fake, "Workday HR feed"), 1);
}

on_both_databases!(nothing_is_lost_or_sent_twice_across_restarts);
async fn nothing_is_lost_or_sent_twice_across_restarts(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let fake = FakeSlack::start().await;
    let instance = |id: &str| OutboxWorker::new(&app, platforms(&fake).deliverer().unwrap(), id);
    // Written while no instance runs.
    open_ticket(&app, "Written while down").await;

    let first = instance("first");
    first.step().await;
    all_sent(&app).await;
    drop(first);
    assert_eq!(posts_of(&fake, "Written while down"), 1);

    // An instance that claimed a message and died before sending it: its lease runs out.
    open_ticket(&app, "Claimed by a dead instance").await;
    let now = app.clock.now();
    let claimed =
        app.store.claim_due("dead-instance", now, now + Duration::seconds(1), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);

    let second = instance("second");
    open_ticket(&app, "Written after the restart").await;
    second.step().await;
    assert_eq!(
        posts_of(&fake, "Claimed by a dead instance"),
        0,
        "not while the dead instance holds it"
    );
    second.advance(Duration::seconds(1));
    second.step().await;
    all_sent(&app).await;
    for what in ["Written while down", "Claimed by a dead instance", "Written after the restart"] {
        assert_eq!(posts_of(&fake, what), 1, "{what}");
    }
}

/// The server's own worker, which the other tests replace by steps: its first step is at
/// start-up, so what was written while the server was down goes out as it starts.
#[tokio::test]
async fn a_starting_server_delivers_what_was_written_while_it_was_down() {
    let db = TestDb::sqlite();
    let app = demo_app(&db, settings()).await;
    let fake = FakeSlack::start().await;
    open_ticket(&app, "Written while down").await;
    let intervals = Intervals { outbox: Some(StdDuration::from_secs(3600)), ..Intervals::STEPPED };
    let _server = TestServer::start(app, platforms(&fake), intervals).await;
    let post = fake.until(|| attempts(&fake).into_iter().next()).await;
    assert_eq!(post.status, 200);
    assert!(text_of(&post.body).contains("Written while down"), "{:#}", post.body);
}

on_both_databases!(a_huge_retry_after_is_clamped_and_the_worker_lives_on);
async fn a_huge_retry_after_is_clamped_and_the_worker_lives_on(db: TestDb) {
    let slack = Harness::start(demo_app(&db, settings()).await).await;
    slack.fake.fail_next("chat.postMessage", 1, Failure::RateLimited(1_000_000_000_000));
    open_ticket(&slack.app, "Clamped CPQ").await;
    assert_eq!(slack.deliver().await, 0);
    let waiting = slack.app.store.outbox_messages().await.unwrap();
    assert_eq!(waiting[0].state, "pending", "{waiting:?}");
    // `max_retry_after_seconds` (60) later it goes, whatever the header said.
    slack.outbox.advance(Duration::seconds(61));
    assert_eq!(slack.deliver().await, 1);
    assert_eq!(posts_of(&slack.fake, "Clamped CPQ"), 1);
}

on_both_databases!(healthz_says_why_it_is_unhealthy);
async fn healthz_says_why_it_is_unhealthy(db: TestDb) {
    let slack = Harness::start(demo_app(&db, settings()).await).await;
    let health = || async {
        let response = slack.http.get(slack.server.url("/healthz")).send().await.unwrap();
        (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap())
    };
    let (status, body) = health().await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")), "{body}");
    // A message due ten minutes ago and still not delivered: the backlog is too old.
    let mut reply = keepable::app::reply::Reply::new("notice");
    reply.headline = "stuck".into();
    let mut tx = slack.app.store.begin().await.unwrap();
    let message = keepable::store::outbox::NewMessage {
        idempotency_key: "stuck".into(),
        target: keepable::app::reply::Target::Channel("C-ANY".into()),
        reply: &reply,
        updates: None,
        caused_by: None,
    };
    tx.enqueue(message, crate::support::now() - Duration::minutes(10)).await.unwrap();
    tx.commit().await.unwrap();
    let (status, body) = health().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["oldest_due_seconds"], 600, "{body}");
    assert!(body["problems"][0].as_str().unwrap().contains("due for 600 s"), "{body}");
}

on_both_databases!(a_message_that_cannot_be_delivered_tells_its_requester_and_operations);
async fn a_message_that_cannot_be_delivered_tells_its_requester_and_operations(db: TestDb) {
    let settings = keepable::config::Settings { ops_channel: Some("C-OPS".into()), ..settings() };
    let app = demo_app(&db, settings).await;
    let fake = FakeSlack::start().await;
    let deliverer = platforms(&fake).deliverer().unwrap();
    let worker = OutboxWorker::new(&app, deliverer, "ops-test");
    // The bot is not in the presales channel.
    fake.fail_next("chat.postMessage", 1, Failure::Refused("not_in_channel"));
    open_ticket(&app, "Unreachable CPQ").await;
    worker.step().await;
    let messages = app.store.outbox_messages().await.unwrap();
    let card = messages.iter().find(|m| m.idempotency_key.starts_with("ticket:")).unwrap();
    assert_eq!(card.state, "failed", "{card:?}");
    assert!(card.last_error.as_deref().unwrap_or_default().contains("not_in_channel"), "{card:?}");
    let told: Vec<_> =
        messages.iter().filter(|m| m.idempotency_key.starts_with("failed:")).collect();
    assert_eq!(told.len(), 2, "the requester and operations: {told:?}");
    let requester = told
        .iter()
        .find(|m| m.target == keepable::app::reply::Target::User("U-SELLER".into()))
        .unwrap();
    assert!(
        requester.text.contains("could not be delivered to channel presales"),
        "{}",
        requester.text
    );
    assert!(requester.text.contains("not_in_channel"));
    let ops = told
        .iter()
        .find(|m| m.target == keepable::app::reply::Target::Channel("C-OPS".into()))
        .unwrap();
    assert!(ops.text.contains(&format!("keepable outbox retry {}", card.id)), "{}", ops.text);
    // Both notices go out; re-queued after the fix, the card goes out too, once.
    worker.step().await;
    assert!(app.store.retry_failed(card.id, worker.now()).await.unwrap());
    assert!(!app.store.retry_failed(card.id, worker.now()).await.unwrap(), "only a failed one");
    worker.step().await;
    let delivered = attempts(&fake)
        .iter()
        .filter(|c| c.answer["ok"] == true && text_of(&c.body).contains("Unreachable CPQ"))
        .count();
    assert_eq!(delivered, 1);
    let states: Vec<String> =
        app.store.outbox_messages().await.unwrap().iter().map(|m| m.state.to_string()).collect();
    assert!(states.iter().all(|s| s == "sent"), "{states:?}");
}

on_both_databases!(metrics_are_prometheus_text_and_count_what_happened);
async fn metrics_are_prometheus_text_and_count_what_happened(db: TestDb) {
    let slack = Harness::start(demo_app(&db, settings()).await).await;
    slack.command("U-SELLER", "C-METRICS", "/staffing crm-rollout").await;
    open_ticket(&slack.app, "Metered CPQ").await;
    slack.deliver().await;
    let text =
        slack.http.get(slack.server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => v,
                prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    };
    // The recorder is the process's, shared by every test: counts are at least ours.
    let staffing = [("platform", "slack"), ("command", "staffing"), ("outcome", "ok")];
    assert!(value("keepable_requests_total", &staffing) >= 1.0, "{text}");
    assert!(value("keepable_deliveries_total", &[("outcome", "sent")]) >= 1.0, "{text}");
    assert!(text.contains("keepable_answer_seconds_bucket"), "{text}");
    assert!(text.contains("keepable_outbox_backlog"), "{text}");
}

on_both_databases!(a_message_posted_by_a_worker_that_died_is_adopted_not_posted_twice);
async fn a_message_posted_by_a_worker_that_died_is_adopted_not_posted_twice(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let fake = FakeSlack::start().await;
    let deliverer = platforms(&fake).deliverer().unwrap();
    // A worker claims the card, posts it, and is killed before it can record the post.
    open_ticket(&app, "Posted then killed").await;
    let now = app.clock.now();
    let claimed = app.store.claim_due("killed", now, now + Duration::seconds(30), 5).await.unwrap();
    let card = claimed.into_iter().next().unwrap();
    assert!(app
        .store
        .renew_lease(card.id, "killed", now, now + Duration::seconds(30))
        .await
        .unwrap());
    deliverer.deliver(&card, None, now).await.unwrap();
    assert_eq!(posts_of(&fake, "Posted then killed"), 1);
    // Within the lease nobody else touches it; after it, the next worker finds the post.
    let next = OutboxWorker::new(&app, deliverer.clone(), "next");
    assert_eq!(next.step().await, 0);
    next.advance(Duration::seconds(31));
    assert_eq!(next.step().await, 1);
    assert_eq!(posts_of(&fake, "Posted then killed"), 1, "adopted, not posted again");
    let history = fake.calls().into_iter().filter(|c| c.method == "conversations.history").count();
    assert_eq!(history, 1, "the history is read only when the outcome is unknown");
    let sent = app.store.outbox_message(card.id).await.unwrap().unwrap();
    assert_eq!(sent.state, "sent");
    assert!(sent.platform_ref.unwrap().starts_with("presales:"));
    // A message whose attempt never reached Slack is posted once, after the lookup finds nothing.
    open_ticket(&app, "Claimed then killed").await;
    let now = next.now();
    let claimed = app.store.claim_due("killed", now, now + Duration::seconds(30), 5).await.unwrap();
    let card = claimed.into_iter().next().unwrap();
    assert!(app
        .store
        .renew_lease(card.id, "killed", now, now + Duration::seconds(30))
        .await
        .unwrap());
    next.advance(Duration::seconds(31));
    assert_eq!(next.step().await, 1);
    assert_eq!(posts_of(&fake, "Claimed then killed"), 1);
}

// One instance serving Slack and Discord together: each message goes to the platform of the
// action that caused it, to that platform's own channel for a setting that names one per
// platform.
on_both_databases!(one_instance_delivers_to_slack_and_discord_together);
async fn one_instance_delivers_to_slack_and_discord_together(db: TestDb) {
    let settings = keepable::config::Settings {
        presales_channel: "slack:presales,discord:1090000000000000009".into(),
        ..settings()
    };
    let app = demo_app(&db, settings).await;
    let slack_fake = FakeSlack::start().await;
    let discord_fake = crate::discord::fake::FakeDiscord::start().await;
    let mut both = platforms(&slack_fake);
    both.discord = Some(std::sync::Arc::new(keepable::chat::discord::DiscordSettings {
        application_id: Some(crate::discord::APPLICATION_ID.into()),
        bot_token: Some(crate::discord::BOT_TOKEN.into()),
        api_url: discord_fake.api_url.clone(),
        ..keepable::chat::discord::DiscordSettings::new(crate::discord::PUBLIC_KEY)
    }));
    let worker = OutboxWorker::new(&app, both.deliverer().unwrap(), "both");
    let on_slack = app.clone().on_platform("slack");
    let on_discord = app.clone().on_platform("discord");
    assert!(!on_slack.ask(&actor("U-SELLER", "C-DEAL"), "/scope Slack-side CPQ").await.is_error());
    let discord_seller = actor("400000000000000001", "1090000000000000002");
    assert!(!on_discord.ask(&discord_seller, "/scope Discord-side CPQ").await.is_error());
    worker.step().await;
    assert_eq!(posts_of(&slack_fake, "Slack-side CPQ"), 1);
    assert_eq!(posts_of(&slack_fake, "Discord-side CPQ"), 0);
    let discord_posts = discord_fake.calls_to("POST", "/channels/1090000000000000009/messages");
    assert_eq!(discord_posts.len(), 1, "{discord_posts:?}");
    assert!(discord_posts[0].body.to_string().contains("Discord-side CPQ"));
}

on_both_databases!(two_instances_share_a_backlog_and_post_each_message_once);
async fn two_instances_share_a_backlog_and_post_each_message_once(db: TestDb) {
    let app = demo_app(&db, settings()).await;
    let fake = FakeSlack::start().await;
    for n in 0..12 {
        open_ticket(&app, &format!("Shared backlog item {n}")).await;
    }
    let second_store = keepable::store::Store::connect(&db.url).await.unwrap();
    let second_app = App::new(second_store, settings(), app.clock).unwrap();
    let first = OutboxWorker::new(&app, platforms(&fake).deliverer().unwrap(), "first");
    let second = OutboxWorker::new(&second_app, platforms(&fake).deliverer().unwrap(), "second");
    let (a, b) = tokio::join!(first.step(), second.step());
    assert_eq!(a + b, 12, "every card once, shared: {a} + {b} on {}", db.url);
    for n in 0..12 {
        assert_eq!(posts_of(&fake, &format!("Shared backlog item {n}\"")), 1, "item {n}");
    }
    all_sent(&app).await;
}

/// `keepable serve` killed with SIGKILL while Slack is slow to answer a post it has already
/// made: after a restart every message is delivered, none twice (the one in flight is found in
/// the channel's history and adopted), and nothing waits longer than the lease.
#[tokio::test]
async fn a_serve_killed_mid_delivery_loses_nothing_and_posts_nothing_twice() {
    let db = TestDb::sqlite();
    let app = demo_app(&db, settings()).await;
    for n in 0..6 {
        open_ticket(&app, &format!("Killed-delivery item {n}")).await;
    }
    let fake = FakeSlack::start().await;
    fake.slow_posts(StdDuration::from_secs(3));
    let serve = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_keepable"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("DATABASE_URL", &db.url)
            .env("SLACK_SIGNING_SECRET", super::SECRET)
            .env("SLACK_BOT_TOKEN", super::BOT_TOKEN)
            .env("SLACK_API_URL", fake.api_url())
            .env("KEEPABLE_SLACK_TEAM_ID", "T-TEST")
            .env("KEEPABLE_LEASE_SECONDS", "5")
            .env("KEEPABLE_DIGEST_WEEKDAY", crate::support::a_digest_weekday_not_today())
            .env_remove("KEEPABLE_CONFIG")
            .env_remove("KEEPABLE_NOW")
            .env_remove("KEEPABLE_TODAY")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut first = serve();
    // The first post has reached Slack; its answer is three seconds away.
    fake.until(|| fake.calls().into_iter().find(|c| c.method == "chat.postMessage")).await;
    first.kill().unwrap();
    first.wait().unwrap();
    fake.slow_posts(StdDuration::ZERO);
    let mut second = serve();
    let all_sent = async {
        loop {
            let messages = app.store.outbox_messages().await.unwrap();
            if messages.iter().all(|m| m.state == "sent") {
                return messages;
            }
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
    };
    let messages = crate::support::or_fail("every message is delivered", all_sent).await;
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(messages.len(), 6);
    let looked = fake.calls().into_iter().filter(|c| c.method == "conversations.history").count();
    assert!(looked >= 1, "the message in flight was looked for before posting again");
    for n in 0..6 {
        let item = format!("Killed-delivery item {n}\"");
        let posted = attempts(&fake)
            .iter()
            .filter(|c| c.answer["ok"] == true && text_of(&c.body).contains(&item))
            .count();
        assert_eq!(posted, 1, "{item} posted once");
    }
}
