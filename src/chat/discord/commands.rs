//! The slash commands: their typed definitions (for registration), the command line each
//! invocation becomes (the grammar of `app::command`), and autocomplete from the library.

use serenity::all::{CommandOptionType, CreateCommand, CreateCommandOption};

use super::incoming::{CommandOption, OptionValue};
use crate::app::command::{self, Command};
use crate::app::error::UserError;
use crate::app::App;
use crate::domain::library::normalize;

/// Discord shows at most this many autocomplete choices.
pub const MAX_CHOICES: usize = 25;

/// What a slash command invocation asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// A typed command for `App::run` (or why its options do not make one).
    Command(Result<Command, UserError>),
    /// A command line typed as text (`/keepable run`), for `App::ask`.
    Line(String),
    /// `/scope` without a description: ask for it in a modal first.
    ScopeModal,
}

/// Every command, as registered with `PUT /applications/{id}/commands`.
pub fn definitions() -> Vec<CreateCommand> {
    use CommandOptionType::{Integer, Number, String as Text, SubCommand, User};
    let option =
        |kind, name: &str, description: &str| CreateCommandOption::new(kind, name, description);
    let package = |required: bool| {
        option(Text, "package", "Package id or name").required(required).set_autocomplete(true)
    };
    let date = |name: &str, description: &str| {
        option(Text, name, description).min_length(10).max_length(10)
    };
    let deal = || option(Text, "deal", "Deal id (default: this channel's deal)");
    // A grouping: one of its choices, the first being the default.
    let by = |choices: &[(&str, &str)]| {
        choices.iter().fold(
            option(Text, "by", &format!("How to group (default: {})", choices[0].1)),
            |option, (name, value)| option.add_string_choice(*name, *value),
        )
    };
    vec![
        CreateCommand::new("earliest-start")
            .description("When can we start? From the team's real capacity.")
            .add_option(package(false))
            .add_option(date("not-before", "Not before this date (YYYY-MM-DD)"))
            .add_option(option(
                Text,
                "roles",
                "Instead of a package: ROLE:COUNT@HOURS,… (e.g. senior:2@20)",
            ))
            .add_option(
                option(Integer, "weeks", "With roles: how many weeks")
                    .min_int_value(1)
                    .max_int_value(520),
            )
            .add_option(deal()),
        CreateCommand::new("staffing")
            .description("The staffing pattern a package commits to")
            .add_option(package(true)),
        CreateCommand::new("included")
            .description("Is it included? The verdict, price and dependencies")
            .add_option(
                option(Text, "item", "The deliverable").required(true).set_autocomplete(true),
            )
            .add_option(package(false))
            .add_option(deal()),
        CreateCommand::new("comparables")
            .description("How long projects like this really took; checks a deadline")
            .add_option(package(true))
            .add_option(option(Number, "effort", "Estimated effort in hours").min_number_value(0.0))
            .add_option(date("deadline", "Deadline to check (YYYY-MM-DD)"))
            .add_option(date("start", "Planned start (YYYY-MM-DD)"))
            .add_option(deal()),
        CreateCommand::new("scope")
            .description("Open a scoping ticket for presales")
            .add_option(option(Text, "description", "What needs scoping (leave empty for a form)"))
            .add_option(deal()),
        CreateCommand::new("deal")
            .description("Work in a deal: new, show, won, lost")
            .add_option(
                option(SubCommand, "new", "Start a deal in this channel")
                    .add_sub_option(option(Text, "name", "Deal name").required(true))
                    .add_sub_option(package(true))
                    .add_sub_option(option(Text, "client", "Client name")),
            )
            .add_option(
                option(SubCommand, "show", "Show a deal and its commitments")
                    .add_sub_option(deal()),
            )
            .add_option(
                option(SubCommand, "won", "Mark won and hand over to the project manager")
                    .add_sub_option(option(User, "pm", "The project manager").required(true))
                    .add_sub_option(deal()),
            )
            .add_option(
                option(SubCommand, "lost", "Mark lost (releases held capacity)")
                    .add_sub_option(deal()),
            ),
        CreateCommand::new("radar")
            .description("Early warnings: change orders, margin fade, slips, seniority gaps")
            .add_option(by(&[
                ("by package", "package"),
                ("by seller", "seller"),
                ("the firm as a whole", "firm"),
            ])),
        CreateCommand::new("track-record")
            .description("Were the promises kept? Starts and deadlines against how projects went")
            .add_option(by(&[("by seller", "seller"), ("by package", "package")])),
        CreateCommand::new("keepable")
            .description("Keepable: help, or any command as text")
            .add_option(option(SubCommand, "help", "What Keepable can answer"))
            .add_option(option(SubCommand, "run", "Run a command typed as text").add_sub_option(
                option(Text, "command", "e.g. comparables crm-rollout effort=900").required(true),
            )),
    ]
}

/// The command `/name` with its typed `options` asks for: option values stay whole (a
/// description containing `x=y` or quotes is that description), never re-joined into text.
pub fn invocation(name: &str, options: &[CommandOption]) -> Invocation {
    let mut words = vec![name.to_string()];
    let mut options = options;
    // Subcommands become words: `deal won …`, `keepable help`.
    while let [CommandOption { name: sub, value: OptionValue::Options(inner) }] = options {
        words.push(sub.clone());
        options = inner;
    }
    let path = words.join(" ");
    let mut keyed = Vec::new();
    let mut has_description = false;
    for option in options {
        let (OptionValue::Text(value) | OptionValue::Focused(value)) = &option.value else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match role_of(&path, &option.name) {
            // `run` is Discord's way of taking a command typed as text: the grammar reads it.
            Role::Raw => return Invocation::Line(format!("/keepable {value}")),
            Role::Positional => {
                has_description |= option.name == "description";
                words.push(value.to_string());
            }
            Role::Keyed => keyed.push((option.name.clone(), value.to_string())),
        }
    }
    if path == "scope" && !has_description {
        return Invocation::ScopeModal;
    }
    Invocation::Command(command::from_parts(words, keyed))
}

enum Role {
    /// A command line typed as text: passed through as is.
    Raw,
    /// The command's main argument, kept whole.
    Positional,
    /// `key=value`.
    Keyed,
}

fn role_of(path: &str, option: &str) -> Role {
    match (path, option) {
        ("keepable run", "command") => Role::Raw,
        ("earliest-start" | "staffing" | "comparables", "package") => Role::Positional,
        (_, "item" | "description" | "name") => Role::Positional,
        (p, "deal") if p.starts_with("deal ") => Role::Positional,
        _ => Role::Keyed,
    }
}

/// The option being typed, wherever it sits among subcommands.
pub fn focused(options: &[CommandOption]) -> Option<(&str, &str)> {
    options.iter().find_map(|option| match &option.value {
        OptionValue::Focused(typed) => Some((option.name.as_str(), typed.as_str())),
        OptionValue::Options(inner) => focused(inner),
        OptionValue::Text(_) => None,
    })
}

/// Choices `(name, value)` for the option being typed: packages, or deliverables for `item`.
pub async fn suggestions(
    app: &App,
    option: &str,
    typed: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let candidates: Vec<(String, String, Vec<String>)> = match option {
        "package" => app
            .store
            .packages()
            .await?
            .iter()
            .map(|p| (p.name.clone(), p.id.clone(), vec![p.id.clone()]))
            .collect(),
        "item" => app
            .store
            .library()
            .await?
            .deliverables()
            .iter()
            .map(|d| {
                let value =
                    if d.name.chars().count() <= 100 { d.name.clone() } else { d.id.clone() };
                let mut keys = d.aliases.clone();
                keys.push(d.id.clone());
                (d.name.clone(), value, keys)
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(rank(typed, candidates))
}

/// Prefix matches (of the name or any key) first, then substring matches; at most 25.
fn rank(typed: &str, candidates: Vec<(String, String, Vec<String>)>) -> Vec<(String, String)> {
    let wanted = normalize(typed);
    let mut scored: Vec<(u8, String, String)> = candidates
        .into_iter()
        .filter_map(|(name, value, keys)| {
            let texts: Vec<String> =
                std::iter::once(&name).chain(&keys).map(|t| normalize(t)).collect();
            let score = if texts.iter().any(|t| t.starts_with(&wanted)) {
                0
            } else if texts.iter().any(|t| t.contains(&wanted)) {
                1
            } else {
                return None;
            };
            Some((score, name, value))
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.to_lowercase().cmp(&b.1.to_lowercase())));
    scored
        .into_iter()
        .take(MAX_CHOICES)
        .map(|(_, name, value)| (truncate(&name, 100), value))
        .collect()
}

pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests;
