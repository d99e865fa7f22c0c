//! The `keepable` command: parse the CLI, initialise logging, load settings, call into the library.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
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

#[derive(Parser)]
#[command(name = "keepable", version, about = "Promise only what delivery can keep.")]
struct Cli {
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
    /// Import a firm's CSV files from DIR (all in one transaction).
    Import { dir: PathBuf },
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
    /// The messages written to the outbox.
    Outbox {
        #[arg(long)]
        json: bool,
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
enum DiscordCommand {
    /// Register the slash commands (bulk overwrite: re-running is safe), globally or in one guild.
    Register {
        #[arg(long)]
        guild: Option<String>,
    },
}

#[derive(clap::Args)]
struct Who {
    /// The platform user id to act as.
    #[arg(long = "as", default_value = "cli")]
    user: String,
    /// The channel the command is typed in.
    #[arg(long, default_value = "cli")]
    channel: String,
    /// Groups (Slack user groups / Discord roles) the user is in.
    #[arg(long = "group")]
    groups: Vec<String>,
}

impl Who {
    fn actor(&self) -> Actor {
        Actor { user: self.user.clone(), channel: self.channel.clone(), groups: self.groups.clone() }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("KEEPABLE_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    use std::process::ExitCode;
    let clock = Clock { fixed_now: cli.now, fixed_today: cli.today.or(cli.now.map(|n| n.date_naive())) };
    if let Command::GenFirm { people, seed, dir } = &cli.command {
        keepable::import::gen_firm::generate(dir, *people, *seed, clock.today())?;
        out!("wrote a firm of {people} people to {}", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Discord { command: DiscordCommand::Register { guild } } = &cli.command {
        let platforms = keepable::server::Platforms::from_env()?;
        let discord = platforms.discord.context("set DISCORD_PUBLIC_KEY, DISCORD_APPLICATION_ID and DISCORD_BOT_TOKEN first")?;
        let count = keepable::chat::discord::register::register_commands(&discord, guild.as_deref()).await?;
        out!("registered {count} commands{}", guild.as_ref().map(|g| format!(" in guild {g}")).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    let settings = Settings::load(cli.config.as_deref())?;
    let store = Store::connect(&cli.db).await?;
    let app = App::new(store.clone(), settings, clock)?;
    let print = |json: bool, reply: &keepable::app::reply::Reply| {
        if json {
            out!("{}", reply.to_json());
        } else {
            out!("{}", keepable::chat::console::render(reply));
        }
        if reply.is_error() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    };
    let code = match cli.command {
        Command::Migrate => {
            out!("database is up to date");
            ExitCode::SUCCESS
        }
        Command::Import { dir } => {
            let started = std::time::Instant::now();
            let (parsed, problems) = keepable::import::parse_dir(&dir)?;
            let problems = match store.import_reporting(&parsed, problems).await? {
                Ok(summary) => {
                    let now = keepable::store::timestamp(clock.now());
                    store.audit_now(&now, "cli", "import", &dir.display().to_string(), &summary.to_string()).await?;
                    out!("{}", summary.to_string().trim_end());
                    out!("imported in {:.2}s", started.elapsed().as_secs_f64());
                    return Ok(ExitCode::SUCCESS);
                }
                Err(problems) => problems,
            };
            for problem in &problems {
                eprintln!("{problem}");
            }
            eprintln!("{} problem{}; nothing was imported", problems.len(), if problems.len() == 1 { "" } else { "s" });
            ExitCode::FAILURE
        }
        Command::GenFirm { .. } | Command::Discord { .. } => ExitCode::SUCCESS,
        Command::Ask { who, json, text } => print(json, &app.ask(&who.actor(), &text.join(" ")).await),
        Command::Act { who, json, action, fields } => {
            let mut inputs = HashMap::new();
            for field in fields {
                let (key, value) = field.split_once('=').with_context(|| format!("'{field}' is not key=value"))?;
                inputs.insert(key.to_string(), value.to_string());
            }
            print(json, &app.act(&who.actor(), &action, &inputs).await)
        }
        Command::Console { who } => {
            if store.is_empty().await? {
                let demo = keepable::import::demo::demo_firm(clock.today())?;
                match store.import(&demo).await? {
                    Ok(_) => out!("Loaded the demo firm (Northwind Consulting) into {}.", cli.db),
                    Err(problems) => anyhow::bail!("could not load the demo firm: {}", problems[0]),
                }
            }
            keepable::chat::console::run(app, who.actor()).await?;
            ExitCode::SUCCESS
        }
        Command::Outbox { json } => {
            let messages = store.outbox_messages().await?;
            if json {
                out!("{}", serde_json::to_string(&messages.iter().map(outbox_json).collect::<Vec<_>>())?);
            } else {
                for m in &messages {
                    out!(
                        "#{} {} [{}]{}\n{}\n",
                        m.id,
                        m.target,
                        m.state,
                        m.updates.map(|u| format!(" updates #{u}")).unwrap_or_default(),
                        m.text
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Command::Audit { json } => {
            let entries = store.audit_entries().await?;
            if json {
                out!("{}", serde_json::to_string(&entries)?);
            } else {
                for e in &entries {
                    out!("{} {} {} {} {}", e.at, e.actor, e.action, e.subject, e.details);
                }
            }
            ExitCode::SUCCESS
        }
        Command::RunDue { json } => {
            let report = app.run_due().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                out!("{}", serde_json::to_string(&report)?);
            } else {
                out!("{report:?}");
            }
            ExitCode::SUCCESS
        }
        Command::Serve { listen } => {
            let listener = tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("binding {listen}"))?;
            eprintln!("keepable listening on http://{}", listener.local_addr()?);
            let platforms = keepable::server::Platforms::from_env()?;
            keepable::server::run(app, platforms, listener, Default::default(), shutdown_signal()).await?;
            ExitCode::SUCCESS
        }
    };
    store.close().await;
    Ok(code)
}

/// The outbox contract of `keepable outbox --json`.
fn outbox_json(m: &keepable::store::outbox::OutboundMessage) -> serde_json::Value {
    let actions: Vec<serde_json::Value> = m.reply["actions"]
        .as_array()
        .map(|a| a.iter().map(|x| serde_json::json!({"id": x["id"], "label": x["label"]})).collect())
        .unwrap_or_default();
    serde_json::json!({
        "id": m.id, "target": m.target, "text": m.text, "actions": actions, "state": m.state,
        "updates": m.updates, "kind": m.reply["kind"], "attempts": m.attempts, "created_at": m.created_at,
        "sent_at": m.sent_at, "idempotency_key": m.idempotency_key,
    })
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
