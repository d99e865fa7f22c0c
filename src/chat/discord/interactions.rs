//! The interaction handler shared by the HTTP endpoint and the gateway: an `Incoming` becomes
//! `App::ask` (slash commands), `App::act` (buttons, modal submissions), a modal, or
//! autocomplete choices. Answers not ready within `defer_after` are deferred (type 5) and the
//! original response is edited in when they are. An answer with a chart is always deferred: the
//! PNG is attached to the edit (multipart), and the embed shows it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use serenity::all::{
    AutocompleteChoice, CreateAutocompleteResponse, CreateInteractionResponse,
    CreateInteractionResponseMessage,
};

use super::commands::{self, Invocation};
use super::forms::{self, Work};
use super::incoming::{self, Incoming, IncomingKind};
use super::render::{self, ReplyView};
use super::rest::{Attachment, DiscordRest};
use super::verify::SignatureVerifier;
use super::DiscordSettings;
use crate::app::action::Action;
use crate::app::reply::Reply;
use crate::app::{Actor, App};
use crate::chart::render_png;

/// Attempts at editing a deferred response (the edit can race the deferral reaching Discord).
const EDIT_ATTEMPTS: u32 = 4;

/// Everything an interaction needs: the app, the settings, a REST client, the verifier, shared
/// (axum clones its state for every request: one reference count, not a copy of every part).
#[derive(Clone)]
pub struct Handler(Arc<Parts>);

impl std::ops::Deref for Handler {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

pub struct Parts {
    app: App,
    settings: Arc<DiscordSettings>,
    rest: DiscordRest,
    verifier: SignatureVerifier,
    /// Users known to be members of the firm's server, for direct messages.
    members: Arc<std::sync::Mutex<HashMap<String, std::time::Instant>>>,
    /// Interaction ids accepted lately, refused again at once without waiting on the database.
    replays: Arc<crate::chat::replay::ReplayGuard>,
}

/// Discord's directory of people: a member of the firm's server who is not a bot.
struct People {
    rest: DiscordRest,
    guild: Option<String>,
}

#[async_trait::async_trait]
impl crate::app::Directory for People {
    async fn is_person(&self, user: &str) -> anyhow::Result<bool> {
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct User {
            bot: bool,
        }
        #[derive(serde::Deserialize)]
        struct Member {
            #[serde(default)]
            user: User,
        }
        let Some(guild) = &self.guild else { return Ok(true) };
        if !user.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(false);
        }
        let path = format!("/guilds/{guild}/members/{user}");
        match self.rest.send_for::<Member>(reqwest::Method::GET, &path, &json!({}), true).await {
            Ok(member) => Ok(!member.user.bot),
            Err(crate::app::delivery::DeliveryError::Permanent(_)) => Ok(false),
            Err(error) => Err(anyhow::anyhow!("{path}: {error:?}")),
        }
    }
}

/// How long a member lookup is trusted.
const MEMBER_CACHE_FOR: Duration = Duration::from_secs(600);

impl Handler {
    pub fn new(app: App, settings: Arc<DiscordSettings>) -> Handler {
        let verifier = SignatureVerifier::from_hex(&settings.public_key).unwrap_or_else(|error| {
            tracing::error!(error = %error, "DISCORD_PUBLIC_KEY is not a valid key: every interaction will be refused");
            SignatureVerifier::refusing()
        });
        let rest = DiscordRest::new(&settings);
        let people = People { rest: rest.clone(), guild: app.settings.discord_guild_id.clone() };
        let app = app.with_directory(Arc::new(people)).on_platform("discord");
        let parts = Parts {
            app,
            settings,
            rest,
            verifier,
            members: Arc::default(),
            replays: Arc::default(),
        };
        Handler(Arc::new(parts))
    }

    /// The bot serves one firm (SPEC 7): an interaction from another server is refused, and a
    /// direct message is served only to a member of the firm's server (looked up, then cached).
    pub async fn serves(&self, incoming: &Incoming) -> bool {
        let Some(guild) = self.app.settings.discord_guild_id.as_deref() else { return true };
        if incoming.kind == IncomingKind::Ping {
            return true;
        }
        match incoming.guild_id.as_deref() {
            Some(from) => from == guild,
            None => self.is_member(guild, &incoming.actor.user).await,
        }
    }

    async fn is_member(&self, guild: &str, user: &str) -> bool {
        let known = self
            .members
            .lock()
            .ok()
            .and_then(|m| m.get(user).copied())
            .is_some_and(|at| at.elapsed() < MEMBER_CACHE_FOR);
        if known {
            return true;
        }
        let path = format!("/guilds/{guild}/members/{user}");
        match self.rest.send(reqwest::Method::GET, &path, &json!({}), true).await {
            Ok(_) => {
                if let Ok(mut members) = self.members.lock() {
                    members.insert(user.to_string(), std::time::Instant::now());
                }
                true
            }
            Err(error) => {
                tracing::warn!(user, error = ?error, "a direct message from someone not found in the firm's Discord server");
                false
            }
        }
    }

    /// The response to one interaction.
    pub async fn respond(&self, incoming: Incoming) -> CreateInteractionResponse {
        match &incoming.kind {
            IncomingKind::Ping => CreateInteractionResponse::Pong,
            IncomingKind::Autocomplete { name, options } => self.autocomplete(name, options).await,
            IncomingKind::Command { name, options } => match commands::invocation(name, options) {
                Invocation::Command(Ok(command)) => {
                    self.answer(&incoming, Work::Run(command)).await
                }
                Invocation::Command(Err(error)) => {
                    message_response(&Reply::error(error.to_string()))
                }
                Invocation::Line(line) => self.answer(&incoming, Work::Ask(line)).await,
                Invocation::ScopeModal => CreateInteractionResponse::Modal(render::scope_modal()),
            },
            IncomingKind::Component { custom_id } => match custom_id
                .parse::<Action>()
                .ok()
                .and_then(|a| a.form())
            {
                Some(form) => CreateInteractionResponse::Modal(render::form_modal(custom_id, form)),
                None => self.answer(&incoming, Work::Act(custom_id.clone(), HashMap::new())).await,
            },
            IncomingKind::ModalSubmit { custom_id, fields } => {
                match forms::submission(custom_id, fields) {
                    Ok(work) => self.answer(&incoming, work).await,
                    Err(message) => message_response(&Reply::error(message)),
                }
            }
        }
    }

    async fn autocomplete(
        &self,
        name: &str,
        options: &[incoming::CommandOption],
    ) -> CreateInteractionResponse {
        let choices = match commands::focused(options) {
            Some((option, typed)) => {
                commands::suggestions(&self.app, option, typed).await.unwrap_or_else(|error| {
                    tracing::error!(
                        command = name,
                        error = format!("{error:#}"),
                        "autocomplete failed"
                    );
                    Vec::new()
                })
            }
            None => Vec::new(),
        };
        let choices =
            choices.into_iter().map(|(name, value)| AutocompleteChoice::new(name, value)).collect();
        CreateInteractionResponse::Autocomplete(
            CreateAutocompleteResponse::new().set_choices(choices),
        )
    }

    /// Runs `work` as the interaction's actor; answers directly, or defers and edits later. A
    /// button on the asker's own answer has its outcome put in place of that answer (type 7), so
    /// the answer's buttons are not live any more.
    async fn answer(&self, incoming: &Incoming, work: Work) -> CreateInteractionResponse {
        let app = self.app.clone();
        let actor = incoming.actor.clone();
        let update =
            incoming.from_ephemeral && matches!(incoming.kind, IncomingKind::Component { .. });
        let mut task = tokio::spawn(async move { run(&app, &actor, work).await });
        let defer_after = self.settings.defer_after;
        let mut ready = None;
        if !defer_after.is_zero() {
            if let Ok(finished) = tokio::time::timeout(defer_after, &mut task).await {
                let reply = finished.unwrap_or_else(|error| failed(&error));
                if update || reply.chart.is_none() {
                    return if update { update_response(&reply) } else { message_response(&reply) };
                }
                // A chart is a file, attached to the deferred response's edit (multipart).
                ready = Some(reply);
            }
        }
        let Some(application_id) =
            incoming.application_id.clone().or_else(|| self.settings.application_id.clone())
        else {
            tracing::error!("cannot defer: the interaction carries no application id and DISCORD_APPLICATION_ID is not set");
            return message_response(&task.await.unwrap_or_else(|error| failed(&error)));
        };
        let rest = self.rest.clone();
        let token = incoming.token.clone();
        tokio::spawn(async move {
            let reply = match ready {
                Some(reply) => reply,
                None => task.await.unwrap_or_else(|error| failed(&error)),
            };
            edit_original(&rest, &application_id, &token, &reply).await;
        });
        if update {
            // The pressed answer itself is edited once the outcome is known.
            return CreateInteractionResponse::Acknowledge;
        }
        // Seller answers and click confirmations are private, so the placeholder is too.
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true))
    }
}

async fn run(app: &App, actor: &Actor, work: Work) -> Reply {
    match work {
        Work::Run(command) => app.run(actor, command).await,
        Work::Ask(line) => app.ask(actor, &line).await,
        Work::Act(action_id, fields) => app.act(actor, &action_id, &fields).await,
    }
}

fn failed(error: &tokio::task::JoinError) -> Reply {
    tracing::error!(error = %error, "an interaction's work failed");
    Reply::error("Sorry, something went wrong on our side. Please try again in a moment.")
}

fn message_response(reply: &Reply) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(render::response_message(&ReplyView::from(reply)))
}

/// The pressed message replaced by the outcome (an `UPDATE_MESSAGE`, type 7).
fn update_response(reply: &Reply) -> CreateInteractionResponse {
    CreateInteractionResponse::UpdateMessage(render::update_message(&ReplyView::from(reply)))
}

/// The reply's chart as a PNG attachment; `None` without a chart or when drawing it failed
/// (logged: the answer is edited in without its picture).
async fn chart_attachment(reply: &Reply) -> Option<Attachment> {
    let chart = reply.chart.clone()?;
    let drawn = tokio::task::spawn_blocking(move || render_png(&chart)).await;
    match drawn {
        Ok(Ok(bytes)) => Some(Attachment {
            filename: render::CHART_FILENAME.into(),
            content_type: "image/png",
            bytes,
        }),
        Ok(Err(error)) => {
            tracing::error!(error = %error, "could not draw an answer's chart");
            None
        }
        Err(error) => {
            tracing::error!(error = %error, "drawing an answer's chart failed");
            None
        }
    }
}

async fn edit_original(rest: &DiscordRest, application_id: &str, token: &str, reply: &Reply) {
    let view = ReplyView::from(reply);
    let chart = chart_attachment(reply).await;
    let body = match &chart {
        Some(file) => render::edit_original_with_image(&view, &file.filename),
        None => serde_json::to_value(render::edit_original(&view)).unwrap_or_default(),
    };
    let mut wait = Duration::from_millis(250);
    for attempt in 1..=EDIT_ATTEMPTS {
        let edited = match &chart {
            Some(file) => rest.edit_original_with_file(application_id, token, &body, file).await,
            None => rest.edit_original(application_id, token, &body).await,
        };
        match edited {
            Ok(()) => return,
            Err(error) if attempt == EDIT_ATTEMPTS => {
                tracing::error!(error = ?error, "could not edit a deferred Discord response");
            }
            Err(error) => {
                tracing::debug!(error = ?error, attempt, "editing a deferred response failed; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
}

/// The JSON body of an interaction response; PONG is exactly `{"type":1}`.
pub fn response_body(response: &CreateInteractionResponse) -> Value {
    match response {
        CreateInteractionResponse::Pong => json!({ "type": 1 }),
        other => serde_json::to_value(other).unwrap_or_else(|error| {
            tracing::error!(error = %error, "could not serialise an interaction response");
            json!({ "type": 4, "data": { "content": "Sorry, something went wrong.", "flags": 64 } })
        }),
    }
}

/// `POST /discord/interactions`: verify, read, answer. Any verification failure is a bare 401,
/// and so is a replay: Discord sends each interaction once, so an interaction id already accepted
/// (by any instance sharing the database) is refused like a forgery and acts only once.
pub async fn endpoint(State(handler): State<Handler>, headers: HeaderMap, body: Bytes) -> Response {
    let now = handler.app.clock.now();
    let sent_at = match handler.verifier.verify_request(&headers, &body, now) {
        Ok(sent_at) => sent_at,
        Err(refusal) => {
            tracing::info!(reason = %refusal, "refused a Discord interaction");
            return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
        }
    };
    let incoming = match incoming::parse(&body) {
        Ok(incoming) => incoming,
        Err(error) => {
            tracing::warn!(error = %error, "unreadable Discord interaction");
            return (StatusCode::BAD_REQUEST, error.to_string()).into_response();
        }
    };
    if let (Some(id), false) = (&incoming.id, incoming.kind == IncomingKind::Ping) {
        let key = crate::chat::replay::RequestKey::of(format!("discord:{id}"));
        // Remembered while its signed timestamp verifies, not for a window from our clock: one
        // stamped ahead of our clock verifies for longer.
        if !handler.replays.first(&handler.app.store, &key, sent_at, now).await {
            tracing::warn!(interaction = %id, "refused a replayed Discord interaction");
            return (StatusCode::UNAUTHORIZED, "replayed request").into_response();
        }
    }
    if !handler.serves(&incoming).await {
        tracing::warn!(guild = incoming.guild_id.as_deref().unwrap_or("direct message"), user = %incoming.actor.user, "refused an interaction from outside the firm's Discord server");
        return (StatusCode::FORBIDDEN, "this bot serves one Discord server").into_response();
    }
    let response = handler.respond(incoming).await;
    Json(response_body(&response)).into_response()
}
