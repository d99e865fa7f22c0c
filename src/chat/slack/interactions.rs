//! Interactivity: a button click (`block_actions`) runs its action as the clicking user in the
//! message's channel, or first opens a modal when the action needs input; a modal submission
//! (`view_submission`) runs the action with the fields, answering field-level errors for bad
//! input or a refusal. What the app answers goes to the clicker only (ephemeral).
//!
//! The payloads are read with small lenient structs rather than slack-morphism's
//! `SlackInteractionEvent`: that type requires `api_app_id` and parses the whole clicked message
//! and view into its block model, so a message carrying a block it does not know (or a payload
//! missing a field we never use) would be dropped, where all we need is a few ids.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::blocks::Card;
use super::modals::{self, ModalContext};
use super::{Ack, Slack, Timed};
use crate::app::action::Action;
use crate::app::command::Command;
use crate::app::forms::{Form, FormInput};
use crate::app::reply::Reply;

#[derive(Debug, Deserialize)]
struct Id {
    id: String,
}

#[derive(Debug, Deserialize)]
struct BlockActions {
    user: Id,
    #[serde(default)]
    channel: Option<Id>,
    #[serde(default)]
    container: Option<Container>,
    #[serde(default)]
    trigger_id: Option<String>,
    #[serde(default)]
    response_url: Option<String>,
    #[serde(default)]
    actions: Vec<Clicked>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Container {
    channel_id: Option<String>,
    /// Whether the pressed message was the asker's own (ephemeral) answer.
    is_ephemeral: bool,
}

#[derive(Debug, Deserialize)]
struct Clicked {
    action_id: String,
}

#[derive(Debug, Deserialize)]
struct ViewSubmission {
    user: Id,
    view: SubmittedView,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SubmittedView {
    callback_id: Option<String>,
    private_metadata: Option<String>,
    state: modals::ViewState,
}

/// Where to tell the clicker something only they should see.
#[derive(Debug, Clone)]
struct Clicker {
    user: String,
    channel: String,
    response_url: Option<String>,
    /// The outcome replaces the pressed message: the asker's own (ephemeral) answer, never a
    /// card others see.
    replace: bool,
}

/// Handles one interaction payload (the JSON in the form's `payload`, or Socket Mode's).
pub(crate) async fn interaction(slack: &Slack, payload: Value) -> Ack {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Kind {
        #[serde(rename = "type")]
        kind: String,
    }
    let kind = Kind::deserialize(&payload).unwrap_or_default().kind;
    match kind.as_str() {
        "block_actions" => match serde_json::from_value::<BlockActions>(payload) {
            Ok(clicked) => block_actions(slack, clicked).await,
            Err(error) => unreadable(&kind, error),
        },
        "view_submission" => match serde_json::from_value::<ViewSubmission>(payload) {
            Ok(submitted) => view_submission(slack, submitted).await,
            Err(error) => unreadable(&kind, error),
        },
        _ => Ack::Empty,
    }
}

fn unreadable(kind: &str, error: serde_json::Error) -> Ack {
    tracing::warn!(kind, error = %error, "unreadable Slack interaction");
    Ack::Empty
}

async fn block_actions(slack: &Slack, payload: BlockActions) -> Ack {
    let Some(clicked) = payload.actions.into_iter().next() else { return Ack::Empty };
    let replace = payload.container.as_ref().is_some_and(|c| c.is_ephemeral);
    let channel = payload
        .channel
        .map(|c| c.id)
        .or_else(|| payload.container.and_then(|c| c.channel_id))
        .unwrap_or_default();
    let clicker =
        Clicker { user: payload.user.id, channel, response_url: payload.response_url, replace };
    let action_id = clicked.action_id;

    if let Some(form) = action_id.parse::<Action>().ok().and_then(|action| action.form()) {
        let view = modals::action_modal(&action_id, form, &clicker.channel);
        let opened = match payload.trigger_id.as_deref() {
            Some(trigger_id) => {
                slack.api.open_view(trigger_id, &view).await.map_err(|e| format!("{e:?}"))
            }
            None => Err("the click came without a trigger_id".to_string()),
        };
        if let Err(error) = opened {
            tracing::warn!(action_id, error, "could not open a modal");
            let sorry =
                Reply::error("Sorry, the form could not be opened. Please click the button again.");
            tell(slack, &clicker, &Card::from(&sorry)).await;
        }
        return Ack::Empty;
    }

    let worker = slack.clone();
    let work = async move {
        let actor = worker.actor(&clicker.user, &clicker.channel).await;
        let reply = worker.app.act(&actor, &action_id, &HashMap::new()).await;
        tell(&worker, &clicker, &Card::from(&reply)).await;
    };
    // The outcome reaches the clicker through the response_url whether or not it is quick.
    let _ = slack.within_ack(work).await;
    Ack::Empty
}

async fn view_submission(slack: &Slack, payload: ViewSubmission) -> Ack {
    let context =
        ModalContext::decode(payload.view.private_metadata.as_deref().unwrap_or_default());
    let values = modals::submitted_values(&payload.view.state);
    let clicker = Clicker {
        user: payload.user.id,
        channel: context.channel.clone().unwrap_or_default(),
        response_url: None,
        replace: false,
    };
    if payload.view.callback_id.as_deref() == Some(modals::SCOPE_CALLBACK) {
        return submit_scope(slack, clicker, values).await;
    }
    match context.action {
        Some(action_id) => submit_action(slack, clicker, action_id, values).await,
        None => Ack::Empty,
    }
}

/// Completes a button's action with the modal's fields.
async fn submit_action(
    slack: &Slack,
    clicker: Clicker,
    action_id: String,
    values: HashMap<String, String>,
) -> Ack {
    let Some(form) = action_id.parse::<Action>().ok().and_then(|action| action.form()) else {
        let sorry = Reply::error("That form has expired; press the button again.");
        tell(slack, &clicker, &Card::from(&sorry)).await;
        return Ack::Empty;
    };
    let given = match modals::validate(form, &values) {
        Ok((_, given)) => given,
        Err(errors) => return Ack::Json(modals::errors_response(&errors)),
    };
    let worker = slack.clone();
    let who = clicker.clone();
    let work = async move {
        let actor = worker.actor(&who.user, &who.channel).await;
        worker.app.act(&actor, &action_id, &given).await
    };
    let first_field = form.fields().first().map(|f| f.key).unwrap_or("reason");
    finish_submission(slack, clicker, slack.within_ack(work).await, first_field)
}

/// Opens a scoping ticket from the `/scope` modal, its description kept whole.
async fn submit_scope(slack: &Slack, clicker: Clicker, values: HashMap<String, String>) -> Ack {
    let command = match modals::validate(Form::ScopeRequest, &values) {
        Ok((FormInput::ScopeRequest { description, deal }, _)) => {
            Command::Scope { description, deal }
        }
        Ok(_) => return Ack::Empty,
        Err(errors) => return Ack::Json(modals::errors_response(&errors)),
    };
    let worker = slack.clone();
    let who = clicker.clone();
    let work = async move {
        let actor = worker.actor(&who.user, &who.channel).await;
        worker.app.run(&actor, command).await
    };
    finish_submission(slack, clicker, slack.within_ack(work).await, "description")
}

/// A refusal keeps the modal open with the reason under `field`; success closes it and tells the
/// submitter the outcome.
fn finish_submission(slack: &Slack, clicker: Clicker, outcome: Timed<Reply>, field: &str) -> Ack {
    let refusal = |message: &str| {
        let errors = HashMap::from([(field.to_string(), message.to_string())]);
        Ack::Json(modals::errors_response(&errors))
    };
    match outcome {
        Timed::Ready(reply) if reply.is_error() => refusal(&reply.headline),
        Timed::Ready(reply) => {
            let worker = slack.clone();
            tokio::spawn(async move { tell(&worker, &clicker, &Card::from(&reply)).await });
            Ack::Empty
        }
        Timed::Late(task) => {
            let worker = slack.clone();
            tokio::spawn(async move {
                if let Ok(reply) = task.await {
                    tell(&worker, &clicker, &Card::from(&reply)).await;
                }
            });
            Ack::Empty
        }
        Timed::Failed => {
            refusal("Sorry, something went wrong on our side. Please try again in a moment.")
        }
    }
}

/// Shows `card` to the clicker: through the interaction's `response_url` when there is one,
/// otherwise ephemerally in their channel, otherwise in a direct message.
async fn tell(slack: &Slack, clicker: &Clicker, card: &Card) {
    let sent = match (&clicker.response_url, clicker.channel.is_empty()) {
        (Some(url), _) => slack.api.respond(url, &card.response_replacing(clicker.replace)).await,
        (None, false) if card.private || card.is_error() => {
            slack.api.post_ephemeral(&clicker.channel, &clicker.user, &card.message()).await
        }
        (None, false) => {
            slack.api.post_message(&clicker.channel, &card.message(), None).await.map(|_| ())
        }
        (None, true) => {
            slack.api.post_message(&clicker.user, &card.message(), None).await.map(|_| ())
        }
    };
    if let Err(error) = sent {
        tracing::warn!(user = clicker.user, error = ?error, "could not show an interaction's outcome");
    }
}
