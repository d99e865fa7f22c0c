//! A local fake of Discord's gateway (a websocket on `127.0.0.1:0`, JSON text frames), speaking
//! the protocol as far as a bot needs it: Hello (op 10) on connect; Identify (op 2) checked for
//! the bot token and for privileged intents, refused with Discord's close codes (4004, 4014), else
//! answered with READY (op 0, `s` 1); every Heartbeat (op 1) answered with a Heartbeat ACK (op 11);
//! and `dispatch` sends an event (INTERACTION_CREATE) with the next sequence number. Everything
//! the bot sends is recorded per session; a test waits for what it expects with `until`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Short, so a test sees heartbeats (and their acknowledgements) within a second.
pub const HEARTBEAT_INTERVAL_MS: u64 = 250;

/// Intents an application must be approved for; the fake's application has none.
const PRIVILEGED_INTENTS: u64 = (1 << 1) | (1 << 8) | (1 << 15);

/// What the bot did, in the order it did it; `session` counts connections from 1.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// A websocket opened at this request URI (`/?v=10`).
    Connected { session: usize, uri: String },
    /// An Identify's `d`.
    Identify { session: usize, payload: Value },
    /// A Heartbeat's `d`: the last sequence number the bot read.
    Heartbeat { session: usize, last_sequence: Value },
    /// The bot closed the connection, with this close code.
    Closed { session: usize, code: Option<u16> },
    /// Anything else the bot sent.
    Other { session: usize, frame: Value },
}

#[derive(Default)]
struct Shared {
    seen: Vec<Seen>,
    /// The identified session's outgoing events, for `dispatch`.
    current: Option<mpsc::UnboundedSender<(String, Value)>>,
}

/// A running fake gateway; its tasks end with the test's runtime.
pub struct FakeGateway {
    /// The websocket URL that `GET /gateway` hands out.
    pub url: String,
    shared: Arc<Mutex<Shared>>,
    arrivals: watch::Sender<usize>,
}

impl FakeGateway {
    /// A gateway that accepts `bot_token` (as the bot's token, with or without `Bot `).
    pub async fn start(bot_token: &str) -> FakeGateway {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (arrivals, _) = watch::channel(0);
        let gateway = FakeGateway { url: format!("ws://{addr}"), shared, arrivals };
        let (shared, arrivals, token, url) = (
            gateway.shared.clone(),
            gateway.arrivals.clone(),
            bot_token.to_string(),
            gateway.url.clone(),
        );
        tokio::spawn(async move {
            let mut session = 0;
            while let Ok((stream, _)) = listener.accept().await {
                session += 1;
                let fake = Session {
                    number: session,
                    shared: shared.clone(),
                    arrivals: arrivals.clone(),
                    token: token.clone(),
                    url: url.clone(),
                    sequence: 0,
                };
                tokio::spawn(fake.run(stream));
            }
        });
        gateway
    }

    /// Everything the bot has done so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.lock().unwrap().seen.clone()
    }

    /// What `found` finds in what the bot has done, once it has done it: asked now and again
    /// whenever the bot does something (no polling). The test fails if it never comes.
    pub async fn until<T>(&self, mut found: impl FnMut(&[Seen]) -> Option<T>) -> T {
        let mut arrivals = self.arrivals.subscribe();
        crate::support::or_fail("the awaited gateway event", async {
            loop {
                if let Some(value) = found(&self.seen()) {
                    return value;
                }
                arrivals.changed().await.unwrap();
            }
        })
        .await
    }

    /// Sends the identified session a dispatch `event` (op 0, `t`) with `data` as its `d`.
    pub fn dispatch(&self, event: &str, data: Value) {
        let shared = self.shared.lock().unwrap();
        let session = shared.current.as_ref().expect("a session has identified");
        session.send((event.to_string(), data)).expect("the session is open");
    }
}

/// One websocket connection from the bot.
struct Session {
    number: usize,
    shared: Arc<Mutex<Shared>>,
    arrivals: watch::Sender<usize>,
    token: String,
    /// The gateway's own URL, where Discord would have the bot resume.
    url: String,
    sequence: u64,
}

type Socket = WebSocketStream<TcpStream>;

impl Session {
    fn record(&self, seen: Seen) {
        self.shared.lock().unwrap().seen.push(seen);
        self.arrivals.send_modify(|count| *count += 1);
    }

    async fn run(mut self, stream: TcpStream) {
        let mut uri = String::new();
        // The callback's `Result` (and its large error) is tungstenite's signature.
        #[allow(clippy::result_large_err)]
        let handshake = |request: &Request, response: Response| {
            uri = request.uri().to_string();
            Ok(response)
        };
        let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, handshake).await else {
            return;
        };
        self.record(Seen::Connected { session: self.number, uri });
        let hello = json!({ "op": 10, "s": null, "t": null,
            "d": { "heartbeat_interval": HEARTBEAT_INTERVAL_MS, "_trace": ["[\"gateway-fake\",{\"micros\":0}]"] } });
        send(&mut socket, &hello).await;
        let (events, mut to_dispatch) = mpsc::unbounded_channel();
        loop {
            tokio::select! {
                frame = socket.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        let frame: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                        if !self.answer(&mut socket, frame, &events).await {
                            return;
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let code = frame.map(|f| u16::from(f.code));
                        self.record(Seen::Closed { session: self.number, code });
                        // Echo the close, as Discord does, so the bot's close handshake completes.
                        let _ = socket.close(None).await;
                        return;
                    }
                    Some(Ok(_)) => {}
                    None | Some(Err(_)) => {
                        self.record(Seen::Closed { session: self.number, code: None });
                        return;
                    }
                },
                Some((event, data)) = to_dispatch.recv() => self.dispatch(&mut socket, &event, data).await,
            }
        }
    }

    /// Answers one frame from the bot; `false` when the fake closed the connection.
    async fn answer(
        &mut self,
        socket: &mut Socket,
        frame: Value,
        events: &mpsc::UnboundedSender<(String, Value)>,
    ) -> bool {
        let session = self.number;
        match frame["op"].as_u64() {
            Some(1) => {
                self.record(Seen::Heartbeat { session, last_sequence: frame["d"].clone() });
                send(socket, &json!({ "op": 11, "s": null, "t": null, "d": null })).await;
            }
            Some(2) => {
                let payload = frame["d"].clone();
                self.record(Seen::Identify { session, payload: payload.clone() });
                if let Err((code, reason)) = self.check_identify(&payload) {
                    let close = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                    let _ = socket.close(Some(close)).await;
                    return false;
                }
                self.shared.lock().unwrap().current = Some(events.clone());
                let ready = ready(&payload["shard"], session, &self.url);
                self.dispatch(socket, "READY", ready).await;
            }
            _ => self.record(Seen::Other { session, frame }),
        }
        true
    }

    /// Discord's refusals of an Identify: a wrong token, a privileged intent not granted.
    fn check_identify(&self, identify: &Value) -> Result<(), (u16, &'static str)> {
        let token = identify["token"].as_str().unwrap_or_default();
        if token.strip_prefix("Bot ").unwrap_or(token) != self.token {
            return Err((4004, "Authentication failed."));
        }
        match identify["intents"].as_u64() {
            None => Err((4013, "Invalid intent(s).")),
            Some(intents) if intents & PRIVILEGED_INTENTS != 0 => {
                Err((4014, "Disallowed intent(s)."))
            }
            Some(_) => Ok(()),
        }
    }

    async fn dispatch(&mut self, socket: &mut Socket, event: &str, data: Value) {
        self.sequence += 1;
        send(socket, &json!({ "op": 0, "t": event, "s": self.sequence, "d": data })).await;
    }
}

async fn send(socket: &mut Socket, frame: &Value) {
    // A bot that has gone away is seen by the reading side; a failed send changes nothing.
    let _ = socket.send(Message::text(frame.to_string())).await;
}

/// READY as Discord sends it to a bot in the firm's one server (unavailable until its
/// GUILD_CREATE, which needs the GUILDS intent and is not sent).
fn ready(shard: &Value, session: usize, url: &str) -> Value {
    let user = json!({ "id": super::APPLICATION_ID, "username": "Keepable", "discriminator": "0",
        "global_name": null, "avatar": null, "bot": true, "verified": true, "mfa_enabled": false,
        "flags": 0, "email": null });
    json!({
        "v": 10, "user": user, "guilds": [{ "id": super::GUILD, "unavailable": true }],
        "session_id": format!("fake-session-{session}"), "resume_gateway_url": url,
        "session_type": "normal", "shard": shard, "private_channels": [], "presences": [],
        "relationships": [], "guild_join_requests": [], "user_settings": {},
        "geo_ordered_rtc_regions": ["us-east"], "auth_session_id_hash": "ZmFrZQ==",
        "application": { "id": super::APPLICATION_ID, "flags": 8_953_856 },
        "_trace": ["[\"gateway-fake\",{\"micros\":0}]"]
    })
}
