//! Who gets in: Slack's signature, its time window, the size cap, `ssl_check`, and the Events API
//! (`url_verification`, retried deliveries, app mentions).

use chrono::{TimeZone, Utc};
use keepable::app::{App, Clock};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{command_form, Harness, FORM};
use crate::support::{actor, demo_app, on_both_databases, settings, TestDb};

/// Slack's published example (https://api.slack.com/authentication/verifying-requests-from-slack).
const EXAMPLE_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const EXAMPLE_TIMESTAMP: i64 = 1531420618;
const EXAMPLE_SIGNATURE: &str =
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

async fn harness(db: &TestDb) -> Harness {
    Harness::start(demo_app(db, settings()).await).await
}

async fn post_example(slack: &Harness) -> reqwest::Response {
    slack
        .http
        .post(slack.server.url("/slack/commands"))
        .header("content-type", FORM)
        .header("x-slack-request-timestamp", EXAMPLE_TIMESTAMP.to_string())
        .header("x-slack-signature", EXAMPLE_SIGNATURE)
        .body(EXAMPLE_BODY)
        .send()
        .await
        .unwrap()
}

fn deal_form(user: &str) -> String {
    // Each user in their own channel: a channel bound to someone else's deal is theirs.
    command_form(
        user,
        &format!("C-{user}"),
        "/deal",
        "new Sneaky package=crm-rollout",
        "http://127.0.0.1:9/unused",
    )
}

async fn has_deal(app: &App, user: &str) -> bool {
    !app.ask(&actor(user, &format!("C-{user}")), "/deal show").await.is_error()
}

#[tokio::test]
async fn slacks_published_signing_example_verifies_with_the_clock_at_its_timestamp() {
    let db = TestDb::sqlite();
    let mut app = demo_app(&db, settings()).await;
    app.clock =
        Clock { fixed_now: Some(Utc.timestamp_opt(EXAMPLE_TIMESTAMP, 0).unwrap()), ..app.clock };
    let slack = Harness::start(app).await;
    let response = post_example(&slack).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    // `/webhook-collect` is not ours: a friendly error, only for the person who typed it.
    assert_eq!(answer["response_type"], "ephemeral", "{answer:#}");
    assert!(super::text_of(&answer).contains("Unknown command '/webhook-collect'"), "{answer:#}");

    let other_db = TestDb::sqlite();
    let today = harness(&other_db).await;
    assert_eq!(
        post_example(&today).await.status(),
        401,
        "the same request years later is a replay"
    );
}

#[tokio::test]
async fn a_tampered_body_is_refused_with_401_and_changes_nothing() {
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let at = slack.app.clock.now().timestamp();
    let signed = deal_form("U-SELLER");
    let signature = super::sign(at, signed.as_bytes());
    let tampered = signed.replace("Sneaky", "Forged");
    let response = slack
        .http
        .post(slack.server.url("/slack/commands"))
        .header("content-type", FORM)
        .header("x-slack-request-timestamp", at.to_string())
        .header("x-slack-signature", signature)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(!has_deal(&slack.app, "U-SELLER").await);
    assert!(slack.fake.calls().is_empty());
}

#[tokio::test]
async fn timestamps_more_than_five_minutes_off_either_way_are_refused_with_401() {
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let now = slack.app.clock.now().timestamp();
    for (offset, user) in [(-301, "U-STALE"), (301, "U-FUTURE"), (-3600, "U-OLD")] {
        let response = slack
            .post_signed_at("/slack/commands", FORM, &deal_form(user), now + offset, &[])
            .await;
        assert_eq!(response.status(), 401, "offset {offset}s");
        assert!(!has_deal(&slack.app, user).await);
    }
    for (offset, user) in [(-299, "U-LATE"), (299, "U-FAST")] {
        let response = slack
            .post_signed_at("/slack/commands", FORM, &deal_form(user), now + offset, &[])
            .await;
        assert_eq!(response.status(), 200, "offset {offset}s is within the window");
        assert!(has_deal(&slack.app, user).await);
    }
}

#[tokio::test]
async fn a_request_without_the_signature_headers_is_refused_with_401() {
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let at = slack.app.clock.now().timestamp().to_string();
    let body = deal_form("U-SELLER");
    for path in ["/slack/commands", "/slack/interactions", "/slack/events"] {
        let bare =
            slack.http.post(slack.server.url(path)).header("content-type", FORM).body(body.clone());
        assert_eq!(bare.send().await.unwrap().status(), 401, "{path} without headers");
        let unsigned = slack
            .http
            .post(slack.server.url(path))
            .header("x-slack-request-timestamp", &at)
            .body(body.clone());
        assert_eq!(unsigned.send().await.unwrap().status(), 401, "{path} without a signature");
        let garbled = slack
            .http
            .post(slack.server.url(path))
            .header("x-slack-request-timestamp", &at)
            .header("x-slack-signature", "v0=not-hex")
            .body(body.clone());
        assert_eq!(
            garbled.send().await.unwrap().status(),
            401,
            "{path} with a malformed signature"
        );
    }
    assert!(!has_deal(&slack.app, "U-SELLER").await);
}

/// Sends `head` and then `chunks` (stopping quietly if the server hangs up) and returns the status
/// line of the answer.
async fn raw_exchange(addr: std::net::SocketAddr, head: &str, chunks: &[Vec<u8>]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in chunks {
        if stream.write_all(chunk).await.is_err() {
            break;
        }
    }
    let mut answer = vec![0u8; 512];
    // A server that waited for the whole body would never answer: that is a failure, not a hang.
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered")
        .unwrap();
    String::from_utf8_lossy(&answer[..read]).lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_refused_with_413_before_it_is_read() {
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let host = slack.server.addr;
    // Only the head is sent: the answer must come without waiting for the megabyte.
    let declared =
        format!("POST /slack/commands HTTP/1.1\r\nhost: {host}\r\ncontent-type: {FORM}\r\ncontent-length: {}\r\n\r\n", 1024 * 1024 + 1);
    let status = raw_exchange(host, &declared, &[]).await;
    assert!(status.contains(" 413 "), "{status}");
    // A chunked body declares nothing and is cut off as soon as it passes the cap.
    let chunk = |size: usize| format!("{size:x}\r\n{}\r\n", "a".repeat(size)).into_bytes();
    let chunks: Vec<Vec<u8>> = (0..20).map(|_| chunk(64 * 1024)).collect();
    let streamed = format!(
        "POST /slack/events HTTP/1.1\r\nhost: {host}\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let status = raw_exchange(host, &streamed, &chunks).await;
    assert!(status.contains(" 413 "), "{status}");
    // Exactly at the cap is not too large: it reaches the signature check.
    let body = "a".repeat(1024 * 1024);
    let at_cap =
        slack.http.post(slack.server.url("/slack/events")).body(body).send().await.unwrap();
    assert_eq!(at_cap.status(), 401);
}

#[tokio::test]
async fn an_ssl_check_is_acknowledged_without_running_a_handler() {
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let body = format!("ssl_check=1&{}", deal_form("U-SELLER"));
    let response = slack.post_signed("/slack/commands", FORM, &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "");
    // Slack's own check carries just a token and is not signed.
    let bare = slack
        .http
        .post(slack.server.url("/slack/commands"))
        .header("content-type", FORM)
        .body("ssl_check=1&token=x");
    assert_eq!(bare.send().await.unwrap().status(), 200);
    assert!(
        !has_deal(&slack.app, "U-SELLER").await,
        "the command riding on the ssl_check did not run"
    );
    assert!(slack.fake.calls().is_empty());
}

#[tokio::test]
async fn url_verification_is_answered_with_its_challenge() {
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P";
    let body = json!({ "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification" }).to_string();
    let response = slack.post_signed("/slack/events", "application/json", &body).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["challenge"], challenge);
}

fn mention(event_id: &str, ts: &str) -> String {
    json!({
        "token": "ZZZZZZWSxiZZZ2yIvs3peJ",
        "team_id": "T0001",
        "api_app_id": "A123456",
        "event": {
            "type": "app_mention",
            "user": "U-SELLER",
            "text": "<@U0LAN0Z89> what can you do?",
            "ts": ts,
            "channel": "C-DEAL",
            "event_ts": ts
        },
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1764081000,
        "authorizations": [{ "team_id": "T0001", "user_id": "U0LAN0Z89", "is_bot": true }],
        "event_context": "EC12345"
    })
    .to_string()
}

/// The bot's posts in the thread under the mention at `ts`.
fn thread_posts(slack: &Harness, ts: &str) -> Vec<Value> {
    slack
        .fake
        .succeeded("chat.postMessage")
        .into_iter()
        .map(|c| c.body)
        .filter(|b| b["thread_ts"] == ts)
        .collect()
}

#[tokio::test]
async fn an_app_mention_is_answered_with_help_in_its_thread() {
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let response = slack
        .post_signed("/slack/events", "application/json", &mention("Ev0001", "1764081000.000100"))
        .await;
    assert_eq!(response.status(), 200);
    let posts = slack
        .fake
        .until(|| Some(thread_posts(&slack, "1764081000.000100")).filter(|p| !p.is_empty()))
        .await;
    assert_eq!(posts[0]["channel"], "C-DEAL");
    let help = super::text_of(&posts[0]);
    for command in ["/earliest-start", "/included", "/comparables", "/staffing", "/scope", "/deal"]
    {
        assert!(help.contains(command), "{command} missing from {help}");
    }
    let call = &slack.fake.succeeded("chat.postMessage")[0];
    assert_eq!(call.token.as_deref(), Some(super::BOT_TOKEN));
}

#[tokio::test]
async fn a_retried_event_is_acted_on_once() {
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let ts = "1764081000.000200";
    let first =
        slack.post_signed("/slack/events", "application/json", &mention("Ev0002", ts)).await;
    assert_eq!(first.status(), 200);
    slack.fake.until(|| Some(()).filter(|_| !thread_posts(&slack, ts).is_empty())).await;
    let at = slack.app.clock.now().timestamp();
    for retry in ["1", "2"] {
        let headers = [("x-slack-retry-num", retry), ("x-slack-retry-reason", "http_timeout")];
        let again = slack
            .post_signed_at(
                "/slack/events",
                "application/json",
                &mention("Ev0002", ts),
                at,
                &headers,
            )
            .await;
        assert_eq!(again.status(), 200, "a retry is acknowledged so Slack stops retrying");
    }
    // A new event with its own id is answered: the retries were skipped for their id alone.
    let other_ts = "1764081000.000300";
    slack.post_signed("/slack/events", "application/json", &mention("Ev0003", other_ts)).await;
    slack.fake.until(|| Some(()).filter(|_| !thread_posts(&slack, other_ts).is_empty())).await;
    assert_eq!(thread_posts(&slack, ts).len(), 1, "the retries of Ev0002 did not answer again");
}

#[tokio::test]
async fn a_replayed_command_or_click_is_refused_with_401_and_acts_once() {
    let db = TestDb::sqlite();
    let slack = harness(&db).await;
    let at = slack.app.clock.now().timestamp();
    let form = deal_form("U-SELLER");
    assert_eq!(slack.post_signed_at("/slack/commands", FORM, &form, at, &[]).await.status(), 200);
    assert_eq!(
        slack.post_signed_at("/slack/commands", FORM, &form, at, &[]).await.status(),
        401,
        "the same signed request again"
    );
    let click = super::block_actions(
        "U-SELLER",
        "C-DEAL",
        "commit_start:forged",
        &slack.fake.response_url("click"),
    );
    let click = serde_urlencoded::to_string([("payload", click.to_string())]).unwrap();
    assert_eq!(
        slack.post_signed_at("/slack/interactions", FORM, &click, at, &[]).await.status(),
        200
    );
    assert_eq!(
        slack.post_signed_at("/slack/interactions", FORM, &click, at, &[]).await.status(),
        401
    );
    slack.fake.until(|| Some(()).filter(|_| !slack.responses("click").is_empty())).await;
    assert_eq!(slack.responses("click").len(), 1, "the replayed click was not run");
    assert_eq!(deals_created(&slack.app).await, 1, "the replayed command created no second deal");
}

/// The bot serves one workspace: a correctly signed command from another team is refused with
/// 403 and changes nothing.
#[tokio::test]
async fn a_command_from_another_workspace_is_refused() {
    let db = TestDb::sqlite();
    let mut settings = settings();
    settings.slack_team_id = Some("T0001".into());
    let slack = Harness::start(demo_app(&db, settings).await).await;
    let theirs = deal_form("U-OTHER").replace("team_id=T0001", "team_id=T9999");
    assert_eq!(slack.post_signed("/slack/commands", FORM, &theirs).await.status(), 403);
    assert!(!has_deal(&slack.app, "U-OTHER").await, "nothing changed");
    assert_eq!(
        slack.post_signed("/slack/commands", FORM, &deal_form("U-OURS")).await.status(),
        200
    );
    assert!(has_deal(&slack.app, "U-OURS").await);
}

/// The PM named in `/deal won` must be one person: a channel, a bot or a deactivated account is
/// refused on Slack (checked with `users.info`), and the deal stays open.
#[tokio::test]
async fn a_deal_is_handed_over_only_to_a_person() {
    let db = TestDb::sqlite();
    let slack = Harness::start(demo_app(&db, settings()).await).await;
    let seller = "U-SELLER";
    assert_eq!(slack.post_signed("/slack/commands", FORM, &deal_form(seller)).await.status(), 200);
    let channel = format!("C-{seller}");
    let status = || async {
        slack.app.ask(&actor(seller, &channel), "/deal show").await.data["status"].clone()
    };
    for pm in
        ["<#C0123|general>", "<!subteam^S0123>", "<@UBOT0001>", "<@UGONE0001>", "<@UNKNOWN01>"]
    {
        let won = command_form(
            seller,
            &channel,
            "/deal",
            &format!("won pm={pm}"),
            "http://127.0.0.1:9/unused",
        );
        assert_eq!(slack.post_signed("/slack/commands", FORM, &won).await.status(), 200);
        assert_eq!(status().await, "open", "pm={pm} is not a person");
    }
    let won = command_form(
        seller,
        &channel,
        "/deal",
        "won pm=<@U0PM0001|pat>",
        "http://127.0.0.1:9/unused",
    );
    assert_eq!(slack.post_signed("/slack/commands", FORM, &won).await.status(), 200);
    assert_eq!(status().await, "won");
}

/// Text a person typed stays text on Slack: a hostile deal name reaches the leadership card
/// escaped, so it mentions nobody and links nowhere.
#[tokio::test]
async fn a_hostile_deal_name_reaches_the_leadership_card_as_plain_text() {
    let db = TestDb::sqlite();
    let slack = Harness::start(demo_app(&db, settings()).await).await;
    let seller = actor("U-SELLER", "C-HOSTILE");
    let hostile = "<!channel> <https://evil.example|Approve in Keepable> <!subteam^S1> & co";
    slack.app.ask(&seller, &format!("/deal new \"{hostile}\" package=crm-rollout")).await;
    let answer = slack
        .app
        .ask(&seller, "/comparables crm-rollout deadline=2026-12-31 start=2026-12-07")
        .await;
    let request = answer
        .actions
        .iter()
        .find(|a| a.action.verb() == "request_approval")
        .expect("a request button");
    let requested = slack.app.act(&seller, &request.action.to_string(), &Default::default()).await;
    assert_eq!(requested.kind, "approval_requested", "{requested:?}");
    slack.deliver().await;
    let posts = slack.fake.succeeded("chat.postMessage");
    let card = posts
        .iter()
        .map(|call| call.body.to_string())
        .find(|body| body.contains("Approve in Keepable"))
        .expect("the card");
    for raw in ["<!channel>", "<https://evil.example", "<!subteam^S1>"] {
        assert!(!card.contains(raw), "{raw} reached Slack unescaped: {card}");
    }
    assert!(card.contains("&lt;!channel&gt;") && card.contains("&amp; co"), "{card}");
}

// The replay guard lives in the database: a request accepted by one instance is refused by
// another sharing it (PostgreSQL: instances side by side) and by the next one after a restart
// (SQLite serves one instance at a time), and a copy whose signature is the same bytes in upper
// case is no new request.
on_both_databases!(a_replay_is_refused_by_another_instance_and_in_any_spelling);
async fn a_replay_is_refused_by_another_instance_and_in_any_spelling(db: TestDb) {
    let first = Harness::start(demo_app(&db, settings()).await).await;
    let clock =
        Clock { fixed_now: first.app.clock.fixed_now, fixed_today: first.app.clock.fixed_today };
    let at = first.app.clock.now().timestamp();
    let form = deal_form("U-SELLER");
    assert_eq!(first.post_signed_at("/slack/commands", FORM, &form, at, &[]).await.status(), 200);
    let side_by_side = db.url.starts_with("postgres");
    let first = if side_by_side {
        Some(first)
    } else {
        // Stopped: the keys it accepted are written as it stops.
        let Harness { app, server, .. } = first;
        server.stop().await;
        assert_eq!(deals_created(&app).await, 1, "{}", db.url);
        None
    };
    let store = keepable::store::Store::connect(&db.url).await.unwrap();
    let second = Harness::start(App::new(store, settings(), clock).unwrap()).await;
    assert_eq!(
        second.post_signed_at("/slack/commands", FORM, &form, at, &[]).await.status(),
        401,
        "the same request sent to another instance ({})",
        db.url
    );
    let upper = super::sign(at, form.as_bytes()).replace("v0=", "").to_uppercase();
    let recased = second
        .http
        .post(second.server.url("/slack/commands"))
        .header("content-type", FORM)
        .header("x-slack-request-timestamp", at.to_string())
        .header("x-slack-signature", format!("v0={upper}"))
        .body(form.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(recased.status(), 401, "a re-cased signature");
    assert_eq!(deals_created(&second.app).await, 1, "{}", db.url);
    drop(first);
}

#[tokio::test]
async fn a_slow_loris_connection_is_dropped_and_genuine_requests_still_answer() {
    let db = TestDb::sqlite();
    let app = demo_app(&db, settings()).await;
    let fake = super::fake::FakeSlack::start().await;
    let intervals = keepable::server::Intervals {
        connection_timeout: std::time::Duration::from_millis(300),
        ..keepable::server::Intervals::STEPPED
    };
    let server =
        crate::support::TestServer::start(app.clone(), super::platforms(&fake), intervals).await;
    // Many silent connections, and one that trickles half a header and stops.
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    let mut loris = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    loris.write_all(b"POST /slack/commands HTTP/1.1\r\nhost: x\r\n").await.unwrap();
    let mut rest = [0u8; 64];
    let dropped =
        crate::support::or_fail("the silent connection is dropped", loris.read(&mut rest)).await;
    assert!(matches!(dropped, Ok(0) | Err(_)), "{dropped:?}");
    let health = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    drop(idle);
}

/// How many deals the audit log says were created.
async fn deals_created(app: &App) -> usize {
    let entries = app.store.audit_entries().await.unwrap();
    entries.iter().filter(|e| e.action == "deal.created").count()
}
