//! Slash commands: `/earliest-start crm-rollout` becomes the command line the app parses, run as
//! the user who typed it in their channel. The answer goes back inline when it is ready within
//! the acknowledgement window (`SlackSettings::ack_within`); otherwise Slack is acknowledged at once and the answer follows on the command's
//! `response_url`. A chart uploaded before is shown in the answer itself; a new one follows the
//! answer on the `response_url` once uploaded (`charts`).
//! `/scope` without a description opens a modal instead.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use super::blocks::Card;
use super::web_api::WebApi;
use super::{charts, modals, Ack, Slack, Timed};
use crate::app::reply::Reply;
use crate::chart::Chart;

/// A slash command as Slack sends it (a form over HTTP, read field by field in `http`; a JSON
/// object in Socket Mode): the fields the bot reads, borrowed from the body where nothing in them
/// was escaped. Slack's others (`team_domain`, `channel_name`, `api_app_id`, …) are passed by,
/// and the `response_url` stays text until an answer is posted to it: decoding slack-morphism's
/// `SlackCommandEvent`, every field owned and the URL parsed, was a twentieth of a served
/// command's CPU. A command missing one of the required fields is refused (400), as before.
#[derive(Debug, Deserialize)]
pub(crate) struct SlashCommand<'a> {
    #[serde(borrow)]
    pub(super) command: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(super) text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) user_id: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) channel_id: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) response_url: Encoded<'a>,
    #[serde(borrow)]
    pub(super) trigger_id: Cow<'a, str>,
}

/// A field's text as it came: decoded already (Socket Mode's JSON), or still form-encoded, as
/// its `name=value` pair in the body, decoded only when it is used. A command's `response_url`
/// is used only by an answer that misses the acknowledgement window or a chart that follows its
/// answer; decoding it for every command (a hundred escaped characters into a new string) was
/// most of reading the command's fields.
#[derive(Debug)]
pub(crate) enum Encoded<'a> {
    Text(Cow<'a, str>),
    /// A form's whole `name=value` pair.
    FormPair(&'a [u8]),
}

impl Encoded<'_> {
    /// The text, decoded as a form parser would decode it.
    pub(crate) fn decoded(&self) -> String {
        match self {
            Encoded::Text(text) => text.to_string(),
            Encoded::FormPair(pair) => super::http::pair_value(pair).into_owned(),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Encoded<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Encoded::Text(Cow::Owned(String::deserialize(deserializer)?)))
    }
}

/// Answers one slash command.
pub(crate) async fn command(slack: &Slack, command: SlashCommand<'_>) -> Ack {
    let name = command.command.trim();
    let text = command.text.as_deref().unwrap_or_default().trim();
    let user = command.user_id.into_owned();
    let channel = command.channel_id.into_owned();

    if name == "/scope" && text.is_empty() {
        // Boxed: the call's future is large, and would otherwise make every command's larger.
        let modal = modals::scope_modal(&channel);
        match Box::pin(slack.api.open_view(&command.trigger_id, &modal)).await {
            Ok(()) => return Ack::Empty,
            // Without the modal, the app explains what /scope needs.
            Err(error) => tracing::warn!(error = ?error, "could not open the /scope modal"),
        }
    }

    // Both are trimmed already: joined by one space when both have words.
    let line = match (name.is_empty(), text.is_empty()) {
        (_, true) => name.to_string(),
        (true, false) => text.to_string(),
        (false, false) => format!("{name} {text}"),
    };
    let worker = slack.clone();
    let answer = async move {
        let actor = worker.actor(&user, &channel).await;
        worker.app.ask(&actor, &line).await
    };
    match slack.within_ack(answer).await {
        Timed::Ready(reply) => {
            // A chart uploaded before shows in the answer; a new one cannot hold the answer up
            // for its upload, so it follows.
            let shown = reply.chart.as_ref().map(|chart| slack.charts.show(chart, Instant::now()));
            let file = match &shown {
                Some(charts::Shown::File(file)) => Some(file.as_str()),
                _ => None,
            };
            let (response, inline) = slack.responses.response(&reply, file);
            if let (Some(shown), Some(chart)) = (shown, reply.chart) {
                if let Some(upload) = to_follow(shown, inline) {
                    let (api, response_url) = (slack.api.clone(), command.response_url.decoded());
                    tokio::spawn(async move {
                        follow_with_chart(&api, &response_url, chart, &upload, reply.private).await;
                    });
                }
            }
            Ack::Response(response)
        }
        Timed::Late(task) => {
            let (worker, response_url) = (slack.clone(), command.response_url.decoded());
            tokio::spawn(async move {
                let Ok(reply) = task.await else { return };
                late_answer(&worker, &response_url, reply).await;
            });
            Ack::Json(working_on_it())
        }
        Timed::Failed => Ack::Json(apology()),
    }
}

/// Posts an answer that missed the acknowledgement window on the command's `response_url`,
/// then its chart when it could not be shown in it.
async fn late_answer(slack: &Slack, response_url: &str, reply: Reply) {
    let card = Card::from(&reply);
    let mut response = card.response();
    let shown = reply.chart.as_ref().map(|chart| slack.charts.show(chart, Instant::now()));
    let inline = match (&shown, &reply.chart) {
        (Some(charts::Shown::File(file)), Some(chart)) => {
            charts::show_in_answer(&mut response, file, chart)
        }
        _ => false,
    };
    let mut posted = slack.api.respond(response_url, &response).await;
    if let (Err(_), true, Some(chart)) = (&posted, inline, &reply.chart) {
        // Refused with the image (a file deleted since?): the answer without it.
        slack.charts.forget(chart);
        posted = slack.api.respond(response_url, &card.response()).await;
    }
    if let Err(error) = posted {
        tracing::warn!(error = ?error, "could not post a late answer to the response_url");
        return;
    }
    if let (Some(shown), Some(chart)) = (shown, reply.chart) {
        if let Some(upload) = to_follow(shown, inline) {
            follow_with_chart(&slack.api, response_url, chart, &upload, reply.private).await;
        }
    }
}

/// The upload a chart follows the answer from, when it is not in the answer (`inline`): the
/// file uploaded before when the answer had no room for it, the upload under way or to make;
/// none while a failed upload's pause lasts.
fn to_follow(shown: charts::Shown, inline: bool) -> Option<Arc<OnceCell<Option<String>>>> {
    match shown {
        charts::Shown::File(_) if inline => None,
        // No room for the image: it follows, from the same file.
        charts::Shown::File(file) => Some(Arc::new(OnceCell::new_with(Some(Some(file))))),
        charts::Shown::AfterUpload(upload) => Some(upload),
        charts::Shown::Left => {
            tracing::debug!("an answer's chart is left out: its upload failed moments ago");
            None
        }
    }
}

/// Posts the answer's chart after it; a failure loses only the picture (logged).
async fn follow_with_chart(
    api: &WebApi,
    response_url: &str,
    chart: Arc<Chart>,
    upload: &OnceCell<Option<String>>,
    private: bool,
) {
    if let Err(error) = charts::respond_with_chart(api, response_url, chart, upload, private).await
    {
        tracing::warn!(error = ?error, "could not show an answer's chart");
    }
}

/// The acknowledgement when the answer will follow on the `response_url`.
fn working_on_it() -> Value {
    json!({ "response_type": "ephemeral", "text": "Working on it…" })
}

/// What a seller sees when the answer could not be computed at all (the cause is logged).
pub(crate) fn apology() -> Value {
    json!({ "response_type": "ephemeral", "text": "Sorry, something went wrong on our side. Please try again in a moment." })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slash_command_is_read_from_socket_modes_json() {
        let json = json!({"command": "/included", "text": "sso & saml", "user_id": "U2",
            "channel_id": "C2", "response_url": "https://hooks.slack.com/2", "trigger_id": "t.2",
            "team_id": "T1", "api_app_id": "A1"});
        let command = SlashCommand::deserialize(&json).unwrap();
        assert_eq!((&*command.command, command.text.as_deref()), ("/included", Some("sso & saml")));
        assert_eq!((&*command.user_id, &*command.channel_id), ("U2", "C2"));
        assert_eq!(
            (command.response_url.decoded().as_str(), &*command.trigger_id),
            ("https://hooks.slack.com/2", "t.2")
        );
        // Without text (`/help`).
        let mut help = json.clone();
        help.as_object_mut().unwrap().remove("text");
        assert_eq!(SlashCommand::deserialize(&help).unwrap().text, None);
        // A payload missing a field every command has is not a slash command.
        for missing in ["command", "user_id", "channel_id", "response_url", "trigger_id"] {
            let mut payload = json.clone();
            payload.as_object_mut().unwrap().remove(missing);
            assert!(SlashCommand::deserialize(&payload).is_err(), "without {missing}");
        }
    }
}
