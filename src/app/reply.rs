//! The platform-neutral reply: what every adapter renders (text, JSON, Block Kit, Discord embeds).

use super::text::{dim, terminal, Terminal};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

use super::action::Action;
use crate::chart::Chart;

/// Where an outbound message goes: a channel (leadership, presales), or a person's direct
/// messages (the seller, the PM). Stored as `channel:ID` / `user:ID`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Channel(String),
    User(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Channel(id) => write!(f, "channel:{id}"),
            Target::User(id) => write!(f, "user:{id}"),
        }
    }
}

impl std::str::FromStr for Target {
    type Err = crate::domain::UnknownValue;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once(':') {
            Some(("channel", id)) if !id.is_empty() => Ok(Target::Channel(id.to_string())),
            Some(("user", id)) if !id.is_empty() => Ok(Target::User(id.to_string())),
            _ => {
                Err(crate::domain::UnknownValue { what: "message target", value: text.to_string() })
            }
        }
    }
}

impl Target {
    /// Whether this is the target written `text` (`channel:C1`).
    fn is(&self, text: &str) -> bool {
        match (self, text.split_once(':')) {
            (Target::Channel(id), Some(("channel", other)))
            | (Target::User(id), Some(("user", other))) => id == other,
            _ => false,
        }
    }
}

impl PartialEq<&str> for Target {
    fn eq(&self, other: &&str) -> bool {
        self.is(other)
    }
}

impl PartialEq<String> for Target {
    fn eq(&self, other: &String) -> bool {
        self.is(other)
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// How a button should look where the platform has styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStyle {
    #[default]
    Default,
    Primary,
    Danger,
}

/// A button: what pressing it does, resolved and authorised on the server when pressed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Button {
    /// The action, as its `verb:subject` wire form.
    #[serde(rename = "id")]
    pub action: Action,
    pub label: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub style: ActionStyle,
}

fn is_default(style: &ActionStyle) -> bool {
    *style == ActionStyle::Default
}

impl Button {
    pub fn new(action: Action, label: impl Into<String>) -> Self {
        Button { action, label: label.into(), style: ActionStyle::Default }
    }

    pub fn primary(mut self) -> Self {
        self.style = ActionStyle::Primary;
        self
    }

    pub fn danger(mut self) -> Self {
        self.style = ActionStyle::Danger;
        self
    }
}

/// A reply to a command or action; stored in the outbox as JSON and decoded by every adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// `earliest_start`, `comparables`, `error`, … (the JSON contract's `kind`).
    pub kind: String,
    /// One line a seller can read aloud.
    pub headline: String,
    /// The body: short paragraphs and `• ` bullets, with `*bold*`.
    pub body: String,
    /// Label / value pairs shown side by side where the platform can.
    pub facts: Vec<(String, String)>,
    /// Small print: where the answer came from.
    pub context: Vec<String>,
    pub actions: Vec<Button>,
    /// Only the asker sees it (ephemeral on Slack and Discord).
    pub private: bool,
    /// Machine-readable fields of the `ask --json` contract (written by the app, never read
    /// back field by field). Shared: a remembered answer's replies share its fields, and a
    /// change to one reply's (`set`) copies them first.
    #[serde(default)]
    pub data: Arc<Map<String, Value>>,
    /// A picture of the answer: a PNG on Slack and Discord, text bars in the console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<Arc<Chart>>,
}

impl Reply {
    pub fn new(kind: impl Into<String>) -> Self {
        Reply {
            kind: kind.into(),
            headline: String::new(),
            body: String::new(),
            facts: Vec::new(),
            context: Vec::new(),
            actions: Vec::new(),
            private: true,
            data: Arc::default(),
            chart: None,
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        let message = message.into();
        let mut reply = Reply::new("error");
        Arc::make_mut(&mut reply.data)
            .insert("message".into(), Value::String(super::text::plain(&message)));
        reply.headline = message;
        reply
    }

    pub fn is_error(&self) -> bool {
        self.kind == "error"
    }

    /// Splits rendered template text: first line the headline, `> ` lines context, the rest body.
    pub fn with_text(mut self, rendered: &str) -> Self {
        let mut lines = rendered.trim().lines();
        self.headline = lines.next().unwrap_or_default().trim().to_string();
        let mut body = Vec::new();
        for line in lines {
            match line.strip_prefix("> ") {
                Some(context) => self.context.push(context.trim().to_string()),
                None => body.push(line.trim_end()),
            }
        }
        self.body = body.join("\n").trim().to_string();
        self
    }

    /// Attaches `chart` (replacing any), for each platform to show its way.
    pub fn with_chart(mut self, chart: Chart) -> Self {
        self.chart = Some(Arc::new(chart));
        self
    }

    pub fn set(mut self, key: &str, value: impl Serialize) -> Self {
        Arc::make_mut(&mut self.data)
            .insert(key.into(), serde_json::to_value(value).unwrap_or(Value::Null));
        self
    }

    /// The whole reply as readable text (console, `ask`, outbox `text`), a person's text shown
    /// as it was written, without its markers.
    pub fn to_text(&self) -> String {
        self.to_terminal(Terminal::Plain)
    }

    /// The whole reply for a terminal: the bot's formatting as bold (or nothing), mentions as
    /// `@U1`, the small print dim; a person's text as it was written.
    pub fn to_terminal(&self, style: Terminal) -> String {
        let mut out = terminal(&self.main_text(), style);
        for line in &self.context {
            out.push('\n');
            out.push_str(&dim(&terminal(line, Terminal::Plain), style));
        }
        out
    }

    /// Headline, body and facts, with user-text markers.
    fn main_text(&self) -> String {
        let mut out = self.headline.clone();
        if !self.body.is_empty() {
            out.push_str("\n\n");
            out.push_str(&self.body);
        }
        if !self.facts.is_empty() {
            out.push('\n');
            for (label, value) in &self.facts {
                out.push_str(&format!("\n{label}: {value}"));
            }
        }
        out
    }

    /// The `ask --json` object: contract fields, `kind`, `actions`, and the text.
    pub fn to_json(&self) -> Value {
        let mut object = (*self.data).clone();
        object.insert("kind".into(), Value::String(self.kind.clone()));
        object.insert(
            "actions".into(),
            serde_json::to_value(&self.actions).unwrap_or(Value::Array(vec![])),
        );
        object.insert("text".into(), Value::String(self.to_text()));
        Value::Object(object)
    }
}
