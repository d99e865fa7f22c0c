//! What an interaction asks, independent of how it arrived: the HTTP endpoint's JSON and the
//! gateway's serenity `Interaction` both become an `Incoming`, so one handler serves both.
//!
//! serenity's `Interaction` is tried first. It rejects realistic payloads, though: it requires
//! fields Discord added recently (`attachment_size_limit`), a full `message` object on button
//! clicks and `options` on every subcommand, and `{"type":1}` pings carry none of its required
//! fields. So the HTTP endpoint falls back to a lenient serde_json reading of the same payload.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use serenity::model::application::{
    ActionRowComponent, CommandDataOption, CommandDataOptionValue, Interaction,
};
use serenity::model::channel::MessageFlags;

use crate::app::Actor;

/// One interaction, reduced to what the adapter needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The interaction's id (Discord delivers each interaction once); `None` for bare pings.
    pub id: Option<String>,
    /// The continuation token (for editing a deferred response); empty for pings.
    pub token: String,
    pub application_id: Option<String>,
    /// The member who acted, their channel, and their role ids as groups.
    pub actor: Actor,
    pub kind: IncomingKind,
    /// The server it came from; `None` in a direct message.
    pub guild_id: Option<String>,
    /// A button on the asker's own (ephemeral) answer: its outcome replaces that answer.
    pub from_ephemeral: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum IncomingKind {
    Ping,
    Command { name: String, options: Vec<CommandOption> },
    Autocomplete { name: String, options: Vec<CommandOption> },
    Component { custom_id: String },
    ModalSubmit { custom_id: String, fields: HashMap<String, String> },
}

/// A typed command option, its value as text.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandOption {
    pub name: String,
    pub value: OptionValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    Text(String),
    /// The option being typed, for autocomplete.
    Focused(String),
    /// A subcommand (or group) and its options.
    Options(Vec<CommandOption>),
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("the payload is not an interaction: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the interaction names no user")]
    NoUser,
    #[error("interaction type {0} is not handled")]
    UnknownType(u64),
}

/// Reads the HTTP endpoint's body.
pub fn parse(body: &[u8]) -> Result<Incoming, ParseError> {
    let value: Value = serde_json::from_slice(body)?;
    let wire: WireInteraction = serde_json::from_value(value.clone())?;
    if wire.kind == 1 {
        let application_id = wire.application_id.as_ref().and_then(id_text);
        let id = wire.id.as_ref().and_then(id_text);
        let actor = Actor::new("", "");
        return Ok(Incoming {
            id,
            token: String::new(),
            application_id,
            actor,
            kind: IncomingKind::Ping,
            guild_id: None,
            from_ephemeral: false,
        });
    }
    match serde_json::from_value::<Interaction>(value.clone()) {
        Ok(interaction) => {
            if let Some(incoming) = from_serenity(&interaction) {
                return Ok(incoming);
            }
        }
        Err(error) => {
            tracing::debug!(error = %error, "serenity rejected the interaction; reading it leniently")
        }
    }
    from_wire(wire)
}

/// Converts the gateway's (or the endpoint's) serenity interaction.
pub fn from_serenity(interaction: &Interaction) -> Option<Incoming> {
    let (member, user, channel) = match interaction {
        Interaction::Command(c) | Interaction::Autocomplete(c) => {
            (c.member.as_deref(), &c.user, c.channel_id)
        }
        Interaction::Component(c) => (c.member.as_ref(), &c.user, c.channel_id),
        Interaction::Modal(m) => (m.member.as_ref(), &m.user, m.channel_id),
        Interaction::Ping(p) => {
            let actor = Actor::new("", "");
            return Some(Incoming {
                id: Some(p.id.to_string()),
                token: p.token.clone(),
                application_id: Some(p.application_id.to_string()),
                actor,
                kind: IncomingKind::Ping,
                guild_id: None,
                from_ephemeral: false,
            });
        }
        _ => return None,
    };
    let user_id = member.map(|m| m.user.id).unwrap_or(user.id);
    let (guild_id, from_ephemeral) = match interaction {
        Interaction::Command(c) | Interaction::Autocomplete(c) => (c.guild_id, false),
        Interaction::Component(c) => {
            (c.guild_id, c.message.flags.is_some_and(|f| f.contains(MessageFlags::EPHEMERAL)))
        }
        Interaction::Modal(m) => (m.guild_id, false),
        _ => (None, false),
    };
    let actor = Actor {
        user: user_id.to_string(),
        channel: channel.to_string(),
        groups: member.map(|m| m.roles.iter().map(|r| r.to_string()).collect()).unwrap_or_default(),
        operator: false,
    };
    let kind = match interaction {
        Interaction::Command(c) => IncomingKind::Command {
            name: c.data.name.clone(),
            options: options_of(&c.data.options),
        },
        Interaction::Autocomplete(c) => IncomingKind::Autocomplete {
            name: c.data.name.clone(),
            options: options_of(&c.data.options),
        },
        Interaction::Component(c) => {
            IncomingKind::Component { custom_id: c.data.custom_id.clone() }
        }
        Interaction::Modal(m) => {
            let fields = m
                .data
                .components
                .iter()
                .flat_map(|row| &row.components)
                .filter_map(|component| match component {
                    ActionRowComponent::InputText(input) => {
                        Some((input.custom_id.clone(), input.value.clone().unwrap_or_default()))
                    }
                    _ => None,
                })
                .collect();
            IncomingKind::ModalSubmit { custom_id: m.data.custom_id.clone(), fields }
        }
        _ => return None,
    };
    Some(Incoming {
        id: Some(interaction.id().to_string()),
        token: interaction.token().to_string(),
        application_id: Some(interaction.application_id().to_string()),
        actor,
        kind,
        guild_id: guild_id.map(|g| g.to_string()),
        from_ephemeral,
    })
}

fn options_of(options: &[CommandDataOption]) -> Vec<CommandOption> {
    options
        .iter()
        .filter_map(|option| {
            let value = match &option.value {
                CommandDataOptionValue::String(text) => OptionValue::Text(text.clone()),
                CommandDataOptionValue::Integer(n) => OptionValue::Text(n.to_string()),
                CommandDataOptionValue::Number(n) => OptionValue::Text(n.to_string()),
                CommandDataOptionValue::Boolean(b) => OptionValue::Text(b.to_string()),
                CommandDataOptionValue::User(id) => OptionValue::Text(id.to_string()),
                CommandDataOptionValue::Role(id) => OptionValue::Text(id.to_string()),
                CommandDataOptionValue::Channel(id) => OptionValue::Text(id.to_string()),
                CommandDataOptionValue::Mentionable(id) => OptionValue::Text(id.to_string()),
                CommandDataOptionValue::Autocomplete { value, .. } => {
                    OptionValue::Focused(value.clone())
                }
                CommandDataOptionValue::SubCommand(inner)
                | CommandDataOptionValue::SubCommandGroup(inner) => {
                    OptionValue::Options(options_of(inner))
                }
                _ => return None,
            };
            Some(CommandOption { name: option.name.clone(), value })
        })
        .collect()
}

/// The lenient reading: every field optional, snowflakes as strings or numbers.
#[derive(Debug, Deserialize)]
struct WireInteraction {
    #[serde(rename = "type")]
    kind: u64,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    application_id: Option<Value>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    data: Option<WireData>,
    #[serde(default)]
    member: Option<WireMember>,
    #[serde(default)]
    user: Option<WireUser>,
    #[serde(default)]
    channel_id: Option<Value>,
    #[serde(default)]
    channel: Option<WireUser>,
    #[serde(default)]
    guild_id: Option<Value>,
    #[serde(default)]
    message: Option<WireMessage>,
}

/// The message a button was on: only its flags matter (64 = ephemeral).
#[derive(Debug, Default, Deserialize)]
struct WireMessage {
    #[serde(default)]
    flags: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct WireData {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    options: Option<Vec<WireOption>>,
    #[serde(default)]
    custom_id: Option<String>,
    #[serde(default)]
    components: Option<Vec<WireComponent>>,
}

#[derive(Debug, Deserialize)]
struct WireOption {
    name: String,
    #[serde(rename = "type", default)]
    kind: u64,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    options: Option<Vec<WireOption>>,
    #[serde(default)]
    focused: Option<bool>,
}

/// An action row, a text input, or a label wrapping one.
#[derive(Debug, Deserialize)]
struct WireComponent {
    #[serde(default)]
    custom_id: Option<String>,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    components: Option<Vec<WireComponent>>,
    #[serde(default)]
    component: Option<Box<WireComponent>>,
}

#[derive(Debug, Deserialize)]
struct WireMember {
    #[serde(default)]
    user: Option<WireUser>,
    #[serde(default)]
    roles: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
struct WireUser {
    id: Value,
}

fn from_wire(wire: WireInteraction) -> Result<Incoming, ParseError> {
    let user = wire
        .member
        .as_ref()
        .and_then(|m| m.user.as_ref())
        .or(wire.user.as_ref())
        .and_then(|u| id_text(&u.id))
        .ok_or(ParseError::NoUser)?;
    let channel = wire
        .channel_id
        .as_ref()
        .or(wire.channel.as_ref().map(|c| &c.id))
        .and_then(id_text)
        .unwrap_or_default();
    let groups = wire
        .member
        .as_ref()
        .and_then(|m| m.roles.as_ref())
        .map(|r| r.iter().filter_map(id_text).collect())
        .unwrap_or_default();
    let data = wire.data.unwrap_or_default();
    let name = data.name.unwrap_or_default();
    let custom_id = data.custom_id.unwrap_or_default();
    let kind = match wire.kind {
        2 => {
            IncomingKind::Command { name, options: wire_options(data.options.unwrap_or_default()) }
        }
        4 => IncomingKind::Autocomplete {
            name,
            options: wire_options(data.options.unwrap_or_default()),
        },
        3 => IncomingKind::Component { custom_id },
        5 => {
            let mut fields = HashMap::new();
            collect_inputs(data.components.unwrap_or_default(), &mut fields);
            IncomingKind::ModalSubmit { custom_id, fields }
        }
        other => return Err(ParseError::UnknownType(other)),
    };
    Ok(Incoming {
        id: wire.id.as_ref().and_then(id_text),
        token: wire.token.unwrap_or_default(),
        application_id: wire.application_id.as_ref().and_then(id_text),
        actor: Actor { user, channel, groups, operator: false },
        kind,
        guild_id: wire.guild_id.as_ref().and_then(id_text),
        from_ephemeral: wire.message.and_then(|m| m.flags).is_some_and(|flags| flags & 64 != 0),
    })
}

fn wire_options(options: Vec<WireOption>) -> Vec<CommandOption> {
    options
        .into_iter()
        .map(|option| {
            let value = match (option.kind, option.focused) {
                (1 | 2, _) => {
                    OptionValue::Options(wire_options(option.options.unwrap_or_default()))
                }
                (_, Some(true)) => {
                    OptionValue::Focused(option.value.as_ref().map(value_text).unwrap_or_default())
                }
                _ => OptionValue::Text(option.value.as_ref().map(value_text).unwrap_or_default()),
            };
            CommandOption { name: option.name, value }
        })
        .collect()
}

fn collect_inputs(components: Vec<WireComponent>, fields: &mut HashMap<String, String>) {
    for component in components {
        if let (Some(id), Some(value)) = (&component.custom_id, &component.value) {
            fields.insert(id.clone(), value_text(value));
        }
        collect_inputs(component.components.unwrap_or_default(), fields);
        if let Some(inner) = component.component {
            collect_inputs(vec![*inner], fields);
        }
    }
}

/// A snowflake: Discord sends strings, some tools send numbers.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
