//! `ask`, `act` and `console`: the bot as chat sees it, from the command line.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::Context;
use keepable::app::reply::Reply;

use super::{close, Globals, Who};

/// Answers one command line, as text or as the `ask --json` contract.
pub(super) async fn ask(globals: &Globals, who: &Who, json: bool, text: &[String]) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let reply = app.ask(&who.actor(), &text.join(" ")).await;
    close(app, print(json, &reply)).await
}

/// Presses the button `action` with `key=value` inputs.
pub(super) async fn act(globals: &Globals, who: &Who, json: bool, action: &str, fields: &[String]) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let mut inputs = HashMap::new();
    for field in fields {
        let (key, value) = field.split_once('=').with_context(|| format!("'{field}' is not key=value"))?;
        inputs.insert(key.to_string(), value.to_string());
    }
    let reply = app.act(&who.actor(), action, &inputs).await;
    close(app, print(json, &reply)).await
}

/// The bot in a terminal; an empty database gets the demo firm first.
pub(super) async fn console(globals: &Globals, who: &Who) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let store = app.store.clone();
    if store.is_empty().await? {
        let demo = keepable::import::demo::demo_firm(globals.clock.today())?;
        match store.import(&demo).await? {
            Ok(_) => out!("Loaded the demo firm (Northwind Consulting) into {}.", globals.db),
            Err(problems) => anyhow::bail!("could not load the demo firm: {}", problems[0]),
        }
    }
    keepable::chat::console::run(app, who.actor()).await?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Prints `reply`; an error reply makes the exit code a failure.
fn print(json: bool, reply: &Reply) -> ExitCode {
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
}
