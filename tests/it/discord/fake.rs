//! A local fake of Discord's REST API (`/api/v10` on `127.0.0.1:0`): it records every call with
//! its method, path and body, creates channel messages (honouring `nonce` + `enforce_nonce` the way
//! Discord does), edits them, opens DM channels, edits deferred responses and bulk-overwrites
//! commands; and it can fail the next N calls with a 429 (JSON `retry_after`) or a 500. It hands
//! out the fake gateway's URL (`GET /gateway`, `/gateway/bot`) and takes interaction callbacks.
//! `slow_posts` makes channel posts answer late, for a poster killed while it waits.
//! A test waits for a call the bot makes on its own time (a deferred answer's edit) with `until`.
//! A multipart/form-data request (a message with files) is recorded with its `payload_json` as
//! the body and its files beside it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::watch;

/// The version prefix the fake serves under, like Discord's.
const PREFIX: &str = "/api/v10";

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The path after `/api/v10`, e.g. `/channels/1090000000000000001/messages`.
    pub path: String,
    pub body: Value,
    pub authorization: Option<String>,
    pub user_agent: String,
    /// The status the fake answered with.
    pub status: u16,
    pub at: Instant,
    /// The files of a multipart/form-data request (its `payload_json` is `body`).
    pub files: Vec<FilePart>,
}

/// A file part of a multipart request: its field name (`files[0]`), file name, type and bytes.
#[derive(Debug, Clone)]
pub struct FilePart {
    pub field: String,
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// How the fake fails a call.
#[derive(Debug, Clone, Copy)]
pub enum Failure {
    /// 429 with `{"retry_after": seconds, "global": false}` (and the rounded `Retry-After` header).
    RateLimited(f64),
    /// 500, without doing anything.
    ServerError,
    /// Creates the message, then answers 500 as if the response had been lost on the way back.
    ServerErrorAfterCreating,
    /// 400: the request came without Discord's required User-Agent.
    NoUserAgent,
}

#[derive(Default)]
struct Fake {
    calls: Vec<Call>,
    /// Counts the calls, so `until` wakes when one arrives.
    arrivals: watch::Sender<usize>,
    failures: VecDeque<Failure>,
    next_id: u64,
    /// Messages by id.
    messages: HashMap<String, Value>,
    /// `(channel, nonce)` → message id, for `enforce_nonce`.
    nonces: HashMap<(String, String), String>,
    /// What `GET /gateway` hands out (`ws://…`); none unless a test runs the fake gateway.
    gateway_url: Option<String>,
    /// Interactions answered through their callback, which Discord accepts once.
    acknowledged: std::collections::HashSet<String>,
    /// How long a channel post waits before its answer (`slow_posts`).
    post_delay: Option<std::time::Duration>,
}

/// A running fake; dropped, its server task ends with the test's runtime.
pub struct FakeDiscord {
    /// The base URL to use as `DiscordSettings::api_url`.
    pub api_url: String,
    state: Arc<Mutex<Fake>>,
}

impl FakeDiscord {
    pub async fn start() -> FakeDiscord {
        let state =
            Arc::new(Mutex::new(Fake { next_id: 1_500_000_000_000_000_000, ..Fake::default() }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new().fallback(answer).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        FakeDiscord { api_url: format!("http://{addr}{PREFIX}"), state }
    }

    /// Makes `GET /gateway` and `GET /gateway/bot` hand out `url` (the fake gateway's).
    pub fn set_gateway_url(&self, url: &str) {
        self.state.lock().unwrap().gateway_url = Some(url.to_string());
    }

    /// Answers every channel post `delay` late, after creating the message and recording the
    /// call: the message is in the channel while the poster still waits (a slow Discord; a
    /// poster killed meanwhile). `Duration::ZERO` answers at once again.
    pub fn slow_posts(&self, delay: std::time::Duration) {
        self.state.lock().unwrap().post_delay = Some(delay).filter(|d| !d.is_zero());
    }

    /// Fails the next `count` calls (whatever they are) with `failure`.
    pub fn fail_next(&self, count: usize, failure: Failure) {
        self.state.lock().unwrap().failures.extend(std::iter::repeat_n(failure, count));
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Calls with `method` whose path matches `pattern`, where `*` ends a segment pattern (`7*`
    /// matches one segment starting with 7; `*` alone any one segment).
    pub fn calls_to(&self, method: &str, pattern: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && path_matches(pattern, &c.path))
            .collect()
    }

    /// What `found` finds, once a call has brought it: `found` is asked now and again as each call
    /// arrives (no polling). The test fails if it never comes.
    pub async fn until<T>(&self, mut found: impl FnMut() -> Option<T>) -> T {
        let mut arrivals = self.state.lock().unwrap().arrivals.subscribe();
        crate::support::or_fail("the awaited Discord call", async {
            loop {
                if let Some(value) = found() {
                    return value;
                }
                arrivals.changed().await.unwrap();
            }
        })
        .await
    }

    /// Every message that exists, in creation order (a retried post with the same nonce is one).
    pub fn messages(&self) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        let mut messages: Vec<Value> = state.messages.values().cloned().collect();
        messages.sort_by_key(|m| {
            m["id"].as_str().unwrap_or_default().parse::<u64>().unwrap_or_default()
        });
        messages
    }

    /// Messages in `channel`.
    pub fn messages_in(&self, channel: &str) -> Vec<Value> {
        self.messages().into_iter().filter(|m| m["channel_id"] == channel).collect()
    }
}

/// `DiscordBot ($url, $versionNumber)`, the form Discord's API reference requires.
pub fn is_discord_bot_agent(user_agent: &str) -> bool {
    let inside = user_agent.strip_prefix("DiscordBot (").and_then(|rest| rest.strip_suffix(')'));
    inside.and_then(|inside| inside.split_once(", ")).is_some_and(|(url, version)| {
        url.starts_with("https://") && url.len() > "https://".len() && !version.trim().is_empty()
    })
}

fn path_matches(pattern: &str, path: &str) -> bool {
    let (pattern, path): (Vec<&str>, Vec<&str>) =
        (pattern.split('/').collect(), path.split('/').collect());
    let segment = |p: &str, s: &str| match p.strip_suffix('*') {
        Some(prefix) => s.len() > prefix.len() && s.starts_with(prefix),
        None => p == s,
    };
    pattern.len() == path.len() && pattern.iter().zip(&path).all(|(p, s)| segment(p, s))
}

async fn answer(
    State(state): State<Arc<Mutex<Fake>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(String::from);
    let (body, files) = match header("content-type").as_deref().and_then(multipart_boundary) {
        Some(boundary) => multipart(&body, &boundary),
        None => (serde_json::from_slice(&body).unwrap_or(Value::Null), Vec::new()),
    };
    let call = Call {
        method: method.to_string(),
        path: uri.path().strip_prefix(PREFIX).unwrap_or(uri.path()).to_string(),
        body,
        files,
        authorization: header("authorization"),
        user_agent: header("user-agent").unwrap_or_default(),
        status: 0,
        at: Instant::now(),
    };
    let (response, delay) = {
        let mut fake = state.lock().unwrap();
        let is_post = call.method == "POST" && path_matches("/channels/*/messages", &call.path);
        (fake.answer(call), fake.post_delay.filter(|_| is_post))
    };
    // A slow Discord: the message exists (and the call is recorded) while the poster waits.
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    response
}

/// The boundary of a `multipart/form-data; boundary=…` content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let rest = content_type.strip_prefix("multipart/form-data")?;
    rest.split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_string())
        .next()
}

/// A multipart body as Discord reads it: `payload_json` is the message, the rest are files.
fn multipart(body: &[u8], boundary: &str) -> (Value, Vec<FilePart>) {
    let delimiter = format!("--{boundary}");
    let mut payload = Value::Null;
    let mut files = Vec::new();
    for part in split_bytes(body, delimiter.as_bytes()).into_iter().skip(1) {
        let Some(part) = part.strip_prefix(b"\r\n") else { continue }; // `--` ends the body
        let Some(at) = part.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let headers = String::from_utf8_lossy(&part[..at]).to_string();
        let content = part[at + 4..].strip_suffix(b"\r\n").unwrap_or(&part[at + 4..]);
        let field = |name: &str| {
            let key = format!("{name}=\"");
            headers.split(&key).nth(1).and_then(|rest| rest.split('"').next()).map(String::from)
        };
        let content_type = headers
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase().strip_prefix("content-type:").map(|v| v.trim().to_string())
            })
            .unwrap_or_default();
        match (field("name"), field("filename")) {
            (Some(name), None) if name == "payload_json" => {
                payload = serde_json::from_slice(content).unwrap_or(Value::Null);
            }
            (Some(name), Some(filename)) => files.push(FilePart {
                field: name,
                filename,
                content_type,
                bytes: content.to_vec(),
            }),
            _ => {}
        }
    }
    (payload, files)
}

fn split_bytes<'a>(bytes: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + delimiter.len() <= bytes.len() {
        if &bytes[i..i + delimiter.len()] == delimiter {
            parts.push(&bytes[start..i]);
            i += delimiter.len();
            start = i;
        } else {
            i += 1;
        }
    }
    parts.push(&bytes[start..]);
    parts
}

impl Fake {
    /// Answers `call` and records it with the status answered.
    fn answer(&mut self, mut call: Call) -> Response {
        // Discord turns away REST calls without its `DiscordBot (url, version)` User-Agent.
        let failure = if is_discord_bot_agent(&call.user_agent) {
            self.failures.pop_front()
        } else {
            Some(Failure::NoUserAgent)
        };
        let (status, answer) = match failure {
            Some(Failure::NoUserAgent) => (
                StatusCode::BAD_REQUEST,
                json!({ "message": "a DiscordBot User-Agent is required", "code": 0 }),
            ),
            Some(Failure::RateLimited(seconds)) => {
                let answer = json!({ "message": "You are being rate limited.", "retry_after": seconds, "global": false });
                (StatusCode::TOO_MANY_REQUESTS, answer)
            }
            Some(Failure::ServerError) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "message": "500: Internal Server Error", "code": 0 }),
            ),
            Some(Failure::ServerErrorAfterCreating) => {
                self.route(&call.method, &call.path, &call.body);
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({ "message": "500: Internal Server Error", "code": 0 }),
                )
            }
            None => self.route(&call.method, &call.path, &call.body),
        };
        call.status = status.as_u16();
        self.calls.push(call);
        self.arrivals.send_modify(|count| *count += 1);
        let mut response = match answer {
            Value::Null => status.into_response(),
            answer => (status, Json(answer)).into_response(),
        };
        if let Some(Failure::RateLimited(seconds)) = failure {
            response
                .headers_mut()
                .insert("retry-after", seconds.ceil().to_string().parse().unwrap());
        }
        response
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    fn route(&mut self, method: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            ("POST", ["channels", channel, "messages"]) => {
                (StatusCode::OK, self.create_message(channel, body))
            }
            ("PATCH", ["channels", channel, "messages", id]) => match self.messages.get_mut(*id) {
                Some(message) if message["channel_id"] == *channel => {
                    merge(message, body);
                    (StatusCode::OK, message.clone())
                }
                _ => {
                    (StatusCode::NOT_FOUND, json!({ "message": "Unknown Message", "code": 10008 }))
                }
            },
            // Everyone is a member of the firm's server but the outsider.
            ("GET", ["guilds", _guild, "members", user]) if *user == super::OUTSIDER.id => {
                (StatusCode::NOT_FOUND, json!({ "message": "Unknown Member", "code": 10007 }))
            }
            ("GET", ["guilds", _guild, "members", user]) => {
                (StatusCode::OK, json!({ "user": { "id": user }, "roles": [] }))
            }
            ("GET", ["gateway"]) => self.gateway(false),
            ("GET", ["gateway", "bot"]) => self.gateway(true),
            ("POST", ["interactions", id, _token, "callback"]) => {
                if self.acknowledged.insert(id.to_string()) {
                    (StatusCode::NO_CONTENT, Value::Null)
                } else {
                    let refusal = json!({ "message": "Interaction has already been acknowledged.", "code": 40060 });
                    (StatusCode::BAD_REQUEST, refusal)
                }
            }
            ("POST", ["users", "@me", "channels"]) => {
                let recipient = body["recipient_id"].clone();
                (
                    StatusCode::OK,
                    json!({ "id": format!("7{}", &self.id()[1..]), "type": 1, "recipients": [{ "id": recipient }] }),
                )
            }
            ("PATCH", ["webhooks", _application, _token, "messages", "@original"]) => {
                let mut message = json!({ "id": self.id(), "channel_id": "0", "flags": 64 });
                merge(&mut message, body);
                (StatusCode::OK, message)
            }
            (
                "PUT",
                ["applications", application, "commands"]
                | ["applications", application, "guilds", _, "commands"],
            ) => {
                let commands = body.as_array().cloned().unwrap_or_default();
                let registered: Vec<Value> = commands
                    .into_iter()
                    .map(|mut command| {
                        merge(&mut command, &json!({ "id": self.id(), "application_id": application, "version": "1" }));
                        command
                    })
                    .collect();
                (StatusCode::OK, Value::Array(registered))
            }
            _ => (StatusCode::NOT_FOUND, json!({ "message": "404: Not Found", "code": 0 })),
        }
    }

    /// The gateway's URL; `/gateway/bot` adds the shard count and session start limit.
    fn gateway(&self, bot: bool) -> (StatusCode, Value) {
        let Some(url) = &self.gateway_url else {
            return (StatusCode::NOT_FOUND, json!({ "message": "no fake gateway", "code": 0 }));
        };
        let mut answer = json!({ "url": url });
        if bot {
            merge(
                &mut answer,
                &json!({ "shards": 1, "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1 } }),
            );
        }
        (StatusCode::OK, answer)
    }

    /// Like Discord: with `enforce_nonce`, a second post with the same nonce returns the first message.
    fn create_message(&mut self, channel: &str, body: &Value) -> Value {
        let nonce =
            body["nonce"].as_str().map(String::from).filter(|_| body["enforce_nonce"] == true);
        if let Some(id) =
            nonce.as_ref().and_then(|n| self.nonces.get(&(channel.to_string(), n.clone())))
        {
            return self.messages[id].clone();
        }
        let id = self.id();
        let mut message = json!({ "id": id, "channel_id": channel, "content": "", "embeds": [], "components": [] });
        merge(&mut message, body);
        if let Some(nonce) = nonce {
            self.nonces.insert((channel.to_string(), nonce), id.clone());
        }
        self.messages.insert(id, message.clone());
        message
    }
}

fn merge(target: &mut Value, patch: &Value) {
    if let (Some(target), Some(patch)) = (target.as_object_mut(), patch.as_object()) {
        for (key, value) in patch {
            target.insert(key.clone(), value.clone());
        }
    }
}
