//! Block Kit rendering of the reply model with slack-morphism's block types: the headline as a
//! header, the body as sections, facts as section fields, small print as context, and the actions
//! as buttons whose `action_id` is the reply's action id. Slack's length limits are respected by
//! clipping rather than by failing the whole message.

use serde_json::{json, Value};
use slack_morphism::prelude::*;

use crate::app::reply::{ActionStyle, Reply};
use crate::app::text;

/// Slack's limits (https://api.slack.com/reference/block-kit/blocks).
const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;
const FIELDS_PER_SECTION: usize = 10;
const CONTEXT_ELEMENTS_MAX: usize = 10;
const BUTTON_TEXT_MAX: usize = 75;
const BUTTONS_PER_BLOCK: usize = 25;
const FALLBACK_TEXT_MAX: usize = 3900;

/// The parts of a reply that are shown.
#[derive(Debug, Clone, Default)]
pub(crate) struct Card {
    pub kind: String,
    pub headline: String,
    pub body: String,
    pub facts: Vec<(String, String)>,
    pub context: Vec<String>,
    pub actions: Vec<Button>,
    pub private: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Button {
    pub id: String,
    pub label: String,
    pub style: Option<String>,
}

/// The reply's text as Slack mrkdwn: the bot's own markup as written (its `<name>` placeholders
/// shown, not read as links), a person's text escaped.
fn mrkdwn(text: &str) -> String {
    text::render(text, placeholders, text::slack_escape)
}

/// `<name>` in the bot's syntax hints, escaped so Slack shows it; mentions (`<@U1>`) are kept.
fn placeholders(text: &str) -> String {
    static PLACEHOLDER: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"<([a-z][a-z _-]*)>").expect("a valid pattern")
    });
    PLACEHOLDER.replace_all(text, "&lt;$1&gt;").into_owned()
}

impl From<&Reply> for Card {
    fn from(reply: &Reply) -> Card {
        Card {
            kind: reply.kind.clone(),
            headline: mrkdwn(&reply.headline),
            body: mrkdwn(&reply.body),
            facts: reply
                .facts
                .iter()
                .map(|(label, value)| (mrkdwn(label), mrkdwn(value)))
                .collect(),
            context: reply.context.iter().map(|line| mrkdwn(line)).collect(),
            actions: reply
                .actions
                .iter()
                .map(|a| Button {
                    id: a.action.to_string(),
                    label: text::plain(&a.label),
                    style: match a.style {
                        ActionStyle::Primary => Some("primary".into()),
                        ActionStyle::Danger => Some("danger".into()),
                        ActionStyle::Default => None,
                    },
                })
                .collect(),
            private: reply.private,
        }
    }
}

impl Card {
    pub fn is_error(&self) -> bool {
        self.kind == "error"
    }

    /// The whole card as plain text: the notification and accessibility fallback.
    pub fn fallback_text(&self) -> String {
        let mut text = self.headline.clone();
        if !self.body.is_empty() {
            text.push_str("\n\n");
            text.push_str(&self.body);
        }
        for (label, value) in &self.facts {
            text.push_str(&format!("\n{label}: {value}"));
        }
        clip(&text, FALLBACK_TEXT_MAX)
    }

    /// The Block Kit blocks.
    pub fn blocks(&self) -> Vec<SlackBlock> {
        let mut blocks: Vec<SlackBlock> = Vec::new();
        blocks.push(self.headline_block());
        for chunk in split_text(self.body.trim(), SECTION_MAX) {
            blocks.push(SlackSectionBlock::new().with_text(md!(chunk)).into());
        }
        for facts in self.facts.chunks(FIELDS_PER_SECTION) {
            let fields = facts
                .iter()
                .map(|(label, value)| md!(clip(&format!("*{label}*\n{value}"), FIELD_MAX)))
                .collect();
            blocks.push(SlackSectionBlock::new().with_fields(fields).into());
        }
        if !self.context.is_empty() {
            let elements = self
                .context
                .iter()
                .take(CONTEXT_ELEMENTS_MAX)
                .map(|line| md!(clip(line, SECTION_MAX)))
                .collect();
            blocks.push(SlackContextBlock::new(elements).into());
        }
        for (index, buttons) in self.actions.chunks(BUTTONS_PER_BLOCK).enumerate() {
            let elements = buttons.iter().map(button).collect();
            blocks.push(
                SlackActionsBlock::new(elements)
                    .with_block_id(SlackBlockId(format!("actions-{index}")))
                    .into(),
            );
        }
        blocks
    }

    /// A message body for `chat.postMessage` / `chat.update`.
    pub fn message(&self) -> Value {
        json!({ "text": self.fallback_text(), "blocks": self.blocks() })
    }

    /// An answer to a slash command or a `response_url`: ephemeral unless the reply is public.
    pub fn response(&self) -> Value {
        self.response_replacing(false)
    }

    /// A `response_url` answer; `replace` puts it in place of the message whose button was
    /// pressed, so that answer's buttons are not live any more.
    pub fn response_replacing(&self, replace: bool) -> Value {
        let response_type =
            if self.private || self.is_error() { "ephemeral" } else { "in_channel" };
        json!({ "response_type": response_type, "replace_original": replace, "text": self.fallback_text(), "blocks": self.blocks() })
    }

    /// The headline as a header (plain text, bold by itself, so `*bold*` marks are dropped);
    /// errors, and headlines with mentions, links or code that plain text would show raw, as a
    /// section.
    fn headline_block(&self) -> SlackBlock {
        let headline = self.headline.trim();
        if self.is_error() {
            return SlackSectionBlock::new()
                .with_text(md!(clip(&format!(":warning: {headline}"), SECTION_MAX)))
                .into();
        }
        let plain = headline.replace('*', "");
        let needs_markup = headline.contains(['<', '`', '~', '&']);
        if needs_markup || plain.chars().count() > HEADER_MAX || plain.trim().is_empty() {
            return SlackSectionBlock::new().with_text(md!(clip(headline, SECTION_MAX))).into();
        }
        SlackHeaderBlock::new(pt!(plain)).into()
    }
}

/// The block list as JSON.
#[cfg(test)]
fn to_json(blocks: &[SlackBlock]) -> Value {
    serde_json::to_value(blocks).unwrap_or_else(|_| json!([]))
}

fn button(action: &Button) -> SlackActionBlockElement {
    let style = match action.style.as_deref() {
        Some("primary") => Some(SlackBlockButtonStyle::Primary),
        Some("danger") => Some(SlackBlockButtonStyle::Danger),
        _ => None,
    };
    let element = SlackBlockButtonElement::new(pt!(clip(&action.label, BUTTON_TEXT_MAX)))
        .with_action_id(SlackActionId(action.id.clone()))
        .with_value(action.id.clone());
    match style {
        Some(style) => element.with_style(style).into(),
        None => element.into(),
    }
}

/// Splits `text` into pieces of at most `max` characters, at line breaks where possible.
fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if current.chars().count() + line.chars().count() + 1 > max && !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&clip(line, max));
    }
    if !current.trim().is_empty() {
        pieces.push(current);
    }
    pieces
}

/// At most `max` characters, with an ellipsis when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut clipped: String = text.chars().take(max.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::action::Action;
    use crate::app::reply::Button as ReplyButton;

    fn reply() -> Reply {
        let mut reply = Reply::new("earliest_start")
            .with_text("Earliest start: Mon 7 Dec 2026\n\n• *CRM Rollout*, 12 weeks\n> From capacity on 2026-11-25.");
        reply.facts.push(("Weeks".into(), "12".into()));
        reply
            .actions
            .push(ReplyButton::new(Action::CommitStart("abc".into()), "Add to deal").primary());
        reply.actions.push(ReplyButton::new(Action::Reject("A1".into()), "Reject").danger());
        reply.actions.push(ReplyButton::new(Action::Hold("abc".into()), "Hold"));
        reply
    }

    #[test]
    fn a_reply_becomes_header_section_fields_context_and_buttons() {
        let blocks = to_json(&Card::from(&reply()).blocks());
        let types: Vec<&str> =
            blocks.as_array().unwrap().iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["header", "section", "section", "context", "actions"]);
        assert_eq!(blocks[0]["text"]["text"], "Earliest start: Mon 7 Dec 2026");
        assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
        assert_eq!(blocks[2]["fields"][0]["text"], "*Weeks*\n12");
        let buttons = &blocks[4]["elements"];
        assert_eq!(buttons[0]["action_id"], "commit_start:abc");
        assert_eq!(buttons[0]["style"], "primary");
        assert_eq!(buttons[1]["style"], "danger");
        assert!(buttons[2].get("style").is_none());
    }

    #[test]
    fn bold_headlines_are_headers_and_mentions_stay_markdown() {
        let bold =
            Card::from(&Reply::new("x").with_text("CRM Rollout can start on *Mon 7 Dec 2026*."));
        let blocks = to_json(&bold.blocks());
        assert_eq!(
            (blocks[0]["type"].as_str(), blocks[0]["text"]["text"].as_str()),
            (Some("header"), Some("CRM Rollout can start on Mon 7 Dec 2026."))
        );
        let mention = Card::from(&Reply::new("x").with_text("Deadline: approved by <@U1>."));
        assert_eq!(to_json(&mention.blocks())[0]["type"], "section");
    }

    #[test]
    fn the_outbox_json_renders_like_the_reply() {
        let reply = reply();
        let stored: Reply = serde_json::from_str(&serde_json::to_string(&reply).unwrap()).unwrap();
        assert_eq!(to_json(&Card::from(&stored).blocks()), to_json(&Card::from(&reply).blocks()));
    }

    #[test]
    fn errors_are_ephemeral_and_long_text_is_clipped() {
        let card = Card::from(&Reply::error("x".repeat(4000)));
        let response = card.response();
        assert_eq!(response["response_type"], "ephemeral");
        assert_eq!(
            response["blocks"][0]["text"]["text"].as_str().unwrap().chars().count(),
            SECTION_MAX
        );
    }
}
