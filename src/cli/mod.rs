//! The `keepable` subcommands: the clap definitions here, and one function per subcommand in
//! `firm` (migrate, import, gen-firm), `chat` (ask, chart, act, console), `records` (outbox, audit,
//! run-due), `backtest` and `platforms` (serve, discord register).

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};

use keepable::app::{Actor, App, Clock};
use keepable::config::Settings;
use keepable::store::Store;

/// `println!` that does not panic when the reader has gone (`keepable outbox | head`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod backtest;
mod chat;
mod firm;
mod platforms;
mod records;

#[derive(Parser)]
#[command(name = "keepable", version, about = "Promise only what delivery can keep.")]
pub struct Cli {
    /// Database URL: sqlite://FILE or postgres://…
    #[arg(long, global = true, env = "DATABASE_URL", default_value = "sqlite://keepable.db")]
    db: String,
    /// The date answers are computed for (YYYY-MM-DD); defaults to today.
    #[arg(long, global = true, env = "KEEPABLE_TODAY")]
    today: Option<NaiveDate>,
    /// The current time for everything time-based (RFC 3339); defaults to now.
    #[arg(long, global = true, env = "KEEPABLE_NOW")]
    now: Option<DateTime<Utc>>,
    /// A TOML settings file.
    #[arg(long, global = true, env = "KEEPABLE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create or upgrade the database schema.
    Migrate,
    /// Import a firm's CSV files from DIR, in one transaction. Each file given is the whole
    /// current truth for its table (a snapshot): rows absent from it are retired or removed.
    Import {
        /// Only add and update rows; remove nothing (for a partial file).
        #[arg(long)]
        merge: bool,
        /// Check everything and print what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        dir: PathBuf,
    },
    /// The database, the firm's size, the last import and the outbox backlog.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Write a generated firm of N people to DIR.
    GenFirm {
        #[arg(long)]
        people: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        dir: PathBuf,
    },
    /// Ask one command, as in chat.
    Ask {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        json: bool,
        #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Ask one command, as `ask` does, and write its answer's chart to FILE as PNG.
    Chart {
        #[command(flatten)]
        who: Who,
        /// The PNG file to write.
        #[arg(long)]
        out: PathBuf,
        #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Press a button: perform ACTION_ID with key=value inputs.
    Act {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        json: bool,
        action: String,
        fields: Vec<String>,
    },
    /// The bot in a terminal, on the embedded database (loads the demo firm when empty).
    Console {
        #[command(flatten)]
        who: Who,
    },
    /// Would the comparables have been right? Each finished project forecast again from the day
    /// before it started, and how often P50, P80 and P90 held (SPEC 4.7).
    Backtest {
        /// The first start replayed (YYYY-MM-DD); defaults to two years before today.
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The messages written to the outbox (`outbox retry ID` re-queues a failed one).
    Outbox {
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        command: Option<OutboxCommand>,
    },
    /// The audit log.
    Audit {
        #[arg(long)]
        json: bool,
    },
    /// Run due reminders, escalations, expiries and hold releases once.
    RunDue {
        #[arg(long)]
        json: bool,
    },
    /// Discord set-up.
    Discord {
        #[command(subcommand)]
        command: DiscordCommand,
    },
    /// The HTTP server for Slack and Discord, with the background workers.
    Serve {
        #[arg(long, env = "KEEPABLE_LISTEN", default_value = "127.0.0.1:3000")]
        listen: String,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Put a message that failed for good back to be delivered now (after fixing the cause:
    /// the bot invited to the channel, direct messages allowed).
    Retry { id: i64 },
}

#[derive(Subcommand)]
enum DiscordCommand {
    /// Register the slash commands (bulk overwrite: re-running is safe), globally or in one guild.
    Register {
        #[arg(long)]
        guild: Option<String>,
    },
}

#[derive(clap::Args)]
struct Who {
    /// The platform user id to act as; without it, the operator (who sees every report's rows).
    #[arg(long = "as")]
    user: Option<String>,
    /// The channel the command is typed in.
    #[arg(long, default_value = "cli")]
    channel: String,
    /// Groups (Slack user groups / Discord roles) the user is in.
    #[arg(long = "group")]
    groups: Vec<String>,
}

impl Who {
    fn actor(&self) -> Actor {
        Actor {
            user: self.user.clone().unwrap_or_else(|| "cli".into()),
            channel: self.channel.clone(),
            groups: self.groups.clone(),
            operator: self.user.is_none(),
        }
    }
}

/// The global options every subcommand may need.
struct Globals {
    db: String,
    config: Option<PathBuf>,
    clock: Clock,
}

impl Globals {
    /// The settings, the database (migrated to the current schema) and the app on top of them.
    async fn open(&self) -> anyhow::Result<App> {
        let settings = Settings::load(self.config.as_deref())?;
        let store = Store::connect(&self.db).await?;
        App::new(store, settings, self.clock)
    }
}

/// Runs one subcommand; the exit code says whether it succeeded.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // `--now` is an instant: today is its date in the firm's time zone, unless `--today` says.
    let clock = Clock { fixed_now: cli.now, fixed_today: cli.today };
    let globals = Globals { db: cli.db, config: cli.config, clock };
    match cli.command {
        Command::Migrate => firm::migrate(&globals).await,
        Command::Import { merge, dry_run, dir } => {
            firm::import(&globals, &dir, merge, dry_run).await
        }
        Command::Status { json } => firm::status(&globals, json).await,
        Command::GenFirm { people, seed, dir } => firm::gen_firm(&globals, &dir, people, seed),
        Command::Ask { who, json, text } => chat::ask(&globals, &who, json, &text).await,
        Command::Chart { who, out, text } => chat::chart(&globals, &who, &out, &text).await,
        Command::Act { who, json, action, fields } => {
            chat::act(&globals, &who, json, &action, &fields).await
        }
        Command::Console { who } => chat::console(&globals, &who).await,
        Command::Backtest { from, json } => {
            backtest::backtest(&globals, from.as_deref(), json).await
        }
        Command::Outbox { json, command: None } => records::outbox(&globals, json).await,
        Command::Outbox { command: Some(OutboxCommand::Retry { id }), .. } => {
            records::retry(&globals, id).await
        }
        Command::Audit { json } => records::audit(&globals, json).await,
        Command::RunDue { json } => records::run_due(&globals, json).await,
        Command::Discord { command: DiscordCommand::Register { guild } } => {
            platforms::discord_register(guild.as_deref()).await
        }
        Command::Serve { listen } => platforms::serve(&globals, &listen).await,
    }
}

/// Closes the database and passes `code` on.
async fn close(app: App, code: ExitCode) -> anyhow::Result<ExitCode> {
    app.store.close().await;
    Ok(code)
}
