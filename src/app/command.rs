//! The command grammar of SPEC section 6: text in, a typed `Command` out. Pure; shared by every
//! adapter (Slack, Discord, console, `keepable ask`).

use chrono::NaiveDate;

use super::error::UserError;
use super::text::user;
use crate::domain::hours::Hours;
use crate::domain::radar::Grouping;
use crate::domain::track_record::TrackGrouping;

/// A requirement as typed: `ROLE:COUNT@HOURS`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSpec {
    pub role: String,
    pub count: i64,
    pub hours_per_week: Hours,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StartTarget {
    Package(String),
    Pattern { roles: Vec<RoleSpec>, weeks: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub enum DealCommand {
    New {
        name: String,
        package: String,
        client: Option<String>,
    },
    Show {
        deal: Option<String>,
    },
    /// Binds the channel to one of the actor's deals.
    Use {
        deal: String,
    },
    Won {
        deal: Option<String>,
        pm: String,
    },
    Lost {
        deal: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    EarliestStart {
        target: StartTarget,
        not_before: Option<NaiveDate>,
        /// The deal the answer's buttons act on (`deal=`), instead of the channel's.
        deal: Option<String>,
    },
    Staffing {
        package: String,
    },
    Included {
        item: String,
        package: Option<String>,
        deal: Option<String>,
    },
    Comparables {
        package: String,
        effort: Option<f64>,
        deadline: Option<NaiveDate>,
        start: Option<NaiveDate>,
        deal: Option<String>,
    },
    Scope {
        description: String,
        deal: Option<String>,
    },
    Deal(DealCommand),
    /// The early warnings (SPEC 4.6).
    Radar {
        by: Grouping,
    },
    /// Were the promises kept (SPEC 4.8)?
    TrackRecord {
        by: TrackGrouping,
    },
    Help,
}

impl Command {
    /// The command's name, as audited (`deal.refused`).
    pub fn name(&self) -> &'static str {
        match self {
            Command::EarliestStart { .. } => "earliest-start",
            Command::Staffing { .. } => "staffing",
            Command::Included { .. } => "included",
            Command::Comparables { .. } => "comparables",
            Command::Scope { .. } => "scope",
            Command::Deal(_) => "deal",
            Command::Radar { .. } => "radar",
            Command::TrackRecord { .. } => "track-record",
            Command::Help => "help",
        }
    }
}

/// The commands and their syntax, for help and for errors.
pub const SYNTAX: &[(&str, &str)] = &[
    ("earliest-start", "/earliest-start <package> [not-before=YYYY-MM-DD] [deal=<deal>]  or  /earliest-start roles=ROLE:COUNT@HOURS[,…] weeks=N"),
    ("staffing", "/staffing <package>"),
    ("included", "/included <item> [package=<package>] [deal=<deal>]"),
    ("comparables", "/comparables <package> [effort=HOURS] [deadline=YYYY-MM-DD] [start=YYYY-MM-DD] [deal=<deal>]"),
    ("scope", "/scope <description> [deal=<deal>]"),
    ("deal", "/deal new <name> package=<package> [client=<client>] | show [<deal>] | use <deal> | won [<deal>] pm=<user> | lost [<deal>] (or deal=<deal>)"),
    ("radar", "/radar [by=package|seller|firm]"),
    ("track-record", "/track-record [by=seller|package]"),
    ("keepable", "/keepable help, or any command above without its slash"),
];

pub fn syntax_of(command: &str) -> &'static str {
    SYNTAX.iter().find(|(name, _)| *name == command).map(|(_, s)| *s).unwrap_or("")
}

/// Words and `key=value` options of one command line.
struct Args {
    command: &'static str,
    words: Vec<String>,
    options: Vec<(String, String)>,
}

impl Args {
    fn take(&mut self, key: &str) -> Option<String> {
        let index = self.options.iter().position(|(k, _)| k == key)?;
        Some(self.options.remove(index).1)
    }

    fn finish(&self) -> Result<(), UserError> {
        match self.options.first() {
            Some((key, _)) => Err(UserError::UnknownOption {
                option: key.clone(),
                syntax: syntax_of(self.command),
            }),
            None => Ok(()),
        }
    }

    fn text(&self) -> String {
        self.words.join(" ")
    }

    fn required_text(&self, what: &'static str) -> Result<String, UserError> {
        let text = self.text();
        if text.is_empty() {
            return Err(UserError::Missing { what, syntax: syntax_of(self.command) });
        }
        Ok(text)
    }

    fn date(&mut self, key: &'static str) -> Result<Option<NaiveDate>, UserError> {
        self.take(key).map(|value| parse_date(key, &value, self.command)).transpose()
    }
}

pub fn parse_date(
    key: &'static str,
    value: &str,
    command: &'static str,
) -> Result<NaiveDate, UserError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").ok().filter(|_| value.len() == 10).ok_or_else(
        || UserError::BadDate { option: key, value: value.to_string(), syntax: syntax_of(command) },
    )
}

/// Splits on whitespace, keeping "double quoted" runs together; quotes are removed. Each token
/// is gathered in one buffer, reused, and copied out at its exact length once.
fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::with_capacity(8);
    let mut current = String::with_capacity(text.len());
    let mut quoted = false;
    let mut any = false;
    for c in text.chars() {
        match c {
            '"' | '“' | '”' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    tokens.push(current.as_str().to_owned());
                    current.clear();
                    any = false;
                }
            }
            c => {
                current.push(c);
                any = true;
            }
        }
    }
    if any {
        tokens.push(current);
    }
    tokens
}

fn command_name(word: &str) -> Result<&'static str, UserError> {
    let name = word.trim_start_matches('/').to_lowercase();
    let name = match name.as_str() {
        "earliest-start" | "earliest_start" | "earlieststart" | "start" => "earliest-start",
        "staffing" => "staffing",
        "included" | "include" | "inclusion" => "included",
        "comparables" | "comparable" => "comparables",
        "scope" => "scope",
        "deal" => "deal",
        "radar" => "radar",
        "track-record" | "track_record" | "trackrecord" | "track" => "track-record",
        "help" | "keepable" | "?" => "help",
        _ => {
            let suggestion = SYNTAX
                .iter()
                .map(|(known, _)| (strsim::damerau_levenshtein(&name, known), *known))
                .min()
                .filter(|(distance, _)| *distance <= 3)
                .map(|(_, known)| known);
            return Err(UserError::UnknownCommand { command: word.to_string(), suggestion });
        }
    };
    Ok(name)
}

/// Parses one command line such as `/comparables crm-rollout deadline=2027-06-30`.
pub fn parse(text: &str) -> Result<Command, UserError> {
    let mut words = Vec::new();
    let mut options = Vec::new();
    for (i, token) in tokenize(text).into_iter().enumerate() {
        match token.split_once('=') {
            Some((key, value)) if i > 0 && is_option_key(key) => {
                options.push((key.to_string(), value.to_string()))
            }
            _ => words.push(token),
        }
    }
    from_parts(words, options)
}

/// How many parsed texts each thread remembers (`parse_remembered`).
const PARSED_KEPT: usize = 256;

/// Texts longer than this are parsed every time, never remembered.
const PARSED_LONGEST: usize = 256;

/// `parse`, remembered for the last texts this thread parsed. Parsing is a function of the
/// text alone, and sellers ask the same few questions all day: a command line parsed before is
/// a copy of the command it gave (one or two strings), where parsing it again splits it into
/// tokens, options and lower-cased keys, and reads its dates and numbers (a tenth of a served
/// `/comparables`). Kept per thread, so no lock; at most `PARSED_KEPT` short texts, and a text
/// that does not parse is not remembered (its error is made again).
pub fn parse_remembered(text: &str) -> Result<Command, UserError> {
    type Parsed = std::collections::HashMap<String, Command, foldhash::fast::RandomState>;
    thread_local! {
        static PARSED: std::cell::RefCell<Parsed> = std::cell::RefCell::default();
    }
    if text.len() > PARSED_LONGEST {
        return parse(text);
    }
    if let Some(command) = PARSED.with_borrow(|parsed| parsed.get(text).cloned()) {
        return Ok(command);
    }
    let command = parse(text)?;
    PARSED.with_borrow_mut(|parsed| {
        if parsed.len() >= PARSED_KEPT {
            parsed.clear();
        }
        parsed.insert(text.to_string(), command.clone());
    });
    Ok(command)
}

fn is_option_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Builds a command from words already split (the command name, subcommands, positional values
/// kept whole) and `key=value` options: what an adapter with typed options (Discord) calls, so a
/// value containing `x=y` or quotes stays the value it was.
pub fn from_parts(
    words: Vec<String>,
    options: Vec<(String, String)>,
) -> Result<Command, UserError> {
    let mut words = words.into_iter();
    let Some(first) = words.next() else { return Ok(Command::Help) };
    let mut name = command_name(&first)?;
    let mut rest: Vec<String> = words.collect();
    if name == "help" {
        // `/keepable earliest-start crm` runs the inner command.
        match rest.first() {
            None => return Ok(Command::Help),
            Some(word) if word.eq_ignore_ascii_case("help") => return Ok(Command::Help),
            Some(word) => {
                name = command_name(word)?;
                rest.remove(0);
                if name == "help" {
                    return Ok(Command::Help);
                }
            }
        }
    }
    let options = options
        .into_iter()
        .map(|(key, value)| (key.to_lowercase().replace('_', "-"), value))
        .collect();
    let mut args = Args { command: name, words: rest, options };
    let command = match name {
        "earliest-start" => parse_earliest_start(&mut args)?,
        "staffing" => Command::Staffing { package: args.required_text("a package")? },
        "included" => {
            let package = args.take("package");
            let deal = args.take("deal");
            Command::Included { item: args.required_text("an item")?, package, deal }
        }
        "comparables" => {
            let deal = args.take("deal");
            let effort = args.take("effort").map(|value| parse_effort(&value)).transpose()?;
            let deadline = args.date("deadline")?;
            let start = args.date("start")?;
            if let (Some(start), Some(deadline)) = (start, deadline) {
                if deadline < start {
                    return Err(UserError::DeadlineBeforeStart { start, deadline });
                }
            }
            Command::Comparables {
                package: args.required_text("a package")?,
                effort,
                deadline,
                start,
                deal,
            }
        }
        "scope" => {
            let deal = args.take("deal");
            Command::Scope { description: args.required_text("a description")?, deal }
        }
        "deal" => Command::Deal(parse_deal(&mut args)?),
        "radar" => Command::Radar { by: grouping(&mut args, Grouping::ALL)? },
        "track-record" => Command::TrackRecord { by: grouping(&mut args, TrackGrouping::ALL)? },
        _ => Command::Help,
    };
    args.finish()?;
    Ok(command)
}

/// The `by=` of `/radar` and `/track-record` (or the grouping as a bare word: `/radar seller`),
/// the first of `valid` without one; anything else is refused with the valid values.
fn grouping<G>(args: &mut Args, valid: &[G]) -> Result<G, UserError>
where
    G: std::str::FromStr + std::fmt::Display + Copy,
{
    let given = match args.take("by") {
        Some(by) => Some(by),
        None if args.words.len() == 1 => args.words.pop(),
        None => None,
    };
    if !args.words.is_empty() {
        return Err(UserError::Syntax {
            message: format!("'{}' is not an option here", user(&args.text())),
            syntax: syntax_of(args.command),
        });
    }
    let Some(given) = given else { return Ok(valid[0]) };
    given.trim().to_lowercase().parse::<G>().map_err(|_| {
        let names: Vec<String> = valid.iter().map(|g| format!("by={g}")).collect();
        UserError::Syntax {
            message: format!("'{}' is not a grouping: use {}", user(&given), names.join(", ")),
            syntax: syntax_of(args.command),
        }
    })
}

fn parse_effort(value: &str) -> Result<f64, UserError> {
    crate::domain::input::effort_hours(value).map_err(|error| UserError::Syntax {
        message: format!("effort= {error}"),
        syntax: syntax_of("comparables"),
    })
}

fn parse_earliest_start(args: &mut Args) -> Result<Command, UserError> {
    let not_before = args.date("not-before")?;
    let roles = args.take("roles");
    let weeks = args.take("weeks");
    let deal = args.take("deal");
    let target = match roles {
        Some(mut roles) => {
            // `roles=senior:1@32, analyst:1@16` or `roles=Senior consultant:1@32`: the words
            // after it continue the pattern when together they read as one.
            if !args.words.is_empty() {
                let joined = format!("{roles} {}", args.words.join(" "));
                if parse_roles(&joined).is_ok() {
                    roles = joined;
                    args.words.clear();
                }
            }
            if !args.words.is_empty() {
                return Err(UserError::Syntax {
                    message: "give a package or roles=…, not both".into(),
                    syntax: syntax_of("earliest-start"),
                });
            }
            let weeks = weeks.ok_or(UserError::Missing {
                what: "weeks=N",
                syntax: syntax_of("earliest-start"),
            })?;
            let weeks =
                weeks.parse::<i64>().ok().filter(|w| (1..=520).contains(w)).ok_or_else(|| {
                    UserError::BadNumber {
                        option: "weeks",
                        value: weeks.clone(),
                        syntax: syntax_of("earliest-start"),
                    }
                })?;
            StartTarget::Pattern { roles: parse_roles(&roles)?, weeks }
        }
        None => {
            if weeks.is_some() {
                return Err(UserError::Syntax {
                    message: "weeks= goes with roles=; a package has its own duration".into(),
                    syntax: syntax_of("earliest-start"),
                });
            }
            StartTarget::Package(args.required_text("a package or roles=…")?)
        }
    };
    Ok(Command::EarliestStart { target, not_before, deal })
}

fn parse_roles(text: &str) -> Result<Vec<RoleSpec>, UserError> {
    let bad = |part: &str| UserError::Syntax {
        message: format!("'{}' is not ROLE:COUNT@HOURS (for example senior:2@20)", user(part)),
        syntax: syntax_of("earliest-start"),
    };
    let mut specs: Vec<RoleSpec> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (role, rest) = part.split_once(':').ok_or_else(|| bad(part))?;
        let (count, hours) = rest.split_once('@').ok_or_else(|| bad(part))?;
        let count = count.parse::<i64>().ok().filter(|c| *c >= 1).ok_or_else(|| bad(part))?;
        let hours = Hours::parse(hours).filter(|h| *h > Hours::ZERO).ok_or_else(|| bad(part))?;
        let role = role.trim().to_lowercase();
        if specs.iter().any(|s| s.role == role) {
            return Err(UserError::Syntax {
                message: format!("role '{}' appears twice", user(&role)),
                syntax: syntax_of("earliest-start"),
            });
        }
        specs.push(RoleSpec { role, count, hours_per_week: hours });
    }
    if specs.is_empty() {
        return Err(bad(text));
    }
    Ok(specs)
}

fn parse_deal(args: &mut Args) -> Result<DealCommand, UserError> {
    let syntax = syntax_of("deal");
    if args.words.is_empty() {
        return Err(UserError::Missing { what: "new, show, won or lost", syntax });
    }
    let verb = args.words.remove(0).to_lowercase();
    let named = args.take("deal");
    let deal = |args: &Args| Some(args.text()).filter(|t| !t.is_empty()).or(named.clone());
    Ok(match verb.as_str() {
        "new" => {
            let package = args
                .take("package")
                .ok_or(UserError::Missing { what: "package=<package>", syntax })?;
            let client = args.take("client");
            DealCommand::New { name: args.required_text("a deal name")?, package, client }
        }
        "show" => DealCommand::Show { deal: deal(args) },
        "use" => match named.clone() {
            Some(deal) if args.words.is_empty() => DealCommand::Use { deal },
            _ => DealCommand::Use { deal: args.required_text("a deal")? },
        },
        "won" => {
            let pm = args.take("pm").ok_or(UserError::Missing { what: "pm=<user>", syntax })?;
            DealCommand::Won { deal: deal(args), pm }
        }
        "lost" => DealCommand::Lost { deal: deal(args) },
        other => {
            return Err(UserError::Syntax {
                message: format!("unknown deal action '{}'", user(other)),
                syntax,
            })
        }
    })
}

#[cfg(test)]
mod tests;
