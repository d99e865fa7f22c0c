//! The platform-neutral reply: what every adapter renders (text, JSON, Block Kit, Discord embeds).

use serde::Serialize;
use serde_json::{Map, Value};

/// How a button should look where the platform has styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStyle {
    Default,
    Primary,
    Danger,
}

/// A button with a stable id: `verb:subject`, resolved on the server when clicked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub id: String,
    pub label: String,
    #[serde(skip_serializing_if = "is_default")]
    pub style: ActionStyle,
}

fn is_default(style: &ActionStyle) -> bool {
    *style == ActionStyle::Default
}

impl Action {
    pub fn new(id: impl Into<String>, label: impl Into<String>) -> Self {
        Action { id: id.into(), label: label.into(), style: ActionStyle::Default }
    }

    pub fn primary(mut self) -> Self {
        self.style = ActionStyle::Primary;
        self
    }

    pub fn danger(mut self) -> Self {
        self.style = ActionStyle::Danger;
        self
    }

    /// The verb part of the id (`approve` in `approve:A1`).
    pub fn verb(id: &str) -> &str {
        id.split_once(':').map(|(verb, _)| verb).unwrap_or(id)
    }

    /// Whether clicking it must first ask for more input (a modal on chat platforms).
    pub fn needs_input(id: &str) -> Option<&'static [InputField]> {
        match Self::verb(id) {
            "reject" => Some(&[InputField { key: "reason", label: "Reason", multiline: true, required: true }]),
            "request_early_start" => {
                Some(&[InputField { key: "date", label: "Start date (YYYY-MM-DD)", multiline: false, required: true }])
            }
            "decline_ticket" => Some(&[InputField { key: "reason", label: "Why it is declined", multiline: true, required: true }]),
            "scope_ticket" => Some(&[
                InputField { key: "effort", label: "Effort (hours)", multiline: false, required: true },
                InputField { key: "price", label: "Price", multiline: false, required: true },
                InputField { key: "notes", label: "Notes", multiline: true, required: false },
            ]),
            _ => None,
        }
    }
}

/// One input a modal asks for before an action runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputField {
    pub key: &'static str,
    pub label: &'static str,
    pub multiline: bool,
    pub required: bool,
}

/// A reply to a command or action.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub actions: Vec<Action>,
    /// Only the asker sees it (ephemeral on Slack and Discord).
    pub private: bool,
    /// Machine-readable fields of the `ask --json` contract.
    pub data: Map<String, Value>,
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
            data: Map::new(),
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        let message = message.into();
        let mut reply = Reply::new("error");
        reply.headline = message.clone();
        reply.data.insert("message".into(), Value::String(message));
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

    pub fn set(mut self, key: &str, value: impl Serialize) -> Self {
        self.data.insert(key.into(), serde_json::to_value(value).unwrap_or(Value::Null));
        self
    }

    /// The whole reply as readable text (console, `ask`, outbox `text`).
    pub fn to_text(&self) -> String {
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
        for line in &self.context {
            out.push_str(&format!("\n_{line}_"));
        }
        out
    }

    /// The `ask --json` object: contract fields, `kind`, `actions`, and the text.
    pub fn to_json(&self) -> Value {
        let mut object = self.data.clone();
        object.insert("kind".into(), Value::String(self.kind.clone()));
        object.insert("actions".into(), serde_json::to_value(&self.actions).unwrap_or(Value::Array(vec![])));
        object.insert("text".into(), Value::String(self.to_text()));
        Value::Object(object)
    }
}
