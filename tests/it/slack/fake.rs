//! A local fake of the Slack Web API: it records every call (method, body, token, the status it
//! answered) and answers like Slack does, or with a 429 / 500 when told to fail the next calls.
//! `response_url` posts land here too (`/response/NAME`), recorded as method `response:NAME`.
//! A test waits for a call the bot makes on its own time (a `response_url` answer, a thread reply)
//! with `until`, which looks again as each call arrives.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::watch;

/// One call the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The JSON body, or a form body as an object of strings.
    pub body: Value,
    /// The bearer token it carried.
    pub token: Option<String>,
    /// The HTTP status the fake answered, and its JSON answer (null for failures).
    pub status: u16,
    pub answer: Value,
}

/// How the fake fails a call.
#[derive(Debug, Clone, Copy)]
pub enum Failure {
    /// HTTP 429 with `Retry-After: seconds`.
    RateLimited(u64),
    /// HTTP 500.
    ServerError,
    /// HTTP 200 with `{"ok": false, "error": …}`, as Slack answers when the bot is not in the
    /// channel (`not_in_channel`) or cannot write to a user.
    Refused(&'static str),
}

#[derive(Default)]
struct Recorded {
    calls: Vec<Call>,
    /// Counts the calls, so `until` wakes when one arrives.
    arrivals: watch::Sender<usize>,
    /// Failures to answer, per method, in order.
    failures: HashMap<String, VecDeque<Failure>>,
    groups: HashMap<String, Vec<String>>,
    /// What `apps.connections.open` answers (Socket Mode).
    socket_url: Option<String>,
    /// How late `chat.postMessage` is answered.
    post_delay: Option<std::time::Duration>,
    next_ts: u64,
    /// Where the fake listens, for the `upload_url`s it hands out.
    base: String,
    /// The bytes POSTed to each `upload_url`, by file id.
    uploads: HashMap<String, Vec<u8>>,
}

impl Recorded {
    fn record(&mut self, call: Call) {
        self.calls.push(call);
        self.arrivals.send_modify(|count| *count += 1);
    }
}

/// The running fake; dropped, it stops.
pub struct FakeSlack {
    pub addr: std::net::SocketAddr,
    state: Arc<Mutex<Recorded>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let state = Arc::new(Mutex::new(Recorded::default()));
        let router = Router::new()
            .route("/api/{method}", post(api))
            .route("/response/{name}", post(response_url))
            .route("/upload/{file_id}", post(upload))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        state.lock().unwrap().base = format!("http://{addr}");
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        FakeSlack { addr, state, server }
    }

    /// The Web API base URL to put in `SLACK_API_URL`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/", self.addr)
    }

    /// A `response_url` that leads back here.
    pub fn response_url(&self, name: &str) -> String {
        format!("http://{}/response/{name}", self.addr)
    }

    /// Answers every `chat.postMessage` `delay` late, after recording it: the message is in the
    /// channel while the poster still waits (a slow Slack; a poster killed meanwhile).
    pub fn slow_posts(&self, delay: std::time::Duration) {
        self.state.lock().unwrap().post_delay = Some(delay);
    }

    /// Fails the next `times` calls to `method` with `failure`.
    pub fn fail_next(&self, method: &str, times: usize, failure: Failure) {
        let mut state = self.state.lock().unwrap();
        state
            .failures
            .entry(method.to_string())
            .or_default()
            .extend(std::iter::repeat_n(failure, times));
    }

    /// Makes `usergroups.users.list` answer `users` for `group`.
    pub fn set_group(&self, group: &str, users: &[&str]) {
        self.state
            .lock()
            .unwrap()
            .groups
            .insert(group.to_string(), users.iter().map(|u| u.to_string()).collect());
    }

    /// Makes `apps.connections.open` hand out `url` as the Socket Mode websocket.
    pub fn set_socket_url(&self, url: &str) {
        self.state.lock().unwrap().socket_url = Some(url.to_string());
    }

    /// The bytes uploaded to the `upload_url` of `file_id`.
    pub fn uploaded(&self, file_id: &str) -> Option<Vec<u8>> {
        self.state.lock().unwrap().uploads.get(file_id).cloned()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The calls to `method` that the fake answered with success.
    pub fn succeeded(&self, method: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.method == method && c.status == 200).collect()
    }

    /// What `found` finds in the calls, once a call has brought it: `found` is asked now and again
    /// as each call arrives (no polling). The test fails if it never comes.
    pub async fn until<T>(&self, mut found: impl FnMut() -> Option<T>) -> T {
        let mut arrivals = self.state.lock().unwrap().arrivals.subscribe();
        crate::support::or_fail("the awaited Slack call", async {
            loop {
                if let Some(value) = found() {
                    return value;
                }
                arrivals.changed().await.unwrap();
            }
        })
        .await
    }
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn api(
    State(state): State<Arc<Mutex<Recorded>>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = decode(&headers, &body);
    let token = bearer(&headers);
    let (failure, answer, delay) = {
        let mut recorded = state.lock().unwrap();
        let failure = recorded.failures.get_mut(&method).and_then(VecDeque::pop_front);
        let (status, answer) = match failure {
            Some(Failure::RateLimited(_)) => (429, Value::Null),
            Some(Failure::ServerError) => (500, Value::Null),
            Some(Failure::Refused(error)) => (200, json!({ "ok": false, "error": error })),
            None => (200, answer(&mut recorded, &method, &body)),
        };
        let delay = recorded.post_delay.filter(|_| method == "chat.postMessage");
        recorded.record(Call { method, body, token, status, answer: answer.clone() });
        (failure, answer, delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    match failure {
        Some(Failure::RateLimited(seconds)) => {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", seconds.to_string())], "")
                .into_response()
        }
        Some(Failure::ServerError) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "upstream trouble").into_response()
        }
        Some(Failure::Refused(_)) | None => Json(answer).into_response(),
    }
}

/// What Slack answers a successful call to `method`.
fn answer(state: &mut Recorded, method: &str, body: &Value) -> Value {
    state.next_ts += 1;
    let ts = format!("1764000000.{:06}", state.next_ts);
    match method {
        "chat.postMessage" => {
            json!({ "ok": true, "channel": body["channel"], "ts": ts, "message": { "text": body["text"] } })
        }
        "chat.update" => {
            json!({ "ok": true, "channel": body["channel"], "ts": body["ts"], "text": body["text"] })
        }
        "chat.postEphemeral" => json!({ "ok": true, "message_ts": ts }),
        "views.open" => json!({ "ok": true, "view": { "id": "V0FAKE", "type": "modal" } }),
        "usergroups.users.list" => {
            match state.groups.get(body["usergroup"].as_str().unwrap_or_default()) {
                Some(users) => json!({ "ok": true, "users": users }),
                None => json!({ "ok": false, "error": "no_such_subteam" }),
            }
        }
        // Everyone is a person but `UBOT…` (a bot), `UGONE…` (deactivated) and `UNKNOWN…`.
        "users.info" => {
            let user = body["user"].as_str().unwrap_or_default();
            if user.starts_with("UNKNOWN") {
                json!({ "ok": false, "error": "user_not_found" })
            } else {
                json!({ "ok": true, "user": { "id": user, "deleted": user.starts_with("UGONE"), "is_bot": user.starts_with("UBOT") } })
            }
        }
        "conversations.open" => {
            let user = body["users"].as_str().unwrap_or_default();
            json!({ "ok": true, "channel": { "id": format!("D{user}") } })
        }
        // What was posted to the channel (or, for `D<user>`, to the user), newest first, with
        // the metadata each post carried.
        "conversations.history" => {
            let channel = body["channel"].as_str().unwrap_or_default().to_string();
            let user = channel.strip_prefix('D').map(String::from);
            let messages: Vec<Value> = state
                .calls
                .iter()
                .rev()
                .filter(|c| c.method == "chat.postMessage" && c.status == 200 && c.answer["ok"] == true)
                .filter(|c| {
                    let to = c.body["channel"].as_str().unwrap_or_default();
                    to == channel || user.as_deref() == Some(to)
                })
                .map(|c| json!({ "ts": c.answer["ts"], "text": c.body["text"], "metadata": c.body["metadata"] }))
                .collect();
            json!({ "ok": true, "messages": messages, "has_more": false })
        }
        // The first of the three upload steps: a URL on this fake to POST the bytes to.
        "files.getUploadURLExternal" => {
            let file_id = format!("F{:06}", state.next_ts);
            json!({ "ok": true, "upload_url": format!("{}/upload/{file_id}", state.base), "file_id": file_id })
        }
        "files.completeUploadExternal" => {
            let known = body["files"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|f| f["id"].as_str().is_some_and(|id| state.uploads.contains_key(id)));
            if known {
                json!({ "ok": true, "files": body["files"] })
            } else {
                json!({ "ok": false, "error": "file_not_found" })
            }
        }
        "apps.connections.open" => match &state.socket_url {
            Some(url) => json!({ "ok": true, "url": url }),
            None => json!({ "ok": false, "error": "invalid_auth" }),
        },
        _ => json!({ "ok": true }),
    }
}

async fn response_url(
    State(state): State<Arc<Mutex<Recorded>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = decode(&headers, &body);
    let token = bearer(&headers);
    state.lock().unwrap().record(Call {
        method: format!("response:{name}"),
        body,
        token,
        status: 200,
        answer: json!({ "ok": true }),
    });
    Json(json!({ "ok": true })).into_response()
}

/// An `upload_url`: keeps the bytes, recorded as method `upload` with the file id and length,
/// and answers as Slack does, in plain text.
async fn upload(
    State(state): State<Arc<Mutex<Recorded>>>,
    Path(file_id): Path<String>,
    body: Bytes,
) -> Response {
    let mut recorded = state.lock().unwrap();
    recorded.uploads.insert(file_id.clone(), body.to_vec());
    recorded.record(Call {
        method: "upload".into(),
        body: json!({ "file_id": file_id, "length": body.len() }),
        token: None,
        status: 200,
        answer: Value::Null,
    });
    format!("OK - {}", body.len()).into_response()
}

/// JSON bodies as they are; form bodies as an object of their fields.
fn decode(headers: &HeaderMap, body: &[u8]) -> Value {
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        return Value::Object(pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect());
    }
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(String::from)
}
