//! Discord's REST API at `DISCORD_API_URL`: posting and editing channel messages, opening DMs,
//! editing deferred responses, registering commands; and outbox delivery on top of it.
//! reqwest rather than serenity's `Http`, so the base URL can point at a local fake.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use serenity::all::Nonce;
use sha2::{Digest, Sha256};

use super::render::{self, ReplyView};
use super::DiscordSettings;
use crate::app::delivery::{Deliver, DeliveryError};
use crate::app::reply::Target;
use crate::store::outbox::OutboundMessage;

/// A 429 asking to wait at most this long is waited out in place rather than rescheduled.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(5);
/// How many 429s in a row one request waits out before handing the wait to the caller.
const MAX_INLINE_WAITS: u32 = 3;

/// A REST client for one application.
#[derive(Clone)]
pub struct DiscordRest {
    http: reqwest::Client,
    api_url: String,
    bot_token: Option<SecretString>,
}

/// `path` with an interaction token (`/webhooks/{application}/{token}/…`) replaced by `***`.
pub fn redact_path(path: &str) -> String {
    let mut parts: Vec<&str> = path.split('/').collect();
    if let Some(at) = parts.iter().position(|p| *p == "webhooks") {
        if let Some(token) = parts.get_mut(at + 2) {
            *token = "***";
        }
    }
    parts.join("/")
}

/// Discord requires `DiscordBot (<url>, <version>)` on every REST call.
pub const USER_AGENT: &str =
    concat!("DiscordBot (", env!("CARGO_PKG_REPOSITORY"), ", ", env!("CARGO_PKG_VERSION"), ")");

impl DiscordRest {
    pub fn new(settings: &DiscordSettings) -> DiscordRest {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        DiscordRest {
            http,
            api_url: settings.api_url.trim_end_matches('/').to_string(),
            bot_token: settings.bot_token.clone(),
        }
    }

    /// Sends one request; `authorised` adds `Authorization: Bot …` (webhook edits need none).
    /// A short 429 is waited out here, exactly as long as Discord asks, and the request retried;
    /// a longer one is handed back as `RateLimited`, for the outbox to schedule.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
        authorised: bool,
    ) -> Result<String, DeliveryError> {
        let mut waits = 0;
        loop {
            match self.send_once(method.clone(), path, body, authorised).await {
                Err(DeliveryError::RateLimited(wait))
                    if wait <= MAX_INLINE_WAIT && waits < MAX_INLINE_WAITS =>
                {
                    tracing::debug!(
                        path,
                        wait_ms = wait.as_millis() as u64,
                        "rate limited by Discord; waiting"
                    );
                    tokio::time::sleep(wait).await;
                    waits += 1;
                }
                other => return other,
            }
        }
    }

    /// Sends one request and reads Discord's answer as `T`.
    pub async fn send_for<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
        authorised: bool,
    ) -> Result<T, DeliveryError> {
        let text = self.send(method.clone(), path, body, authorised).await?;
        serde_json::from_str(&text).map_err(|e| {
            DeliveryError::Transient(format!("{method} {path}: unreadable answer: {e}"))
        })
    }

    async fn send_once(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
        authorised: bool,
    ) -> Result<String, DeliveryError> {
        let mut request =
            self.http.request(method.clone(), format!("{}{path}", self.api_url)).json(body);
        if authorised {
            request = request.header(reqwest::header::AUTHORIZATION, self.authorization()?);
        }
        // An interaction's webhook path carries its token: errors and logs name the path without it.
        read_answer(&method, &redact_path(path), request.send().await).await
    }

    /// Edits the original response of a deferred interaction.
    pub async fn edit_original(
        &self,
        application_id: &str,
        token: &str,
        body: &impl Serialize,
    ) -> Result<(), DeliveryError> {
        let path = format!("/webhooks/{application_id}/{token}/messages/@original");
        self.send(Method::PATCH, &path, body, false).await.map(|_| ())
    }

    /// Edits the original response with a file attached: multipart/form-data with the message
    /// as `payload_json` (its `attachments` naming the file as id 0) and the bytes as `files[0]`.
    pub async fn edit_original_with_file(
        &self,
        application_id: &str,
        token: &str,
        payload: &serde_json::Value,
        file: &Attachment,
    ) -> Result<(), DeliveryError> {
        let path = format!("/webhooks/{application_id}/{token}/messages/@original");
        self.send_with_file(Method::PATCH, &path, payload, file, false).await.map(|_| ())
    }

    /// Sends a message with a file attached (multipart/form-data: the message as `payload_json`,
    /// its `attachments` naming the file as id 0, and the bytes as `files[0]`); `authorised` as
    /// for `send`.
    pub async fn send_with_file(
        &self,
        method: Method,
        path: &str,
        payload: &serde_json::Value,
        file: &Attachment,
        authorised: bool,
    ) -> Result<String, DeliveryError> {
        let shown = redact_path(path);
        let multipart_error =
            |e: reqwest::Error| DeliveryError::Permanent(format!("{method} {shown}: {e}"));
        let json = reqwest::multipart::Part::text(payload.to_string())
            .mime_str("application/json")
            .map_err(multipart_error)?;
        let bytes = reqwest::multipart::Part::bytes(file.bytes.clone())
            .file_name(file.filename.clone())
            .mime_str(file.content_type)
            .map_err(multipart_error)?;
        let form =
            reqwest::multipart::Form::new().part("payload_json", json).part("files[0]", bytes);
        let mut request =
            self.http.request(method.clone(), format!("{}{path}", self.api_url)).multipart(form);
        if authorised {
            request = request.header(reqwest::header::AUTHORIZATION, self.authorization()?);
        }
        read_answer(&method, &shown, request.send().await).await
    }

    /// `Bot <token>`, or why there is none.
    fn authorization(&self) -> Result<String, DeliveryError> {
        let token = self
            .bot_token
            .as_ref()
            .ok_or_else(|| DeliveryError::Permanent("DISCORD_BOT_TOKEN is not set".into()))?;
        Ok(format!("Bot {}", token.expose_secret()))
    }
}

/// A file sent with a message.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Discord's answer to a request, or the `DeliveryError` its status means.
async fn read_answer(
    method: &Method,
    shown: &str,
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<String, DeliveryError> {
    let response = response
        .map_err(|e| DeliveryError::Transient(format!("{method} {shown}: {}", e.without_url())))?;
    let status = response.status();
    let header_wait = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok());
    let text = response
        .text()
        .await
        .map_err(|e| DeliveryError::Transient(format!("{method} {shown}: {}", e.without_url())))?;
    if status.is_success() {
        return Ok(text);
    }
    let detail =
        format!("{method} {shown}: HTTP {status}: {}", text.chars().take(300).collect::<String>());
    Err(match status {
        // The body's `retry_after` is in seconds with a fraction; the header is rounded up.
        StatusCode::TOO_MANY_REQUESTS => {
            let body_wait =
                serde_json::from_str::<RateLimited>(&text).ok().and_then(|r| r.retry_after);
            let wait =
                body_wait.or(header_wait).filter(|s| s.is_finite() && *s >= 0.0).unwrap_or(1.0);
            DeliveryError::RateLimited(Duration::from_secs_f64(wait.min(3600.0)))
        }
        s if s.is_server_error() => DeliveryError::Transient(detail),
        _ => DeliveryError::Permanent(detail),
    })
}

/// Delivers outbox messages: channel posts with a nonce, edits in place, DMs.
pub struct DiscordDelivery {
    rest: DiscordRest,
    /// DM channel per user, so a second DM does not reopen it.
    dm_channels: Mutex<HashMap<String, String>>,
}

impl DiscordDelivery {
    pub fn new(settings: Arc<DiscordSettings>) -> Self {
        DiscordDelivery {
            rest: DiscordRest::new(&settings),
            dm_channels: Mutex::new(HashMap::new()),
        }
    }

    async fn dm_channel(&self, user: &str) -> Result<String, DeliveryError> {
        if let Some(channel) = self.dm_channels.lock().ok().and_then(|c| c.get(user).cloned()) {
            return Ok(channel);
        }
        let created: Created = self
            .rest
            .send_for(Method::POST, "/users/@me/channels", &json!({ "recipient_id": user }), true)
            .await?;
        let channel = created.id.0;
        if let Ok(mut channels) = self.dm_channels.lock() {
            channels.insert(user.to_string(), channel.clone());
        }
        Ok(channel)
    }
}

#[async_trait]
impl Deliver for DiscordDelivery {
    async fn deliver(
        &self,
        message: &OutboundMessage,
        replaces: Option<&str>,
        _now: DateTime<Utc>,
    ) -> Result<String, DeliveryError> {
        let view = ReplyView::from(&message.reply);
        let chart = match message.reply.chart.clone() {
            Some(chart) => Some(chart_file(chart).await?),
            None => None,
        };
        if let Some(reference) = replaces {
            let (channel, id) = reference.split_once(':').ok_or_else(|| {
                DeliveryError::Permanent(format!(
                    "'{reference}' is not a Discord CHANNEL:MESSAGE reference"
                ))
            })?;
            let path = format!("/channels/{channel}/messages/{id}");
            let edit = render::edit_message(&view);
            let answer = match &chart {
                // The chart is attached again: its attachments replace the message's.
                Some(file) => {
                    let payload = render::with_image(&edit, &file.filename);
                    self.rest.send_with_file(Method::PATCH, &path, &payload, file, true).await?
                }
                None => self.rest.send(Method::PATCH, &path, &edit, true).await?,
            };
            let edited = serde_json::from_str::<MessageRef>(&answer).ok();
            return Ok(edited.map(|m| m.reference()).unwrap_or_else(|| reference.to_string()));
        }
        let channel = match &message.target {
            Target::Channel(id) if is_snowflake(id) => id.clone(),
            Target::Channel(id) => {
                return Err(DeliveryError::Permanent(format!(
                    "'{id}' is not a Discord channel id: configure the leadership, escalation and presales channels with channel ids"
                )))
            }
            Target::User(id) => self.dm_channel(id).await?,
        };
        // With `enforce_nonce`, Discord answers a retried post with the message it already made.
        let body = render::create_message(&view)
            .nonce(Nonce::String(nonce(&message.idempotency_key)))
            .enforce_nonce(true);
        let path = format!("/channels/{channel}/messages");
        let posted: MessageRef = match &chart {
            Some(file) => {
                let payload = render::with_image(&body, &file.filename);
                let answer =
                    self.rest.send_with_file(Method::POST, &path, &payload, file, true).await?;
                serde_json::from_str(&answer).map_err(|e| {
                    DeliveryError::Transient(format!("POST {path}: unreadable answer: {e}"))
                })?
            }
            None => self.rest.send_for(Method::POST, &path, &body, true).await?,
        };
        Ok(posted.reference())
    }
}

/// An outbox message's chart drawn as the PNG its message attaches (CPU work, off the async
/// threads).
async fn chart_file(
    chart: std::sync::Arc<crate::chart::Chart>,
) -> Result<Attachment, DeliveryError> {
    let bytes = tokio::task::spawn_blocking(move || crate::chart::render_png(&chart))
        .await
        .map_err(|error| DeliveryError::Permanent(format!("drawing the chart: {error}")))?
        .map_err(|error| DeliveryError::Permanent(error.to_string()))?;
    Ok(Attachment { filename: render::CHART_FILENAME.into(), content_type: "image/png", bytes })
}

/// A nonce of at most 25 characters, the same for every attempt at one outbox message.
pub fn nonce(idempotency_key: &str) -> String {
    let digest = Sha256::digest(idempotency_key.as_bytes());
    hex::encode(digest).chars().take(25).collect()
}

/// A Discord id, which the API writes as a string (and older payloads as a number).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snowflake(String);

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Text(String),
            Number(u64),
        }
        match Written::deserialize(deserializer)? {
            Written::Text(text) if !text.is_empty() => Ok(Snowflake(text)),
            Written::Text(_) => Err(serde::de::Error::custom("an empty id")),
            Written::Number(n) => Ok(Snowflake(n.to_string())),
        }
    }
}

/// A created object (a DM channel).
#[derive(Debug, Deserialize)]
struct Created {
    id: Snowflake,
}

/// Where a message went.
#[derive(Debug, Deserialize)]
struct MessageRef {
    id: Snowflake,
    channel_id: Snowflake,
}

impl MessageRef {
    /// `CHANNEL_ID:MESSAGE_ID`, the outbox's platform reference.
    fn reference(&self) -> String {
        format!("{}:{}", self.channel_id.0, self.id.0)
    }
}

/// A 429's body: how long to wait, in seconds with a fraction.
#[derive(Debug, Deserialize)]
struct RateLimited {
    retry_after: Option<f64>,
}

fn is_snowflake(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interaction_tokens_never_reach_an_error_or_a_log() {
        assert_eq!(
            redact_path("/webhooks/111/aW50ZXJhY3Rpb24tdG9rZW4/messages/@original"),
            "/webhooks/111/***/messages/@original"
        );
        assert_eq!(redact_path("/channels/1/messages"), "/channels/1/messages");
    }

    #[test]
    fn a_nonce_is_short_and_stable() {
        assert_eq!(nonce("approval:A1:card").len(), 25);
        assert_eq!(nonce("approval:A1:card"), nonce("approval:A1:card"));
        assert_ne!(nonce("approval:A1:card"), nonce("approval:A2:card"));
    }

    #[test]
    fn channel_ids_are_snowflakes() {
        assert!(is_snowflake("1090000000000000001"));
        assert!(!is_snowflake("leadership"));
    }
}
