//! Commands and workflows: parse text into a `Command`, run it against the store and the domain,
//! and answer with a platform-neutral `Reply`. State changes write their outbound messages to the
//! outbox in the same transaction.

pub mod action;
mod answered;
pub mod answers;
mod backtest;
mod charts;
pub mod command;
pub mod delivery;
mod engines;
pub mod error;
pub mod forms;
mod inclusions;
pub mod prompts;
pub mod refresh;
pub mod reply;
mod signals;
pub mod text;
mod workflows;

pub use workflows::DueReport;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::Settings;
use crate::store::Store;
use command::Command;
use error::{AppError, UserError};
use prompts::Prompts;
use reply::Reply;

/// Who is asking, and where: a platform user id in a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub channel: String,
    /// Groups (Slack user groups, Discord roles) the platform says the user is in; the app checks
    /// them against the configured approver and presales groups.
    pub groups: Vec<String>,
    /// The operator at the command line (`keepable ask` without `--as`): sees every row of
    /// every report. Never set for a chat platform's user.
    pub operator: bool,
}

impl Actor {
    pub fn new(user: impl Into<String>, channel: impl Into<String>) -> Self {
        Actor { user: user.into(), channel: channel.into(), groups: Vec::new(), operator: false }
    }
}

/// The time everything time-based uses; fixed in tests and with `--now` / `--today`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    pub fixed_now: Option<DateTime<Utc>>,
    pub fixed_today: Option<NaiveDate>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        self.fixed_now.unwrap_or_else(Utc::now)
    }

    /// Today in UTC (or the fixed date).
    pub fn today(&self) -> NaiveDate {
        self.today_in(chrono_tz::UTC)
    }

    /// Today where the firm is: its date at this instant in `zone` (or the fixed date). For a firm
    /// in Chicago on Sunday evening it is still Sunday, though Monday has begun in UTC.
    pub fn today_in(&self, zone: chrono_tz::Tz) -> NaiveDate {
        self.fixed_today.unwrap_or_else(|| self.now().with_timezone(&zone).date_naive())
    }
}

/// Who a platform says a user id is: each chat adapter gives the app its own, so a `pm=` can be
/// checked to be one person (not a bot, not a deleted account, a member of the firm's server).
#[async_trait::async_trait]
pub trait Directory: Send + Sync {
    /// `Ok(true)` when `user` is a person the firm can hand a deal to; `Err` when the platform
    /// could not be asked.
    async fn is_person(&self, user: &str) -> anyhow::Result<bool>;
}

/// The application: everything a chat adapter calls into.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub settings: Arc<Settings>,
    prompts: Arc<Prompts>,
    pub clock: Clock,
    /// The platform's directory of people, set by the adapter serving this copy of the app; the
    /// console and the CLI have none (any user id is a person there).
    directory: Option<Arc<dyn Directory>>,
    /// The firm's time zone (`timezone`).
    zone: chrono_tz::Tz,
    /// Where requests come from, for metrics: `slack`, `discord`, or `cli` (console, `ask`).
    platform: &'static str,
    /// Each package's backtest while its history is unchanged (`/comparables` reports it).
    backtests: Arc<backtest::BacktestCache>,
    /// Comparables answers while their data are unchanged.
    comparables_answers: Arc<engines::ComparablesAnswers>,
    inclusion_answers: Arc<inclusions::InclusionAnswers>,
    /// Replies made from engines' answers, by answer (`answer_with`).
    answered: Arc<answered::Answered>,
}

impl App {
    pub fn new(store: Store, settings: Settings, clock: Clock) -> anyhow::Result<App> {
        let zone = settings.time_zone()?;
        let prompts = Prompts::load(settings.prompts_dir.as_deref(), zone)?;
        Ok(App {
            store,
            settings: Arc::new(settings),
            prompts: Arc::new(prompts),
            clock,
            directory: None,
            zone,
            platform: "cli",
            backtests: Arc::default(),
            comparables_answers: Arc::default(),
            inclusion_answers: Arc::default(),
            answered: Arc::default(),
        })
    }

    /// Today in the firm's time zone (SPEC 4): what every answer is computed for.
    pub fn today(&self) -> NaiveDate {
        self.clock.today_in(self.zone)
    }

    /// This copy of the app, checking people against `directory`.
    /// A configured channel (`leadership_channel`…) as this copy's platform names it.
    pub(crate) fn channel(&self, setting: &str) -> String {
        let platform = Some(self.platform).filter(|p| *p == "slack" || *p == "discord");
        crate::config::pick_channel(setting, platform)
    }

    /// This copy of the app, serving `platform` (named in metrics).
    pub fn on_platform(mut self, platform: &'static str) -> App {
        self.platform = platform;
        self
    }

    pub fn with_directory(mut self, directory: Arc<dyn Directory>) -> App {
        self.directory = Some(directory);
        self
    }

    /// Whether `user` is a person the platform knows (always, without a directory).
    pub(crate) async fn is_person(&self, user: &str) -> anyhow::Result<bool> {
        match &self.directory {
            Some(directory) => directory.is_person(user).await,
            None => Ok(true),
        }
    }

    /// Runs one command line as `actor`; errors become error replies.
    pub async fn ask(&self, actor: &Actor, text: &str) -> Reply {
        let started = std::time::Instant::now();
        let (what, result) = match command::parse_remembered(text) {
            // Boxed: the future of every command is large, and would otherwise be copied
            // with every future that holds this one.
            Ok(command) => (
                command.name(),
                crate::store::one_request(Box::pin(self.dispatch(actor, command))).await,
            ),
            Err(error) => ("command", Err(error.into())),
        };
        let reply = self.finish(actor, what, text, result).await;
        self.measure(what, &reply, started);
        reply
    }

    /// Counts the request and its latency.
    fn measure(&self, what: &'static str, reply: &Reply, started: std::time::Instant) {
        let outcome = if reply.is_error() { "error" } else { "ok" };
        crate::metrics::request(self.platform, what, outcome, started.elapsed().as_secs_f64());
    }

    /// Runs one typed command as `actor` (Discord's typed options arrive this way, never re-joined
    /// into text); errors become error replies.
    pub async fn run(&self, actor: &Actor, command: Command) -> Reply {
        let started = std::time::Instant::now();
        let what = command.name();
        let subject = format!("{command:?}");
        let result = crate::store::one_request(Box::pin(self.dispatch(actor, command))).await;
        let reply = self.finish(actor, what, &subject, result).await;
        self.measure(what, &reply, started);
        reply
    }

    /// Performs a button's action (its `verb:subject` wire form) as `actor`, with the fields of
    /// the action's form where it has one; the fields are checked here, whatever the adapter did.
    pub async fn act(&self, actor: &Actor, wire: &str, fields: &HashMap<String, String>) -> Reply {
        let started = std::time::Instant::now();
        let (what, result) = match wire.parse::<action::Action>() {
            Ok(action) => (action.verb(), Box::pin(self.perform(actor, action, fields)).await),
            Err(_) => ("action", Err(UserError::UnknownAction.into())),
        };
        let reply = self.finish(actor, what, wire, result).await;
        self.measure(what, &reply, started);
        reply
    }

    async fn dispatch(&self, actor: &Actor, command: Command) -> Result<Reply, AppError> {
        match command {
            Command::EarliestStart { target, not_before, deal } => {
                self.earliest_start(actor, target, not_before, deal.as_deref()).await
            }
            Command::Staffing { package } => self.staffing(&package).await,
            Command::Included { item, package, deal } => {
                self.included(actor, &item, package.as_deref(), deal.as_deref()).await
            }
            Command::Comparables { package, effort, deadline, start, deal } => {
                self.comparables(actor, &package, (effort, deadline, start), deal.as_deref()).await
            }
            Command::Scope { description, deal } => {
                self.open_ticket(actor, &description, deal.as_deref(), None, None).await
            }
            Command::Deal(deal) => self.deal(actor, deal).await,
            Command::Radar { by } => self.radar(actor, by).await,
            Command::TrackRecord { by } => self.track_record(actor, by).await,
            Command::Help => self.help(),
        }
    }

    /// The reply to a command or press: every refusal is audited (`<what>.refused`, unless the
    /// workflow already recorded it under its own name), internal errors logged, never shown.
    async fn finish(
        &self,
        actor: &Actor,
        what: &str,
        subject: &str,
        result: Result<Reply, AppError>,
    ) -> Reply {
        match result {
            Ok(reply) => reply,
            Err(AppError::User(UserError::Recorded(message))) => Reply::error(message),
            Err(AppError::User(error)) => {
                let message = error.to_string();
                let details = text::plain(&message);
                let subject: String = text::plain(subject).chars().take(200).collect();
                let action = format!("{what}.refused");
                let entry = crate::store::Audit {
                    at: self.clock.now(),
                    actor: &actor.user,
                    action: &action,
                    subject: &subject,
                    details: &details,
                };
                // Boxed: a refusal is rare, and its write would otherwise make every request's
                // future larger (copied whole into its box).
                if let Err(error) = Box::pin(self.store.audit(entry)).await {
                    tracing::error!(error = format!("{error:#}"), "could not audit a refusal");
                }
                Reply::error(message)
            }
            Err(AppError::Internal(error)) => {
                let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
                tracing::error!(reference, error = format!("{error:#}"), "internal error");
                Reply::error(format!("Sorry, something went wrong on our side (reference {reference}). Please try again in a moment."))
            }
        }
    }

    fn help(&self) -> Result<Reply, AppError> {
        let commands: Vec<&str> = command::SYNTAX.iter().map(|(_, syntax)| *syntax).collect();
        self.reply("help", "help", serde_json::json!({ "commands": commands }))
    }

    /// An engine's answer: rendered by the template of the same name, and as the reply's JSON.
    fn answer(&self, kind: &str, answer: &impl serde::Serialize) -> Result<Reply, AppError> {
        self.answer_with(kind, answer, serde_json::Value::Null)
    }

    /// An engine's answer rendered with `extra` keys in the template's context besides the
    /// answer's own (how the text is laid out); the reply's JSON is the answer alone.
    ///
    /// A reply is a function of its kind, answer and extra keys alone (the templates are fixed
    /// once loaded), and sellers ask the same questions all day: a reply made before from the
    /// same answer, as JSON, is given again (`Answered`), without turning the answer into a
    /// template context and rendering it.
    fn answer_with(
        &self,
        kind: &str,
        answer: &impl serde::Serialize,
        extra: serde_json::Value,
    ) -> Result<Reply, AppError> {
        let key = answered::Key::of(kind, answer, &extra).map_err(anyhow::Error::from)?;
        if let Some(reply) = self.answered.get(&key) {
            return Ok(reply);
        }
        let data = match serde_json::to_value(answer).map_err(anyhow::Error::from)? {
            serde_json::Value::Object(data) => data,
            _ => serde_json::Map::new(),
        };
        // Without extra keys the answer is the context itself: no copy of it.
        let text = match extra {
            serde_json::Value::Object(extra) => {
                let mut context = data.clone();
                context.extend(extra);
                self.prompts.render(kind, &context)?
            }
            _ => self.prompts.render(kind, &data)?,
        };
        let mut reply = Reply::new(kind).with_text(&text);
        reply.data = Arc::new(data);
        self.answered.put(key, &reply);
        Ok(reply)
    }

    /// Renders template `template` into a reply of `kind`.
    fn reply(
        &self,
        kind: &str,
        template: &str,
        context: serde_json::Value,
    ) -> Result<Reply, AppError> {
        let text = self.prompts.render(template, &context)?;
        Ok(Reply::new(kind).with_text(&text))
    }
}

/// Finds a package by id or name after normalisation, or says which packages exist.
fn resolve_package<'a>(
    packages: &'a crate::domain::firm::OfferedPackages,
    given: &str,
) -> Result<&'a Arc<crate::domain::firm::Package>, UserError> {
    use crate::domain::library::{normalize, similarity};
    if packages.is_empty() {
        return Err(UserError::NoPackages);
    }
    if let Some(package) = packages.find(given) {
        return Ok(package);
    }
    let wanted = normalize(given);
    let suggestion = packages
        .iter()
        .map(|p| {
            let score = similarity(&wanted, &normalize(&p.id))
                .max(similarity(&wanted, &normalize(&p.name)));
            (score, p)
        })
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, p)| p.id.clone());
    Err(UserError::UnknownPackage {
        given: given.to_string(),
        suggestion,
        known: packages.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", "),
    })
}
