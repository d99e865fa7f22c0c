//! The console adapter: the bot in a terminal. Replies render as text, buttons as numbered
//! actions; outbound messages (to leadership, presales, a PM) are delivered to the terminal.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use crate::app::action::Action;
use crate::app::delivery::{deliver_due, Deliver, DeliveryError};
use crate::app::reply::{Button, Reply};
use crate::app::{Actor, App};
use crate::store::outbox::OutboundMessage;

/// Renders a reply for a terminal, numbering its actions.
pub fn render(reply: &Reply) -> String {
    let mut out = reply.to_text();
    for (i, action) in reply.actions.iter().enumerate() {
        out.push_str(&format!("\n  [{}] {}", i + 1, action.label));
    }
    out
}

/// Delivers outbox messages by printing them.
pub struct TerminalDelivery;

#[async_trait]
impl Deliver for TerminalDelivery {
    async fn deliver(
        &self,
        message: &OutboundMessage,
        replaces: Option<&str>,
        _now: DateTime<Utc>,
    ) -> Result<String, DeliveryError> {
        let verb = if replaces.is_some() { "updated" } else { "to" };
        let mut text = format!("\n── {verb} {} ──\n{}", message.target, message.text);
        for button in &message.reply.actions {
            text.push_str(&format!("\n  ({}) {}", button.action, button.label));
        }
        println!("{text}\n");
        Ok(format!("terminal:{}", message.id))
    }
}

const HELP: &str = "Type a command (for example /earliest-start crm-rollout), a number to press a button, \
`act ACTION_ID key=value…` for a button from another message, `as USER` to switch who you are, `help`, or `quit`.";

/// Runs the interactive session until `quit` or end of input.
pub async fn run(app: App, mut actor: Actor) -> anyhow::Result<()> {
    let mut editor = DefaultEditor::new()?;
    let history =
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".keepable_history"));
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    println!("Keepable console: you are {} in #{}. {HELP}", actor.user, actor.channel);
    let mut last: Vec<Button> = Vec::new();
    loop {
        let line = match editor.readline(&format!("{}@{}> ", actor.user, actor.channel)) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(line);
        let reply = match line.split_once(' ').map(|(a, b)| (a, b.trim())).unwrap_or((line, "")) {
            ("quit" | "exit", _) => break,
            ("as", user) if !user.is_empty() => {
                actor.user = user.to_string();
                println!("You are now {user}.");
                continue;
            }
            ("channel", channel) if !channel.is_empty() => {
                actor.channel = channel.trim_start_matches('#').to_string();
                println!("You are now in #{}.", actor.channel);
                continue;
            }
            ("act", rest) if !rest.is_empty() => {
                let mut words = rest.split_whitespace();
                let id = words.next().unwrap_or_default().to_string();
                let fields = words
                    .filter_map(|w| w.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                app.act(&actor, &id, &fields).await
            }
            (number, "") if number.parse::<usize>().is_ok() => {
                let index = number.parse::<usize>().unwrap_or(0);
                let Some(action) = index.checked_sub(1).and_then(|i| last.get(i)).cloned() else {
                    println!("No button {index} on the last answer.");
                    continue;
                };
                let fields = ask_fields(&mut editor, &action.action)?;
                app.act(&actor, &action.action.to_string(), &fields).await
            }
            _ => app.ask(&actor, line).await,
        };
        println!("{}\n", render(&reply));
        last = reply.actions.clone();
        deliver_due(&app.store, &TerminalDelivery, "console", &app.clock).await?;
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

/// Asks for the inputs an action needs (a reason, effort and price, a date).
fn ask_fields(
    editor: &mut DefaultEditor,
    action: &Action,
) -> anyhow::Result<HashMap<String, String>> {
    let mut fields = HashMap::new();
    for field in action.form().map(|form| form.fields()).unwrap_or(&[]) {
        let value = editor.readline(&format!("{}: ", field.label))?;
        fields.insert(field.key.to_string(), value.trim().to_string());
    }
    Ok(fields)
}
