//! A reply's chart in Slack: drawn once to PNG, uploaded with the three-step external upload,
//! and shown in an image block (`slack_file` by id): for a command, posted after the answer the
//! same way the answer went (ephemeral to the asker on the command's `response_url`); for an
//! outbox message (the weekly digest), shared in its channel and shown in the message itself.

use serde_json::{json, Value};

use super::web_api::WebApi;
use crate::app::delivery::DeliveryError;
use crate::chart::{render_png, Chart};

/// The uploaded file's name (Slack shows it on the file).
pub(crate) const FILENAME: &str = "chart.png";

/// Draws `chart`, uploads it (private to the app) and posts it on `response_url`.
pub(crate) async fn respond_with_chart(
    api: &WebApi,
    response_url: &str,
    chart: Chart,
    private: bool,
) -> Result<(), DeliveryError> {
    let title = chart.title().to_string();
    let png = draw(chart).await?;
    let file_id = api.upload_file(FILENAME, &title, png, None).await?;
    api.respond(response_url, &image_message(&file_id, &title, private)).await
}

/// Uploads `chart` (shared in `channel` when given) and adds an image block showing it to a
/// `chat.postMessage` / `chat.update` body: how an outbox message carries its chart.
pub(crate) async fn add_chart(
    api: &WebApi,
    body: &mut Value,
    chart: Chart,
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
async fn draw(chart: Chart) -> Result<Vec<u8>, DeliveryError> {
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
