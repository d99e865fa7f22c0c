//! Socket Mode: with `SLACK_APP_TOKEN` set, the bot opens a websocket from `apps.connections.open`
//! and the same handlers answer Slack's envelopes, each acknowledged with its `envelope_id` (and
//! the answer as the ack's `payload` where HTTP would have put it in the response body).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use keepable::chat::slack::SlackSettings;
use keepable::server::{Intervals, Platforms};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::fake::FakeSlack;
use super::{block_actions, button, text_of};
use crate::support::{demo_app, settings, TestDb, TestServer};

const APP_TOKEN: &str = "xapp-1-A0001-test";

type Socket = WebSocketStream<TcpStream>;

async fn send(socket: &mut Socket, kind: &str, envelope_id: &str, payload: Value) {
    let envelope = json!({ "envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload": kind != "events_api" });
    socket.send(Message::text(envelope.to_string())).await.unwrap();
}

/// The bot's next text frame, parsed.
async fn receive(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("an answer within 5 s");
        if let Message::Text(text) = frame.expect("the socket is open").unwrap() {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

fn command(line: &str, response_url: &str) -> Value {
    let (command, text) = line.split_once(' ').unwrap_or((line, ""));
    json!({
        "token": "bHKJ2n9AW6Ju3MjciOHfbA1b", "team_id": "T0001", "team_domain": "example", "channel_id": "C-DEAL",
        "channel_name": "deal-room", "user_id": "U-SELLER", "user_name": "seller", "command": command, "text": text,
        "api_app_id": "A0001", "is_enterprise_install": "false", "response_url": response_url,
        "trigger_id": "1234.5678.socket"
    })
}

#[tokio::test]
async fn socket_mode_runs_the_same_handlers_over_a_websocket() {
    let db = TestDb::sqlite();
    let app = demo_app(&db, settings()).await;
    let fake = FakeSlack::start().await;
    let websocket = TcpListener::bind("127.0.0.1:0").await.unwrap();
    fake.set_socket_url(&format!("ws://{}/link/?ticket=t1", websocket.local_addr().unwrap()));
    let settings = SlackSettings {
        signing_secret: super::SECRET.into(),
        bot_token: super::BOT_TOKEN.into(),
        app_token: Some(APP_TOKEN.into()),
        api_url: fake.api_url(),
        ack_within: keepable::chat::slack::DEFAULT_ACK_WITHIN,
        load_baseline: false,
    };
    let _server = TestServer::start(
        app,
        Platforms { slack: Some(Arc::new(settings)), discord: None },
        Intervals::STEPPED,
    )
    .await;

    let (stream, _) = tokio::time::timeout(Duration::from_secs(5), websocket.accept())
        .await
        .expect("the bot connects")
        .unwrap();
    let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
    let opened = fake.succeeded("apps.connections.open");
    assert_eq!(
        opened[0].token.as_deref(),
        Some(APP_TOKEN),
        "the socket is opened with the app-level token"
    );
    let hello = json!({ "type": "hello", "num_connections": 1, "connection_info": { "app_id": "A0001" },
        "debug_info": { "host": "applink-test", "approximate_connection_time": 18060 } });
    socket.send(Message::text(hello.to_string())).await.unwrap();

    let response_url = fake.response_url("socket");
    send(
        &mut socket,
        "slash_commands",
        "env-1",
        command("/deal new Socketeers package=crm-rollout", &response_url),
    )
    .await;
    let ack = receive(&mut socket).await;
    assert_eq!(ack["envelope_id"], "env-1");
    assert!(text_of(&ack["payload"]).contains("Socketeers"), "{ack:#}");

    send(
        &mut socket,
        "slash_commands",
        "env-2",
        command("/earliest-start crm-rollout", &response_url),
    )
    .await;
    let ack = receive(&mut socket).await;
    assert_eq!(
        (ack["envelope_id"].as_str(), ack["payload"]["response_type"].as_str()),
        (Some("env-2"), Some("ephemeral"))
    );
    assert_eq!(ack["payload"]["blocks"][0]["type"], "header", "{ack:#}");
    let commit = button(&ack["payload"], "commit_start");

    send(
        &mut socket,
        "interactive",
        "env-3",
        block_actions("U-SELLER", "C-DEAL", &commit, &response_url),
    )
    .await;
    assert_eq!(receive(&mut socket).await, json!({ "envelope_id": "env-3" }));
    let recorded =
        fake.until(|| fake.succeeded("response:socket").first().map(|c| c.body.clone())).await;
    assert!(
        text_of(&recorded).contains("Socketeers"),
        "the start is recorded on the deal: {recorded:#}"
    );

    let mention = json!({ "type": "event_callback", "event_id": "Ev-socket-1", "team_id": "T0001", "api_app_id": "A0001",
        "event": { "type": "app_mention", "user": "U-SELLER", "text": "<@U0BOT> help", "ts": "1764081000.000900", "channel": "C-DEAL" } });
    send(&mut socket, "events_api", "env-4", mention).await;
    assert_eq!(receive(&mut socket).await, json!({ "envelope_id": "env-4" }));
    let help = fake
        .until(|| {
            fake.succeeded("chat.postMessage")
                .into_iter()
                .find(|c| c.body["thread_ts"] == "1764081000.000900")
        })
        .await;
    assert!(text_of(&help.body).contains("/earliest-start"));
}
