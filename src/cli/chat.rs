//! `ask`, `act` and `console`: the bot as chat sees it, from the command line.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use keepable::app::reply::Reply;

use super::{close, Globals, Who};

/// Answers one command line, as text or as the `ask --json` contract.
pub(super) async fn ask(
    globals: &Globals,
    who: &Who,
    json: bool,
    text: &[String],
) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let reply = app.ask(&who.actor(), &text.join(" ")).await;
    close(app, print(json, &reply)).await
}

/// Answers one command and writes its chart as PNG to `out`, printing the answer; an error
/// answer, or an answer without a chart, is said on stderr and fails.
pub(super) async fn chart(
    globals: &Globals,
    who: &Who,
    out: &Path,
    text: &[String],
) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let reply = app.ask(&who.actor(), &text.join(" ")).await;
    app.store.close().await;
    if reply.is_error() {
        eprintln!("{}", keepable::chat::console::render(&reply));
        return Ok(ExitCode::FAILURE);
    }
    let Some(chart) = &reply.chart else {
        eprintln!(
            "This answer has no chart ({}): charts come with /comparables when there are \
             comparable projects, and with /radar when a project finished in its window.",
            reply.kind
        );
        return Ok(ExitCode::FAILURE);
    };
    let png = keepable::chart::render_png(chart).context("drawing the chart")?;
    std::fs::write(out, &png).with_context(|| format!("writing {}", out.display()))?;
    out!("{}", keepable::chat::console::render(&reply));
    out!("Wrote the chart \"{}\" to {} ({} bytes).", chart.title(), out.display(), png.len());
    Ok(ExitCode::SUCCESS)
}

/// Presses the button `action` with `key=value` inputs.
pub(super) async fn act(
    globals: &Globals,
    who: &Who,
    json: bool,
    action: &str,
    fields: &[String],
) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let mut inputs = HashMap::new();
    for field in fields {
        let Some((key, value)) = field.split_once('=').filter(|(key, _)| !key.trim().is_empty())
        else {
            // A malformed input is the person's mistake: answered like any refusal (JSON too).
            let reply = keepable::app::reply::Reply::error(format!(
                "'{field}' is not key=value: write the field, '=', then its value (reason=\"too short\")."
            ));
            let (actor, details) = (who.actor(), keepable::app::text::plain(&reply.headline));
            let entry = keepable::store::Audit {
                at: app.clock.now(),
                actor: &actor.user,
                action: "action.refused",
                subject: action,
                details: &details,
            };
            app.store.audit(entry).await?;
            return close(app, print(json, &reply)).await;
        };
        inputs.insert(key.trim().to_string(), value.to_string());
    }
    let reply = app.act(&who.actor(), action, &inputs).await;
    close(app, print(json, &reply)).await
}

/// The bot in a terminal; an empty database gets the demo firm first.
pub(super) async fn console(globals: &Globals, who: &Who) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let store = app.store.clone();
    if store.is_empty().await? {
        let demo = keepable::import::demo::demo_firm(app.today())?;
        match store.load_demo(&demo, app.clock.now()).await? {
            Ok(_) => out!(
                "Loaded the demo firm (Northwind Consulting) into {}. It is marked as the demo: \
                 `keepable import DIR` replaces it, with everything done on it, by your firm.",
                globals.db
            ),
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
