//! A small Slack Web API client over reqwest: the handful of methods Keepable calls, with the
//! base URL from `SLACK_API_URL` (so tests talk to a local fake) and Slack's failures mapped onto
//! `DeliveryError` — HTTP 429 is a rate limit with its `Retry-After`, 5xx and network trouble are
//! transient, and `ok: false` answers such as `channel_not_found` are permanent.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::SlackSettings;
use crate::app::delivery::DeliveryError;

/// Slack errors that say "try again later" rather than "this will never work".
const TRANSIENT_ERRORS: [&str; 4] =
    ["internal_error", "fatal_error", "service_unavailable", "request_timeout"];

/// The Web API client; cheap to clone.
#[derive(Clone)]
pub(crate) struct WebApi {
    http: reqwest::Client,
    base: String,
    bot_token: SecretString,
}

/// The `event_type` of the metadata every outbox post carries.
pub(crate) const OUTBOX_EVENT: &str = "keepable_outbox";

/// Where a posted message landed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Posted {
    pub channel: String,
    pub ts: String,
}

impl Posted {
    /// The platform reference the outbox keeps: `CHANNEL:TS`.
    pub fn platform_ref(&self) -> String {
        format!("{}:{}", self.channel, self.ts)
    }
}

impl WebApi {
    pub fn new(settings: &SlackSettings) -> WebApi {
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(10)).connect_timeout(Duration::from_secs(5)).build().unwrap_or_else(
                |error| {
                    tracing::warn!(error = %error, "building the Slack HTTP client failed; using defaults");
                    reqwest::Client::new()
                },
            );
        WebApi {
            http,
            base: settings.api_url.trim_end_matches('/').to_string(),
            bot_token: settings.bot_token.clone(),
        }
    }

    fn url(&self, method: &str) -> String {
        format!("{}/{method}", self.base)
    }

    /// Calls `method` with a JSON body and the bot token.
    async fn call(&self, method: &str, body: &Value) -> Result<Value, DeliveryError> {
        let request =
            self.http.post(self.url(method)).bearer_auth(self.bot_token.expose_secret()).json(body);
        answer(method, request.send().await).await
    }

    /// Calls `method` form-encoded with `token`: the read methods and `apps.*` expect a form.
    async fn call_form(
        &self,
        method: &str,
        token: &str,
        form: &[(&str, &str)],
    ) -> Result<Value, DeliveryError> {
        let request = self.http.post(self.url(method)).bearer_auth(token).form(form);
        answer(method, request.send().await).await
    }

    /// `chat.postMessage`: `channel` may be a user id, which posts to the app's DM with them. The
    /// outbox key rides in the message's metadata, so a later attempt can find the message.
    pub async fn post_message(
        &self,
        channel: &str,
        message: &Value,
        thread_ts: Option<&str>,
    ) -> Result<Posted, DeliveryError> {
        let mut body = message.clone();
        body["channel"] = json!(channel);
        if let Some(ts) = thread_ts {
            body["thread_ts"] = json!(ts);
        }
        let answer = self.call("chat.postMessage", &body).await?;
        posted(&answer, channel)
    }

    /// The recent messages of `channel` (a channel, or a user: their direct messages with the
    /// app) whose metadata carries `outbox_key`: where an earlier attempt posted it, if it did.
    pub async fn find_posted(
        &self,
        channel: &str,
        outbox_key: &str,
    ) -> Result<Option<Posted>, DeliveryError> {
        let channel = if channel.starts_with('U') || channel.starts_with('W') {
            let opened = self.call("conversations.open", &json!({ "users": channel })).await?;
            match opened["channel"]["id"].as_str() {
                Some(id) => id.to_string(),
                None => return Ok(None),
            }
        } else {
            channel.to_string()
        };
        let token = self.bot_token.expose_secret().to_string();
        let form =
            [("channel", channel.as_str()), ("limit", "100"), ("include_all_metadata", "true")];
        let history = self.call_form("conversations.history", &token, &form).await?;
        let found = history["messages"].as_array().into_iter().flatten().find(|m| {
            m["metadata"]["event_type"] == OUTBOX_EVENT
                && m["metadata"]["event_payload"]["outbox_key"] == outbox_key
        });
        Ok(found
            .and_then(|m| m["ts"].as_str())
            .map(|ts| Posted { channel: channel.clone(), ts: ts.to_string() }))
    }

    /// `chat.update` of the message at `channel` / `ts`.
    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        message: &Value,
    ) -> Result<Posted, DeliveryError> {
        let mut body = message.clone();
        body["channel"] = json!(channel);
        body["ts"] = json!(ts);
        let answer = self.call("chat.update", &body).await?;
        posted(&answer, channel)
    }

    /// `chat.postEphemeral`: only `user` sees it, in `channel`.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        message: &Value,
    ) -> Result<(), DeliveryError> {
        let mut body = message.clone();
        body["channel"] = json!(channel);
        body["user"] = json!(user);
        self.call("chat.postEphemeral", &body).await.map(|_| ())
    }

    /// `views.open` with a modal, within three seconds of the `trigger_id`'s interaction.
    pub async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), DeliveryError> {
        self.call("views.open", &json!({ "trigger_id": trigger_id, "view": view }))
            .await
            .map(|_| ())
    }

    /// `usergroups.users.list`: the user ids in a user group.
    pub async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, DeliveryError> {
        #[derive(serde::Deserialize)]
        struct Members {
            users: Vec<String>,
        }
        let answer = self
            .call_form(
                "usergroups.users.list",
                self.bot_token.expose_secret(),
                &[("usergroup", group)],
            )
            .await?;
        let members: Members = serde_json::from_value(answer).map_err(|e| {
            DeliveryError::Permanent(format!("usergroups.users.list: no users in the answer ({e})"))
        })?;
        Ok(members.users)
    }

    /// `users.info`: whether `user` is a person (not a bot, not deactivated).
    pub async fn is_person(&self, user: &str) -> Result<bool, DeliveryError> {
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct User {
            deleted: bool,
            is_bot: bool,
            is_app_user: bool,
        }
        #[derive(serde::Deserialize)]
        struct Info {
            user: Option<User>,
        }
        let answer = match self
            .call_form("users.info", self.bot_token.expose_secret(), &[("user", user)])
            .await
        {
            Ok(answer) => answer,
            Err(DeliveryError::Permanent(error)) if error.contains("user_not_found") => {
                return Ok(false)
            }
            Err(error) => return Err(error),
        };
        let info: Info = serde_json::from_value(answer)
            .map_err(|e| DeliveryError::Transient(format!("users.info: {e}")))?;
        Ok(info.user.is_some_and(|u| !u.deleted && !u.is_bot && !u.is_app_user)
            && user != "USLACKBOT")
    }

    /// `apps.connections.open` with the app-level token: a Socket Mode websocket URL.
    pub async fn open_socket_url(&self, app_token: &SecretString) -> Result<String, DeliveryError> {
        #[derive(serde::Deserialize)]
        struct Connection {
            url: String,
        }
        let answer =
            self.call_form("apps.connections.open", app_token.expose_secret(), &[]).await?;
        let connection: Connection = serde_json::from_value(answer).map_err(|_| {
            DeliveryError::Permanent("apps.connections.open: no url in the answer".into())
        })?;
        Ok(connection.url)
    }

    /// Uploads a file in Slack's three steps and returns its id: `files.getUploadURLExternal`
    /// (form: filename, length), the bytes POSTed to the `upload_url` it gives, then
    /// `files.completeUploadExternal` (shared in `channel` when given; otherwise private to the
    /// app, which can still show it in its own messages).
    pub async fn upload_file(
        &self,
        filename: &str,
        title: &str,
        bytes: Vec<u8>,
        channel: Option<&str>,
    ) -> Result<String, DeliveryError> {
        #[derive(serde::Deserialize)]
        struct UploadUrl {
            upload_url: String,
            file_id: String,
        }
        let length = bytes.len().to_string();
        let token = self.bot_token.expose_secret().to_string();
        let form = [("filename", filename), ("length", length.as_str())];
        let given = self.call_form("files.getUploadURLExternal", &token, &form).await?;
        let target: UploadUrl = serde_json::from_value(given).map_err(|_| {
            DeliveryError::Permanent(
                "files.getUploadURLExternal: no upload_url in the answer".into(),
            )
        })?;
        let upload = self.http.post(&target.upload_url).body(bytes).send().await;
        answer("upload_url", upload).await?;
        let mut body = json!({ "files": [{ "id": target.file_id, "title": title }] });
        if let Some(channel) = channel {
            body["channel_id"] = json!(channel);
        }
        self.call("files.completeUploadExternal", &body).await?;
        Ok(target.file_id)
    }

    /// Posts to an interaction's `response_url` (no token: the URL itself is the credential).
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), DeliveryError> {
        let response = self.http.post(response_url).json(body).send().await;
        answer("response_url", response).await.map(|_| ())
    }
}

/// Maps an HTTP outcome onto Slack's answer or a `DeliveryError`.
async fn answer(
    method: &str,
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<Value, DeliveryError> {
    let response =
        // The URL is left out: a response_url is itself a credential.
        response.map_err(|error| {
            DeliveryError::Transient(format!("{method}: {}", error.without_url()))
        })?;
    let status = response.status();
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let wait = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        // A day at most: the outbox waits `max_retry_after_seconds` at a time anyway.
        return Err(DeliveryError::RateLimited(Duration::from_secs(
            wait.unwrap_or(1).clamp(1, 86_400),
        )));
    }
    if status.is_server_error() {
        return Err(DeliveryError::Transient(format!("{method}: HTTP {status}")));
    }
    let text = response
        .text()
        .await
        .map_err(|error| DeliveryError::Transient(format!("{method}: {}", error.without_url())))?;
    if !status.is_success() {
        return Err(DeliveryError::Permanent(format!(
            "{method}: HTTP {status}: {}",
            clip(&text, 200)
        )));
    }
    // A response_url answers `ok` as plain text; the Web API answers JSON with an `ok` flag.
    let Ok(value) = serde_json::from_str::<Value>(&text) else {
        return Ok(Value::Null);
    };
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Status {
        ok: Option<bool>,
        error: Option<String>,
    }
    let status: Status = serde_json::from_value(value.clone()).unwrap_or_default();
    match status.ok {
        Some(false) => {
            let error = status.error.as_deref().unwrap_or("unknown_error");
            if error == "ratelimited" {
                Err(DeliveryError::RateLimited(Duration::from_secs(1)))
            } else if TRANSIENT_ERRORS.contains(&error) {
                Err(DeliveryError::Transient(format!("{method}: {error}")))
            } else {
                Err(DeliveryError::Permanent(format!("{method}: {error}")))
            }
        }
        _ => Ok(value),
    }
}

fn posted(answer: &Value, channel: &str) -> Result<Posted, DeliveryError> {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Message {
        ts: Option<String>,
        channel: Option<String>,
    }
    let message: Message = serde_json::from_value(answer.clone()).unwrap_or_default();
    let ts = message
        .ts
        .ok_or_else(|| DeliveryError::Permanent("Slack answered ok without a message ts".into()))?;
    Ok(Posted { channel: message.channel.unwrap_or_else(|| channel.to_string()), ts })
}

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
