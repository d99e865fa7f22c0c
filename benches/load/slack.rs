//! What the benchmark sends: Slack slash-command forms, each unique (its own `trigger_id`, a
//! user and channel among many) and signed as Slack signs them, over bare hyper HTTP/1.1
//! keep-alive connections.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use sha2::Sha256;

use crate::firm::Questions;

/// One route under load: the path it is posted to and the command it carries.
#[derive(Debug, Clone)]
pub struct Route {
    pub path: &'static str,
    pub command: &'static str,
    pub text: String,
}

impl Route {
    /// The baseline, then `/earliest-start`, `/comparables` and `/included` about the firm.
    pub fn all(questions: &Questions) -> Vec<Route> {
        let Questions { package, item, effort, deadline } = questions;
        let command = |command, text: String| Route { path: "/slack/commands", command, text };
        vec![
            Route { path: "/slack/baseline", command: "/earliest-start", text: package.clone() },
            command("/earliest-start", package.clone()),
            command("/comparables", format!("{package} effort={effort} deadline={deadline}")),
            command("/included", format!("{item} package={package}")),
        ]
    }

    pub fn label(&self) -> String {
        match self.is_baseline() {
            true => "baseline (signature check, constant answer)".into(),
            false => format!("{} {}", self.command, self.text),
        }
    }

    pub fn is_baseline(&self) -> bool {
        self.path == "/slack/baseline"
    }
}

/// A signed request ready to send: its body and its two Slack headers.
pub struct Signed {
    body: Bytes,
    timestamp: HeaderValue,
    signature: HeaderValue,
}

/// How an answer came back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    /// 200 with the answer itself.
    Inline,
    /// 200 with "Working on it…": the answer took longer than the acknowledgement window.
    Late,
    /// Any other status.
    Refused(StatusCode),
}

/// Signs and sends requests to one server; each request's form is new (a counter shared by all
/// phases makes every `trigger_id` unique).
#[derive(Clone)]
pub struct Client {
    pub addr: SocketAddr,
    host: HeaderValue,
    key: Hmac<Sha256>,
    sent: Arc<AtomicU64>,
}

impl Client {
    pub fn new(addr: SocketAddr, secret: &str) -> Client {
        let key = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        let host = HeaderValue::from_str(&addr.to_string()).expect("an address is a header");
        Client { addr, host, key, sent: Arc::default() }
    }

    /// The next unique form of `route`, signed now.
    pub fn sign(&self, route: &Route) -> Signed {
        let n = self.sent.fetch_add(1, Ordering::Relaxed);
        let body = form(route, n);
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let mut mac = self.key.clone();
        mac.update(b"v0:");
        mac.update(timestamp.as_bytes());
        mac.update(b":");
        mac.update(body.as_bytes());
        let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
        Signed {
            body: Bytes::from(body),
            timestamp: HeaderValue::from_str(&timestamp).expect("digits"),
            signature: HeaderValue::from_str(&signature).expect("hex"),
        }
    }

    /// A new keep-alive connection to the server.
    pub async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Posts `signed` to `route` on `connection`; how it was answered.
    pub async fn send(
        &self,
        connection: &mut SendRequest<Full<Bytes>>,
        route: &Route,
        signed: Signed,
    ) -> anyhow::Result<Answer> {
        let (status, body) = self.exchange(connection, route, signed).await?;
        Ok(match status {
            StatusCode::OK if is_late(&body) => Answer::Late,
            StatusCode::OK => Answer::Inline,
            other => Answer::Refused(other),
        })
    }

    async fn exchange(
        &self,
        connection: &mut SendRequest<Full<Bytes>>,
        route: &Route,
        signed: Signed,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(route.path)
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"))
            .header("x-slack-request-timestamp", signed.timestamp)
            .header("x-slack-signature", signed.signature)
            .body(Full::new(signed.body))?;
        connection.ready().await?;
        let response = connection.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// One request of `route` on a connection of its own; the answer's text, shortened, to show
    /// what is being measured (an error here would make the figures meaningless).
    pub async fn one(&self, route: &Route) -> anyhow::Result<String> {
        let mut connection = self.connect().await?;
        let (status, body) = self.exchange(&mut connection, route, self.sign(route)).await?;
        anyhow::ensure!(status == StatusCode::OK, "{} answered {status}", route.label());
        let answer: serde_json::Value =
            serde_json::from_slice(&body).context("the answer is not JSON")?;
        let text = answer["text"].as_str().unwrap_or_default().replace('\n', " ");
        Ok(text.chars().take(90).collect())
    }
}

/// Whether `/healthz` (or another path) answers 200 to a GET.
pub async fn get_ok(addr: SocketAddr, path: &str) -> bool {
    let Ok(stream) = tokio::net::TcpStream::connect(addr).await else { return false };
    let Ok((mut sender, connection)) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream)).await
    else {
        return false;
    };
    tokio::spawn(connection);
    let request = Request::get(path).header(HOST, addr.to_string()).body(Full::default());
    match request {
        Ok(request) => sender.send_request(request).await.is_ok_and(|r| r.status().is_success()),
        Err(_) => false,
    }
}

/// Slack's slash-command form, number `n`: a unique trigger id, one of 1,000 sellers in one of
/// 100 channels, and a response_url on a closed local port (a late answer goes nowhere).
fn form(route: &Route, n: u64) -> String {
    serde_urlencoded::to_string([
        ("token", "load-test"),
        ("team_id", crate::served::TEAM),
        ("team_domain", "load"),
        ("channel_id", &format!("C0LOAD{:03}", n % 100)),
        ("channel_name", "deal-room"),
        ("user_id", &format!("U0LOAD{:04}", n % 1_000)),
        ("user_name", "seller"),
        ("command", route.command),
        ("text", &route.text),
        ("response_url", &format!("http://127.0.0.1:9/commands/{n}")),
        ("trigger_id", &format!("{n}.4242.load{n:x}")),
        ("api_app_id", "A0LOAD"),
    ])
    .expect("a form of strings")
}

/// Slack's acknowledgement without the answer, `{"response_type":"ephemeral","text":"Working on
/// it…"}`: a short body, so an answer (a page of blocks) is not searched through.
fn is_late(body: &[u8]) -> bool {
    const LATE: &[u8] = b"Working on it";
    body.len() < 128 && body.windows(LATE.len()).any(|window| window == LATE)
}
