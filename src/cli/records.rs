//! `outbox`, `audit` and `run-due`: what the bot has written and the timed work it owes.

use std::process::ExitCode;

use keepable::store::outbox::OutboundMessage;

use super::{close, Globals};

/// The outbox's messages, as text or as the `outbox --json` contract.
pub(super) async fn outbox(globals: &Globals, json: bool) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let messages = app.store.outbox_messages().await?;
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
    close(app, ExitCode::SUCCESS).await
}

/// The outbox contract of `keepable outbox --json`.
fn outbox_json(m: &OutboundMessage) -> serde_json::Value {
    let actions: Vec<serde_json::Value> = m
        .reply
        .actions
        .iter()
        .map(|b| serde_json::json!({"id": b.action.to_string(), "label": b.label}))
        .collect();
    serde_json::json!({
        "id": m.id, "target": m.target, "text": m.text, "actions": actions, "state": m.state,
        "updates": m.updates, "kind": m.reply.kind, "attempts": m.attempts, "created_at": m.created_at,
        "sent_at": m.sent_at, "idempotency_key": m.idempotency_key,
    })
}

/// The audit log, oldest first.
pub(super) async fn audit(globals: &Globals, json: bool) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let entries = app.store.audit_entries().await?;
    if json {
        out!("{}", serde_json::to_string(&entries)?);
    } else {
        for e in &entries {
            out!("{} {} {} {} {}", e.at, e.actor, e.action, e.subject, e.details);
        }
    }
    close(app, ExitCode::SUCCESS).await
}

/// Runs the reminders, escalations, expiries and hold releases that are due, once.
pub(super) async fn run_due(globals: &Globals, json: bool) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let report = app.run_due().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    if json {
        out!("{}", serde_json::to_string(&report)?);
    } else {
        out!("{report:?}");
    }
    close(app, ExitCode::SUCCESS).await
}
