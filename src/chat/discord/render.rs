//! `Reply` → Discord: an embed (headline as title, body, facts as inline fields, context as
//! footer) and buttons whose `custom_id` is the action id; modals for actions that need input.
//! Discord's length limits are applied here so a long answer is cut, not refused.

use serenity::all::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed,
    CreateEmbedFooter, CreateInputText, CreateInteractionResponseMessage, CreateMessage,
    CreateModal, EditInteractionResponse, EditMessage, InputTextStyle, UserId,
};

use super::commands::truncate;
use crate::app::forms::Form;
use crate::app::reply::{ActionStyle, Reply};
use crate::app::text;

/// The `custom_id` of the modal `/scope` opens when no description is typed.
pub const SCOPE_MODAL: &str = "/scope";

const ERROR_COLOUR: u32 = 0xE0_4B_4B;
const ANSWER_COLOUR: u32 = 0x58_65_F2;

/// The parts of a reply that are drawn, from a `Reply` or from the outbox's JSON copy of one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplyView {
    pub is_error: bool,
    pub private: bool,
    pub headline: String,
    pub body: String,
    pub facts: Vec<(String, String)>,
    pub context: Vec<String>,
    pub actions: Vec<(String, String, ActionStyle)>,
    /// The users the bot itself mentions: the only ones a message may notify.
    pub mentions: Vec<String>,
}

/// Text for a place Discord renders markdown: the bot's markup converted, a person's escaped.
fn marked_down(text: &str) -> String {
    text::render(text, markdown, text::discord_escape)
}

impl From<&Reply> for ReplyView {
    fn from(reply: &Reply) -> Self {
        let mut mentions = text::bot_mentions(&reply.headline);
        mentions.extend(text::bot_mentions(&reply.body));
        ReplyView {
            is_error: reply.is_error(),
            private: reply.private,
            // Titles and footers are plain text on Discord: nothing in them is parsed.
            headline: text::plain(&reply.headline),
            body: marked_down(&reply.body),
            facts: reply
                .facts
                .iter()
                .map(|(label, value)| (text::plain(label), marked_down(value)))
                .collect(),
            context: reply.context.iter().map(|line| text::plain(line)).collect(),
            actions: reply
                .actions
                .iter()
                .map(|a| (a.action.to_string(), text::plain(&a.label), a.style))
                .collect(),
            mentions,
        }
    }
}

impl ReplyView {
    /// Only the asker sees it: private answers, and every refusal.
    pub fn ephemeral(&self) -> bool {
        self.private || self.is_error
    }
}

/// The embed: Discord allows a 256-character title, 4096 description, 25 fields, 2048 footer.
pub fn embed(view: &ReplyView) -> CreateEmbed {
    let colour = if view.is_error { ERROR_COLOUR } else { ANSWER_COLOUR };
    let mut embed = CreateEmbed::new().colour(colour);
    if !view.headline.is_empty() {
        embed = embed.title(truncate(&view.headline, 256));
    }
    if !view.body.is_empty() {
        embed = embed.description(truncate(&view.body, 4096));
    } else if view.headline.is_empty() {
        embed = embed.description("(no answer)");
    }
    for (label, value) in view.facts.iter().take(25) {
        let value = if value.trim().is_empty() { "—" } else { value };
        embed = embed.field(truncate(label, 256), truncate(value, 1024), true);
    }
    if !view.context.is_empty() {
        embed = embed.footer(CreateEmbedFooter::new(truncate(&view.context.join("\n"), 2048)));
    }
    embed
}

/// Buttons, five to a row, at most five rows.
pub fn components(view: &ReplyView) -> Vec<CreateActionRow> {
    let buttons: Vec<CreateButton> = view
        .actions
        .iter()
        .filter(|(id, _, _)| !id.is_empty() && id.len() <= 100)
        .map(|(id, label, style)| {
            let style = match style {
                ActionStyle::Primary => ButtonStyle::Primary,
                ActionStyle::Danger => ButtonStyle::Danger,
                ActionStyle::Default => ButtonStyle::Secondary,
            };
            CreateButton::new(id.clone()).label(truncate(label, 80)).style(style)
        })
        .collect();
    buttons.chunks(5).take(5).map(|row| CreateActionRow::Buttons(row.to_vec())).collect()
}

/// An interaction response message (type 4), ephemeral when it should be.
pub fn response_message(view: &ReplyView) -> CreateInteractionResponseMessage {
    let message = CreateInteractionResponseMessage::new()
        .embed(embed(view))
        .ephemeral(view.ephemeral())
        .allowed_mentions(allowed_mentions(view));
    let rows = components(view);
    if rows.is_empty() {
        message
    } else {
        message.components(rows)
    }
}

/// The pressed message's new content: the outcome, with only its own buttons (none left from the
/// answer that was pressed).
pub fn update_message(view: &ReplyView) -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new()
        .embed(embed(view))
        .components(components(view))
        .allowed_mentions(allowed_mentions(view))
}

/// The edit of a deferred response's original message.
pub fn edit_original(view: &ReplyView) -> EditInteractionResponse {
    EditInteractionResponse::new()
        .embed(embed(view))
        .components(components(view))
        .allowed_mentions(allowed_mentions(view))
}

/// The edit of a deferred response with an image attached as `filename` (multipart `files[0]`):
/// the embed shows it (`attachment://filename`) and `attachments` names it as id 0.
pub fn edit_original_with_image(view: &ReplyView, filename: &str) -> serde_json::Value {
    let edit = EditInteractionResponse::new()
        .embed(embed(view).image(format!("attachment://{filename}")))
        .components(components(view))
        .allowed_mentions(allowed_mentions(view));
    let mut payload = serde_json::to_value(edit).unwrap_or_else(|error| {
        tracing::error!(error = %error, "could not serialise a response edit");
        serde_json::json!({})
    });
    payload["attachments"] = serde_json::json!([{ "id": 0, "filename": filename }]);
    payload
}

/// The name a chart is attached under, and shown by in the embed.
pub const CHART_FILENAME: &str = "chart.png";

/// A message (a create or an edit) whose embed shows the attached file `filename` (id 0), as
/// the `payload_json` of a multipart request.
pub fn with_image(message: &impl serde::Serialize, filename: &str) -> serde_json::Value {
    let mut payload = serde_json::to_value(message).unwrap_or_else(|error| {
        tracing::error!(error = %error, "could not serialise a message");
        serde_json::json!({})
    });
    if let Some(embed) = payload["embeds"].get_mut(0) {
        embed["image"] = serde_json::json!({ "url": format!("attachment://{filename}") });
    }
    payload["attachments"] = serde_json::json!([{ "id": 0, "filename": filename }]);
    payload
}

/// Nobody is notified but the users the bot itself mentions: never `@everyone`, a role, or
/// whoever a person's text names.
pub fn allowed_mentions(view: &ReplyView) -> CreateAllowedMentions {
    let users = view.mentions.iter().filter_map(|id| id.parse::<u64>().ok()).map(UserId::new);
    // `parse` stays empty: no everyone, no roles, no users by the text alone.
    CreateAllowedMentions::new().users(users)
}

/// A new channel message (delivery adds the nonce).
pub fn create_message(view: &ReplyView) -> CreateMessage {
    CreateMessage::new()
        .embed(embed(view))
        .components(components(view))
        .allowed_mentions(allowed_mentions(view))
}

/// An edit in place; an empty component list removes buttons once a card is decided.
pub fn edit_message(view: &ReplyView) -> EditMessage {
    EditMessage::new()
        .embed(embed(view))
        .components(components(view))
        .allowed_mentions(allowed_mentions(view))
}

/// The modal a form is shown as; its `custom_id` is what the submission completes (the action's
/// wire form, or `/scope`).
pub fn form_modal(custom_id: &str, form: Form) -> CreateModal {
    let rows = form
        .fields()
        .iter()
        .map(|field| {
            let style =
                if field.multiline() { InputTextStyle::Paragraph } else { InputTextStyle::Short };
            CreateActionRow::InputText(
                CreateInputText::new(style, truncate(field.label, 45), field.key)
                    .required(field.required),
            )
        })
        .collect();
    CreateModal::new(custom_id, truncate(form.title(), 45)).components(rows)
}

/// The modal `/scope` opens: the description, and optionally the deal.
pub fn scope_modal() -> CreateModal {
    form_modal(SCOPE_MODAL, Form::ScopeRequest)
}

/// The app writes Slack-style `*bold*`; Discord reads single asterisks as italics.
pub fn markdown(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in chars.iter().enumerate() {
        let single = *c == '*' && chars.get(i + 1) != Some(&'*') && (i == 0 || chars[i - 1] != '*');
        if single {
            out.push_str("**");
        } else {
            out.push(*c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::action::Action;
    use crate::app::reply::Button;

    fn reply() -> Reply {
        let mut reply = Reply::new("comparables").with_text(
            "Projects like this took 9 to 14 weeks.\n*12* comparables\n> From history.csv",
        );
        reply.facts.push(("P50".into(), "11 weeks".into()));
        reply.actions =
            (0..7).map(|i| Button::new(Action::Hold(format!("h{i}")), "Hold")).collect();
        reply.actions[0] =
            Button::new(Action::RequestApproval("x".into()), "Request approval").primary();
        reply
    }

    #[test]
    fn a_reply_becomes_an_embed_with_buttons_five_to_a_row() {
        let view = ReplyView::from(&reply());
        let json = serde_json::to_value(response_message(&view)).unwrap();
        assert_eq!(json["flags"], 64);
        assert_eq!(json["embeds"][0]["title"], "Projects like this took 9 to 14 weeks.");
        assert_eq!(json["embeds"][0]["description"], "**12** comparables");
        assert_eq!(json["embeds"][0]["footer"]["text"], "From history.csv");
        assert_eq!(json["embeds"][0]["fields"][0]["name"], "P50");
        let rows = json["components"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["components"].as_array().unwrap().len(), 5);
        assert_eq!(rows[0]["components"][0]["custom_id"], "request_approval:x");
        assert_eq!(rows[0]["components"][0]["style"], 1);
        assert_eq!(rows[0]["components"][1]["style"], 2);
    }

    #[test]
    fn the_outbox_json_renders_like_the_reply() {
        let reply = reply();
        let stored: Reply = serde_json::from_str(&serde_json::to_string(&reply).unwrap()).unwrap();
        assert_eq!(ReplyView::from(&stored), ReplyView::from(&reply));
    }

    #[test]
    fn a_decided_card_edit_removes_the_buttons() {
        let view = ReplyView { headline: "Approved".into(), ..ReplyView::default() };
        let json = serde_json::to_value(edit_message(&view)).unwrap();
        assert_eq!(json["components"], serde_json::json!([]));
    }

    #[test]
    fn markdown_doubles_single_asterisks_only() {
        assert_eq!(markdown("*a* and **b**"), "**a** and **b**");
    }
}
