//! A reply's chart in Slack: drawn once to PNG, uploaded with the three-step external upload,
//! and shown in an image block (`slack_file` by id): for a command, posted after the answer the
//! same way the answer went (ephemeral to the asker on the command's `response_url`); for an
//! outbox message (the weekly digest), shared in its channel and shown in the message itself.
//!
//! A command's chart is uploaded once (`ChartFiles`): sellers ask about the same few packages
//! all day, and the same data draw the same chart, so a chart uploaded before is shown again by
//! its file id, in the answer itself, without a second upload. While one upload is under way,
//! other answers with that chart wait for it rather than upload it again; after a failed upload
//! the chart is left out for `RETRY_FAILED_AFTER` instead of every answer trying again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::OnceCell;

use super::web_api::WebApi;
use crate::app::delivery::DeliveryError;
use crate::chart::{render_png, Chart};

/// The uploaded file's name (Slack shows it on the file).
pub(crate) const FILENAME: &str = "chart.png";

/// How long a chart uploaded for an answer is shown again by its file id, without a new upload.
pub(crate) const SHOW_UPLOADED_FOR: Duration = Duration::from_secs(60 * 60);
/// How long a chart whose upload failed is left out of answers before one tries again.
pub(crate) const RETRY_FAILED_AFTER: Duration = Duration::from_secs(30);
/// How many charts are remembered.
const CHARTS_KEPT: usize = 256;

/// The charts uploaded (or being uploaded) for command answers, by title, each with what it
/// shows: two charts are one only when equal in every part (compared, where writing each out
/// as JSON to look it up was a thirtieth of a served /comparables). The replies of one
/// remembered answer share its chart, which is then known equal without comparing its parts.
#[derive(Default)]
pub(crate) struct ChartFiles {
    kept: Mutex<Kept>,
}

/// The charts kept, by title (foldhash: a title is looked up on every answer with a chart).
type Kept = HashMap<String, Vec<(Arc<Chart>, Upload)>, foldhash::fast::RandomState>;

/// Whether `kept` is `chart`: the same one shared, or equal in every part.
fn same(kept: &Arc<Chart>, chart: &Arc<Chart>) -> bool {
    Arc::ptr_eq(kept, chart) || kept == chart
}

/// One chart's upload: when it began, and its file id once done (`None`: it failed).
struct Upload {
    began: Instant,
    file: Arc<OnceCell<Option<String>>>,
}

impl Upload {
    /// Whether this upload still decides how its chart is shown at `now`.
    fn current(&self, now: Instant) -> bool {
        let age = now.saturating_duration_since(self.began);
        match self.file.get() {
            None => true,
            Some(Some(_)) => age < SHOW_UPLOADED_FOR,
            Some(None) => age < RETRY_FAILED_AFTER,
        }
    }
}

/// How an answer shows its chart.
pub(crate) enum Shown {
    /// In the answer itself: the chart was uploaded before, as this file.
    File(String),
    /// After the answer, once this upload (this answer's or one under way) is done
    /// (`follow_with_chart`).
    AfterUpload(Arc<OnceCell<Option<String>>>),
    /// Not at all: its last upload failed moments ago.
    Left,
}

impl ChartFiles {
    /// Forgets `chart`'s upload: a message showing its file was refused.
    pub(crate) fn forget(&self, chart: &Arc<Chart>) {
        let mut kept = self.kept();
        if let Some(same_title) = kept.get_mut(chart.title()) {
            same_title.retain(|(kept, _)| !same(kept, chart));
            if same_title.is_empty() {
                kept.remove(chart.title());
            }
        }
    }

    /// How an answer at `now` shows `chart`.
    pub(crate) fn show(&self, chart: &Arc<Chart>, now: Instant) -> Shown {
        let mut kept = self.kept();
        let upload = kept
            .get(chart.title())
            .and_then(|same_title| same_title.iter().find(|(kept, _)| same(kept, chart)))
            .map(|(_, upload)| upload)
            .filter(|upload| upload.current(now));
        if let Some(upload) = upload {
            return match upload.file.get() {
                Some(Some(file)) => Shown::File(file.clone()),
                Some(None) => Shown::Left,
                None => Shown::AfterUpload(upload.file.clone()),
            };
        }
        let count = |kept: &Kept| -> usize { kept.values().map(Vec::len).sum() };
        if count(&kept) >= CHARTS_KEPT {
            kept.retain(|_, same_title| {
                same_title.retain(|(_, upload)| upload.current(now));
                !same_title.is_empty()
            });
            if count(&kept) >= CHARTS_KEPT {
                kept.clear();
            }
        }
        let file = Arc::new(OnceCell::new());
        let same_title = kept.entry(chart.title().to_string()).or_default();
        // This chart's upload that no longer decides (done long ago, or failed) is replaced.
        same_title.retain(|(kept, _)| !same(kept, chart));
        same_title.push((chart.clone(), Upload { began: now, file: file.clone() }));
        Shown::AfterUpload(file)
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Posts `chart` on `response_url` once `upload` is done: this call uploads it (drawn, private
/// to the app) unless another answer's call already is, in which case it waits for that one.
pub(crate) async fn respond_with_chart(
    api: &WebApi,
    response_url: &str,
    chart: Arc<Chart>,
    upload: &OnceCell<Option<String>>,
    private: bool,
) -> Result<(), DeliveryError> {
    let title = chart.title().to_string();
    let file = upload
        .get_or_init(|| async {
            match upload_chart(api, chart).await {
                Ok(file) => Some(file),
                Err(error) => {
                    tracing::warn!(error = ?error, "could not upload an answer's chart");
                    None
                }
            }
        })
        .await;
    match file {
        Some(file) => api.respond(response_url, &image_message(file, &title, private)).await,
        // Said once, by the call that uploaded; the answer stands without its picture.
        None => Ok(()),
    }
}

/// Draws `chart` and uploads it, private to the app; its file id.
async fn upload_chart(api: &WebApi, chart: Arc<Chart>) -> Result<String, DeliveryError> {
    let title = chart.title().to_string();
    let png = draw(chart).await?;
    api.upload_file(FILENAME, &title, png, None).await
}

/// Slack's limit of blocks in one message.
const BLOCKS_MAX: usize = 50;

/// Adds an image block showing the uploaded `file` of `chart` to a command's answer, above its
/// buttons; false (the answer unchanged) when the answer has no room for another block.
pub(crate) fn show_in_answer(answer: &mut Value, file: &str, chart: &Chart) -> bool {
    let block = image_block(file, chart.title());
    let Some(blocks) = answer["blocks"].as_array_mut() else {
        answer["blocks"] = json!([block]);
        return true;
    };
    if blocks.len() >= BLOCKS_MAX {
        return false;
    }
    let at = blocks.iter().position(|b| b["type"] == "actions").unwrap_or(blocks.len());
    blocks.insert(at, block);
    true
}

/// Uploads `chart` (shared in `channel` when given) and adds an image block showing it to a
/// `chat.postMessage` / `chat.update` body: how an outbox message carries its chart.
pub(crate) async fn add_chart(
    api: &WebApi,
    body: &mut Value,
    chart: Arc<Chart>,
    channel: Option<&str>,
) -> Result<(), DeliveryError> {
    let title = chart.title().to_string();
    let png = draw(chart).await?;
    let file_id = api.upload_file(FILENAME, &title, png, channel).await?;
    let block = image_block(&file_id, &title);
    match body["blocks"].as_array_mut() {
        Some(blocks) => blocks.push(block),
        None => body["blocks"] = json!([block]),
    }
    Ok(())
}

/// The PNG, drawn off the async threads (it is CPU work).
async fn draw(chart: Arc<Chart>) -> Result<Vec<u8>, DeliveryError> {
    tokio::task::spawn_blocking(move || render_png(&chart))
        .await
        .map_err(|error| DeliveryError::Permanent(format!("drawing the chart: {error}")))?
        .map_err(|error| DeliveryError::Permanent(error.to_string()))
}

/// A message of one image block showing the uploaded file `file_id`, added below the answer.
pub(crate) fn image_message(file_id: &str, title: &str, private: bool) -> Value {
    json!({
        "response_type": if private { "ephemeral" } else { "in_channel" },
        "replace_original": false,
        "text": clip(title, 2000),
        "blocks": [image_block(file_id, title)],
    })
}

/// An image block showing the uploaded file `file_id` (by id: no public URL).
fn image_block(file_id: &str, title: &str) -> Value {
    let title = clip(title, 2000);
    json!({
        "type": "image",
        "slack_file": { "id": file_id },
        "alt_text": title,
        "title": { "type": "plain_text", "text": title },
    })
}

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new chart each call: equal to the last one of its title, not the same one.
    fn chart(title: &str) -> Arc<Chart> {
        let histogram = crate::chart::Histogram::of_durations(title, "weeks", &[70, 84, 85]);
        Arc::new(Chart::Histogram(histogram.expect("durations")))
    }

    #[tokio::test]
    async fn a_chart_is_uploaded_once_and_then_shown_by_its_file() {
        let files = ChartFiles::default();
        let now = Instant::now();
        let Shown::AfterUpload(first) = files.show(&chart("A"), now) else { panic!("first") };
        // Under way: another answer waits for the same upload.
        let Shown::AfterUpload(same) = files.show(&chart("A"), now) else { panic!("waits") };
        assert!(Arc::ptr_eq(&first, &same));
        first.set(Some("F1".into())).unwrap();
        let later = now + Duration::from_secs(60);
        assert!(matches!(files.show(&chart("A"), later), Shown::File(f) if f == "F1"));
        // The one shared by the replies of a remembered answer is the same chart.
        let shared = chart("C");
        let Shown::AfterUpload(upload) = files.show(&shared, later) else { panic!("new") };
        upload.set(Some("F3".into())).unwrap();
        assert!(matches!(files.show(&shared.clone(), later), Shown::File(f) if f == "F3"));
        // Another chart is its own upload, under another title or the same one.
        assert!(matches!(files.show(&chart("B"), later), Shown::AfterUpload(_)));
        let Chart::Histogram(mut other) = Chart::clone(&chart("A")) else { panic!("a histogram") };
        other.buckets[0].count += 1;
        let other = Arc::new(Chart::Histogram(other));
        let Shown::AfterUpload(second) = files.show(&other, later) else { panic!("its own") };
        second.set(Some("F2".into())).unwrap();
        assert!(matches!(files.show(&chart("A"), later), Shown::File(f) if f == "F1"));
        // A file refused since is forgotten: that chart alone is uploaded again.
        files.forget(&chart("A"));
        assert!(matches!(files.show(&chart("A"), later), Shown::AfterUpload(_)));
        assert!(matches!(files.show(&other, later), Shown::File(f) if f == "F2"));
        // After an hour the file is not relied on any more: uploaded again.
        let hour = now + SHOW_UPLOADED_FOR;
        assert!(matches!(files.show(&chart("A"), hour), Shown::AfterUpload(_)));
    }

    #[tokio::test]
    async fn a_failed_upload_leaves_the_chart_out_for_a_while_then_tries_again() {
        let files = ChartFiles::default();
        let now = Instant::now();
        let Shown::AfterUpload(upload) = files.show(&chart("A"), now) else { panic!() };
        upload.set(None).unwrap();
        assert!(matches!(files.show(&chart("A"), now + Duration::from_secs(1)), Shown::Left));
        let again = now + RETRY_FAILED_AFTER;
        let Shown::AfterUpload(retry) = files.show(&chart("A"), again) else { panic!("retry") };
        assert!(!Arc::ptr_eq(&upload, &retry), "a new upload");
    }

    #[test]
    fn the_image_goes_above_the_buttons() {
        let mut answer = json!({ "blocks": [{ "type": "header" }, { "type": "actions" }] });
        assert!(show_in_answer(&mut answer, "F1", &chart("How long")));
        let types: Vec<&str> = answer["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["header", "image", "actions"]);
        assert_eq!(answer["blocks"][1]["slack_file"]["id"], "F1");
        // A message already at Slack's 50 blocks is left as it is.
        let full: Vec<Value> = (0..BLOCKS_MAX).map(|_| json!({ "type": "section" })).collect();
        let mut answer = json!({ "blocks": full });
        assert!(!show_in_answer(&mut answer, "F1", &chart("How long")));
        assert_eq!(answer["blocks"].as_array().unwrap().len(), BLOCKS_MAX);
    }

    #[test]
    fn the_image_block_names_the_uploaded_file_by_id() {
        let message = image_message("F0CHART", "How long 38 projects took", true);
        assert_eq!(message["response_type"], "ephemeral");
        assert_eq!(message["replace_original"], false);
        let block = &message["blocks"][0];
        assert_eq!(block["type"], "image");
        assert_eq!(block["slack_file"], json!({ "id": "F0CHART" }));
        assert_eq!(block["alt_text"], "How long 38 projects took");
        assert!(block.get("image_url").is_none(), "a slack_file, not a public URL");
        assert_eq!(image_message("F1", "t", false)["response_type"], "in_channel");
    }
}
