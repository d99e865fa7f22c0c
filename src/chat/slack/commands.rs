//! Slash commands: `/earliest-start crm-rollout` becomes the command line the app parses, run as
//! the user who typed it in their channel. The answer goes back inline when it is ready within
//! the acknowledgement window (`SlackSettings::ack_within`); otherwise Slack is acknowledged at once and the answer follows on the command's
//! `response_url`. A chart uploaded before is shown in the answer itself; a new one follows the
//! answer on the `response_url` once uploaded (`charts`).
//! `/scope` without a description opens a modal instead.

use std::sync::Arc;

use serde_json::{json, Value};
use slack_morphism::prelude::SlackCommandEvent;
use tokio::sync::OnceCell;

use super::blocks::Card;
use super::web_api::WebApi;
use super::{charts, modals, Ack, Slack, Timed};
use crate::chart::Chart;

/// Answers one slash command.
pub(crate) async fn command(slack: &Slack, command: SlackCommandEvent) -> Ack {
    let name = command.command.0.trim().to_string();
    let text = command.text.unwrap_or_default();
    let user = command.user_id.0;
    let channel = command.channel_id.0;
    let response_url = command.response_url.0.to_string();

    if name == "/scope" && text.trim().is_empty() {
        match slack.api.open_view(&command.trigger_id.0, &modals::scope_modal(&channel)).await {
            Ok(()) => return Ack::Empty,
            // Without the modal, the app explains what /scope needs.
            Err(error) => tracing::warn!(error = ?error, "could not open the /scope modal"),
        }
    }

    let line = format!("{name} {}", text.trim()).trim().to_string();
    let worker = slack.clone();
    let answer = async move {
        let actor = worker.actor(&user, &channel).await;
        Card::from(&worker.app.ask(&actor, &line).await)
    };
    match slack.within_ack(answer).await {
        Timed::Ready(card) => {
            let mut response = card.response();
            // A chart uploaded before shows in the answer; a new one cannot hold the answer up
            // for its upload, so it follows.
            if let Some(chart) = card.chart {
                show_chart(slack, &mut response, response_url, chart, card.private);
            }
            Ack::Json(response)
        }
        Timed::Late(task) => {
            let worker = slack.clone();
            tokio::spawn(async move {
                let Ok(mut card) = task.await else { return };
                let mut response = card.response();
                let (mut inline, mut follow) = (None, None);
                if let Some(chart) = card.chart.take() {
                    match show_or_follow(&worker, &mut response, chart) {
                        Ok(shown) => inline = Some(shown),
                        Err(later) => follow = later,
                    }
                }
                let mut posted = worker.api.respond(&response_url, &response).await;
                if let (Err(_), Some(chart)) = (&posted, &inline) {
                    // Refused with the image (a file deleted since?): the answer without it.
                    worker.charts.forget(chart);
                    posted = worker.api.respond(&response_url, &card.response()).await;
                }
                if let Err(error) = posted {
                    tracing::warn!(error = ?error, "could not post a late answer to the response_url");
                    return;
                }
                if let Some((chart, upload)) = follow {
                    follow_with_chart(&worker.api, &response_url, chart, &upload, card.private)
                        .await;
                }
            });
            Ack::Json(working_on_it())
        }
        Timed::Failed => Ack::Json(apology()),
    }
}

/// What follows an answer to show its chart: the chart and its upload.
type Follow = (Chart, Arc<OnceCell<Option<String>>>);

/// Shows `chart` in `response` when it was uploaded before and the answer has room (`Ok`, with
/// the chart shown); otherwise what must follow the answer, if anything (`Err`: nothing while a
/// failed upload's pause lasts).
fn show_or_follow(
    slack: &Slack,
    response: &mut Value,
    chart: Chart,
) -> Result<Chart, Option<Follow>> {
    match slack.charts.show(&chart, std::time::Instant::now()) {
        charts::Shown::File(file) if charts::show_in_answer(response, &file, &chart) => Ok(chart),
        // No room for the image: it follows, from the same file.
        charts::Shown::File(file) => {
            Err(Some((chart, Arc::new(OnceCell::new_with(Some(Some(file)))))))
        }
        charts::Shown::AfterUpload(upload) => Err(Some((chart, upload))),
        charts::Shown::Left => {
            tracing::debug!("an answer's chart is left out: its upload failed moments ago");
            Err(None)
        }
    }
}

/// Shows an inline answer's chart: in `response` when it was uploaded before, else after the
/// answer once uploaded (or not at all while a failed upload's pause lasts).
fn show_chart(
    slack: &Slack,
    response: &mut Value,
    response_url: String,
    chart: Chart,
    private: bool,
) {
    if let Err(Some((chart, upload))) = show_or_follow(slack, response, chart) {
        let api = slack.api.clone();
        tokio::spawn(async move {
            follow_with_chart(&api, &response_url, chart, &upload, private).await;
        });
    }
}

/// Posts the answer's chart after it; a failure loses only the picture (logged).
async fn follow_with_chart(
    api: &WebApi,
    response_url: &str,
    chart: Chart,
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
