//! The console adapter: the bot in a terminal. Replies render as text, buttons as numbered
//! actions; outbound messages (to leadership, presales, a PM) are delivered to the terminal.

use std::collections::HashMap;
use std::io::IsTerminal;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use crate::app::action::Action;
use crate::app::delivery::{deliver_due, Deliver, DeliveryError};
use crate::app::reply::{Button, Reply};
use crate::app::text::Terminal;
use crate::app::{Actor, App};
use crate::chart::render_text;
use crate::store::outbox::OutboundMessage;

/// Renders a reply as plain text (the `ask` command's output), numbering its actions.
pub fn render(reply: &Reply) -> String {
    render_for(reply, Terminal::Plain)
}

/// Renders a reply for a terminal in `style`, numbering its actions (with their ids, for `act`).
pub fn render_for(reply: &Reply, style: Terminal) -> String {
    let mut out = reply.to_terminal(style);
    push_chart(&mut out, reply);
    for (i, action) in reply.actions.iter().enumerate() {
        out.push_str(&format!("\n  [{}] {}  ({})", i + 1, action.label, action.action));
    }
    out
}

/// The reply's chart as text bars, after a blank line.
fn push_chart(out: &mut String, reply: &Reply) {
    if let Some(chart) = &reply.chart {
        out.push_str("\n\n");
        out.push_str(&render_text(chart));
    }
}

/// Delivers outbox messages by printing them.
pub struct TerminalDelivery {
    pub style: Terminal,
}

#[async_trait]
impl Deliver for TerminalDelivery {
    async fn deliver(
        &self,
        message: &OutboundMessage,
        replaces: Option<&str>,
        _now: DateTime<Utc>,
    ) -> Result<String, DeliveryError> {
        let verb = if replaces.is_some() { "updated" } else { "to" };
        let mut text =
            format!("\n── {verb} {} ──\n{}", message.target, message.reply.to_terminal(self.style));
        push_chart(&mut text, &message.reply);
        for button in &message.reply.actions {
            text.push_str(&format!("\n  ({}) {}", button.action, button.label));
        }
        println!("{text}\n");
        Ok(format!("terminal:{}", message.id))
    }
}

/// The console's own commands, besides the bot's slash commands.
const CONSOLE_HELP: &str = "Console commands:
  /COMMAND …                  ask the bot, as in chat (for example /earliest-start crm-rollout)
  1, 2, …                     press a button of the last answer
  act ACTION_ID key=value …   press a button from another message; quote values with spaces
                              (act scope_ticket:T1 effort=120 notes=\"two approval levels\")
  as USER                     switch who you are (a user id); until then you are the operator,
                              who sees every seller's row of /radar and /track-record
  channel NAME                switch the channel you type in
  help                        this help and the bot's commands
  quit                        leave (Ctrl-D too; Ctrl-C clears the line)";

/// What a line typed at the prompt asks for.
#[derive(Debug, PartialEq)]
enum Line {
    Quit,
    Help,
    As(String),
    Channel(String),
    Act { id: String, fields: HashMap<String, String> },
    Press(usize),
    Ask(String),
    Invalid(String),
}

/// Reads one typed line: console commands first, anything else goes to the bot.
fn parse_line(line: &str) -> Line {
    let (word, rest) =
        line.split_once(char::is_whitespace).map(|(a, b)| (a, b.trim())).unwrap_or((line, ""));
    match (word, rest) {
        ("quit" | "exit", _) => Line::Quit,
        ("help", "") => Line::Help,
        ("as", user) if !user.is_empty() => Line::As(user.to_string()),
        ("channel", channel) if !channel.is_empty() => {
            Line::Channel(channel.trim_start_matches('#').to_string())
        }
        ("act", rest) if !rest.is_empty() => match shell_words::split(rest) {
            Ok(words) => {
                let mut words = words.into_iter();
                let id = words.next().unwrap_or_default();
                let mut fields = HashMap::new();
                for word in words {
                    match word.split_once('=') {
                        Some((key, value)) if !key.is_empty() => {
                            fields.insert(key.to_string(), value.to_string());
                        }
                        _ => {
                            return Line::Invalid(format!(
                                "'{word}' is not key=value: write act ACTION_ID key=value …, quoting a value with spaces (notes=\"two approval levels\")."
                            ))
                        }
                    }
                }
                Line::Act { id, fields }
            }
            Err(_) => {
                Line::Invalid("A quote is not closed: write notes=\"two approval levels\".".into())
            }
        },
        (number, "") if number.parse::<usize>().is_ok() => Line::Press(number.parse().unwrap_or(0)),
        _ => Line::Ask(line.to_string()),
    }
}

/// Runs the interactive session until `quit` or end of input.
pub async fn run(app: App, mut actor: Actor) -> anyhow::Result<()> {
    let style = if std::io::stdout().is_terminal() { Terminal::Styled } else { Terminal::Plain };
    let delivery = TerminalDelivery { style };
    let mut editor = DefaultEditor::new()?;
    let history =
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".keepable_history"));
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    println!(
        "Keepable console: you are {} in #{}. Type help for the commands, quit to leave.",
        actor.user, actor.channel
    );
    let mut last: Vec<Button> = Vec::new();
    loop {
        let line = match editor.readline(&format!("{}@{}> ", actor.user, actor.channel)) {
            Ok(line) => line,
            // Ctrl-C clears the line, as in a shell; Ctrl-D on an empty line leaves.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(line);
        let reply = match parse_line(line) {
            Line::Quit => break,
            Line::Help => {
                println!("{CONSOLE_HELP}\n");
                app.ask(&actor, "/keepable help").await
            }
            Line::As(user) => {
                println!("You are now {user}.");
                actor.user = user;
                // Someone named is no longer the operator who started the console.
                actor.operator = false;
                continue;
            }
            Line::Channel(channel) => {
                println!("You are now in #{channel}.");
                actor.channel = channel;
                continue;
            }
            Line::Invalid(message) => {
                println!("{message}");
                continue;
            }
            Line::Act { id, fields } => app.act(&actor, &id, &fields).await,
            Line::Press(index) => {
                let Some(action) = index.checked_sub(1).and_then(|i| last.get(i)).cloned() else {
                    println!("No button {index} on the last answer.");
                    continue;
                };
                let Some(fields) = ask_fields(&mut editor, &action.action)? else {
                    println!("Cancelled: nothing was pressed.");
                    continue;
                };
                app.act(&actor, &action.action.to_string(), &fields).await
            }
            Line::Ask(text) => app.ask(&actor, &text).await,
        };
        println!("{}\n", render_for(&reply, style));
        last = reply.actions.clone();
        deliver_due(&app.store, &delivery, "console", &app.clock).await?;
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

/// Asks for the inputs an action needs (a reason, effort and price, a date); `None` when the
/// person cancels (Ctrl-D, Ctrl-C, or an empty answer to a required field).
fn ask_fields(
    editor: &mut DefaultEditor,
    action: &Action,
) -> anyhow::Result<Option<HashMap<String, String>>> {
    let mut fields = HashMap::new();
    for field in action.form().map(|form| form.fields()).unwrap_or(&[]) {
        let optional = if field.required { "" } else { " (optional, Enter to skip)" };
        let value = match editor.readline(&format!("{}{optional}: ", field.label)) {
            Ok(value) => value.trim().to_string(),
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if value.is_empty() && field.required {
            return Ok(None);
        }
        if !value.is_empty() {
            fields.insert(field.key.to_string(), value);
        }
    }
    Ok(Some(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn act_fields_are_read_as_a_shell_reads_them() {
        let line =
            parse_line(r#"act scope_ticket:T1 effort=120 price=18000 notes="two approval levels""#);
        let Line::Act { id, fields } = line else { panic!("{line:?}") };
        assert_eq!(id, "scope_ticket:T1");
        assert_eq!(fields["notes"], "two approval levels");
        assert_eq!(fields["effort"], "120");
        assert!(matches!(parse_line("act approve:A1 notes=\"open"), Line::Invalid(_)));
        assert!(matches!(parse_line("act approve:A1 oops"), Line::Invalid(_)));
    }

    #[test]
    fn console_commands_come_before_the_bot() {
        assert_eq!(parse_line("help"), Line::Help);
        assert_eq!(parse_line("as U-BOSS"), Line::As("U-BOSS".into()));
        assert_eq!(parse_line("channel #deal-acme"), Line::Channel("deal-acme".into()));
        assert_eq!(parse_line("2"), Line::Press(2));
        assert_eq!(parse_line("quit"), Line::Quit);
        assert_eq!(parse_line("/staffing crm-rollout"), Line::Ask("/staffing crm-rollout".into()));
    }
}
