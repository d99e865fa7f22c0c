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
            let mut text = m.text.clone();
            for button in &m.reply.actions {
                text.push_str(&format!("\n  ({}) {}", button.action, button.label));
            }
            let error =
                m.last_error.as_ref().map(|e| format!(" last error: {e}")).unwrap_or_default();
            out!(
                "#{} {} [{}]{}{error}\n{text}\n",
                m.id,
                m.target,
                m.state,
                m.updates.map(|u| format!(" updates #{u}")).unwrap_or_default(),
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
        "sent_at": m.sent_at, "idempotency_key": m.idempotency_key, "last_error": m.last_error,
        "caused_by": m.caused_by,
    })
}

/// Re-queues a message that failed for good.
pub(super) async fn retry(globals: &Globals, id: i64) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    if app.store.retry_failed(id, app.clock.now()).await? {
        out!("message #{id} is queued again; serve delivers it at its next step");
        close(app, ExitCode::SUCCESS).await
    } else {
        eprintln!("error: no failed message #{id}: keepable outbox lists them with [failed]");
        close(app, ExitCode::FAILURE).await
    }
}

/// The audit log, oldest first.
pub(super) async fn audit(globals: &Globals, json: bool) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let entries = app.store.audit_entries().await?;
    if json {
        out!("{}", serde_json::to_string(&entries)?);
    } else {
        let zone = app.settings.time_zone()?;
        for e in &entries {
            let at = e.at.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z");
            let details = one_line(&e.details);
            let details = if details.is_empty() { String::new() } else { format!("  {details}") };
            out!("{at}  {}  {}  {}{details}", e.actor, e.action, e.subject);
        }
    }
    close(app, ExitCode::SUCCESS).await
}

/// Audit details on one line: a JSON object as `key=value` pairs, several lines joined by `; `.
fn one_line(details: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(details) {
        Ok(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => {
            details.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
        }
    }
}

/// Runs the reminders, escalations, expiries and hold releases that are due, once.
pub(super) async fn run_due(globals: &Globals, json: bool) -> anyhow::Result<ExitCode> {
    let app = globals.open().await?;
    let report = app.run_due().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    if json {
        out!("{}", serde_json::to_string(&report)?);
    } else {
        let lines = [
            (report.expired, "approval(s) expired; their requesters were told"),
            (report.escalated, "approval(s) escalated to the escalation channel"),
            (report.reminded, "approver reminder(s) sent"),
            (report.handovers_reminded, "handover reminder(s) sent to PMs"),
            (report.holds_released, "lapsed capacity hold(s) released"),
        ];
        let mut any = false;
        for (count, what) in lines {
            if count > 0 {
                out!("{count} {what}");
                any = true;
            }
        }
        if report.events_forgotten > 0 {
            out!("{} old platform event id(s) forgotten", report.events_forgotten);
        }
        if report.digest_posted {
            out!("the weekly radar digest was posted to the leadership channel");
            any = true;
        }
        if !any {
            out!("nothing was due");
        }
    }
    close(app, ExitCode::SUCCESS).await
}
