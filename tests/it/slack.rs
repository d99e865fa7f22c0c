//! Slack adapter tests: signed requests into the running server, Web API calls captured by a fake.
//! `Harness` starts the fake Slack and `keepable::server::run` pointed at it, signs requests the
//! way Slack does (independently of the code under test) and shapes payloads like Slack's
//! documented examples. The server runs no background workers: a test delivers the outbox with
//! `Harness::deliver`, one step at a time.

mod approvals;
mod baseline;
mod commands;
mod delivery;
mod fake;
mod modals;
mod radar;
mod requests;
mod socket;

use std::sync::Arc;

use hmac::{Hmac, Mac};
use keepable::app::App;
use keepable::chat::slack::SlackSettings;
use keepable::server::{Intervals, Platforms};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::support::{OutboxWorker, TestServer};
use fake::FakeSlack;

pub const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
pub const BOT_TOKEN: &str = "xoxb-test-token";

pub fn platforms(fake: &FakeSlack) -> Platforms {
    let settings = SlackSettings {
        signing_secret: SECRET.into(),
        bot_token: BOT_TOKEN.into(),
        app_token: None,
        api_url: fake.api_url(),
        ack_within: keepable::chat::slack::DEFAULT_ACK_WITHIN,
        load_baseline: false,
    };
    Platforms { slack: Some(Arc::new(settings)), discord: None }
}

/// Slack's signature of `body` sent at `timestamp`: `v0=` HMAC-SHA256 of `v0:{ts}:{body}`.
pub fn sign(timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// The fake Slack and the bot's server, talking to each other, and the outbox worker the server
/// would run, stepped by the test.
pub struct Harness {
    pub app: App,
    pub fake: FakeSlack,
    pub server: TestServer,
    pub http: reqwest::Client,
    pub outbox: OutboxWorker,
}

impl Harness {
    pub async fn start(app: App) -> Harness {
        let fake = FakeSlack::start().await;
        let deliverer = platforms(&fake).deliverer().unwrap();
        let outbox = OutboxWorker::new(&app, deliverer, "slack-test");
        let server = TestServer::start(app.clone(), platforms(&fake), Intervals::STEPPED).await;
        Harness { app, fake, server, http: reqwest::Client::new(), outbox }
    }

    /// One step of the outbox worker: delivers what is due now; how many messages were sent.
    pub async fn deliver(&self) -> usize {
        self.outbox.step().await
    }

    /// Posts `body` to `path`, signed at the app's clock, with `content_type`.
    pub async fn post_signed(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> reqwest::Response {
        let at = self.app.clock.now().timestamp();
        self.post_signed_at(path, content_type, body, at, &[]).await
    }

    pub async fn post_signed_at(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
        timestamp: i64,
        extra_headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.server.url(path))
            .header("content-type", content_type)
            .header("x-slack-request-timestamp", timestamp.to_string())
            .header("x-slack-signature", sign(timestamp, body.as_bytes()))
            .body(body.to_string());
        for (name, value) in extra_headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// Types `line` (`/earliest-start crm-rollout`) as `user` in `channel`; returns Slack's answer.
    pub async fn command(&self, user: &str, channel: &str, line: &str) -> Value {
        let (command, text) = line.split_once(' ').unwrap_or((line, ""));
        let form = command_form(user, channel, command, text, &self.fake.response_url("command"));
        let response = self.post_signed("/slack/commands", FORM, &form).await;
        assert_eq!(response.status(), 200, "{line}");
        let body = response.text().await.unwrap();
        if body.is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&body).unwrap()
    }

    /// Clicks the button `action_id` as `user` in `channel`; the outcome goes to the response_url
    /// named `reply_to` on the fake.
    pub async fn click(
        &self,
        user: &str,
        channel: &str,
        action_id: &str,
        reply_to: &str,
    ) -> reqwest::StatusCode {
        let payload = block_actions(user, channel, action_id, &self.fake.response_url(reply_to));
        let form = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        self.post_signed("/slack/interactions", FORM, &form).await.status()
    }

    /// Submits the modal `view` (as `views.open` received it) as `user` with `values` by block id.
    pub async fn submit(
        &self,
        user: &str,
        view: &Value,
        values: &[(&str, &str)],
    ) -> (reqwest::StatusCode, String) {
        let payload = view_submission(user, view, values);
        let form = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        let response = self.post_signed("/slack/interactions", FORM, &form).await;
        (response.status(), response.text().await.unwrap())
    }

    /// What was posted to the response_url named `name`, in order.
    pub fn responses(&self, name: &str) -> Vec<Value> {
        self.fake.succeeded(&format!("response:{name}")).into_iter().map(|c| c.body).collect()
    }
}

pub const FORM: &str = "application/x-www-form-urlencoded";

/// A slash command's form, field for field as Slack sends it.
pub fn command_form(
    user: &str,
    channel: &str,
    command: &str,
    text: &str,
    response_url: &str,
) -> String {
    serde_urlencoded::to_string([
        ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
        ("team_id", "T0001"),
        ("team_domain", "example"),
        ("enterprise_id", "E0001"),
        ("enterprise_name", "Globular Construct Inc"),
        ("channel_id", channel),
        ("channel_name", "deal-room"),
        ("user_id", user),
        ("user_name", "seller"),
        ("command", command),
        ("text", text),
        ("response_url", response_url),
        ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
        ("api_app_id", "A123456"),
        ("is_enterprise_install", "false"),
    ])
    .unwrap()
}

/// A `block_actions` payload for a button click, shaped like Slack's documented example.
pub fn block_actions(user: &str, channel: &str, action_id: &str, response_url: &str) -> Value {
    json!({
        "type": "block_actions",
        "user": { "id": user, "username": "someone", "name": "someone", "team_id": "T0001" },
        "api_app_id": "A123456",
        "token": "9s8d9as89d8as9d8as989",
        "container": { "type": "message", "message_ts": "1548261231.000200", "channel_id": channel, "is_ephemeral": false },
        "trigger_id": "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
        "team": { "id": "T0001", "domain": "example" },
        "enterprise": null,
        "is_enterprise_install": false,
        "channel": { "id": channel, "name": "deal-room" },
        "message": { "type": "message", "text": "…", "ts": "1548261231.000200", "blocks": [] },
        "state": { "values": {} },
        "response_url": response_url,
        "actions": [{
            "action_id": action_id,
            "block_id": "actions-0",
            "text": { "type": "plain_text", "text": "Click", "emoji": true },
            "value": action_id,
            "type": "button",
            "action_ts": "1548426417.840180"
        }]
    })
}

/// A `view_submission` of `view` with text `values` keyed by block id (the input's action id is
/// the same as its block id in our modals, but we take it from the view to be sure).
pub fn view_submission(user: &str, view: &Value, values: &[(&str, &str)]) -> Value {
    let mut state = serde_json::Map::new();
    for block in view["blocks"].as_array().cloned().unwrap_or_default() {
        let block_id = block["block_id"].as_str().unwrap().to_string();
        let action_id = block["element"]["action_id"].as_str().unwrap().to_string();
        let value = values.iter().find(|(k, _)| *k == block_id).map(|(_, v)| *v);
        let input = match block["element"]["type"].as_str() {
            Some("datepicker") => json!({ "type": "datepicker", "selected_date": value }),
            _ => json!({ "type": "plain_text_input", "value": value }),
        };
        state.insert(block_id, json!({ action_id: input }));
    }
    let mut submitted = view.clone();
    submitted["id"] = json!("V0FAKE");
    submitted["state"] = json!({ "values": state });
    submitted["hash"] = json!("156663117.cd33ad1f");
    json!({
        "type": "view_submission",
        "team": { "id": "T0001", "domain": "example" },
        "user": { "id": user, "username": "someone", "name": "someone", "team_id": "T0001" },
        "api_app_id": "A123456",
        "token": "9s8d9as89d8as9d8as989",
        "trigger_id": "12466734323.1395872398.7d83e3e5aa3e4c3bc56ab5bbd75cea2f",
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": false
    })
}

/// The action id of the button whose id starts with `verb:` in a message's blocks.
pub fn button(message: &Value, verb: &str) -> String {
    buttons(message)
        .into_iter()
        .find(|id| id.starts_with(&format!("{verb}:")))
        .unwrap_or_else(|| panic!("no {verb} button in {message:#}"))
}

pub fn buttons(message: &Value) -> Vec<String> {
    message["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["action_id"].as_str().map(String::from))
        .collect()
}

/// Every piece of text in a message: the fallback and the blocks' texts and fields.
pub fn text_of(message: &Value) -> String {
    let mut text = message["text"].as_str().unwrap_or_default().to_string();
    for block in message["blocks"].as_array().into_iter().flatten() {
        let mut parts = vec![&block["text"]["text"]];
        parts.extend(block["fields"].as_array().into_iter().flatten().map(|f| &f["text"]));
        parts.extend(block["elements"].as_array().into_iter().flatten().map(|e| &e["text"]));
        for part in parts {
            if let Some(part) = part.as_str() {
                text.push('\n');
                text.push_str(part);
            }
        }
    }
    text
}
