//! Discord adapter tests: signed interactions into the running server, REST calls captured by a fake.
//! `Harness` starts the fake Discord REST API and `keepable::server::run` pointed at it, signs
//! interactions with the RFC 8032 test key (with ed25519-dalek directly, not the code under test)
//! and shapes payloads like the interactions Discord sends today (to the HTTP endpoint, or over
//! the fake gateway in `fake_gateway`). The server runs no background workers: a test delivers
//! the outbox with `Harness::deliver`, one step at a time.

mod approvals;
mod commands;
mod delivery;
pub(crate) mod fake;
mod fake_gateway;
mod gateway;
mod radar;
mod requests;
mod tickets;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey};
use keepable::app::{App, Clock};
use keepable::chat::discord::DiscordSettings;
use keepable::config::Settings;
use keepable::server::{Intervals, Platforms};
use serde_json::{json, Value};

use crate::support::{demo_store, now, today, OutboxWorker, TestDb, TestServer};
use fake::FakeDiscord;

/// RFC 8032 section 7.1, TEST 1.
pub const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
pub const PUBLIC_KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

pub const APPLICATION_ID: &str = "1200000000000000001";
pub const BOT_TOKEN: &str = "test-bot-token";
pub const GUILD: &str = "1100000000000000001";
pub const DEAL_CHANNEL: &str = "1000000000000000001";
pub const LEADERSHIP: &str = "1090000000000000001";
pub const ESCALATIONS: &str = "1090000000000000002";
pub const PRESALES: &str = "1090000000000000003";
pub const APPROVER_ROLE: &str = "800000000000000001";
pub const PRESALES_ROLE: &str = "800000000000000002";
pub const OTHER_ROLE: &str = "800000000000000003";

/// A guild member as an interaction names them: a user id and their role ids.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    pub id: &'static str,
    pub roles: &'static [&'static str],
}

pub const SELLER: Member = Member { id: "900000000000000001", roles: &[OTHER_ROLE] };
/// The seller again, had they the approver role: still not allowed to decide their own request.
pub const SELLER_WITH_APPROVER_ROLE: Member =
    Member { id: SELLER.id, roles: &[OTHER_ROLE, APPROVER_ROLE] };
pub const APPROVER: Member = Member { id: "900000000000000002", roles: &[APPROVER_ROLE] };
pub const SECOND_APPROVER: Member =
    Member { id: "900000000000000003", roles: &[OTHER_ROLE, APPROVER_ROLE] };
pub const STRANGER: Member = Member { id: "900000000000000004", roles: &[OTHER_ROLE] };
pub const PM: Member = Member { id: "900000000000000005", roles: &[] };
/// Someone outside the firm's server (the fake says they are no member).
pub const OUTSIDER: Member = Member { id: "400000000000000004", roles: &[] };
pub const PRESALES_MEMBER: Member = Member { id: "900000000000000006", roles: &[PRESALES_ROLE] };

/// Approvers and presales are Discord roles; channels are channel ids.
pub fn discord_firm_settings() -> Settings {
    Settings {
        leadership_channel: LEADERSHIP.into(),
        escalation_channel: ESCALATIONS.into(),
        presales_channel: PRESALES.into(),
        approver_group: Some(APPROVER_ROLE.into()),
        presales_group: Some(PRESALES_ROLE.into()),
        discord_guild_id: Some(GUILD.into()),
        ..Settings::default()
    }
}

/// What the endpoint answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// The response's `type` (4 message, 5 deferred, 8 choices, 9 modal …), after checking for 200.
    pub fn kind(&self) -> u64 {
        assert_eq!(self.status, 200, "{self:?}");
        self.body["type"].as_u64().unwrap_or_else(|| panic!("no response type in {self:?}"))
    }

    /// The first embed's title.
    pub fn title(&self) -> &str {
        self.body["data"]["embeds"][0]["title"]
            .as_str()
            .unwrap_or_else(|| panic!("no embed title in {self:?}"))
    }

    /// Only the member who acted sees it (flag 64).
    pub fn is_ephemeral(&self) -> bool {
        self.body["data"]["flags"].as_u64().is_some_and(|flags| flags & 64 != 0)
    }

    /// A message answer (type 4) only its asker sees, with an embed; returns its title.
    pub fn private_title(&self) -> &str {
        assert_eq!(self.kind(), 4, "{self:?}");
        assert!(self.is_ephemeral(), "a seller answer or refusal must be ephemeral: {self:?}");
        self.title()
    }

    /// The `custom_id` of the button whose id starts with `verb:`.
    pub fn button(&self, verb: &str) -> String {
        button(&self.body["data"], verb).unwrap_or_else(|| panic!("no {verb} button in {self:?}"))
    }
}

/// The `custom_id` of a button in a message (or response data) whose id starts with `verb:`.
pub fn button(message: &Value, verb: &str) -> Option<String> {
    buttons(message).into_iter().find(|id| id.starts_with(&format!("{verb}:")))
}

/// Every button `custom_id` of a message.
pub fn buttons(message: &Value) -> Vec<String> {
    let rows = message["components"].as_array().cloned().unwrap_or_default();
    rows.iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter(|component| component["type"] == 2)
        .filter_map(|component| component["custom_id"].as_str().map(String::from))
        .collect()
}

/// A message's embed as text: title, description and fields.
pub fn embed_text(message: &Value) -> String {
    let embed = &message["embeds"][0];
    let fields: Vec<String> = embed["fields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                f["name"].as_str().unwrap_or_default(),
                f["value"].as_str().unwrap_or_default()
            )
        })
        .collect();
    format!(
        "{}\n{}\n{}",
        embed["title"].as_str().unwrap_or_default(),
        embed["description"].as_str().unwrap_or_default(),
        fields.join("\n")
    )
}

/// The fake Discord, the server pointed at it, a signer, and the outbox worker the server would
/// run, stepped by the test.
pub struct Harness {
    pub app: App,
    pub fake: FakeDiscord,
    pub settings: DiscordSettings,
    pub server: TestServer,
    pub outbox: OutboxWorker,
    http: reqwest::Client,
    key: SigningKey,
    next_id: AtomicU64,
}

impl Harness {
    /// The demo firm on `db`, the clock at the support's `now()`, answers given directly.
    pub async fn start(db: &TestDb) -> Harness {
        Harness::with(db, now(), |_| {}).await
    }

    /// With the clock at `now` and the Discord settings adjusted by `adjust`.
    pub async fn with(
        db: &TestDb,
        now: DateTime<Utc>,
        adjust: impl FnOnce(&mut DiscordSettings),
    ) -> Harness {
        Harness::with_fake(FakeDiscord::start().await, db, now, adjust).await
    }

    /// With `fake` as Discord's REST API, prepared by the test before the server starts.
    pub async fn with_fake(
        fake: FakeDiscord,
        db: &TestDb,
        now: DateTime<Utc>,
        adjust: impl FnOnce(&mut DiscordSettings),
    ) -> Harness {
        let store = demo_store(db).await;
        let app = App::new(
            store,
            discord_firm_settings(),
            Clock { fixed_now: Some(now), fixed_today: Some(today()) },
        )
        .unwrap();
        let mut settings = DiscordSettings {
            application_id: Some(APPLICATION_ID.into()),
            bot_token: Some(BOT_TOKEN.into()),
            api_url: fake.api_url.clone(),
            ..DiscordSettings::new(PUBLIC_KEY)
        };
        adjust(&mut settings);
        let platforms =
            Platforms { discord: Some(Arc::new(settings.clone())), ..Platforms::default() };
        let outbox = OutboxWorker::new(&app, platforms.deliverer().unwrap(), "discord-test");
        let server = TestServer::start(app.clone(), platforms, Intervals::STEPPED).await;
        let (http, key, next_id) = (reqwest::Client::new(), signing_key(SEED), AtomicU64::new(1));
        Harness { app, fake, settings, server, outbox, http, key, next_id }
    }

    /// One step of the outbox worker: delivers what is due now; how many messages were sent.
    pub async fn deliver(&self) -> usize {
        self.outbox.step().await
    }

    /// The signed timestamp of a fresh request: the injected clock's now.
    pub fn timestamp(&self) -> String {
        self.app.clock.now().timestamp().to_string()
    }

    /// Signs `timestamp` + `body` with the harness key, as Discord does; hex.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        sign_with(&self.key, timestamp, body)
    }

    /// Posts `body` correctly signed at the clock's now.
    pub async fn post(&self, body: &Value) -> Answer {
        let body = body.to_string().into_bytes();
        let timestamp = self.timestamp();
        let signature = self.sign(&timestamp, &body);
        self.post_raw(
            &[("X-Signature-Ed25519", &signature), ("X-Signature-Timestamp", &timestamp)],
            body,
        )
        .await
    }

    /// Posts the slash command `command`, which answers with a chart: it is deferred (a private
    /// loading state), then its original response is edited in with the chart attached. Returns
    /// that edit (multipart: its `payload_json` as the body, the PNG among its files).
    pub async fn post_deferred(&self, command: &Value) -> fake::Call {
        let answer = self.post(command).await;
        assert_eq!(answer.kind(), 5, "an answer with a chart is deferred: {answer:?}");
        assert!(answer.is_ephemeral(), "{answer:?}");
        let token = command["token"].as_str().unwrap();
        let path = format!("/webhooks/{APPLICATION_ID}/{token}/messages/@original");
        self.fake.until(|| self.fake.calls_to("PATCH", &path).into_iter().next()).await
    }

    /// Posts `body` with exactly `headers`.
    pub async fn post_raw(&self, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
        let mut request = self
            .http
            .post(self.server.url("/discord/interactions"))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
    }

    /// An interaction of `kind` by `member` in the deal channel, as Discord shapes it today.
    pub fn interaction(&self, kind: u64, member: Member, data: Value) -> Value {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        json!({
            "id": format!("13{n:017}"), "application_id": APPLICATION_ID, "type": kind, "data": data,
            "token": format!("interaction-token-{n}"), "version": 1, "locale": "en-US", "guild_locale": "en-US",
            "guild_id": GUILD, "channel_id": DEAL_CHANNEL, "channel": { "id": DEAL_CHANNEL, "type": 0 },
            "app_permissions": "2248473465835073", "entitlements": [], "context": 0, "attachment_size_limit": 10485760,
            "authorizing_integration_owners": { "0": GUILD },
            "member": {
                "user": { "id": member.id, "username": format!("user{}", &member.id[15..]), "discriminator": "0",
                          "global_name": null, "avatar": null },
                "roles": member.roles, "joined_at": "2024-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false,
                "flags": 0, "pending": false, "permissions": "2248473465835073", "nick": null, "avatar": null,
                "premium_since": null
            }
        })
    }

    /// A slash command `/name` with typed `options` (`[{"name", "type", "value"}]`).
    pub fn command(&self, member: Member, name: &str, options: Value) -> Value {
        self.interaction(
            2,
            member,
            json!({ "id": "1400000000000000001", "name": name, "type": 1, "options": options }),
        )
    }

    /// Autocomplete while `member` types into `name`'s options (one of them `"focused": true`).
    pub fn autocomplete(&self, member: Member, name: &str, options: Value) -> Value {
        self.interaction(
            4,
            member,
            json!({ "id": "1400000000000000001", "name": name, "type": 1, "options": options }),
        )
    }

    /// A click on button `custom_id` of a message the bot posted in `channel`.
    pub fn click(&self, member: Member, channel: &str, custom_id: &str) -> Value {
        let mut click =
            self.interaction(3, member, json!({ "custom_id": custom_id, "component_type": 2 }));
        click["channel_id"] = json!(channel);
        click["channel"]["id"] = json!(channel);
        click["message"] = json!({
            "id": "1500000000000000001", "channel_id": channel, "type": 0, "content": "", "tts": false,
            "author": { "id": APPLICATION_ID, "username": "Keepable", "discriminator": "0", "avatar": null, "bot": true },
            "timestamp": "2026-11-25T15:00:00.000000+00:00", "edited_timestamp": null, "mention_everyone": false,
            "mentions": [], "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "flags": 0,
            "components": [{ "type": 1, "components": [{ "type": 2, "style": 1, "label": "Button", "custom_id": custom_id }] }]
        });
        click
    }

    /// The same interaction arriving from a direct message in `channel`: no guild, no member
    /// (so no roles), the user at the top level.
    pub fn in_dm(&self, mut interaction: Value, channel: &str) -> Value {
        let object = interaction.as_object_mut().unwrap();
        let user = object.remove("member").map(|member| member["user"].clone()).unwrap();
        object.remove("guild_id");
        object.remove("guild_locale");
        object.insert("user".into(), user);
        object.insert("context".into(), json!(1));
        object.insert("channel_id".into(), json!(channel));
        object.insert("channel".into(), json!({ "id": channel, "type": 1 }));
        interaction
    }

    /// A modal submission: `fields` are (text input custom_id, value), one per action row.
    pub fn submit(
        &self,
        member: Member,
        channel: &str,
        custom_id: &str,
        fields: &[(&str, &str)],
    ) -> Value {
        let rows: Vec<Value> =
            fields.iter().map(|(id, value)| json!({ "type": 1, "components": [{ "type": 4, "custom_id": id, "value": value }] })).collect();
        let mut submit =
            self.interaction(5, member, json!({ "custom_id": custom_id, "components": rows }));
        submit["channel_id"] = json!(channel);
        submit["channel"]["id"] = json!(channel);
        submit
    }
}

pub fn signing_key(seed_hex: &str) -> SigningKey {
    SigningKey::from_bytes(&hex::decode(seed_hex).unwrap().try_into().unwrap())
}

pub fn sign_with(key: &SigningKey, timestamp: &str, body: &[u8]) -> String {
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    hex::encode(key.sign(&message).to_bytes())
}

/// A typed string option.
pub fn text(name: &str, value: &str) -> Value {
    json!({ "name": name, "type": 3, "value": value })
}

/// A subcommand with its options.
pub fn sub(name: &str, options: Value) -> Value {
    json!({ "name": name, "type": 1, "options": options })
}
